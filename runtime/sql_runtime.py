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
    """Scores rows with the macros inside DuckDB. Rows go to a temp table (NaN stays NaN,
    None becomes NULL) and one query scores them all. A refused row aborts a query, so
    after an error NAME_refusal says which rows refuse and why; the rest are scored in
    one query, and each distinct refusal is confirmed on the scoring macro itself."""

    target = "sql"

    def __init__(self, outdir: str | Path, manifest: dict, con: object | None = None):
        import duckdb

        self.duckdb = duckdb
        self.con = con if con is not None else duckdb.connect()
        self.manifest = attach(self.con, outdir, manifest)
        self.table = f"_scorec_rows_{next(_tables)}"
        self.args = ", ".join(f'"{f["sql_name"]}"' for f in manifest["features"])

    def score(self, output: str, rows: list[list]) -> list[object]:
        if output not in self.manifest["outputs"]:
            raise ValueError(f"the model has no {output}; it has {self.manifest['outputs']}")
        if not rows:
            return []
        self._load(rows)
        try:
            return [self._convert(output, v) for v in self._results(output, len(rows))]
        finally:
            self.con.execute(f"DROP TABLE IF EXISTS {self.table}")

    def _load(self, rows: list[list]) -> None:
        feats = self.manifest["features"]
        cols = "".join(f', unnest(${i + 2}::{"VARCHAR" if f["kind"] == "string" else "DOUBLE"}[])'
                       f' AS "{f["sql_name"]}"' for i, f in enumerate(feats))
        params = [list(range(len(rows)))] + [
            [_text(r[i]) if f["kind"] == "string" else _number(r[i]) for r in rows]
            for i, f in enumerate(feats)]
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {self.table} AS "
                         f"SELECT unnest($1::BIGINT[]) AS _rid{cols}", params)

    def _query(self, macro: str, where: str = "TRUE") -> list:
        # no $parameters: a prepared statement would plan the big macro twice
        sql = (f"SELECT _rid, {self.manifest['name']}_{macro}({self.args}) FROM {self.table} "
               f"WHERE {where} ORDER BY _rid")
        return self.con.execute(sql).fetchall()

    def _results(self, output: str, n: int) -> list[object]:
        try:
            return [v for _, v in self._query(output)]
        except self.duckdb.InvalidInputException:
            pass
        try:
            reasons = [m for _, m in self._query("refusal")]
            out: list[object] = [Refused(m) if m is not None else None for m in reasons]
            for rid, v in self._query(output, f"{self.manifest['name']}_refusal({self.args}) "
                                      "IS NULL"):
                out[rid] = v
            for m in dict.fromkeys(r for r in reasons if r is not None):
                if self._bisect(output, reasons.index(m), reasons.index(m) + 1) != [Refused(m)]:
                    raise LookupError(m)
        except (self.duckdb.Error, LookupError):  # no NAME_refusal, or it disagrees
            return self._bisect(output, 0, n)
        return out

    def _bisect(self, output: str, lo: int, hi: int) -> list[object]:
        """Results of rows lo..hi-1, halving the range while a refused row aborts it."""
        try:
            return [v for _, v in self._query(output, f"_rid >= {lo:d} AND _rid < {hi:d}")]
        except self.duckdb.InvalidInputException as exc:
            if hi - lo == 1:
                return [Refused(str(exc).removeprefix(_ERROR_PREFIX))]
            mid = (lo + hi) // 2
            return self._bisect(output, lo, mid) + self._bisect(output, mid, hi)

    def _convert(self, output: str, value: object) -> object:
        """Labels as the manifest's class values; numbers as float."""
        if isinstance(value, Refused):
            return value
        if output == "predict" and isinstance(value, list):  # multi-output: the values
            labels = self.manifest["task"] != "regression"
            return [int(v) if labels else float(v) for v in value]
        if output == "predict" and self.manifest["task"] != "regression":
            classes = self.manifest["classes"]
            return type(classes[0])(value) if classes else value
        if isinstance(value, list):
            return [float(v) for v in value]
        return float(value)


def _number(v: object) -> float | None:
    return None if v is None else float(v)  # None stays NULL: the macros read it as NaN


def _text(v: object) -> str | None:
    return None if v is None or (isinstance(v, float) and v != v) else str(v)
