"""Shared test set-up: hypothesis profiles and compiling a model for one target."""

from __future__ import annotations

import math
import os
from pathlib import Path

import sklearn
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from scorec.compiler.build import compile_program
from scorec.compiler.ir import Program
from scorec.runtime.adversarial import HOSTILE_TEXT, SPECIAL_NUMBERS, critical_values

# one BLAS thread: small fits on a loaded 2-core machine ran 20x slower with more
threadpool_limits(1)

settings.register_profile(
    "default", max_examples=12, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)
settings.register_profile("ci", parent=settings.get_profile("default"), max_examples=30,
                          derandomize=True)
settings.register_profile("thorough", parent=settings.get_profile("default"), max_examples=200)
settings.load_profile(os.environ.get("SCOREC_HYPOTHESIS_PROFILE",
                                     "ci" if os.environ.get("CI") else "default"))

TARGETS = ("python", "c", "sql")
# the engines a query costs a round trip to, and the examples drawn per component there (a
# Spark query takes seconds: it gets the fewest; every IR node is proven on each engine by
# tests/test_ir_nodes.py with the full count)
ENGINES = ("spark", "postgres")
_PROFILE = os.environ.get("SCOREC_HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else
                          "default")
ENGINE_EXAMPLES = {"default": {"spark": 1, "postgres": 4}, "ci": {"spark": 1, "postgres": 6},
                   "thorough": {"spark": 20, "postgres": 100}}[_PROFILE]


def build_scorer(program: Program, target: str, workdir: Path, name: str = "model"):
    """Compile `program` for one target into workdir and return that target's scorer."""
    manifest, files = compile_program(program, name, "0" * 64, sklearn.__version__, (target,))
    for fn, text in files.items():
        (workdir / fn).write_text(text, encoding="utf-8")
    if target == "python":
        from scorec.runtime.python_runtime import PythonScorer

        return PythonScorer(workdir, manifest), manifest
    if target == "c":
        from scorec.runtime.c_runtime import CScorer

        return CScorer(workdir, manifest), manifest
    if target == "spark":
        from scorec.runtime.spark_runtime import SparkScorer

        return SparkScorer(workdir, manifest, spark_session()), manifest
    if target == "postgres":
        from scorec.runtime.postgres_runtime import PostgresScorer

        return PostgresScorer(workdir, manifest, postgres_connection()), manifest
    from scorec.runtime.sql_runtime import SqlScorer

    return SqlScorer(workdir, manifest), manifest


_SPARK: list = []
_POSTGRES: list = []


def postgres_connection():
    """A connection to one throwaway PostgreSQL cluster for the whole test run (started
    on first use, stopped when the run ends)."""
    if not _POSTGRES:
        import atexit
        import contextlib

        from scorec.runtime.postgres_runtime import connect, throwaway_cluster

        stack = contextlib.ExitStack()
        conninfo = stack.enter_context(throwaway_cluster())
        atexit.register(stack.close)
        _POSTGRES.append(connect(conninfo))
    return _POSTGRES[0]


def spark_session():
    """One local Spark session for the whole test run (starting one takes seconds)."""
    if not _SPARK:
        import pytest

        from scorec.runtime.spark_runtime import java_available, local_session

        if not java_available():
            pytest.fail("the Spark tests need Java 17: apt-get install "
                        "openjdk-17-jre-headless (or run .ci/run, which installs it)")

        _SPARK.append(local_session())
    return _SPARK[0]


def rows_for(program: Program, max_rows: int = 25) -> st.SearchStrategy:
    """Rows drawn around the model's own boundaries, plus specials and hostile text."""
    crit = critical_values(program)
    per_feature = []
    for j, spec in enumerate(program.features):
        values = crit.get(j, [])
        if spec.kind == "string":
            texts = [v for v in values if isinstance(v, str)]
            chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
            options = [st.sampled_from([None, *HOSTILE_TEXT]), st.text(chars, max_size=4)]
            if texts:
                options = [st.sampled_from(texts)] * 3 + options
            per_feature.append(st.one_of(options))
        else:
            nums = [v for v in values if isinstance(v, float)]
            options = [st.sampled_from(SPECIAL_NUMBERS),
                       st.floats(allow_nan=True, allow_infinity=True),
                       st.floats(-1e3, 1e3)]
            if nums:
                options = [st.sampled_from(nums)] * 3 + options
            per_feature.append(st.one_of(options))
    return st.lists(st.tuples(*per_feature).map(list), min_size=1, max_size=max_rows)


def finite(value: float) -> bool:
    return math.isfinite(value)
