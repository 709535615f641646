"""Import a generated Python module and score rows with it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from .scorer import Refused


def import_module(path: str | Path, module_name: str | None = None) -> ModuleType:
    """Import the generated file at `path` under a private name (no sys.path changes)."""
    path = Path(path)
    module_name = module_name or f"_scorec_generated_{path.stem}_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(module_name, None)
    return module


class PythonScorer:
    target = "python"

    def __init__(self, outdir: str | Path, manifest: dict):
        self.module = import_module(Path(outdir) / manifest["files"]["python"][0])

    def score(self, output: str, rows: list[list]) -> list[object]:
        fn = getattr(self.module, output)
        results: list[object] = []
        for row in rows:
            try:
                results.append(fn(row))
            except ValueError as exc:
                results.append(Refused(str(exc)))
        return results
