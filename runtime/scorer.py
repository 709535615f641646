"""What every target's runtime offers the equivalence checker: score rows, or refuse them.

A row is a list in FEATURES order: numbers as float (NaN = missing), text as str or
None (missing). A result is the output's value (a label, a float, or a list of floats)
or a `Refused` where the artifact refused the row, as sklearn would raise for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Refused:
    """The artifact refused the row; `reason` is the refusal name (e.g. UNKNOWN_CATEGORY)
    or the message, where the target reports one."""

    reason: str


class Scorer(Protocol):
    target: str

    def score(self, output: str, rows: list[list]) -> list[object]:
        """One result per row for scoring function `output` (predict, predict_proba, ...)."""
        ...


def read_manifest(outdir: str | Path) -> dict:
    path = Path(outdir) / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"no manifest.json in {outdir}: compile the model there first")
    return json.loads(path.read_text(encoding="utf-8"))
