"""Feature selectors (one rule: keep the supported columns) and MissingIndicator."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.feature_selection import (
    RFE,
    RFECV,
    GenericUnivariateSelect,
    SelectFdr,
    SelectFpr,
    SelectFromModel,
    SelectFwe,
    SelectKBest,
    SelectPercentile,
    SequentialFeatureSelector,
    VarianceThreshold,
)
from sklearn.impute import MissingIndicator
from sklearn.utils import get_tags
from sklearn.utils._missing import is_scalar_nan
from sklearn.utils._set_output import _get_output_config

from ..ir import Compare, Const, Expr, IsMissing, Refusal, Select
from ..registry import CompileError, Context, Frame, UnsupportedError, rule
from .common import check_numbers

SELECTORS = (VarianceThreshold, SelectKBest, SelectPercentile, SelectFpr, SelectFdr, SelectFwe,
             GenericUnivariateSelect, SelectFromModel, RFE, RFECV, SequentialFeatureSelector)


def _skips_validation(sel: object) -> bool:
    """SelectorMixin.transform hands a DataFrame through unchecked (skip_check_array) when
    its output is configured as a DataFrame; it receives one exactly when it was fitted
    on one, which left feature_names_in_ behind."""
    dense = _get_output_config("transform", estimator=sel)["dense"]
    return dense != "default" and getattr(sel, "feature_names_in_", None) is not None


def feature_selector(sel: object, frame: Frame, ctx: Context) -> Frame:
    """SelectorMixin.transform: validate_data(ensure_all_finite=not allow_nan tag,
    dtype=None), then the columns of get_support(), in input order."""
    if not _skips_validation(sel) and not get_tags(sel).input_tags.allow_nan:
        check_numbers(ctx, frame.columns, allow_nan=False, who=type(sel).__name__)
    try:
        mask = np.asarray(sel.get_support(), dtype=bool)
    except Exception as exc:  # e.g. SelectFromModel(prefit=True) around an unfitted model
        raise CompileError(f"{ctx.where()}: the selector cannot say which columns it keeps: "
                           f"{exc}") from exc
    if mask.shape != (len(frame.columns),):
        raise CompileError(f"{ctx.where()}: the support mask has {mask.size} entries, the step "
                           f"receives {len(frame.columns)} columns")
    return Frame([c for c, keep in zip(frame.columns, mask) if keep], frame.sparse, frame.dtype)


for _cls in SELECTORS:
    rule(_cls, "transformer", float32=True,
         notes="the get_support() columns; NaN/inf refused unless the allow_nan tag (or "
         "DataFrame output) lets them through")(feature_selector)


def _missing_mask(ctx: Context, mv: object, col: Expr) -> Expr:
    """_get_mask(X, missing_values) for one number column: isnan, or X == value."""
    if col.type == "string":
        raise UnsupportedError(f"{ctx.where()}: MissingIndicator on a text column is not "
                               "supported (numbers only)")
    if is_scalar_nan(mv):
        return IsMissing(col)
    return Compare("==", col, float(mv))


@rule(MissingIndicator, "transformer", notes="features missing-only / all; error_on_new; "
      "missing_values NaN or a number; sparse output")
def missing_indicator(mi: MissingIndicator, frame: Frame, ctx: Context) -> Frame:
    mv = mi.missing_values
    nan_marker = is_scalar_nan(mv)
    if not nan_marker and (not isinstance(mv, numbers.Real) or isinstance(mv, bool)):
        raise UnsupportedError(f"{ctx.where()}: MissingIndicator(missing_values={mv!r}) is "
                               "not supported (NaN or a number)")
    if getattr(mi, "_precomputed", False):
        raise UnsupportedError(f"{ctx.where()}: a MissingIndicator fitted on a precomputed "
                               "mask is not supported")
    # _validate_input: NaN allowed only when NaN is the marker; infinity never
    check_numbers(ctx, frame.columns, allow_nan=nan_marker, who="MissingIndicator",
                  dtype="float64")
    masks = [_missing_mask(ctx, mv, c) for c in frame.columns]
    kept = [int(j) for j in mi.features_]
    if mi.features == "missing-only" and mi.error_on_new:
        for j in sorted(set(range(len(masks))) - set(kept)):
            ctx.refuse_if(masks[j], Refusal.MISSING_VALUE,
                          f"The features [{j}] have missing values in transform but have no "
                          "missing values in fit.")
    sparse = frame.sparse if mi.sparse == "auto" else bool(mi.sparse)
    one, zero = Const(1.0), Const(0.0)
    return Frame([Select(masks[j], one, zero) for j in kept], sparse)
