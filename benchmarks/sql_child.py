"""Score a DuckDB table with one SQL query in a separate process, so the parent can cap
the whole run with a time limit (DuckDB cannot interrupt the binding and planning of a huge
query) and get its memory back when it ends.

    python benchmarks/sql_child.py SPEC.json

SPEC holds `database` (a DuckDB file with a table `rows`), `setup` (SQL files to run
first, e.g. CREATE MACRO), `fixed` (a query with one output row: the per-query fixed cost,
and the warm-up), `query` (the scoring query) and `out` (an .npy file for the result). The
table is copied into an in-memory database first (untimed); the connection has one thread.
The result's columns other than `rid` become an (n, k) array (list columns are
flattened), ordered by `rid` when there is one. Prints one JSON line per finished phase,
`{"phase": ..., "seconds": ...}`, then `{"phase": "done", "peak_rss": <bytes>}`.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np


def phase(name: str, fn: Callable[[], object]) -> object:
    start = time.perf_counter()
    result = fn()
    print(json.dumps({"phase": name, "seconds": time.perf_counter() - start}), flush=True)
    return result


def as_array(table: object) -> np.ndarray:
    """The result's probability columns as an (n, k) float array, in `rid` order."""
    columns = []
    for name in table.column_names:
        if name == "rid":
            continue
        column = table.column(name).combine_chunks()
        if hasattr(column, "flatten"):  # a list column: one list per row
            columns.append(column.flatten().to_numpy().reshape(len(table), -1))
        else:
            columns.append(column.to_numpy().reshape(len(table), 1))
    out = np.hstack(columns).astype(float)
    if "rid" in table.column_names:
        out = out[np.argsort(table.column("rid").to_numpy())]
    return out


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    con = duckdb.connect()
    con.execute("SET threads = 1")
    con.execute(f"ATTACH '{spec['database']}' AS data (READ_ONLY)")
    con.execute("CREATE TABLE rows AS SELECT * FROM data.rows")
    con.execute("DETACH data")
    for path in spec["setup"]:
        phase("setup", lambda p=path: con.execute(Path(p).read_text(encoding="utf-8")))
    phase("fixed", lambda: con.sql(spec["fixed"]).fetchall())
    table = phase("query", lambda: con.sql(spec["query"]).to_arrow_table())
    np.save(spec["out"], as_array(table))
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print(json.dumps({"phase": "done", "peak_rss": peak_rss}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
