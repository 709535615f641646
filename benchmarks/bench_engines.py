"""scorec's Spark SQL and PostgreSQL functions against the usual way of scoring rows that
live in those engines: Spark `mapInPandas` calling sklearn, and fetching the rows with
psycopg into sklearn. Models: the loan-approval pipeline of examples/loan_approval and the
forest of the C batch table.

Spark runs `local[2]` (both shared cores; `mapInPandas` gets the same two partitions);
PostgreSQL runs in a throwaway cluster with parallel workers off (one core per query).
Fewer rows than the DuckDB table: a million rows through either engine takes many
minutes here (ENGINE_ROWS).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from . import models
from .config import Scale
from .data import NumericTask
from .measure import DELTA_ROWS, failed
from .report import SQL, Metric, Row, Table, delta, rows_per_second, significant
from .scorec_side import Compiled, compile_model
from .scorers import Unavailable, as_matrix, max_abs_diff
from .timing import stopwatch

REPO = Path(__file__).resolve().parent.parent
LOAN_TRAIN = REPO / "examples" / "loan_approval" / "train.py"
ENGINE_ROWS = {"full": 100_000, "quick": 5_000}
LINEAR_ROWS = {"full": 1_000_000, "quick": 5_000}  # the million, for the linear pipeline
SPARK_MEMORY = "4g"
COLUMNS = ("query s", "fixed cost per query s", DELTA_ROWS, "setup s", "notes")


@dataclass
class Subject:
    """A model, its scorec compilation and the rows to score, as a DataFrame whose
    columns are the model's input names."""

    title: str
    model: object
    compiled: Compiled
    rows: pd.DataFrame

    @property
    def sql_names(self) -> list[str]:
        return [f["sql_name"] for f in self.compiled.manifest["features"]]

    @property
    def names(self) -> list[str]:
        return [f["name"] for f in self.compiled.manifest["features"]]

    def model_input(self, frame: pd.DataFrame) -> object:
        """What the model's predict_proba takes: a DataFrame for the pipeline (fitted on
        one), a float array for the forest."""
        if hasattr(self.model, "feature_names_in_"):
            return frame[self.names]
        return frame[self.names].to_numpy(dtype=float)

    def expected(self) -> np.ndarray:
        return as_matrix(self.model.predict_proba(self.model_input(self.rows)), len(self.rows))

    def call(self, quote: str) -> str:
        args = ", ".join(f"{quote}{n}{quote}" for n in self.sql_names)
        return f"{self.compiled.name}_predict_proba({args})"


def loan_subject(n: int, workdir: Path, linear: bool = False) -> Subject:
    """The example's pipeline, trained as its train.py does (same seed, same rows); or,
    `linear`, its preprocessing into a LogisticRegression (the issue's linear pipeline)."""
    spec = importlib.util.spec_from_file_location("loan_train", LOAN_TRAIN)
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    rng = np.random.default_rng(7)
    X = train.applicants(2000, rng)
    score = ((X["credit_score"] - 650) / 50
             + np.log(X["income"].fillna(40000) / X["loan_amount"]) - 1.5)
    y = np.where(score + rng.normal(0, 0.7, len(X)) > 0, "approve", "decline")
    pipeline = train.make_pipeline(
        train.ColumnTransformer([
            ("numbers", train.make_pipeline(train.SimpleImputer(strategy="median"),
                                            train.StandardScaler()), train.NUMBERS),
            ("text", train.make_pipeline(train.SimpleImputer(strategy="most_frequent"),
                                         train.OneHotEncoder(handle_unknown="ignore")),
             train.TEXT)]),
        LogisticRegression(max_iter=1000) if linear else
        train.RandomForestClassifier(n_estimators=50, max_depth=8, random_state=0))
    model = pipeline.fit(X, y)
    name = "loan_linear" if linear else "loan"
    path = models.save(model, workdir / f"{name}.joblib")
    rows = train.applicants(n, np.random.default_rng(8))
    # an engine has one missing value (NULL); scorec maps it to the one sklearn treats as
    # missing for the feature: NaN here (SimpleImputer(missing_values=nan) leaves None as
    # a category of its own), so the rows hold NaN where train.py writes None
    rows[train.TEXT] = rows[train.TEXT].astype(object).where(rows[train.TEXT].notna(), np.nan)
    final = "LogisticRegression" if linear else "RandomForest of 50 trees"
    return Subject("loan-approval pipeline (examples/loan_approval: imputers, scaler, "
                   f"one-hot, {final})", model,
                   compile_model(path, workdir / f"{name}_scorec", name), rows)


def forest_subject(n: int, scale: Scale, workdir: Path) -> Subject:
    task = NumericTask(seed=0)
    model = models.forest(scale.forest, *task.training_set(scale.train_rows))
    path = models.save(model, workdir / "engine_forest.joblib")
    compiled = compile_model(path, workdir / "engine_forest_scorec", "forest")
    names = [f["name"] for f in compiled.manifest["features"]]
    return Subject(str(scale.forest), model, compiled,
                   pd.DataFrame(task.features(n, seed=5), columns=names))


def engine_row(tool: str, setup_s: float, fixed_s: float, total_s: float, got: np.ndarray,
               want: np.ndarray, note: str) -> Row:
    return Row(tool=tool, seconds=total_s / len(want),
               cells={"query s": significant(total_s), "setup s": significant(setup_s),
                      "fixed cost per query s": significant(fixed_s),
                      DELTA_ROWS: delta(max_abs_diff(got, want)), "notes": note})


# ---- Spark ----------------------------------------------------------------------------------

class SparkBench:
    def __init__(self) -> None:
        from scorec.runtime.spark_runtime import java_available, local_session

        if not java_available():
            raise Unavailable("no Java runtime")
        # the Python workers mapInPandas starts import this package's functions
        os.environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO.parent), str(REPO), os.environ.get("PYTHONPATH")) if p)
        # the JVM's default 1 GB heap ran out planning the pipeline's functions over
        # 100,000 cached rows (java.lang.OutOfMemoryError in the one-row query)
        os.environ.setdefault("PYSPARK_SUBMIT_ARGS", f"--driver-memory {SPARK_MEMORY} "
                                                     "pyspark-shell")
        self.spark = local_session(2)

    def frame(self, subject: Subject) -> object:
        """The rows as a cached Spark DataFrame (two partitions), with a row id."""
        frame = subject.rows.copy()
        frame.columns = subject.sql_names
        frame.insert(0, "rid", np.arange(len(frame), dtype=np.int64))
        df = self.spark.createDataFrame(frame.astype(object).where(frame.notna(), None))
        df = df.repartition(2).cache()
        df.count()
        return df

    def scorec(self, subject: Subject, df: object, want: np.ndarray) -> Row:
        from scorec.runtime.spark_runtime import attach

        setup_s, _ = stopwatch(lambda: attach(self.spark, subject.compiled.outdir,
                                              subject.compiled.manifest))
        df.createOrReplaceTempView("rows")
        query = f"SELECT rid, {subject.call('`')} AS p FROM rows"
        fixed_s, _ = stopwatch(lambda: self.spark.sql(query + " LIMIT 1").collect())
        total_s, _ = stopwatch(lambda: _to_noop(self.spark.sql(query)))
        got = sorted(self.spark.sql(query).collect(), key=lambda r: r["rid"])
        return engine_row(f"scorec Spark SQL `{subject.compiled.name}_predict_proba(...)`",
                          setup_s, fixed_s, total_s, np.array([r["p"] for r in got]), want,
                          "setup = attach (CREATE TEMPORARY FUNCTION)")

    def map_in_pandas(self, subject: Subject, df: object, want: np.ndarray) -> Row:
        classes = [str(c) for c in subject.model.classes_]
        schema = "rid long, " + ", ".join(f"p{i} double" for i in range(len(classes)))
        score = _pandas_scorer(subject)
        fixed_s, _ = stopwatch(lambda: df.limit(1).mapInPandas(score, schema).collect())
        total_s, _ = stopwatch(lambda: _to_noop(df.mapInPandas(score, schema)))
        got = sorted(df.mapInPandas(score, schema).collect(), key=lambda r: r["rid"])
        return engine_row("Spark `mapInPandas` + sklearn predict_proba", 0.0, fixed_s,
                          total_s, np.array([[r[f"p{i}"] for i in range(len(classes))]
                                             for r in got]), want,
                          "the model pickled to the Python workers")

    def table(self, subject: Subject) -> Table:
        out = Table(section=SQL, title=f"Spark SQL (local[2]) — {subject.title}, "
                                       f"{len(subject.rows):,} rows",
                    metrics=(Metric("rows/s", rows_per_second),), columns=COLUMNS)
        want = subject.expected()
        df = self.frame(subject)
        for name, run in (("scorec Spark SQL", self.scorec), ("mapInPandas", self.map_in_pandas)):
            out.add(_guarded(name, lambda r=run: r(subject, df, want)))
        out.rows[0].reference = "scorec Spark"
        df.unpersist()
        return out


def _to_noop(frame: object) -> None:
    """Run a query to Spark's `noop` sink: every row computed, nothing written or
    collected (a `collect()` of 1M rows into Python costs more than scoring them)."""
    frame.write.format("noop").mode("overwrite").save()


def _pandas_scorer(subject: Subject) -> Callable:
    """The function mapInPandas runs on each partition's batches."""
    model, names, sql_names = subject.model, subject.names, subject.sql_names
    frame_input = hasattr(model, "feature_names_in_")

    def score(batches):  # noqa: ANN001, ANN202 - Spark's iterator of pandas frames
        for batch in batches:
            X = batch[sql_names]
            X.columns = names
            proba = model.predict_proba(X if frame_input else X.to_numpy(dtype=float))
            out = pd.DataFrame(proba, columns=[f"p{i}" for i in range(proba.shape[1])])
            out.insert(0, "rid", batch["rid"].to_numpy())
            yield out

    return score


def _guarded(name: str, run: Callable[[], Row]) -> Row:
    try:
        return run()
    except Unavailable as exc:
        return Row(tool=name, status=str(exc))
    except Exception as exc:  # a tool's failure is a result
        return failed(name, exc)


# ---- PostgreSQL -----------------------------------------------------------------------------

def fastest(fn: Callable[[], object], runs: int = 3) -> tuple[float, object]:
    """(seconds, result) of the fastest of `runs` calls: one query takes seconds, and
    this shared machine's timings vary by a third from run to run."""
    return min((stopwatch(fn) for _ in range(runs)), key=lambda r: r[0])


def postgres_table(subject: Subject, con: object) -> Table:
    from scorec.runtime.postgres_runtime import attach

    out = Table(section=SQL, title=f"PostgreSQL — {subject.title}, {len(subject.rows):,} rows, "
                                   "one core", metrics=(Metric("rows/s", rows_per_second),),
                columns=COLUMNS)
    want = subject.expected()
    kinds = {"number": "double precision", "string": "text"}
    features = subject.compiled.manifest["features"]
    names = ", ".join(f'"{f["sql_name"]}"' for f in features)
    arrays = ", ".join(f"%s::{kinds[f['kind']]}[]" for f in features)
    values = [[None if pd.isna(v) else v for v in subject.rows[f["name"]].tolist()]
              for f in features]
    con.execute("DROP TABLE IF EXISTS rows")
    con.execute(f"CREATE TABLE rows AS SELECT row_number() OVER () AS rid, * FROM "
                f"unnest({arrays}) AS t({names})", values)

    def scorec() -> Row:
        setup_s, _ = stopwatch(lambda: attach(con, subject.compiled.outdir,
                                              subject.compiled.manifest))
        # the array's elements as float8 columns, as the fetch path gets numbers: psycopg
        # takes twice as long to parse a million arrays as two million floats (OFFSET 0
        # keeps the planner from copying the call into each element)
        classes = ", ".join(f"p[{k + 1}]" for k in range(want.shape[1]))
        inner = f"SELECT {subject.call(chr(34))} AS p FROM rows ORDER BY rid"
        query = f"SELECT {classes} FROM ({inner} OFFSET 0) AS s"
        fixed_s, _ = stopwatch(lambda: con.execute(
            f"SELECT {classes} FROM ({inner} LIMIT 1) AS s").fetchall())
        total_s, got = fastest(lambda: con.execute(query).fetchall())
        return engine_row(f"scorec PostgreSQL `{subject.compiled.name}_predict_proba(...)`",
                          setup_s, fixed_s, total_s, np.array(got, dtype=float), want,
                          "setup = attach (CREATE FUNCTION); `fetchall()` of the "
                          "probabilities, the array's elements as columns")

    def fetch() -> Row:
        def run(limit: str = "") -> np.ndarray:
            fetched = con.execute(f"SELECT {names} FROM rows ORDER BY rid {limit}").fetchall()
            frame = pd.DataFrame(fetched, columns=subject.names)
            frame = frame.astype({f["name"]: float for f in features if f["kind"] == "number"})
            return as_matrix(subject.model.predict_proba(subject.model_input(frame)),
                             len(frame))

        fixed_s, _ = stopwatch(lambda: run("LIMIT 1"))
        total_s, got = fastest(run)
        return engine_row("psycopg `fetchall()` + sklearn predict_proba", 0.0, fixed_s,
                          total_s, got, want, "rows fetched into a DataFrame, then "
                                              "predict_proba; both timed")

    out.add(_guarded("scorec PostgreSQL", scorec)).reference = "scorec PostgreSQL"
    out.add(_guarded("psycopg + sklearn", fetch))
    return out


# ---- the section ----------------------------------------------------------------------------

def tables(scale: Scale, workdir: Path) -> list[Table]:
    n = ENGINE_ROWS[scale.name]
    subjects = [loan_subject(LINEAR_ROWS[scale.name], workdir, linear=True),
                loan_subject(n, workdir), forest_subject(n, scale, workdir)]
    out: list[Table] = []
    try:
        spark = SparkBench()
        out += [spark.table(s) for s in subjects]
    except Unavailable as exc:
        out.append(Table(section=SQL, title=f"Spark SQL — not measured: {exc}", metrics=(),
                         columns=()))
    from scorec.runtime.postgres_runtime import connect, throwaway_cluster

    with throwaway_cluster() as conninfo:
        con = connect(conninfo)
        con.execute("SET max_parallel_workers_per_gather = 0")
        out += [postgres_table(s, con) for s in subjects]
        con.close()
    note = (f"{n:,} rows (a million takes many minutes in either engine on this shared "
            "2-core machine), a million for the linear pipeline; Spark's query s is the "
            "query run to the `noop` sink (Δ from a separate `collect()`); query s = one "
            "run after a one-row query (the fixed cost; PostgreSQL: the fastest of three); "
            "Δ = max |probability − sklearn's predict_proba| on these rows; the loan "
            "rows hold NaN where examples/loan_approval/train.py writes None for a missing "
            "state (NULL in an engine is the missing value sklearn's imputer sees: NaN)")
    for table in out:
        table.notes.append(note)
    return out
