"""Build the generated C with the system compiler and score rows through ctypes.

The shared library is built with the same strict flags users are promised
(-std=c99 -Wall -Wextra -pedantic -Werror), into a cache keyed by the sources' digest,
never into the output directory. Rows go to the `_batch` entry points in one call; the
per-row function is only asked again for rows that may have been refused, to learn why.
"""

from __future__ import annotations

import ctypes
import hashlib
import math
import os
import re
import shlex
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .scorer import Refused

CFLAGS = ("-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-O2", "-shared", "-fPIC")


def _compiler() -> list[str]:
    return shlex.split(os.environ.get("CC", "cc"))


def _cache_dir() -> Path:
    return Path(os.environ.get("SCOREC_CACHE") or Path(tempfile.gettempdir()) / "scorec-cache")


def build_library(outdir: str | Path, manifest: dict) -> Path:
    """The path of NAME.so built from the C files of `outdir` (reused when unchanged)."""
    outdir, name = Path(outdir), manifest["name"]
    source = outdir / f"{name}.c"
    digest = hashlib.sha256(" ".join([*_compiler(), *CFLAGS]).encode())
    for fn in sorted(manifest["files"]["c"]):
        digest.update(fn.encode() + b"\0" + (outdir / fn).read_bytes() + b"\0")
    target = _cache_dir() / digest.hexdigest()[:32] / f"{name}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    cmd = [*_compiler(), *CFLAGS, str(source), "-o", tmp, "-lm"]
    try:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True)
        except FileNotFoundError:
            raise RuntimeError(f"no C compiler {cmd[0]!r} found: install one (e.g. gcc) or "
                               "set CC") from None
        if proc.returncode != 0:
            raise RuntimeError(f"building {source} failed ({shlex.join(cmd)}):\n{proc.stderr}")
        os.replace(tmp, target)  # atomic: concurrent builders never see a partial file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


class CScorer:
    """Scorer over the compiled C artifact of one output directory."""

    target = "c"

    def __init__(self, outdir: str | Path, manifest: dict):
        self.manifest = manifest
        name = manifest["name"]
        header = (Path(outdir) / f"{name}.h").read_text(encoding="utf-8")
        defines = dict(re.findall(rf"^#define {name}_(\w+) \(?(-?\d+)\)?", header, re.M))
        self.widths = {"predict_proba": int(defines.get("N_CLASSES", 0)),
                       "decision_function": int(defines.get("N_DECISION", 0)),
                       "predict": int(defines.get("N_OUTPUTS", 0))}
        self.reasons = {int(v): k[2:] for k, v in defines.items() if k.startswith("E_")}
        self.kinds = [f["kind"] for f in manifest["features"]]
        fields = [(f["c_name"], ctypes.c_double if f["kind"] == "number" else ctypes.c_char_p)
                  for f in manifest["features"]]
        self.Input = type(f"{name}_input", (ctypes.Structure,), {"_fields_": fields})
        self.dtype = np.dtype({
            "names": [f for f, _ in fields],
            "formats": ["f8" if t is ctypes.c_double else np.uintp for _, t in fields],
            "offsets": [getattr(self.Input, f).offset for f, _ in fields],
            "itemsize": ctypes.sizeof(self.Input),
        })
        self.lib = ctypes.CDLL(str(build_library(outdir, manifest)))
        self.fns = {}
        for output in manifest["outputs"]:
            ctype = ctypes.c_int if self._is_label(output) else ctypes.c_double
            one, batch = getattr(self.lib, f"{name}_{output}"), \
                getattr(self.lib, f"{name}_{output}_batch")
            one.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctype)]
            batch.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctype)]
            one.restype = batch.restype = ctypes.c_int
            self.fns[output] = (one, batch, ctype)

    def _is_label(self, output: str) -> bool:
        return output == "predict" and self.manifest["task"] != "regression"

    def _rows(self, rows: list[list]) -> tuple[np.ndarray, list[bytes]]:
        """The rows as an array of C structs; the text buffers it points into."""
        arr = np.zeros(len(rows), dtype=self.dtype)
        keep: list[bytes] = []
        for j, (field, kind) in enumerate(zip(self.dtype.names, self.kinds)):
            col = [r[j] for r in rows]
            if kind == "number":
                arr[field] = [math.nan if v is None else float(v) for v in col]
                continue
            ptrs = []
            for v in col:
                if v is None or (isinstance(v, float) and v != v):
                    ptrs.append(0)
                else:
                    buf = str(v).encode("utf-8", "surrogatepass") + b"\0"
                    keep.append(buf)
                    ptrs.append(ctypes.cast(ctypes.c_char_p(buf), ctypes.c_void_p).value)
            arr[field] = ptrs
        return arr, keep

    def score(self, output: str, rows: list[list]) -> list[object]:
        """One result per row: the label, float or list of floats, or Refused(reason)."""
        one, batch, ctype = self.fns[output]
        width = self.widths.get(output, 0) or 1
        arr, _keep = self._rows(rows)
        n = len(rows)
        out = np.empty((n, width), dtype=np.intc if ctype is ctypes.c_int else np.float64)
        status = batch(arr.ctypes.data, n, out.ctypes.data_as(ctypes.POINTER(ctype)))
        codes = np.zeros(n, dtype=int)
        if status != 0:  # which rows were refused: those whose output holds the marker
            fill = 0 if self.manifest["task"] == "anomaly" else -1  # what refused rows hold
            marker = np.isnan(out[:, 0]) if ctype is ctypes.c_double else out[:, 0] == fill
            scratch = np.empty(width, dtype=out.dtype)
            for i in np.flatnonzero(marker):
                codes[i] = one(arr[i:i + 1].ctypes.data,
                               scratch.ctypes.data_as(ctypes.POINTER(ctype)))
        results: list[object] = []
        for code, vals in zip(codes.tolist(), out.tolist()):
            if code:
                results.append(Refused(self.reasons.get(code, str(code))))
            elif output == "predict" and self.manifest.get("multi_output", width > 1):
                # multi-output: the values themselves, a list even of one
                results.append(vals)
            elif output == "predict":
                results.append(self._label(vals[0]))
            else:
                results.append(vals if output == "predict_proba" or width > 1 else vals[0])
        return results

    def _label(self, value: int | float) -> object:
        task = self.manifest["task"]
        if task == "regression":
            return value
        return int(value) if task == "anomaly" else self.manifest["classes"][value]
