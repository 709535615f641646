"""scorec under test: compile a model file, then score through each generated artifact
(C via ctypes, the Python module, DuckDB macros)."""

from __future__ import annotations

import ctypes
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scorec.compiler.build import compile_file
from scorec.runtime.c_runtime import CFLAGS
from scorec.runtime.python_runtime import import_module

from .report import size
from .scorers import Rows, Scorer
from .timing import stopwatch


@dataclass
class Compiled:
    outdir: Path
    manifest: dict
    seconds: float   # compile_file, all three targets

    @property
    def name(self) -> str:
        return self.manifest["name"]

    def file(self, suffix: str) -> Path:
        return self.outdir / f"{self.name}{suffix}"

    def target_bytes(self, target: str) -> int:
        return sum((self.outdir / fn).stat().st_size for fn in self.manifest["files"][target])

    def columns(self, rows: Rows) -> list[list]:
        """One list per feature (in manifest order) of the rows' values, as plain Python
        values (float, str, None), never numpy scalars."""
        if isinstance(rows, pd.DataFrame):
            return [rows[f["name"]].tolist() for f in self.manifest["features"]]
        return np.asarray(rows, dtype=float).T.tolist()


def compile_model(model_path: Path, outdir: Path, name: str) -> Compiled:
    seconds, manifest = stopwatch(lambda: compile_file(model_path, outdir, name=name))
    return Compiled(outdir, manifest, seconds)


def compile_each_target(model_path: Path) -> dict[str, float]:
    """Seconds of each compile step, one run each: loading the model file, lowering it to
    the IR, then printing each target on its own (`compile_program` with one target)."""
    import sklearn

    from scorec.compiler.build import TARGETS, compile_program
    from scorec.compiler.load import load_model, sha256_file
    from scorec.compiler.lower import lower_model

    times = {}
    times["load"], model = stopwatch(lambda: load_model(model_path))
    times["lower"], program = stopwatch(lambda: lower_model(model))
    sha = sha256_file(model_path)
    for target in TARGETS:
        times[target], _ = stopwatch(lambda t=target: compile_program(
            program, "m", sha, sklearn.__version__, (t,)))
    return times


def cc_command(source: Path, library: Path) -> list[str]:
    """How scorec's own runtime builds the generated C (strict flags, -O2)."""
    return ["cc", *CFLAGS, str(source), "-o", str(library), "-lm"]


class _Addresses(list):
    structs: np.ndarray


class CLibrary:
    """The generated C built into a shared library and called through ctypes."""

    def __init__(self, compiled: Compiled, builddir: Path, output: str = "predict_proba"):
        self.compiled, self.output = compiled, output
        builddir.mkdir(parents=True, exist_ok=True)
        self.path = builddir / f"{compiled.name}.so"
        command = cc_command(compiled.file(".c"), self.path)
        self.build_s, proc = stopwatch(lambda: subprocess.run(command, capture_output=True,
                                                              text=True))
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {proc.stderr.strip()[-2000:]}")
        features = compiled.manifest["features"]
        fields = [(f["c_name"], ctypes.c_double if f["kind"] == "number" else ctypes.c_char_p)
                  for f in features]
        self.Input = type("Input", (ctypes.Structure,), {"_fields_": fields})
        self.dtype = np.dtype({
            "names": [name for name, _ in fields],
            "formats": ["f8" if t is ctypes.c_double else np.uintp for _, t in fields],
            "offsets": [getattr(self.Input, name).offset for name, _ in fields],
            "itemsize": ctypes.sizeof(self.Input)})
        self.kinds = [f["kind"] for f in features]
        self.n_classes = output_width(compiled, output)
        lib = ctypes.CDLL(str(self.path))
        self.one = getattr(lib, f"{compiled.name}_{output}")
        self.many = getattr(lib, f"{compiled.name}_{output}_batch")
        self.one.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self.many.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
        self.one.restype = self.many.restype = ctypes.c_int
        self._lib, self._text = lib, {}

    def _pointer(self, value: object) -> int:
        """Address of a NUL-terminated copy of a text value (0 for missing); one buffer
        per distinct value, kept alive by this object."""
        if value is None or (isinstance(value, float) and value != value):
            return 0
        if value not in self._text:
            self._text[value] = ctypes.create_string_buffer(str(value).encode("utf-8"))
        return ctypes.addressof(self._text[value])

    def structs(self, rows: Rows) -> np.ndarray:
        """The rows as an array of `NAME_input` structs."""
        columns = self.compiled.columns(rows)
        arr = np.zeros(len(columns[0]) if columns else 0, dtype=self.dtype)
        for name, kind, col in zip(self.dtype.names, self.kinds, columns):
            if kind == "number":
                arr[name] = np.asarray([np.nan if v is None else v for v in col], dtype=float)
            else:
                arr[name] = np.asarray([self._pointer(v) for v in col], dtype=np.uintp)
        return arr

    def batch(self, structs: np.ndarray) -> np.ndarray:
        out = np.empty((len(structs), self.n_classes))
        self.many(structs.ctypes.data, len(structs), out.ctypes.data)
        return out

    def proba(self, rows: Rows) -> np.ndarray:
        return self.batch(self.structs(rows))

    def row_addresses(self, rows: Rows) -> list[int]:
        """One struct address per row; the list keeps the struct array alive."""
        arr = self.structs(rows)
        base, step = arr.ctypes.data, arr.dtype.itemsize
        addresses = _Addresses(base + i * step for i in range(len(arr)))
        addresses.structs = arr
        return addresses

    def scorer_batch(self) -> Scorer:
        return Scorer(name=f"scorec C `_{self.output}_batch` (ctypes, one call)",
                      proba=self.proba, prepare_batch=self.structs, batch=self.batch,
                      codegen_s=self.compiled.seconds, build_s=self.build_s,
                      artifact=self.artifact())

    def scorer_single(self) -> Scorer:
        out = np.empty(self.n_classes)
        out_ptr, fn = out.ctypes.data, self.one

        def one(address: int) -> np.ndarray:
            fn(address, out_ptr)
            return out

        def proba(rows: Rows) -> np.ndarray:
            return np.array([one(address).copy() for address in self.row_addresses(rows)])

        return Scorer(name=f"scorec C `_{self.output}` (one ctypes call per row)",
                      proba=proba, prepare_rows=self.row_addresses, one=one,
                      codegen_s=self.compiled.seconds, build_s=self.build_s,
                      artifact=self.artifact())

    def artifact(self) -> str:
        return (f"{size(self.compiled.target_bytes('c'))} C source, "
                f"{size(self.path.stat().st_size)} .so")


def output_width(compiled: Compiled, output: str) -> int:
    """Doubles the C function of `output` writes per row: the classes for predict_proba,
    the header's `NAME_N_<OUTPUT>` width macro (N_DECISION for decision_function), else 1."""
    if output == "predict_proba":
        return len(compiled.manifest["classes"])
    macro = "DECISION" if output == "decision_function" else output.upper()
    header = compiled.file(".h").read_text(encoding="utf-8")
    found = re.search(rf"#define {compiled.name}_N_{macro} (\d+)", header)
    return int(found.group(1)) if found else 1


def python_scorer(compiled: Compiled, output: str = "predict_proba") -> Scorer:
    """The generated module, imported (the import time is its build time)."""
    path = compiled.outdir / compiled.manifest["files"]["python"][0]
    import_s, module = stopwatch(lambda: import_module(path))
    fn = getattr(module, output)

    def rows_as_lists(rows: Rows) -> list[list]:
        return [list(r) for r in zip(*compiled.columns(rows))]

    return Scorer(name=f"scorec Python `{output}(row)`",
                  proba=lambda rows: np.array([fn(r) for r in rows_as_lists(rows)],
                                              dtype=float).reshape(len(rows), -1),
                  prepare_rows=rows_as_lists, one=fn,
                  codegen_s=compiled.seconds, build_s=import_s,
                  artifact=f"{size(compiled.target_bytes('python'))} .py",
                  notes=["build = import time"])


def sql_arguments(compiled: Compiled) -> str:
    return ", ".join(f'"{f["sql_name"]}"' for f in compiled.manifest["features"])
