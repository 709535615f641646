"""Attach generated SQL macros to a DuckDB connection and score rows with them."""

from __future__ import annotations

import itertools
from pathlib import Path

from .scorer import Refused, read_manifest

_ERROR_PREFIX = "Invalid Input Error: "
_tables = itertools.count()


def attach(con: object, outdir: str | Path, manifest: dict | None = None) -> dict:
    """Run the compiled NAME.sql on `con` (a duckdb connection), creating the scoring
    macros there; returns the manifest, which names the macros' parameters."""
    manifest = manifest or read_manifest(outdir)
    for fn in manifest["files"]["sql"]:
        con.execute((Path(outdir) / fn).read_text(encoding="utf-8"))
    return manifest


class SqlScorer:
    """Scores rows through the macros in DuckDB: rows go to a temp table (NaN stays NaN,
    None is NULL), one query scores them all; a refused row aborts a query, so on an
    error the batch is split until the refused rows are found."""

    target = "sql"

    def __init__(self, outdir: str | Path, manifest: dict, con: object | None = None):
        import duckdb

        self.duckdb = duckdb
        self.con = con if con is not None else duckdb.connect()
        self.manifest = attach(self.con, outdir, manifest)
        self.features = manifest["features"]
        self.table = f"_scorec_rows_{next(_tables)}"

    def score(self, output: str, rows: list[list]) -> list[object]:
        if output not in self.manifest["outputs"]:
            raise ValueError(f"the model has no {output}")
        if not rows:
            return []
        cols = ", ".join(f'unnest(${i + 2}::{"VARCHAR" if f["kind"] == "string" else "DOUBLE"}[]) '
                         f'AS "{f["sql_name"]}"' for i, f in enumerate(self.features))
        params = [list(range(len(rows)))] + [
            [_number(row[i]) if f["kind"] == "number" else _text(row[i]) for row in rows]
            for i, f in enumerate(self.features)]
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {self.table} AS "
                         f"SELECT unnest($1::BIGINT[]) AS _rid{', ' if cols else ''}{cols}",
                         params)
        try:
            return [self._convert(output, v) for v in self._run(output, 0, len(rows))]
        finally:
            self.con.execute(f"DROP TABLE IF EXISTS {self.table}")

    def _run(self, output: str, lo: int, hi: int) -> list[object]:
        """Results for rows lo..hi-1; halves the range while a refused row aborts it."""
        args = ", ".join(f'"{f["sql_name"]}"' for f in self.features)
        query = (f"SELECT {self.manifest['name']}_{output}({args}) FROM {self.table} "
                 "WHERE _rid >= $1 AND _rid < $2 ORDER BY _rid")
        try:
            return [r[0] for r in self.con.execute(query, [lo, hi]).fetchall()]
        except self.duckdb.InvalidInputException as exc:
            if hi - lo == 1:
                message = str(exc)
                return [Refused(message.removeprefix(_ERROR_PREFIX))]
            mid = (lo + hi) // 2
            return self._run(output, lo, mid) + self._run(output, mid, hi)

    def _convert(self, output: str, value: object) -> object:
        """Labels as the manifest's class values; numbers as float."""
        if isinstance(value, Refused):
            return value
        if output == "predict" and self.manifest["task"] != "regression":
            classes = self.manifest["classes"]
            return type(classes[0])(value) if classes else value
        if isinstance(value, list):
            return [float(v) for v in value]
        return float(value)


def _number(v: object) -> float:
    return float("nan") if v is None else float(v)


def _text(v: object) -> str | None:
    return None if v is None or (isinstance(v, float) and v != v) else str(v)
