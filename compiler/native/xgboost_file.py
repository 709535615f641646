"""(placeholder: this reader is being written)"""

from __future__ import annotations

from pathlib import Path

from ..registry import CompileError


def read(path: Path) -> object:
    raise CompileError(f"{path}: reading this model file format is not supported yet")
