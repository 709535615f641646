"""SimpleImputer: fill missing values with the fitted statistic; optional indicator columns."""

from __future__ import annotations

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.utils._missing import is_scalar_nan

from ..ir import Compare, Const, Expr, InSet, IsMissing, Select, Text
from ..registry import CompileError, Context, Frame, rule
from .common import check_numbers


def _is_nan_marker(value: object) -> bool:
    if is_scalar_nan(value):
        return True
    try:
        import pandas as pd

        return value is pd.NA
    except ImportError:  # pragma: no cover - pandas is optional
        return False


@rule(SimpleImputer, "transformer",
      notes="mean, median, most_frequent, constant; numbers and strings; add_indicator")
def simple_imputer(imp: SimpleImputer, frame: Frame, ctx: Context) -> Frame:
    mv = imp.missing_values
    nan_marker = _is_nan_marker(mv)
    text = imp._fit_dtype.kind == "O"
    cols = frame.columns
    masks: list[Expr | None] = []  # None: this column never matches missing_values
    for col in cols:
        if text:
            if nan_marker or mv is None:
                want = "none" if mv is None else "nan"
                ctx.want_string(col, want)
                # sklearn only imputes what equals missing_values: None is not NaN
                matches = ctx.marker(col) in (None, want)
                masks.append(IsMissing(col) if matches else None)
            elif isinstance(mv, str):
                ctx.want_string(col, "nan")
                masks.append(InSet(col, (mv,)))
            else:
                raise CompileError(f"{ctx.where()}: missing_values={mv!r} on text columns "
                                   "is not supported")
        elif nan_marker:
            masks.append(IsMissing(col))
        elif isinstance(mv, (int, float)) and not isinstance(mv, bool):
            masks.append(Compare("==", col, float(mv)))
        else:
            raise CompileError(f"{ctx.where()}: missing_values={mv!r} is not supported")
    if not text:
        check_numbers(ctx, cols, allow_nan=nan_marker, who="SimpleImputer")

    stats = imp.statistics_
    if imp.keep_empty_features:
        keep = np.ones(len(stats), dtype=bool)
    elif stats.dtype.kind == "O":
        keep = np.array([not (isinstance(s, float) and np.isnan(s)) for s in stats])
    else:
        keep = ~np.isnan(stats.astype(float))
    out: list[Expr] = []
    for j, col in enumerate(cols):
        if not keep[j]:
            continue
        fill = stats[j]
        if masks[j] is None or (text and fill is None):  # never imputes, or fills None
            out.append(col)
        elif text:
            if not isinstance(fill, str):
                raise CompileError(f"{ctx.where()}: fill value {fill!r} for a text column "
                                   "is not a string")
            out.append(Select(masks[j], Text(fill), col))
        else:
            fill_value = float(np.asarray([fill]).astype(imp._fill_dtype)[0])
            out.append(Select(masks[j], Const(fill_value), col))
    if imp.add_indicator and imp.indicator_ is not None:
        for j in imp.indicator_.features_:
            out.append(Const(0.0) if masks[j] is None else Select(masks[j], Const(1.0), Const(0.0)))
    return Frame(out, frame.sparse)
