"""The equivalence checker behind `scorec verify` and the test suite.

Every artifact in an output directory is run on the same rows as the sklearn model:
the user's data, when given, plus generated adversarial rows. Labels must be equal (same
value and type), numbers within 1e-9 relative / 1e-12 absolute, and a row the model
raises for must be refused by the artifact for the same reason.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from scorec.compiler.ir import FeatureSpec, Program

from .adversarial import HOSTILE_TEXT, SPECIAL_NUMBERS, critical_values
from .reference import reference
from .scorer import Refused, Scorer, read_manifest

REL_TOL = 1e-9
ABS_TOL = 1e-12


def refusal_kind(reason: str) -> str:
    """The refusal's class, from an sklearn message, ours, or a C code name."""
    text = reason.lower()
    if "unknown categor" in text or "unknown_category" in text:
        return "UNKNOWN_CATEGORY"
    if "infinity" in text or "infinite" in text or "too large" in text:
        return "INFINITE_VALUE"
    if "beyond the limits" in text or "out of bounds" in text or "out_of_range" in text:
        return "OUT_OF_RANGE"
    if "negative" in text or "strictly positive" in text:
        return "NEGATIVE_VALUE"
    if "nan" in text or "missing" in text:
        return "MISSING_VALUE"
    return "OTHER"


def close(expected: float, actual: float) -> bool:
    if not isinstance(actual, (int, float)) or isinstance(actual, bool):
        return False
    if math.isnan(expected) or math.isnan(actual):
        return math.isnan(expected) and math.isnan(actual)
    if math.isinf(expected) or math.isinf(actual):
        return expected == actual
    return abs(expected - actual) <= ABS_TOL + REL_TOL * abs(expected)


def same(expected: object, actual: object) -> bool:
    """Does one artifact result equal sklearn's for one row?"""
    if isinstance(expected, Refused) or isinstance(actual, Refused):
        return (isinstance(expected, Refused) and isinstance(actual, Refused)
                and refusal_kind(expected.reason) == refusal_kind(actual.reason))
    if isinstance(expected, list):
        return (isinstance(actual, (list, tuple)) and len(actual) == len(expected)
                and all(close(e, a) for e, a in zip(expected, actual)))
    if isinstance(expected, float) and not isinstance(actual, str):
        return close(expected, actual)
    return type(expected) is type(actual) and expected == actual


@dataclass
class Mismatch:
    target: str
    output: str
    row: list
    expected: object
    actual: object


@dataclass
class Report:
    rows: int = 0
    checked: dict[str, int] = field(default_factory=dict)
    mismatches: list[Mismatch] = field(default_factory=list)
    overflowed: dict[str, int] = field(default_factory=dict)
    order_sensitive: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def format(self, features: tuple[FeatureSpec, ...], limit: int = 10) -> str:
        lines = []
        width = max(map(len, self.checked), default=0)
        for target, n in self.checked.items():
            bad = sum(1 for m in self.mismatches if m.target == target)
            lines.append(f"{target:>{width}}: {n} results checked on {self.rows} rows, "
                         f"{bad} mismatches")
            if self.order_sensitive.get(target):
                lines.append(f"        {self.order_sensitive[target]} results where sklearn's "
                             "own answer for the row alone differs from its answer in the "
                             "batch (BLAS order): the artifact was within that spread")
            if self.overflowed.get(target):
                lines.append(f"        {self.overflowed[target]} rows overflowed double in the "
                             "linear score on both sides; their inf/NaN depends on summation "
                             "order and was not compared")
        for m in self.mismatches[:limit]:
            row = ", ".join(f"{f.name}={v!r}" for f, v in zip(features, m.row))
            lines.append(f"MISMATCH [{m.target}] {m.output}({row})\n"
                         f"    model:    {m.expected!r}\n    artifact: {m.actual!r}")
        if len(self.mismatches) > limit:
            lines.append(f"... and {len(self.mismatches) - limit} more mismatches")
        lines.append("OK: every artifact equals the model" if self.ok else
                     "FAILED: artifacts differ from the model")
        return "\n".join(lines)


OVERFLOW = 1e307  # within a factor of 18 of DBL_MAX: the sum's rounding decides overflow


def _overflows(value: object) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(isinstance(v, float) and not abs(v) < OVERFLOW for v in values)


def compare(model: object, program: Program, scorers: list[Scorer], outputs: list[str],
            rows: list[list], report: Report | None = None) -> Report:
    """Score `rows` with the model and every scorer; collect what differs.

    A row whose linear score (decision_function, or a regressor's prediction) overflows
    on both sides (inf, NaN, or beyond 1e307) is counted, not compared: once x.w reaches
    the end of the double range, whether the sum ends at DBL_MAX, +inf, -inf or NaN
    depends on the summation order, which BLAS does not fix."""
    report = report or Report()
    report.rows += len(rows)
    alone: dict = {}  # sklearn's answers for single rows, asked where an artifact differs
    actuals = {s.target: s.score_many(outputs, rows) if hasattr(s, "score_many")
               else {o: s.score(o, rows) for o in outputs} for s in scorers}
    expected = {}
    for output in outputs:
        first = next(iter(actuals.values()))[output] if actuals else []
        hint = {i for i, r in enumerate(first) if isinstance(r, Refused)}
        expected[output] = reference(model, program.features, output, rows, hint)
    score = "decision_function" if "decision_function" in outputs else (
        "predict" if program.task == "regression" else None)
    for target, actual in actuals.items():
        skip = set()
        if score is not None:
            skip = {i for i, (e, a) in enumerate(zip(expected[score], actual[score]))
                    if _overflows(e) and _overflows(a)}
        report.overflowed[target] = report.overflowed.get(target, 0) + len(skip)
        for output in outputs:
            report.checked[target] = report.checked.get(target, 0) + len(rows) - len(skip)
            for i, (row, e, a) in enumerate(zip(rows, expected[output], actual[output])):
                if i in skip or same(e, a):
                    continue
                if _within_sklearns_spread(model, program, output, row, e, a, alone):
                    report.order_sensitive[target] = report.order_sensitive.get(target, 0) + 1
                    continue
                report.mismatches.append(Mismatch(target, output, row, e, a))
    return report


def _within_sklearns_spread(model: object, program: Program, output: str, row: list,
                            batch: object, actual: object, alone: dict) -> bool:
    """Is `actual` as close to sklearn as sklearn is to itself? sklearn's answer for a row
    can depend on the batch it comes in (BLAS picks a kernel, and with it the summation
    order and fused multiply-adds, by the batch's shape): where a sum cancels, or two
    terms overflow to opposite infinities, its answer for the row alone differs from its
    answer in the batch by more than the tolerance. Then the artifact passes if it equals
    the row-alone answer, or lies within twice sklearn's own spread of the batch answer."""
    key = (output, id(row))
    if key not in alone:
        alone[key] = reference(model, program.features, output, [row])[0]
    single = alone[key]
    if same(batch, single) or isinstance(single, Refused):
        return False
    if same(single, actual):
        return True
    pairs = list(zip(batch, single, actual)) if isinstance(batch, list) and \
        isinstance(single, list) and isinstance(actual, list) and \
        len(batch) == len(single) == len(actual) else [(batch, single, actual)]
    return all(isinstance(v, float) and isinstance(b, float) and isinstance(s1, float)
               and abs(v - b) <= 2 * abs(s1 - b) for b, s1, v in pairs)


def _typical(spec: FeatureSpec, crit: list, rng: random.Random) -> object:
    if spec.kind == "string":
        texts = [v for v in crit if isinstance(v, str)]
        return rng.choice(texts) if texts else "a"
    nums = [v for v in crit if isinstance(v, float) and abs(v) < 1e15]  # not the overflow edges
    if nums and rng.random() < 0.5:
        return rng.choice(nums)
    return rng.gauss(0.0, 1.0) * 10 ** rng.randint(-1, 3)


def generate_rows(program: Program, n: int, seed: int = 0,
                  base: list[list] | None = None) -> list[list]:
    """`n` rows: typical rows (or the user's) with one to three features replaced by
    boundary values, specials (NaN, inf, 1e300, subnormals), unseen or hostile text."""
    rng = random.Random(seed)
    crit = critical_values(program)
    feats = program.features
    rows = []
    for i in range(n):
        if base:
            row = list(base[i % len(base)])
        else:
            row = [_typical(f, crit.get(j, []), rng) for j, f in enumerate(feats)]
        for _ in range(rng.randint(0, 3) if feats else 0):
            j = rng.randrange(len(feats))
            options = crit.get(j, [])
            if feats[j].kind == "string":
                texts = [v for v in options if isinstance(v, str)]
                pool = [None, *HOSTILE_TEXT] if rng.random() < 0.25 or not texts else texts
                row[j] = rng.choice(pool)
            elif options and rng.random() < 0.75:
                row[j] = float(rng.choice([v for v in options if isinstance(v, float)] or [0.0]))
            else:
                row[j] = rng.choice(SPECIAL_NUMBERS)
        rows.append(row)
    return rows


def read_rows(path: str | Path, features: tuple[FeatureSpec, ...]) -> list[list]:
    """Rows of a CSV or Parquet file, columns matched to the features by name."""
    import duckdb

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data file not found: {path}")
    reader = "read_parquet" if path.suffix.lower() in (".parquet", ".pq") else "read_csv"
    con = duckdb.connect()
    rel = con.sql(f"SELECT * FROM {reader}($p)", params={"p": str(path)})
    columns = rel.columns
    missing = [f.name for f in features if f.name not in columns]
    if missing:
        raise ValueError(f"{path} has no column for feature(s) {', '.join(map(repr, missing))}")
    pos = [columns.index(f.name) for f in features]
    rows = []
    for rec in rel.fetchall():
        row = []
        for f, j in zip(features, pos):
            v = rec[j]
            if f.kind == "string":
                row.append(None if v is None else str(v))
            else:
                row.append(math.nan if v is None else float(v))
        rows.append(row)
    return rows


def scorers_for(outdir: str | Path, manifest: dict, postgres: object | None = None
                ) -> list[Scorer]:
    """A scorer for every target whose files the output directory holds; `postgres` is a
    connection for the PostgreSQL artifact (see `postgres_connection`)."""
    from .python_runtime import PythonScorer

    found: list[Scorer] = []
    files = manifest["files"]
    if "python" in files:
        found.append(PythonScorer(outdir, manifest))
    if "c" in files:
        from .c_runtime import CScorer

        found.append(CScorer(outdir, manifest))
    if "sql" in files:
        from .sql_runtime import SqlScorer

        found.append(SqlScorer(outdir, manifest))
    if "spark" in files:
        found.append(_spark_scorer(outdir, manifest))
    if "postgres" in files:
        if postgres is None:
            raise RuntimeError("cannot run the PostgreSQL artifact: no connection")
        from .postgres_runtime import PostgresScorer

        found.append(PostgresScorer(outdir, manifest, postgres))
    return found


@contextlib.contextmanager
def postgres_connection(dsn: str | None) -> Iterator[object]:
    """A connection for verifying a PostgreSQL artifact: `dsn`, else libpq's PG*
    variables when PGHOST or PGDATABASE is set, else a throwaway local cluster (the server's
    initdb and pg_ctl); an error that says what is missing when none can be had."""
    try:
        from .postgres_runtime import connect, throwaway_cluster
    except ImportError:  # pragma: no cover - psycopg is an extra
        raise RuntimeError("cannot run the PostgreSQL artifact: psycopg is not installed "
                           "(pip install 'scorec[postgres]')") from None
    if dsn is None and not (os.environ.get("PGHOST") or os.environ.get("PGDATABASE")):
        with throwaway_cluster() as conninfo:
            con = connect(conninfo)
            try:
                yield con
            finally:
                con.close()
        return
    try:
        con = connect(dsn or "")
    except Exception as exc:
        raise RuntimeError(f"cannot run the PostgreSQL artifact: connecting failed: "
                           f"{exc}") from None
    try:
        yield con
    finally:
        con.close()


def _spark_scorer(outdir: str | Path, manifest: dict) -> Scorer:
    """The Spark artifact's scorer in a local session; an error that says what is missing
    when Spark cannot be started (an artifact that was not run is never reported equal)."""
    try:
        from .spark_runtime import SparkScorer, java_available
    except ImportError:  # pragma: no cover - pyspark is an extra
        raise RuntimeError("cannot run the Spark artifact: pyspark is not installed "
                           "(pip install 'scorec[spark]')") from None
    if not java_available():
        raise RuntimeError("cannot run the Spark artifact: no Java runtime found (install "
                           "Java 17, e.g. apt-get install openjdk-17-jre-headless, or set "
                           "JAVA_HOME)")
    return SparkScorer(outdir, manifest)


def check_files(outdir: str | Path, manifest: dict) -> list[str]:
    """Problems with the artifacts themselves: missing files or changed digests."""
    import hashlib

    problems = []
    for fn, digest in manifest["sha256"].items():
        if re.search(r"[/\\]", fn):
            problems.append(f"manifest names a file outside the directory: {fn!r}")
            continue
        path = Path(outdir) / fn
        if not path.exists():
            problems.append(f"{fn} is missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"{fn} was modified after compilation (sha256 differs)")
    return problems


def verify_dir(model: object, program: Program, outdir: str | Path, rows: list[list],
               manifest: dict | None = None, postgres_dsn: str | None = None) -> Report:
    """Run every artifact of `outdir` and the model on `rows`."""
    manifest = manifest or read_manifest(outdir)
    with contextlib.ExitStack() as stack:
        con = stack.enter_context(postgres_connection(postgres_dsn)) \
            if "postgres" in manifest["files"] else None
        scorers = scorers_for(outdir, manifest, con)
        return compare(model, program, scorers, manifest["outputs"], rows)
