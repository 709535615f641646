"""Adapters for the peer tools. Each returns a `Scorer` or raises `Unavailable` saying
why ("not installed", "timeout after N s", the tool's own error). Everything a peer is
given is what its documentation asks for; where a peer cannot take the model as it is,
the adapter says what it was given instead (`Scorer.notes`).

Peer C code is built with `cc -O2 -shared -fPIC` plus a tiny batch loop, so one ctypes
call scores a whole batch, as for scorec.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .report import size
from .scorers import Rows, Scorer, Unavailable, as_matrix
from .timing import Bounded, memory_cap, run_bounded, stopwatch

CHILD = Path(__file__).with_name("child.py")
PEER_CFLAGS = ("-O2", "-shared", "-fPIC")


def require(module: str) -> None:
    """Unavailable("not installed") unless `module` imports. numpy's error state is kept
    as it was: emlearn, for one, makes every floating-point event raise when imported."""
    saved = np.geterr()
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise Unavailable("not installed") from exc
    except ImportError as exc:  # installed but broken
        raise Unavailable(f"not installed (import fails: {exc})") from exc
    finally:
        np.seterr(**saved)


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "no message"


def bounded_step(step: str, args: list[str], timeout_s: float, what: str) -> dict:
    """{"seconds": the step's time, "peak_rss": the child's peak memory in bytes} of the
    step run in `child.py` (see there); Unavailable on a timeout or failure."""
    cap = memory_cap()
    result = run_bounded([sys.executable, str(CHILD), step, *args], timeout_s, cap)
    if result.timed_out:
        raise Unavailable(f"timeout after {timeout_s:.0f} s ({what})")
    if result.returncode != 0:
        raise Unavailable(failure(result, cap))
    return json.loads(result.stdout)


def failure(result: Bounded, cap: int) -> str:
    """Why a bounded step failed; names the memory cap when memory may be the reason."""
    if result.returncode < 0:
        return f"fails: killed by signal {-result.returncode} (memory cap {size(cap)})"
    message = last_line(result.stderr)
    if "memory" in message.lower() or "bad_alloc" in message:
        return f"fails: {message} (memory cap {size(cap)})"
    return f"fails: {message}"


def generate_bounded(tool: str, model_path: Path, outfile: Path, timeout_s: float) -> float:
    """Seconds the peer took to generate code into `outfile` (run in a child process)."""
    return bounded_step(tool, [str(model_path), str(outfile)], timeout_s,
                        "code generation")["seconds"]


def build_shared(source: Path | list[Path], timeout_s: float
                 ) -> tuple[float, ctypes.CDLL, Path]:
    """(seconds, library, path): the C source file(s) built with cc into a shared library."""
    sources = [source] if isinstance(source, Path) else source
    library = sources[0].with_suffix(".so")
    cap = memory_cap()
    result = run_bounded(["cc", *PEER_CFLAGS, *map(str, sources), "-o", str(library), "-lm"],
                         timeout_s, cap)
    if result.timed_out:
        raise Unavailable(f"timeout after {timeout_s:.0f} s (cc -O2)")
    if result.returncode != 0:
        raise Unavailable("cc " + failure(result, cap))
    return result.seconds, ctypes.CDLL(str(library)), library


def two_columns(p: np.ndarray, n: int) -> np.ndarray:
    """Probabilities as (n, n_classes); a single column is P(class 1) of a binary task."""
    p = np.asarray(p, dtype=float).reshape(n, -1)
    return np.column_stack([1 - p[:, 0], p[:, 0]]) if p.shape[1] == 1 else p


def sigmoid_columns(score: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp overflows to inf: p is then 0, as expit's
        p = 1.0 / (1.0 + np.exp(-np.asarray(score, dtype=float)))
    return np.column_stack([1 - p, p])


# ---- treelite: tl2cgen (generated C) and GTIL (its interpreter) ---------------------------

TL2CGEN_PARAMS = {"parallel_comp": 16}  # tl2cgen's advice for big models: one huge
# translation unit compiles ~3x slower than 16 smaller ones (measured: 340 s vs 110-140 s)


def treelite_model(model: Any) -> Any:
    """treelite's import of the model: its XGBoost / LightGBM frontends for those
    libraries' sklearn wrappers (given the booster), its sklearn importer otherwise."""
    import treelite

    if hasattr(model, "get_booster"):
        return treelite.frontend.from_xgboost(model.get_booster())
    if hasattr(model, "booster_"):
        return treelite.frontend.from_lightgbm(model.booster_)
    return treelite.sklearn.import_model(model)


def tl2cgen_scorer(model: Any, workdir: Path, timeout_s: float) -> Scorer:
    require("tl2cgen")
    require("treelite")
    import tl2cgen

    source_dir = workdir / "tl2cgen"
    codegen_s, tl_model = stopwatch(lambda: treelite_model(model))
    seconds, _ = stopwatch(lambda: tl2cgen.generate_c_code(tl_model, source_dir,
                                                           params=TL2CGEN_PARAMS))
    codegen_s += seconds
    sources = sorted(source_dir.glob("*.c"))
    build_s, _, library = build_shared(sources, timeout_s)
    predictor = tl2cgen.Predictor(library, nthread=1)
    source_bytes = sum(p.stat().st_size for p in source_dir.glob("*.[ch]"))

    def prepare(rows: Rows) -> Any:
        return tl2cgen.DMatrix(np.ascontiguousarray(rows, dtype=np.float64))

    return Scorer(name="tl2cgen (treelite → C, nthread=1)",
                  proba=lambda rows: two_columns(predictor.predict(prepare(rows)), len(rows)),
                  prepare_batch=prepare, batch=predictor.predict,
                  codegen_s=codegen_s, build_s=build_s,
                  artifact=f"{size(source_bytes)} C source, {size(library.stat().st_size)} .so",
                  notes=[f"generated with {TL2CGEN_PARAMS}"])


def gtil_scorer(model: Any) -> Scorer:
    require("treelite")
    import treelite

    codegen_s, tl_model = stopwatch(lambda: treelite_model(model))

    def predict(rows: np.ndarray) -> np.ndarray:
        return treelite.gtil.predict(tl_model, rows, nthread=1)

    return Scorer(name="treelite GTIL (interpreter, nthread=1)",
                  proba=lambda rows: two_columns(predict(np.asarray(rows, float)), len(rows)),
                  prepare_batch=lambda rows: np.ascontiguousarray(rows, dtype=np.float64),
                  batch=predict, codegen_s=codegen_s, artifact="in memory")


# ---- lleaves (LightGBM model file -> LLVM) -------------------------------------------------

def lleaves_scorer(model: Any, workdir: Path) -> Scorer:
    """lleaves compiles the LightGBM model file with LLVM (in this process: not bounded by
    a time limit) into a shared library; `predict(X, n_jobs=1)`."""
    require("lleaves")
    import lleaves

    workdir.mkdir(parents=True, exist_ok=True)
    model_file, library = workdir / "model.txt", workdir / "lleaves.so"
    model.booster_.save_model(str(model_file))
    compiled = lleaves.Model(model_file=str(model_file))
    codegen_s, _ = stopwatch(lambda: compiled.compile(cache=str(library)))

    def predict(X: np.ndarray) -> np.ndarray:
        return compiled.predict(X, n_jobs=1)

    return Scorer(name="lleaves (LLVM, n_jobs=1)",
                  proba=lambda rows: two_columns(predict(np.asarray(rows, float)), len(rows)),
                  prepare_batch=lambda rows: np.ascontiguousarray(rows, dtype=np.float64),
                  batch=predict, codegen_s=codegen_s,
                  artifact=f"{size(library.stat().st_size)} .so",
                  notes=["codegen = parsing the model file and LLVM compilation"])


# ---- emlearn ---------------------------------------------------------------------------

EMLEARN_LOOP = """
#include <stddef.h>
void bench_batch(const float *X, size_t n, int n_features, float *out, int n_classes)
{
    for (size_t i = 0; i < n; i++)
        %(name)s_predict_proba(X + i * n_features, n_features, out + i * n_classes, n_classes);
}
"""


def emlearn_scorer(model: Any, workdir: Path, timeout_s: float) -> Scorer:
    require("emlearn")
    import emlearn  # imported by require: numpy's error state is already restored

    name = "eml_model"
    # its most exact classifier settings: float features, 8-bit soft-voting leaves
    # (the default, leaf_bits=0, is a hard majority vote)
    codegen_s, code = stopwatch(lambda: emlearn.convert(
        model, method="inline", dtype="float", leaf_bits=8).save(name=name))
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / f"{name}.c"
    source.write_text(code + EMLEARN_LOOP % {"name": name}, encoding="utf-8")
    build_s, lib, library = build_shared(source, timeout_s)
    n_classes = len(model.classes_)
    lib.bench_batch.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                                ctypes.c_void_p, ctypes.c_int]

    def prepare(rows: Rows) -> np.ndarray:
        return np.ascontiguousarray(rows, dtype=np.float32)

    def batch(X: np.ndarray) -> np.ndarray:
        out = np.empty((len(X), n_classes), dtype=np.float32)
        lib.bench_batch(X.ctypes.data, len(X), X.shape[1], out.ctypes.data, n_classes)
        return out

    return Scorer(name="emlearn (inline C, float, 8-bit leaves)",
                  proba=lambda rows: batch(prepare(rows)), prepare_batch=prepare, batch=batch,
                  codegen_s=codegen_s, build_s=build_s,
                  artifact=f"{size(len(code))} C source, {size(library.stat().st_size)} .so",
                  notes=["float32 features and thresholds, probabilities quantized to 8 bits"])


# ---- m2cgen ----------------------------------------------------------------------------

def _m2cgen_inputs(transform: Callable[[Rows], np.ndarray] | None
                   ) -> Callable[[Rows], np.ndarray]:
    def inputs(rows: Rows) -> np.ndarray:
        X = transform(rows) if transform is not None else rows
        return np.ascontiguousarray(X, dtype=np.float64)
    return inputs


def m2cgen_python_scorer(model_path: Path, workdir: Path, timeout_s: float,
                         transform: Callable[[Rows], np.ndarray] | None = None) -> Scorer:
    """m2cgen's Python for the model in `model_path`. `transform`: the preprocessing to
    run (untimed) before m2cgen's code, when m2cgen is given the bare estimator."""
    require("m2cgen")
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "m2cgen_model.py"
    codegen_s = generate_bounded("m2cgen-python", model_path, path, timeout_s)
    namespace: dict[str, Any] = {}
    build_s, _ = stopwatch(lambda: exec(compile(path.read_text(), str(path), "exec"),
                                        namespace))
    score = namespace["score"]
    inputs = _m2cgen_inputs(transform)

    def prepare_rows(rows: Rows) -> list[list[float]]:
        return inputs(rows).tolist()

    def proba(rows: Rows) -> np.ndarray:
        out = np.array([score(r) for r in prepare_rows(rows)], dtype=float)
        return sigmoid_columns(out) if out.ndim == 1 else out

    notes = ["build = compile + exec of the generated code"]
    return Scorer(name="m2cgen Python `score(row)`", proba=proba,
                  prepare_rows=prepare_rows, one=score, codegen_s=codegen_s, build_s=build_s,
                  artifact=f"{size(path.stat().st_size)} .py", notes=notes)


M2CGEN_LOOP = """
#include <stddef.h>
void bench_batch(const double *X, size_t n, size_t n_features, double *out, size_t n_out)
{
    for (size_t i = 0; i < n; i++)
        %(call)s;
}
"""


def m2cgen_c_scorer(model_path: Path, workdir: Path, timeout_s: float,
                    transform: Callable[[Rows], np.ndarray] | None = None) -> Scorer:
    require("m2cgen")
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "m2cgen_model.c"
    codegen_s = generate_bounded("m2cgen-c", model_path, source, timeout_s)
    code = source.read_text(encoding="utf-8")
    scalar = "double score(double * input)" in code
    call = ("out[i] = score((double *)(X + i * n_features))" if scalar else
            "score((double *)(X + i * n_features), out + i * n_out)")
    source.write_text(code + M2CGEN_LOOP % {"call": call}, encoding="utf-8")
    build_s, lib, library = build_shared(source, timeout_s)
    lib.bench_batch.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t,
                                ctypes.c_void_p, ctypes.c_size_t]
    inputs = _m2cgen_inputs(transform)
    n_out = 1 if scalar else 2  # the benchmark tasks are binary

    def batch(X: np.ndarray) -> np.ndarray:
        out = np.empty((len(X), n_out))
        lib.bench_batch(X.ctypes.data, len(X), X.shape[1], out.ctypes.data, n_out)
        return out

    def proba(rows: Rows) -> np.ndarray:
        out = batch(inputs(rows))
        return sigmoid_columns(out[:, 0]) if scalar else out

    return Scorer(name="m2cgen C `score()`", proba=proba, prepare_batch=inputs, batch=batch,
                  codegen_s=codegen_s, build_s=build_s,
                  artifact=f"{size(len(code))} C source, {size(library.stat().st_size)} .so")


# ---- ONNX Runtime via skl2onnx ------------------------------------------------------------

def onnx_scorer(model: Any, sample: Rows, output: str = "probabilities",
                target_opset: dict[str, int] | None = None) -> Scorer:
    """skl2onnx's conversion (float32 numbers, as skl2onnx's converters require for the
    imputer and tree ensembles), run by ONNX Runtime on one thread. `output`: the ONNX
    output compared ("probabilities"; "scores" is IsolationForest's decision_function);
    `target_opset`: skl2onnx's, where its default is newer than ONNX Runtime runs."""
    require("skl2onnx")
    require("onnxruntime")
    import onnxruntime as ort
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    estimator = model.steps[-1][1] if hasattr(model, "steps") else model
    options = ({id(estimator): {"zipmap": False}} if hasattr(estimator, "predict_proba")
               else None)
    if isinstance(sample, pd.DataFrame):
        types = [(c, StringTensorType([None, 1]) if sample[c].dtype == object
                  else FloatTensorType([None, 1])) for c in sample.columns]
        convert = lambda: to_onnx(model, initial_types=types,  # noqa: E731
                                  options=options, target_opset=target_opset)

        def feeds(rows: pd.DataFrame) -> dict[str, np.ndarray]:
            return {c: (rows[[c]].to_numpy(dtype=object).astype(str)
                        if rows[c].dtype == object
                        else rows[[c]].to_numpy(dtype=np.float32)) for c in rows.columns}
    else:
        X1 = np.asarray(sample[:1], dtype=np.float32)
        convert = lambda: to_onnx(model, X1, options=options,  # noqa: E731
                                  target_opset=target_opset)

        def feeds(rows: np.ndarray) -> dict[str, np.ndarray]:
            return {"X": np.ascontiguousarray(rows, dtype=np.float32)}

    codegen_s, onx = stopwatch(convert)
    blob = onx.SerializeToString()
    options_ = ort.SessionOptions()
    options_.intra_op_num_threads = options_.inter_op_num_threads = 1
    build_s, session = stopwatch(lambda: ort.InferenceSession(
        blob, options_, providers=["CPUExecutionProvider"]))
    outputs = [output]
    shape = two_columns if output == "probabilities" else as_matrix

    def run(feed: dict[str, np.ndarray]) -> Any:
        return session.run(outputs, feed)

    def one_row_feeds(rows: Rows) -> list[dict[str, np.ndarray]]:
        full = feeds(rows)
        return [{k: v[i:i + 1] for k, v in full.items()} for i in range(len(rows))]

    return Scorer(name="ONNX Runtime (skl2onnx, float32)",
                  proba=lambda rows: shape(run(feeds(rows))[0], len(rows)),
                  prepare_batch=feeds, batch=run, prepare_rows=one_row_feeds, one=run,
                  codegen_s=codegen_s, build_s=build_s, artifact=f"{size(len(blob))} .onnx",
                  notes=["build = InferenceSession creation"])
