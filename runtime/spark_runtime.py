"""Create the Spark SQL functions of NAME.spark.sql in a Spark session and score rows with
them. Needs pyspark (the `spark` extra) and Java; the session is the caller's, or a local one
started here (`local_session`)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from .scorer import read_manifest
from .sql_runtime import Aborted, EngineScorer

_RAISED = re.compile(r"\[USER_RAISED_EXCEPTION\] (.*?)(?: SQLSTATE: \w+)?$", re.S)


def statements(text: str) -> list[str]:
    """The statements of a generated .spark.sql file, for `spark.sql(...)` one at a time.
    A statement ends at a line ending in `;` (its string literals never hold a line break,
    the printer escapes them), and `--` comment lines are left out."""
    out, current = [], []
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("--")):
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            out.append("\n".join(current).rstrip().removesuffix(";"))
            current = []
    return out


def attach(spark: object, outdir: str | Path, manifest: dict | None = None) -> dict:
    """Create the scoring functions of `outdir` in the session `spark`."""
    manifest = manifest or read_manifest(outdir)
    for fn in manifest["files"]["spark"]:
        for statement in statements((Path(outdir) / fn).read_text(encoding="utf-8")):
            spark.sql(statement)
    return manifest


def local_session(threads: int = 2) -> object:
    """A local Spark session (`local[threads]`), quiet, without a UI; it needs Java."""
    from pyspark.sql import SparkSession

    quiet = Path(__file__).with_name("log4j2-quiet.properties")
    session = (SparkSession.builder.master(f"local[{threads}]").appName("scorec")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", str(threads))
            .config("spark.driver.extraJavaOptions", f"-Dlog4j.configurationFile={quiet.as_uri()}")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.default.parallelism", "1")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate())
    session.sparkContext.setLogLevel("OFF")  # a refused row is an expected task failure
    return session


class SparkScorer(EngineScorer):
    """The functions of NAME.spark.sql, in `spark` or a local session."""

    target = "spark"

    def __init__(self, outdir: str | Path, manifest: dict, spark: object | None = None):
        from pyspark.errors import PySparkException

        super().__init__(manifest, quote="`")
        self.error = PySparkException
        self.spark = spark if spark is not None else local_session()
        attach(self.spark, outdir, manifest)

    def load(self, rows: list[list]) -> None:
        from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

        kinds = {"index": LongType(), "number": DoubleType(), "string": StringType()}
        cols = self.columns(rows)
        schema = StructType([StructField(name, kinds[kind]) for name, kind, _ in cols])
        data = list(zip(*(values for _, _, values in cols)))
        frame = self.spark.createDataFrame(data, schema).coalesce(1)  # one task per query
        frame.createOrReplaceTempView(self.table)

    def rows_of(self, sql: str) -> list[tuple]:
        try:
            return [tuple(r) for r in self.spark.sql(sql).collect()]
        except self.error as exc:
            found = _RAISED.search(str(exc).strip().splitlines()[0])
            if found is None:
                raise
            raise Aborted(found.group(1)) from None

    def drop(self) -> None:
        self.spark.catalog.dropTempView(self.table)


def java_available() -> bool:
    """Whether a Java runtime that Spark can start is on this machine."""
    java_home = os.environ.get("JAVA_HOME")
    return bool(java_home and Path(java_home, "bin", "java").exists()) or any(
        Path(d, "java").exists() for d in os.environ.get("PATH", "").split(os.pathsep))
