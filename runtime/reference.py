"""Ask the sklearn model itself, row by row where it raises: the ground truth of verify."""

from __future__ import annotations

import warnings

import numpy as np

from scorec.compiler.ir import FeatureSpec

from .scorer import Refused


def model_input(model: object, features: tuple[FeatureSpec, ...], rows: list[list]) -> object:
    """Rows as the container the model was fitted on: a DataFrame with its column names,
    else an array (object dtype where there is text). Missing text is None or NaN, as the
    compiled model decided sklearn sees it."""
    cols = []
    for j, spec in enumerate(features):
        if spec.kind == "string":
            marker = None if spec.missing == "none" else np.nan
            col = np.empty(len(rows), dtype=object)
            col[:] = [marker if r[j] is None else r[j] for r in rows]
        else:
            col = np.array([np.nan if r[j] is None else r[j] for r in rows], dtype=float)
        cols.append(col)
    if getattr(model, "feature_names_in_", None) is not None:
        import pandas as pd

        # explicit dtypes: pandas 3 would infer its str dtype and turn None into NaN
        return pd.DataFrame({name: pd.Series(c, dtype=c.dtype)
                             for name, c in zip(model.feature_names_in_, cols)})
    if any(spec.kind == "string" for spec in features):
        X = np.empty((len(rows), len(features)), dtype=object)
    else:
        X = np.empty((len(rows), len(features)), dtype=float)
    for j, c in enumerate(cols):
        X[:, j] = c
    return X


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def _results(output: str, values: object) -> list[object]:
    arr = np.asarray(values)
    if output == "predict" and arr.dtype.kind in "OUSb":
        return [_plain(v) for v in arr.tolist()] if arr.dtype.kind != "O" else list(arr)
    if output == "predict" and arr.ndim == 2:  # multi-output: one list per row
        return [[_plain(v) for v in row] for row in arr]
    if output == "predict":
        return [_plain(v) for v in arr]
    if arr.ndim == 1:
        return [float(v) for v in arr]
    return [[float(v) for v in row] for row in arr]


def reference(model: object, features: tuple[FeatureSpec, ...], output: str,
              rows: list[list], likely_refused: set[int] = frozenset()) -> list[object]:
    """sklearn's answer per row; rows sklearn raises for become `Refused(message)`.

    Rows in `likely_refused` (a hint, e.g. what an artifact refused) are asked one by
    one; the rest as one batch, halved on a ValueError until every refused row is
    isolated. The hint changes only the number of calls, never an answer."""
    results: list[object] = [None] * len(rows)
    pending = [[i] for i in sorted(likely_refused)]
    pending.append([i for i in range(len(rows)) if i not in likely_refused])
    while pending:
        idx = pending.pop()
        if not idx:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = getattr(model, output)(model_input(model, features,
                                                         [rows[i] for i in idx]))
        except (ValueError, IndexError) as exc:  # IndexError: an unseen integer category
            if len(idx) == 1:
                results[idx[0]] = Refused(str(exc))
            else:
                half = len(idx) // 2
                pending.extend([idx[:half], idx[half:]])
            continue
        for i, value in zip(idx, _results(output, out)):
            results[i] = value
    return results
