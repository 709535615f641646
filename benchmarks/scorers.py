"""The common shape of everything that scores rows, and the sklearn reference.

A `Scorer` may offer a batch path (one timed call scores every prepared row), a single-row
path (one timed call per prepared row), or both; `prepare_*` turns benchmark rows into
the tool's own input format and is never timed. `proba` scores rows for the exactness
columns (untimed) and returns an (n, n_classes) float array.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

Rows = Any  # a float ndarray (numeric tasks) or a DataFrame (the mixed task)


class Unavailable(Exception):
    """A tool cannot take part; the message says why ("not installed", ...)."""


@dataclass
class Scorer:
    name: str
    proba: Callable[[Rows], np.ndarray]
    prepare_batch: Callable[[Rows], Any] | None = None
    batch: Callable[[Any], Any] | None = None
    prepare_rows: Callable[[Rows], list] | None = None
    one: Callable[[Any], Any] | None = None
    codegen_s: float | None = None   # model -> source code
    build_s: float | None = None     # source -> something that runs (cc, import, attach)
    artifact: str = ""
    notes: list[str] = field(default_factory=list)


def take(rows: Rows, n: int) -> Rows:
    return rows.iloc[:n] if isinstance(rows, pd.DataFrame) else rows[:n]


def max_abs_diff(got: np.ndarray, want: np.ndarray) -> float:
    """max |got - want|; NaN where one side is NaN and the other is not, or shapes differ."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if got.shape != want.shape:
        return float("nan")
    if np.any(np.isnan(got) != np.isnan(want)):
        return float("nan")
    both = ~np.isnan(want)
    return float(np.max(np.abs(got[both] - want[both]), initial=0.0))


def as_matrix(values: Any, n: int) -> np.ndarray:
    """Scores as an (n, k) float array: a 1-D output (decision_function, score_samples,
    a binary margin) becomes one column."""
    return np.asarray(values, dtype=float).reshape(n, -1)


def sklearn_scorer(model: Any, output: str = "predict_proba", library: str = "sklearn"
                   ) -> Scorer:
    """The model itself: `output` (predict_proba, decision_function, ...) on the whole
    batch, or on one-row inputs; `library` names the model's library in the table."""
    def one_row_inputs(rows: Rows) -> list:
        if isinstance(rows, pd.DataFrame):
            return [rows.iloc[i:i + 1] for i in range(len(rows))]
        return [rows[i:i + 1] for i in range(len(rows))]

    fn = getattr(model, output)
    return Scorer(name=f"{library} {output}", proba=lambda rows: as_matrix(fn(rows), len(rows)),
                  prepare_batch=lambda rows: rows, batch=fn,
                  prepare_rows=one_row_inputs, one=fn)
