"""SimpleImputer: fill missing values with the fitted statistic; optional indicator columns.
KNNImputer: the weighted mean of the donors' values (see `knn_imputer`)."""

from __future__ import annotations

import numpy as np
from sklearn.impute import KNNImputer, SimpleImputer
from sklearn.utils._missing import is_scalar_nan
from sklearn.utils.extmath import row_norms

from ..ir import (
    Arith,
    Compare,
    Const,
    Expr,
    Func,
    InSet,
    IsMissing,
    Item,
    Map,
    MatVec,
    Not,
    Or,
    Pack,
    Select,
    Text,
    Var,
)
from ..registry import CompileError, Context, Frame, UnsupportedError, rule
from .common import check_numbers, is_inf, numpy_sum
from .scale import einsum_squares


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
        if masks[j] is not None and text and fill is None:
            raise UnsupportedError(
                f"{ctx.where()}: SimpleImputer fills the missing values of text column {j} "
                "with None (the most frequent value at fit), which later steps tell apart "
                "from NaN; scorec's text inputs have one missing value, so it cannot "
                "compile this: impute with missing_values=None, or a string fill value")
        if masks[j] is None:  # never imputes
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


# ---- KNNImputer --------------------------------------------------------------------------

def _clamped_at_zero(v: Expr) -> Expr:
    """np.maximum(v, 0) / np.clip(v, 0, None): a NaN stays NaN."""
    return Select(Compare("<", v, 0.0), Const(0.0), v)


def nan_euclidean(x: list[Expr], missing: list[Expr], fit_X: np.ndarray,
                  fit_missing: np.ndarray) -> Expr:
    """nan_euclidean_distances(row, fit_X), one per stored row (metrics/pairwise.py): with
    missing coordinates set to 0, `euclidean_distances(squared=True)` (`-2 x.y` by BLAS,
    then `+ ||x||^2` by einsum, `+ ||y||^2`, clamped at 0), minus `x^2 . missing_y` and
    `missing_x . y^2` (dots with 0/1 whose zero terms still make inf * 0 = NaN), clamped,
    NaN where no coordinate is present in both, divided by that count, times the number of
    columns, square root."""
    n_rows, width = fit_X.shape
    zeroed = np.where(fit_missing, 0.0, fit_X)
    present = Pack(tuple(Select(m, Const(0.0), Const(1.0)) for m in missing))
    absent = Pack(tuple(Select(m, Const(1.0), Const(0.0)) for m in missing))
    xz = [Select(m, Const(0.0), v) for v, m in zip(x, missing)]

    def rows(a: np.ndarray) -> tuple[tuple[float, ...], ...]:
        return tuple(tuple(float(v) for v in r) for r in a)

    dot = MatVec(Pack(tuple(xz)), rows(zeroed), "mul")
    x_sq = MatVec(Pack(tuple(Arith("*", v, v) for v in xz)), rows(fit_missing.astype(float)),
                  "mul")
    y_sq = MatVec(absent, rows(zeroed * zeroed), "mul")
    count = MatVec(present, rows((~fit_missing).astype(float)), "mul")
    y_norms = tuple(float(v) for v in row_norms(zeroed, squared=True))
    squared = _clamped_at_zero(Arith("+", Arith("+", Arith("*", Const(-2.0), Var(0)),
                                                einsum_squares(xz)), Var(4)))
    adjusted = _clamped_at_zero(Arith("-", Arith("-", squared, Var(1)), Var(2)))
    defined = Select(Compare("==", Var(3), 0.0), Const(float("nan")), adjusted)
    divisor = Select(Compare("<", Var(3), 1.0), Const(1.0), Var(3))
    scaled = Arith("*", Arith("/", defined, divisor), Const(float(width)))
    return Map(Func("sqrt", scaled), (dot, x_sq, y_sq, count, y_norms))


def _donor_weights(dist: list[Expr], weights: str) -> list[Expr]:
    """KNNImputer._calc_impute's weights: uniform 1 (0 for a NaN distance), or
    _get_weights' 1 / dist (the rows with an infinite weight: 1 for those donors, 0 for the
    others), a NaN weight then 0."""
    if weights == "uniform":
        return [Select(IsMissing(d), Const(0.0), Const(1.0)) for d in dist]
    inverse = [Arith("/", Const(1.0), d) for d in dist]
    infinite = [is_inf(w) for w in inverse]
    any_infinite = infinite[0] if len(infinite) == 1 else Or(tuple(infinite))
    out = []
    for w, f in zip(inverse, infinite):
        w = Select(any_infinite, Select(f, Const(1.0), Const(0.0)), w)
        out.append(Select(IsMissing(w), Const(0.0), w))
    return out


def _masked_average(values: list[float], weights: list[Expr]) -> Expr:
    """np.ma.average(donors, weights=w).data: `sum(x * w) / sum(w)` (numpy's pairwise
    sums); where np.ma's safe division masks the quotient (`|num| * tiny >= |den|`, e.g.
    0 / 0) the data is the numerator."""
    num = numpy_sum([Arith("*", Const(v), w) for v, w in zip(values, weights)])
    den = numpy_sum(weights)
    scaled = Arith("*", Func("abs", num), Const(float(np.finfo(float).tiny)))
    gap = Arith("-", scaled, Func("abs", den))
    both_infinite = Not(Or((Not(Compare(">=", scaled, float("inf"))),
                            Not(Compare(">=", Func("abs", den), float("inf"))))))
    masked = Or((Compare(">=", gap, 0.0), both_infinite))
    return Select(masked, num, Arith("/", num, den))


@rule(KNNImputer, "transformer",
      notes="nan_euclidean, uniform/distance weights, add_indicator, keep_empty_features; "
            "n_neighbors at least each column's number of donors (no donor selection)")
def knn_imputer(imp: KNNImputer, frame: Frame, ctx: Context) -> Frame:
    """KNNImputer.transform (impute/_knn.py): a missing value of a column that had values in
    fit is the weighted mean over its donors (the stored rows with that column) of their
    values; a row at a NaN distance from every donor takes the column's mean.

    sklearn picks the n_neighbors nearest donors with np.argpartition, whose choice among
    equidistant donors is the CPU's SIMD selection (x86-simd-sort on AVX2/AVX-512,
    introselect elsewhere): it differs from any fixed rule on 15-50% of queries with tied
    distances, and an infinite coordinate makes every donor tie. So scorec compiles only
    models whose n_neighbors is at least each column's number of donors, where every donor
    takes part and the choice cannot matter."""
    mv = imp.missing_values
    nan_marker = _is_nan_marker(mv)
    if not nan_marker and (isinstance(mv, bool) or not isinstance(mv, (int, float))):
        raise UnsupportedError(f"{ctx.where()}: missing_values={mv!r} is not supported")
    if imp.metric != "nan_euclidean" or imp.weights not in ("uniform", "distance"):
        raise UnsupportedError(f"{ctx.where()}: metric={imp.metric!r}, weights="
                               f"{imp.weights!r}: callables are Python code scorec cannot "
                               "compile (nan_euclidean, uniform / distance are supported)")
    if frame.sparse:
        raise UnsupportedError(f"{ctx.where()}: KNNImputer receives a sparse matrix, for "
                               "which sklearn raises on every row")
    cols = frame.columns
    check_numbers(ctx, cols, allow_nan=nan_marker, who="KNNImputer")
    fit_X = np.asarray(imp._fit_X, dtype=float)
    fit_missing = np.asarray(imp._mask_fit_X, dtype=bool)
    valid = np.asarray(imp._valid_mask, dtype=bool)
    donors = (~fit_missing).sum(axis=0)
    crowded = [j for j in range(len(cols)) if valid[j] and donors[j] > imp.n_neighbors]
    if crowded:
        raise UnsupportedError(
            f"{ctx.where()}: n_neighbors={imp.n_neighbors} < the {int(donors[crowded[0]])} "
            f"donors of column {crowded[0]}: sklearn picks the nearest with np.argpartition, "
            "whose choice among equidistant donors depends on the CPU's SIMD sort; scorec "
            "compiles KNNImputer when every donor takes part (n_neighbors >= "
            f"{int(donors.max())})")
    missing = [IsMissing(c) if nan_marker else Compare("==", c, float(mv)) for c in cols]
    dist = nan_euclidean(list(cols), missing, fit_X, fit_missing)
    out: list[Expr] = []
    for j, col in enumerate(cols):
        if not valid[j]:
            if imp.keep_empty_features:
                out.append(Const(0.0))
            continue
        rows = np.flatnonzero(~fit_missing[:, j])
        row_dist = [Item(dist, int(i)) for i in rows]
        all_nan = Not(Or(tuple(Not(IsMissing(d)) for d in row_dist)))
        mean = float(np.ma.array(fit_X[:, j], mask=fit_missing[:, j]).mean())
        average = _masked_average([float(fit_X[i, j]) for i in rows],
                                  _donor_weights(row_dist, imp.weights))
        out.append(Select(missing[j], Select(all_nan, Const(mean), average), col))
    if imp.add_indicator and imp.indicator_ is not None:
        out.extend(Select(missing[j], Const(1.0), Const(0.0)) for j in imp.indicator_.features_)
    return Frame(out, frame.sparse)
