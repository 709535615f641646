"""Spark and PostgreSQL, beyond the property tests: literals that survive each engine's
parser, hostile feature names / categories / labels (quotes, backticks, `$$`, keywords,
non-ASCII), headers that cannot escape their comment, and calling the functions from the
user's own table, column names quoted as the user quotes them."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn
from conftest import ENGINES, postgres_connection, spark_session
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.tree import DecisionTreeClassifier

from scorec.compiler.build import compile_program
from scorec.compiler.ir import Feature, FeatureSpec, Output, Program
from scorec.compiler.lower import lower_model
from scorec.runtime.verify import compare, generate_rows
from scorec.targets import postgres, spark

HOSTILE = ["'); DROP TABLE x; --", "o'hare", 'say "hi"', "back\\slash", "new\nline", "*/",
           "/* open", "`tick`", "$$", "$q$ body $q$", "$1", "select", "order", "FROM",
           "Zürich", "東京", "tab\there", "", "?", "\\'", "a''b", "\r\n", "😀", "%s"]
PRINTERS = {"spark": spark, "postgres": postgres}


def _query(engine: str, sql: str) -> list[tuple]:
    if engine == "spark":
        return [tuple(r) for r in spark_session().sql(sql).collect()]
    return postgres_connection().execute(sql).fetchall()


def _write(program: Program, engine: str, tmp_path: Path, name: str) -> tuple[dict, str]:
    manifest, files = compile_program(program, name, "0" * 64, sklearn.__version__, (engine,))
    for fn, text in files.items():
        (tmp_path / fn).write_text(text, encoding="utf-8")
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return manifest, files[f"{name}.{engine}.sql"]


def _attach(engine: str, tmp_path: Path, manifest: dict) -> None:
    if engine == "spark":
        from scorec.runtime.spark_runtime import attach

        attach(spark_session(), tmp_path, manifest)
    else:
        from scorec.runtime.postgres_runtime import attach

        attach(postgres_connection(), tmp_path, manifest)


@pytest.mark.parametrize("engine", ENGINES)
def test_string_literals_round_trip_exactly(engine: str) -> None:
    strings = [s for s in HOSTILE if engine == "spark" or "\0" not in s]
    lits = ", ".join(PRINTERS[engine].string(s) for s in strings)
    assert list(_query(engine, f"SELECT {lits}")[0]) == strings


@pytest.mark.parametrize("engine", ENGINES)
def test_number_literals_are_exact_doubles(engine: str) -> None:
    rng = np.random.default_rng(0)
    values = [0.1, -0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 1e300,
              -123.456, 2.0**53 + 2, *rng.normal(size=20) * 10.0 ** rng.integers(-300, 300, 20)]
    lits = ", ".join(PRINTERS[engine].number(float(v)) for v in values)
    got = _query(engine, f"SELECT {lits}")[0]
    bits = [struct.pack("<d", float(v)) for v in values]
    assert [struct.pack("<d", float(g)) for g in got] == bits
    specials = ", ".join(PRINTERS[engine].number(v) for v in (math.inf, -math.inf, math.nan))
    inf, ninf, nan = _query(engine, f"SELECT {specials}")[0]
    assert inf == math.inf and ninf == -math.inf and math.isnan(nan)


@pytest.mark.parametrize("engine", ENGINES)
def test_header_comment_cannot_escape(engine: str, tmp_path: Path) -> None:
    program = Program(features=(FeatureSpec("a", "number"),), task="regression",
                      outputs={"predict": Output("predict", "scalar", (Feature(0),))})
    files = PRINTERS[engine].emit(program, "hdr", ["a"],
                                  "evil\nDROP TABLE x;\r-- */ \u2028 $$ ` y")
    text = files["hdr." + engine + ".sql"]
    assert "DROP TABLE x" not in "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("--"))


def _hostile_model(estimator: object) -> tuple[object, pd.DataFrame]:
    rng = np.random.default_rng(0)
    n = 200
    cats = HOSTILE[:12]
    X = pd.DataFrame({
        "'); DROP TABLE x; --": rng.normal(size=n),
        "select": rng.normal(size=n),
        'we"ird */ na\nme`': rng.normal(size=n),
        "$$ dollar $body$": rng.normal(size=n),
        "Größe \\": pd.Series(rng.choice(cats, n), dtype=object),
    })
    labels = np.array(["'); DROP TABLE x; --", "a'b", 'c"d', "e\\f", "g\nh", "$$", "`t`",
                       "東京"], dtype=object)
    y = labels[((X.iloc[:, 0] > 0).astype(int) * 4 + (X["Größe \\"] == cats[1]) * 2
                + (X["select"] > 1)).to_numpy()]
    ct = ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"), ["Größe \\"])],
                           remainder="passthrough")
    return make_pipeline(ct, estimator).fit(X, y), X


def _user_query(engine: str, fname: str, X: pd.DataFrame) -> list:
    """predict on the user's own table, its hostile column names quoted as a user would."""
    if engine == "spark":
        session = spark_session()
        session.createDataFrame(X).createOrReplaceTempView("user_rows")
        quoted = ", ".join("`" + c.replace("`", "``") + "`" for c in X.columns)
        sql = f"SELECT {fname}({quoted}) FROM user_rows"
        try:
            return [r[0] for r in session.sql(sql).collect()]
        finally:
            session.catalog.dropTempView("user_rows")
    con = postgres_connection()
    quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in X.columns)
    kinds = ["text" if X[c].dtype == object else "double precision" for c in X.columns]
    con.execute("DROP TABLE IF EXISTS user_rows")
    con.execute("CREATE TEMP TABLE user_rows (i integer, " + ", ".join(
        f"{q} {k}" for q, k in zip(quoted.split(", "), kinds)) + ")")
    with con.cursor() as cur:
        cur.executemany(f"INSERT INTO user_rows VALUES (%s{', %s' * X.shape[1]})",
                        [(i, *row) for i, row in enumerate(X.itertuples(index=False))])
    return [r[0] for r in con.execute(f"SELECT {fname}({quoted}) FROM user_rows ORDER BY i")]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("estimator", [DecisionTreeClassifier(random_state=0, max_depth=4),
                                       LogisticRegression(max_iter=500)],
                         ids=["tree", "linear"])
def test_hostile_names_categories_and_labels(engine: str, estimator: object,
                                             tmp_path: Path) -> None:
    model, X = _hostile_model(estimator)
    program = lower_model(model)
    name = "hostile_" + engine
    manifest, text = _write(program, engine, tmp_path, name)
    _attach(engine, tmp_path, manifest)
    assert _user_query(engine, f"{name}_predict", X) == list(model.predict(X))
    if engine == "spark":
        from scorec.runtime.spark_runtime import SparkScorer

        scorer = SparkScorer(tmp_path, manifest, spark_session())
    else:
        from scorec.runtime.postgres_runtime import PostgresScorer

        scorer = PostgresScorer(tmp_path, manifest, postgres_connection())
    rows = generate_rows(program, 120, seed=3) + [[0.5, 0.5, 0.5, 0.5, v] for v in HOSTILE]
    report = compare(model, program, [scorer], manifest["outputs"], rows)
    assert report.ok, report.format(program.features)


@pytest.mark.parametrize("ansi", [False, True])
def test_spark_results_do_not_depend_on_ansi_mode(ansi: bool, tmp_path: Path) -> None:
    """Division by zero, logarithms at and below zero, casts out of range and refusals
    give the model's results with `spark.sql.ansi.enabled` off (NULLs instead of errors
    there) and on."""
    from sklearn.preprocessing import FunctionTransformer, PowerTransformer

    from scorec.runtime.spark_runtime import SparkScorer

    rng = np.random.default_rng(5)
    X = np.abs(rng.normal(size=(150, 3))) * [1.0, 10.0, 0.1]
    y = (X[:, 0] + np.log1p(X[:, 1]) > 1.5).astype(int)
    model = make_pipeline(FunctionTransformer(np.log), PowerTransformer(),
                          LogisticRegression()).fit(X, y)
    program = lower_model(model)
    manifest, _ = _write(program, "spark", tmp_path, "ansi")
    session = spark_session()
    before = session.conf.get("spark.sql.ansi.enabled")
    session.conf.set("spark.sql.ansi.enabled", str(ansi).lower())
    try:
        scorer = SparkScorer(tmp_path, manifest, session)
        rows = generate_rows(program, 150, seed=4) + [[0.0, -1.0, 1e308], [-0.0, 0.0, 5e-324]]
        report = compare(model, program, [scorer], manifest["outputs"], rows)
    finally:
        session.conf.set("spark.sql.ansi.enabled", before)
    assert report.ok, report.format(program.features)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_100_tree_depth_10_forest_runs(engine: str, tmp_path: Path) -> None:
    """Node tables are bound once per function: on Spark, tables inlined into each tree's
    walk ran the driver out of memory for this forest."""
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 20))
    y = (X[:, 0] + X[:, 1] * X[:, 2] + rng.normal(size=4000) > 0).astype(int)
    model = RandomForestClassifier(n_estimators=100, max_depth=10, random_state=0).fit(X, y)
    program = lower_model(model)
    manifest, _ = _write(program, engine, tmp_path, "big_" + engine)
    if engine == "spark":
        from scorec.runtime.spark_runtime import SparkScorer

        scorer = SparkScorer(tmp_path, manifest, spark_session())
    else:
        from scorec.runtime.postgres_runtime import PostgresScorer

        scorer = PostgresScorer(tmp_path, manifest, postgres_connection())
    rows = generate_rows(program, 60, seed=1)
    report = compare(model, program, [scorer], manifest["outputs"], rows)
    assert report.ok, report.format(program.features)
