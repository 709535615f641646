"""Score rows with the SQL functions inside a real engine; DuckDB here (attach the macros
to a connection), Spark and PostgreSQL in their own modules, all through `EngineScorer`."""

from __future__ import annotations

import itertools
from pathlib import Path

from .scorer import Refused, read_manifest

_tables = itertools.count()


def attach(con: object, outdir: str | Path, manifest: dict | None = None) -> dict:
    """Run the compiled NAME.sql on `con` (a duckdb connection), creating the scoring
    macros there; returns the manifest, which names the macros' parameters."""
    manifest = manifest or read_manifest(outdir)
    for fn in manifest["files"]["sql"]:
        con.execute((Path(outdir) / fn).read_text(encoding="utf-8"))
    return manifest


class Aborted(Exception):
    """The engine aborted a query because a scoring function refused a row."""


class EngineScorer:
    """Scores rows with an engine's scoring functions. Rows go to a table (NaN stays
    NaN, None becomes NULL) and one query scores them all. A refused row aborts a query,
    so after an abort NAME_refusal says which rows refuse and why; the rest are scored in
    one query, and each distinct refusal is confirmed on the scoring function itself. An
    engine says how to load rows (`load`), run a query (`rows_of`, raising `Aborted` with
    the function's message) and drop the rows (`drop`)."""

    target: str

    def __init__(self, manifest: dict, quote: str = '"'):
        self.manifest = manifest
        self.table = f"_scorec_rows_{next(_tables)}"
        self.args = ", ".join(f"{quote}{f['sql_name']}{quote}" for f in manifest["features"])

    def load(self, rows: list[list]) -> None:
        raise NotImplementedError

    def rows_of(self, sql: str) -> list[tuple]:
        raise NotImplementedError

    def drop(self) -> None:
        raise NotImplementedError

    def score(self, output: str, rows: list[list]) -> list[object]:
        return self.score_many([output], rows)[output]

    def score_many(self, outputs: list[str], rows: list[list]) -> dict[str, list[object]]:
        """Every output for every row, in two queries where no row is refused: NAME_refusal
        of every row, then the outputs of the rows it does not refuse (in WHERE: an engine
        may evaluate a function inside CASE for every row). Each distinct refusal is then
        confirmed on the scoring functions themselves, row by row."""
        for output in outputs:
            if output not in self.manifest["outputs"]:
                raise ValueError(f"the model has no {output}; it has "
                                 f"{self.manifest['outputs']}")
        if not rows:
            return {o: [] for o in outputs}
        self.load(rows)
        try:
            return {o: [self._convert(o, v) for v in values]
                    for o, values in self._results(outputs, len(rows)).items()}
        finally:
            self.drop()

    def _call(self, function: str) -> str:
        return f"{self.manifest['name']}_{function}({self.args})"

    def _query(self, functions: list[str], where: str = "TRUE") -> list[tuple]:
        """One tuple of function values per row, in row order."""
        calls = ", ".join(self._call(f) for f in functions)
        rows = self.rows_of(f"SELECT _rid, {calls} FROM {self.table} WHERE {where}")
        return [r[1:] for r in sorted(rows, key=lambda r: r[0])]

    def _results(self, outputs: list[str], n: int) -> dict[str, list[object]]:
        try:
            reasons = [r[0] for r in self._query(["refusal"])]
            out: dict[str, list[object]] = {
                o: [Refused(m) if m is not None else None for m in reasons] for o in outputs}
            ok = [i for i, m in enumerate(reasons) if m is None]
            if ok:
                for i, values in zip(ok, self._query(outputs, f"{self._call('refusal')} IS NULL")):
                    for o, v in zip(outputs, values):
                        out[o][i] = v
        except Aborted:  # NAME_refusal disagrees with a scoring function: halve the rows
            return {o: self._bisect(o, 0, n) for o in outputs}
        for m in dict.fromkeys(r for r in reasons if r is not None):
            rid = reasons.index(m)
            for o in outputs:
                if self._bisect(o, rid, rid + 1) != [Refused(m)]:
                    out[o] = self._bisect(o, 0, n)
        return out

    def _bisect(self, output: str, lo: int, hi: int) -> list[object]:
        """Results of rows lo..hi-1, halving the range while a refused row aborts it."""
        try:
            return [r[0] for r in self._query([output], f"_rid >= {lo:d} AND _rid < {hi:d}")]
        except Aborted as exc:
            if hi - lo == 1:
                return [Refused(str(exc))]
            mid = (lo + hi) // 2
            return self._bisect(output, lo, mid) + self._bisect(output, mid, hi)

    def _convert(self, output: str, value: object) -> object:
        """Labels as the manifest's class values; numbers as float."""
        if isinstance(value, Refused):
            return value
        labels = self.manifest["task"] != "regression"
        if output == "predict" and isinstance(value, list):  # multi-output: the values
            return [int(v) if labels else float(v) for v in value]
        if output == "predict" and labels:
            classes = self.manifest["classes"]
            return type(classes[0])(value) if classes else value
        if isinstance(value, list):
            return [float(v) for v in value]
        return float(value)

    def columns(self, rows: list[list]) -> list[tuple[str, str, list]]:
        """(name, kind, values) per input column, `_rid` first: None stays None (NULL),
        numbers are floats (NaN stays NaN), text is str."""
        cols = [("_rid", "index", list(range(len(rows))))]
        for i, f in enumerate(self.manifest["features"]):
            if f["kind"] == "string":
                cols.append((f["sql_name"], "string", [_text(r[i]) for r in rows]))
            else:
                cols.append((f["sql_name"], "number", [_number(r[i]) for r in rows]))
        return cols


class SqlScorer(EngineScorer):
    """The DuckDB macros of NAME.sql, on `con` or a new in-memory connection."""

    target = "sql"

    def __init__(self, outdir: str | Path, manifest: dict, con: object | None = None):
        import duckdb

        super().__init__(manifest)
        self.duckdb = duckdb
        self.con = con if con is not None else duckdb.connect()
        attach(self.con, outdir, manifest)

    def load(self, rows: list[list]) -> None:
        kinds = {"index": "BIGINT", "number": "DOUBLE", "string": "VARCHAR"}
        cols = self.columns(rows)
        select = ", ".join(f'unnest(${i + 1}::{kinds[kind]}[]) AS "{name}"'
                           for i, (name, kind, _) in enumerate(cols))
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {self.table} AS SELECT {select}",
                         [values for _, _, values in cols])

    def rows_of(self, sql: str) -> list[tuple]:
        # no $parameters: a prepared statement would plan the big macro twice
        try:
            return self.con.execute(sql).fetchall()
        except self.duckdb.InvalidInputException as exc:
            raise Aborted(str(exc).removeprefix("Invalid Input Error: ")) from None

    def drop(self) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {self.table}")


def _number(v: object) -> float | None:
    return None if v is None else float(v)  # None stays NULL: the functions read it as NaN


def _text(v: object) -> str | None:
    return None if v is None or (isinstance(v, float) and v != v) else str(v)
