"""Spark and PostgreSQL, beyond the property tests: literals that survive each engine's
parser, hostile feature names / categories / labels (quotes, backticks, `$$`, keywords,
non-ASCII), headers that cannot escape their comment, and calling the functions from the
user's own table, column names quoted as the user quotes them."""

from __future__ import annotations

import json
import math
import re
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


def test_postgres_functions_run_in_parallel_workers(tmp_path: Path) -> None:
    """The functions are PARALLEL SAFE, so PostgreSQL may run them in parallel workers,
    where a PL/pgSQL EXCEPTION block fails ("cannot start subtransactions during a parallel
    operation"): no helper catches errors, and rows that take every helper's IEEE path
    (overflow, underflow to zero, exp and power beyond their range) score alike in a
    worker and in the leader."""
    from sklearn.preprocessing import PowerTransformer

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    model = make_pipeline(PowerTransformer(), LogisticRegression()).fit(X, y)
    program = lower_model(model)
    manifest, text = _write(program, "postgres", tmp_path, "par")
    assert "EXCEPTION WHEN" not in text
    _attach("postgres", tmp_path, manifest)
    extremes = [0.0, -0.0, 5e-324, -1e-320, 1e-200, 1e150, -1e150, 1e300, -1e300, 1.7e308,
                -1.7e308, 709.0, -746.0, 1.5, -2.5]
    rows = np.array([(a, b) for a in extremes for b in extremes
                     if _accepted(model, np.array([[a, b]]))])
    assert len(rows) > 100
    con = postgres_connection()
    con.execute("DROP TABLE IF EXISTS par_rows")
    con.execute("CREATE TABLE par_rows (k integer, x0 double precision, x1 double precision)")
    with con.cursor() as cur:
        cur.executemany("INSERT INTO par_rows VALUES (%s, %s, %s)",
                        [(k, float(a), float(b)) for k, (a, b) in enumerate(rows)])
    query = "SELECT k, par_predict_proba(x0, x1) FROM par_rows ORDER BY k"
    leader = con.execute(query).fetchall()
    version = con.execute("SHOW server_version_num").fetchone()[0]
    force = "debug_parallel_query" if int(version) >= 160000 else "force_parallel_mode"
    settings = ("parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size",
                force)
    try:
        for name, value in zip(settings, ("0", "0", "0", "on")):
            con.execute(f"SET {name} = {value}")
        plan = "\n".join(r[0] for r in con.execute("EXPLAIN " + query).fetchall())
        assert "Gather" in plan, plan
        workers = con.execute(query).fetchall()
    finally:
        for name in settings:
            con.execute(f"RESET {name}")
        con.execute("DROP TABLE par_rows")
    assert workers == leader
    want = model.predict_proba(rows)
    got = np.array([p for _, p in leader], dtype=float)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def _accepted(model: object, X: np.ndarray) -> bool:
    """Does sklearn score these rows (rather than refuse them)?"""
    try:
        with np.errstate(all="ignore"):
            model.predict_proba(X)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("classes", [2, 3])
def test_postgres_fast_path_agrees_with_the_guarded_function(classes: int,
                                                              tmp_path: Path) -> None:
    """A function without loops first tests its inputs against a box where nothing can
    raise and then computes its value unguarded: inlined into the query as an SQL function
    where the value is short (two classes), a PL/pgSQL block where it is not (three, whose
    softmax repeats values). Rows on both sides of every edge of the box, with NULL, NaN,
    signed zeros and a subnormal, score as the guarded function and sklearn score them."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(classes)
    X = pd.DataFrame({"a": rng.normal(50, 10, 400), "b": rng.lognormal(10, 1, 400),
                      "c": rng.normal(0, 1e-3, 400), "s": rng.choice(["x", "y", "z"], 400)})
    y = np.digitize(X["a"] / 10 + np.log(X["b"]) - X["c"] * 1e3, [14.0, 15.0][:classes - 1])
    model = make_pipeline(
        ColumnTransformer([("n", make_pipeline(SimpleImputer(), StandardScaler()), ["a", "b"]),
                           ("c", "passthrough", ["c"]),
                           ("s", OneHotEncoder(handle_unknown="ignore"), ["s"])]),
        LogisticRegression(max_iter=1000)).fit(X, y)
    manifest, text = _write(lower_model(model), "postgres", tmp_path, "fp")
    _attach("postgres", tmp_path, manifest)
    con = postgres_connection()
    lang = con.execute("SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang "
                       "WHERE p.proname = 'fp_predict_proba'").fetchone()[0]
    assert lang == ("sql" if classes == 2 else "plpgsql")
    fn = text[text.index("CREATE OR REPLACE FUNCTION fp_predict_proba("):]
    fn = fn[:fn.index("$scorec$;") + len("$scorec$;")]
    edges = {m[0]: float(m[2]) for m in re.findall(
        r"\"(\w)\" BETWEEN '(-[0-9.e+-]+)'::float8 AND '([0-9.e+-]+)'::float8", fn)}
    assert set(edges) == {"a", "b", "c"}
    values = {k: [0.0, -0.0, 5e-324, e, -e, math.nextafter(e, math.inf),
                  -math.nextafter(e, math.inf), e / 3, math.nan, None]
              for k, e in edges.items()}
    rows = [(a, b, c, s) for a in values["a"] for b in values["b"] for c in values["c"]
            for s in ["x", "w", None]]
    frame = pd.DataFrame(rows, columns=["a", "b", "c", "s"]).astype({"a": float, "b": float})
    accepted = [r for r, ok in zip(rows, [_accepted(model, frame.iloc[[i]])
                                          for i in range(len(rows))]) if ok]
    assert len(accepted) > len(rows) // 2
    con.execute("DROP TABLE IF EXISTS fp_rows")
    con.execute("CREATE TABLE fp_rows (k integer, a float8, b float8, c float8, s text)")
    with con.cursor() as cur:
        cur.executemany("INSERT INTO fp_rows VALUES (%s, %s, %s, %s, %s)",
                        [(k, *r) for k, r in enumerate(accepted)])
    if classes == 3:  # the same function without its fast path, as a reference
        guarded, n = re.subn(r"\n  IF [^\n]* THEN\n(?:    [^\n]*\n)*  END IF;\n", "\n", fn, count=1)
        assert n == 1
        con.execute(guarded.replace("fp_predict_proba(", "fp__guarded_predict_proba(", 1))
    args = "a, b, c, s"
    query = (f"SELECT fp_predict_proba({args}), fp__guarded_predict_proba({args}) "
             f"FROM fp_rows ORDER BY k")
    if classes == 2:  # inlined: the plan computes the CASE itself
        plan = "\n".join(r[0] for r in con.execute("EXPLAIN VERBOSE " + query).fetchall())
        assert "CASE WHEN" in plan and "fp_predict_proba(" not in plan, plan
    got = con.execute(query).fetchall()
    con.execute("DROP TABLE fp_rows")
    fast = [struct.pack(f"{classes}d", *f) for f, _ in got]
    assert fast == [struct.pack(f"{classes}d", *g) for _, g in got]
    want = model.predict_proba(pd.DataFrame(accepted, columns=["a", "b", "c", "s"])
                               .astype({"a": float, "b": float}))
    np.testing.assert_allclose(np.array([f for f, _ in got], dtype=float), want,
                               rtol=1e-9, atol=1e-12)
