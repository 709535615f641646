"""Tree ensembles scored inside DuckDB (one thread): the RandomForest and two boosting
models; scorec's macros, fetching the rows and calling sklearn, and orbital's SQL for the
same model.

The SQL tools run in a child process (`sql_child.py`) under the time limit: DuckDB cannot
interrupt the binding and planning of a huge query, so only killing the process bounds it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier

from . import models, peers
from .bench_forest import Forest, edge_rows
from .config import Scale
from .data import NumericTask, split_edge_rows
from .measure import DELTA_EDGE, DELTA_ROWS, failed
from .report import SQL, Metric, Row, Table, delta, rows_per_second, seconds, significant, size
from .scorec_side import Compiled, compile_model, sql_arguments
from .scorers import Unavailable, as_matrix, max_abs_diff
from .timing import memory_cap, run_bounded, stopwatch

SQL_CHILD = Path(__file__).with_name("sql_child.py")
AFTER_FIXED = "rows/s after the fixed cost"
COLUMNS = ("query s", "fixed cost per query s", AFTER_FIXED, DELTA_ROWS, DELTA_EDGE,
           "codegen s", "setup s", "peak RSS", "artifact", "notes")
PHASES = {"setup": "CREATE MACRO", "fixed": "the one-row query (binding and planning)",
          "query": "the full query"}


def write_database(path: Path, columns: list[str], X: np.ndarray) -> None:
    """A DuckDB file with table `rows(rid, <columns>)` holding X in row order."""
    import duckdb

    frame = pd.DataFrame(X, columns=columns)
    frame.insert(0, "rid", np.arange(len(X), dtype=np.int64))
    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as con:
        con.register("rows_frame", frame)
        con.execute("CREATE TABLE rows AS SELECT * FROM rows_frame")


def timing_cells(total_s: float, fixed_s: float | None, n: int) -> dict[str, str]:
    """Query and fixed-cost seconds, and the rate once the fixed cost is paid (shown only
    where the run is long enough for the difference to mean something)."""
    cells = {"query s": significant(total_s)}
    if fixed_s is not None:
        cells["fixed cost per query s"] = significant(fixed_s)
        if total_s > 2 * fixed_s:
            cells[AFTER_FIXED] = significant(n / (total_s - fixed_s))
    return cells


class SqlBench:
    """One model's rows in a DuckDB file, scored by scorec's macro for `output` and by
    fetching the rows into the model's own `output` method (`library` names it)."""

    def __init__(self, model: Any, compiled: Compiled, natural: np.ndarray, edge: np.ndarray,
                 scale: Scale, workdir: Path, key: str = "", output: str = "predict_proba",
                 library: str = "sklearn", model_path: Path | None = None):
        self.model, self.compiled, self.scale, self.workdir = model, compiled, scale, workdir
        self.key, self.output, self.library, self.model_path = key, output, library, model_path
        self.columns = [f["sql_name"] for f in compiled.manifest["features"]]
        X = np.vstack([natural, edge])
        self.n_natural = len(natural)
        self.database = workdir / f"sql_{key}rows.duckdb"
        write_database(self.database, self.columns, X)
        self.expected = as_matrix(getattr(model, output)(X), len(X))

    @classmethod
    def of_forest(cls, forest: Forest, scale: Scale, workdir: Path) -> SqlBench:
        return cls(forest.model, forest.compiled, forest.task.features(scale.sql_rows, seed=5),
                   edge_rows(forest, scale.edge_rows), scale, workdir,
                   model_path=forest.path)

    def deltas(self, got: np.ndarray) -> dict[str, str]:
        n = self.n_natural
        return {DELTA_ROWS: delta(max_abs_diff(got[:n], self.expected[:n])),
                DELTA_EDGE: delta(max_abs_diff(got[n:], self.expected[n:]))}

    def run_child(self, tool: str, key: str, setup: list[Path], query: str, fixed: str,
                  cells: dict[str, str], timeout_s: float) -> Row:
        """Run the SQL tool in `sql_child.py`; its row (or why it has none)."""
        spec = {"database": str(self.database), "setup": [str(p) for p in setup],
                "query": query, "fixed": fixed,
                "out": str(self.workdir / f"sql_{self.key}{key}.npy")}
        spec_path = self.workdir / f"sql_{self.key}{key}.json"
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        cap = memory_cap()
        result = run_bounded([sys.executable, str(SQL_CHILD), str(spec_path)], timeout_s, cap)
        done = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        times = {d["phase"]: d["seconds"] for d in done if "seconds" in d}
        if "setup" in times:
            cells["setup s"] = significant(sum(d["seconds"] for d in done
                                               if d["phase"] == "setup"))
        if "fixed" in times:
            cells["fixed cost per query s"] = significant(times["fixed"])
        if result.timed_out:
            pending = next(p for p in ("setup", "fixed", "query", "done")
                           if p not in times and (p != "setup" or setup))
            where = PHASES.get(pending, "saving the result")
            return Row(tool=tool, status=f"timeout after {timeout_s:.0f} s (in {where})",
                       cells=cells)
        if result.returncode != 0:
            return Row(tool=tool, status=peers.failure(result, cap), cells=cells)
        n = len(self.expected)
        cells.update(timing_cells(times["query"], times.get("fixed"), n))
        cells.update(self.deltas(np.load(spec["out"])))
        cells["peak RSS"] = size(done[-1]["peak_rss"])
        return Row(tool=tool, seconds=times["query"] / n, cells=cells)

    def scorec(self) -> Row:
        compiled = self.compiled
        macro = f"{compiled.name}_{self.output}({sql_arguments(compiled)})"
        return self.run_child(
            f"scorec SQL macro `{compiled.name}_{self.output}(...)`", "scorec",
            [compiled.outdir / fn for fn in compiled.manifest["files"]["sql"]],
            query=f"SELECT rid, {macro} AS p FROM rows",
            # one input row: the macro is a correlated subquery, which DuckDB joins to the
            # distinct input rows before any LIMIT on the result could stop it
            fixed=f"SELECT {macro} FROM (SELECT * FROM rows LIMIT 1)",
            cells={"codegen s": seconds(compiled.seconds),
                   "artifact": f"{size(compiled.target_bytes('sql'))} .sql",
                   "notes": "setup = running NAME.sql (CREATE MACRO) on the connection"},
            timeout_s=self.scale.scorec_sql_timeout_s)

    def orbital(self) -> Row:
        peers.require("orbital")
        path = self.workdir / f"sql_{self.key}orbital.sql"
        codegen_s = peers.generate_bounded("orbital-duckdb", self.model_path, path,
                                           self.scale.peer_timeout_s)
        sql = path.read_text(encoding="utf-8")
        names = ", ".join(f'"output_probability.{c}"' for c in self.model.classes_)
        return self.run_child(
            "orbital SQL (`export_sql`, duckdb dialect)", "orbital", [],
            query=f"SELECT {names} FROM ({sql})", fixed=f"SELECT * FROM ({sql}) LIMIT 1",
            cells={"codegen s": significant(codegen_s),
                   "artifact": f"{size(len(sql.encode()))} .sql",
                   "notes": "one SELECT over `rows`; generated with optimize=False (sqlglot's "
                            "optimizer, projection pushdown included, adds minutes on a "
                            "forest); compares doubles with thresholds rounded to float32; "
                            "row order = table order"},
            timeout_s=self.scale.peer_timeout_s)

    def sklearn(self) -> Row:
        import duckdb

        fn, cols = getattr(self.model, self.output), ", ".join(f'"{c}"' for c in self.columns)
        con = duckdb.connect()
        con.execute("SET threads = 1")
        con.execute(f"ATTACH '{self.database}' AS data (READ_ONLY)")
        con.execute("CREATE TABLE rows AS SELECT * FROM data.rows")

        def fetch_and_score(limit: str = "") -> np.ndarray:
            data: dict[str, Any] = con.execute(f"SELECT {cols} FROM rows {limit}").fetchnumpy()
            # DuckDB stores a pandas NaN as NULL, fetched as a masked value: back to NaN
            X = np.column_stack([np.ma.filled(np.ma.asarray(data[c], dtype=float), np.nan)
                                 for c in self.columns])
            return as_matrix(fn(X), len(X))

        fixed_s, _ = stopwatch(lambda: fetch_and_score("LIMIT 1"))
        total_s, got = stopwatch(fetch_and_score)
        con.close()
        cells = {"notes": f"`fetchnumpy()` of the feature columns, then `{self.output}` "
                          "(n_jobs=1); both timed"}
        cells.update(self.deltas(got))
        cells.update(timing_cells(total_s, fixed_s, len(got)))
        return Row(tool=f"fetch rows + {self.library} {self.output}",
                   seconds=total_s / len(got),
                   cells=cells)


def sql_table(title: str, bench: SqlBench, runs: list[tuple[str, Callable[[], Row]]]
              ) -> Table:
    """A DuckDB table: scorec's macro, fetch + the model's library, then `runs`."""
    out = Table(section=SQL, title=title, metrics=(Metric("rows/s", rows_per_second),),
                columns=COLUMNS)
    for name, run in (("scorec SQL", bench.scorec), (bench.library, bench.sklearn), *runs):
        try:
            row = run()
        except Unavailable as exc:
            row = Row(tool=name, status=str(exc))
        except Exception as exc:  # a tool's failure is a result
            row = failed(name, exc)
        if name == "scorec SQL":
            row.reference = "scorec SQL"
        out.add(row)
    return out


# the boosting models of the DuckDB comparison with orbital: (trees, depth) of a
# GradientBoostingClassifier and iterations of a HistGradientBoostingClassifier
BOOSTING = {"full": ((300, 4), 200), "quick": ((30, 4), 20)}


def tables(forest: Forest, scale: Scale, workdir: Path) -> list[Table]:
    """The forest, then two boosting models, each against fetch + sklearn and orbital."""
    rows = f"{scale.sql_rows:,} + {scale.edge_rows:,} edge rows, one thread"
    bench = SqlBench.of_forest(forest, scale, workdir)
    out = [_with_notes(sql_table(f"DuckDB SQL — {scale.forest}, 30 numeric features, {rows}",
                                 bench, [("orbital", bench.orbital)]), scale)]
    task = NumericTask(seed=0)
    X, y = task.training_set(scale.train_rows)
    (n_trees, depth), iterations = BOOSTING[scale.name]
    for key, title, model in (
            ("gb", f"GradientBoostingClassifier({n_trees} trees, max_depth={depth})",
             GradientBoostingClassifier(n_estimators=n_trees, max_depth=depth,
                                        random_state=0).fit(X, y)),
            ("hgb", f"HistGradientBoostingClassifier(max_iter={iterations})",
             HistGradientBoostingClassifier(max_iter=iterations, random_state=0,
                                            early_stopping=False).fit(X, y))):
        path = models.save(model, workdir / f"sql_{key}.joblib")
        compiled = compile_model(path, workdir / f"sql_{key}_scorec", f"sql_{key}")
        edge = split_edge_rows(model, task.features(scale.edge_rows, seed=3), seed=4)
        bench = SqlBench(model, compiled, task.features(scale.sql_rows, seed=5), edge, scale,
                         workdir, key=f"{key}_", model_path=path)
        table = sql_table(f"DuckDB SQL — {title}, 30 numeric features, {rows}", bench,
                          [("orbital", bench.orbital)])
        table.notes.append("as the forest's table; edge rows as in the boosting C batch "
                           "tables")
        out.append(table)
    return out


def _with_notes(out: Table, scale: Scale) -> Table:
    out.notes += [
        "`SET threads = 1`. scorec and orbital run in a child process (killed at the time "
        f"limit: {scale.scorec_sql_timeout_s:.0f} s for scorec, {scale.peer_timeout_s:.0f} s "
        "for orbital's code generation and, separately, its run) on an "
        "in-memory copy of the table; each first runs a query with one output row (its "
        "fixed cost: binding and planning; also the warm-up; scorec's scores one input row, "
        "as its macros join the distinct input rows before a LIMIT applies), then one timed "
        "query over all "
        "rows, fetched as an Arrow table. rows/s = all rows ÷ that query's time",
        "edge rows: rows with 10 features each on, or one double / one float32 step beside, "
        "a split threshold (appended to the table; included in the timing)"]
    return out
