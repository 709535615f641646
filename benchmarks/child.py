"""One bounded step run in a separate process, so the parent can cap it with a time limit
(`timing.run_bounded`) and so its memory is returned when it ends. Imports only what the
step needs.

    python benchmarks/child.py STEP INPUT [OUTFILE]

STEP is one of
  m2cgen-python MODEL OUT   m2cgen.export_to_python(model) into OUT
  m2cgen-c MODEL OUT        m2cgen.export_to_c(model) into OUT
  orbital-duckdb MODEL OUT  orbital's DuckDB SQL over a table `rows` whose columns are the
                            model's feature names (x0, x1, ... for a model fit on an array)
  import-python FILE        import a generated Python module
  attach-sql FILE           run a generated .sql file on a fresh DuckDB connection
and prints `{"seconds": <time of the step itself>, "peak_rss": <bytes>}` as JSON on stdout
(peak resident memory of the whole child process).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path


def m2cgen_code(model_path: str, language: str) -> Callable[[], str]:
    import joblib
    import m2cgen

    sys.setrecursionlimit(1_000_000)  # m2cgen walks deep ensembles recursively
    model = joblib.load(model_path)
    exporter = m2cgen.export_to_python if language == "python" else m2cgen.export_to_c
    return lambda: exporter(model)


def _onnx_attributes_take_numpy_bools() -> None:
    """skl2onnx 1.20 passes a HistGradientBoosting model's numpy bools where ONNX's
    `make_attribute` wants ints (it raises on the model): convert them, for orbital."""
    import numpy as np
    import onnx.helper

    make = onnx.helper.make_attribute

    def make_attribute(key, value, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if isinstance(value, (list, tuple)) and any(isinstance(v, (bool, np.bool_))
                                                    for v in value):
            value = [int(v) if isinstance(v, (bool, np.bool_)) else v for v in value]
        return make(key, value, *args, **kwargs)

    onnx.helper.make_attribute = make_attribute


def orbital_sql(model_path: str) -> Callable[[], str]:
    import joblib
    import orbital
    import orbital.types
    from sklearn.pipeline import Pipeline

    model = joblib.load(model_path)
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = [f"x{i}" for i in range(model.n_features_in_)]
    pipeline = model if isinstance(model, Pipeline) else Pipeline([("model", model)])
    _onnx_attributes_take_numpy_bools()

    def generate() -> str:
        parsed = orbital.parse_pipeline(
            pipeline, features={str(n): orbital.types.DoubleColumnType() for n in names})
        # optimize=False: sqlglot's optimizer adds minutes on a forest and may fail on it
        return orbital.export_sql("rows", parsed, dialect="duckdb", optimize=False)

    return generate


def import_python(path: str) -> Callable[[], object]:
    import importlib.util

    def load() -> object:
        spec = importlib.util.spec_from_file_location("generated_model", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


def attach_sql(path: str) -> Callable[[], object]:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 1")
    text = Path(path).read_text(encoding="utf-8")
    return lambda: con.execute(text)


def main(argv: list[str]) -> int:
    step, source, *out = argv
    prepare = {"m2cgen-python": lambda: m2cgen_code(source, "python"),
               "m2cgen-c": lambda: m2cgen_code(source, "c"),
               "orbital-duckdb": lambda: orbital_sql(source),
               "import-python": lambda: import_python(source),
               "attach-sql": lambda: attach_sql(source)}[step]
    run = prepare()
    start = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - start
    if out:
        Path(out[0]).write_text(result, encoding="utf-8")
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print(json.dumps({"seconds": seconds, "peak_rss": peak_rss}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
