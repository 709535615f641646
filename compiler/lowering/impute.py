"""SimpleImputer: fill missing values with the fitted statistic; optional indicator columns.
KNNImputer: the weighted mean of the donors' values (see `knn_imputer`).
IterativeImputer: rounds of per-feature estimators (see `iterative_imputer`)."""

from __future__ import annotations

import numpy as np
from sklearn.impute import KNNImputer, SimpleImputer
from sklearn.utils._missing import is_scalar_nan
from sklearn.utils.extmath import row_norms

from ..ir import (
    Arith,
    Check,
    Compare,
    Const,
    Expr,
    Func,
    InSet,
    IsMissing,
    Item,
    Lookup,
    Map,
    MatVec,
    Not,
    Or,
    Pack,
    Select,
    Text,
    Var,
)
from ..registry import CompileError, Context, Frame, Head, UnsupportedError, rule
from .common import check_numbers, is_inf, numpy_sum
from .compose import _clip, lower_estimator, lower_transform
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
            # NaN filled with None (the most frequent value at fit): pass missing text as None,
            # which sklearn leaves alone, so every missing value reaches later steps as None
            ctx.want_string(col, "none")
            masks[j] = None
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


# ---- IterativeImputer --------------------------------------------------------------------

def _only_when(ctx: Context, start: int, when: Expr) -> None:
    """Make the refusals added since check `start` apply only to rows where `when` holds:
    a step's estimator predicts (and validates) only the rows missing its feature."""
    for i in range(start, len(ctx.checks)):
        check = ctx.checks[i]
        both = Not(Or((Not(when), Not(check.fails))))
        ctx.checks[i] = Check(both, check.reason, check.message)


def _prediction(est: object, inputs: list[Expr], ctx: Context, name: str) -> Expr:
    """`estimator.predict(X[:, neighbor_feat_idx])` for one row, as one number: a
    regressor's value, or a classifier's numeric label."""
    head = lower_estimator(est, Frame(inputs), ctx, name)
    out = head.outputs.get("predict") if isinstance(head, Head) else None
    if out is not None and head.task == "regression" and out.shape == "scalar":
        return out.values[0]
    if out is not None and head.task == "classification" and out.shape == "label" and all(
            isinstance(c, (int, float)) and not isinstance(c, bool) for c in head.classes):
        return Lookup(out.values[0], tuple(float(c) for c in head.classes))
    raise UnsupportedError(f"{ctx.where()}: the estimator of {name} ({type(est).__name__}) "
                           "does not predict one number per row (a single-output regressor, "
                           "or a classifier with numeric labels, is needed)")


@rule("sklearn.impute._iterative.IterativeImputer", "transformer",
      notes="sample_posterior=False; any supported regressor (BayesianRidge by default) or "
            "numeric-label classifier; every imputation_order, n_nearest_features, "
            "skip_complete, min/max_value, initial_strategy, keep_empty_features, "
            "add_indicator; NaN or a number as missing_values")
def iterative_imputer(imp: object, frame: Frame, ctx: Context) -> Frame:
    """IterativeImputer.transform (impute/_iterative.py): validate_data(FLOAT_DTYPES,
    allow-nan only for a NaN marker), the missing mask of the input, initial_imputer_ (a
    SimpleImputer, which drops the all-missing-at-fit columns unless keep_empty_features;
    kept ones count as never missing), then every `imputation_sequence_` step in order:
    `X[missing rows, feat] = clip(estimator.predict(X[missing rows, neighbors]), min, max)`,
    with the mask of the original input and X as the steps left it; finally the observed
    values (unchanged by then) and the MissingIndicator columns of the original mask.

    One batch-level shortcut cannot be per row: sklearn returns the initial imputation
    alone when every entry of the whole batch is missing (`np.all(mask_missing_values)`).
    scorec computes what sklearn returns for a row in a batch with any observed entry, so
    a batch made only of all-missing rows (e.g. one such row scored alone) differs."""
    if imp.sample_posterior:
        raise UnsupportedError(f"{ctx.where()}: sample_posterior=True draws each imputed "
                               "value at random (a truncated normal from random_state_, "
                               "which advances with every call): no fixed function of the row "
                               "to compile; use sample_posterior=False")
    mv = imp.missing_values
    nan_marker = _is_nan_marker(mv)
    if not nan_marker and (isinstance(mv, bool) or not isinstance(mv, (int, float))):
        raise UnsupportedError(f"{ctx.where()}: missing_values={mv!r} is not supported "
                               "(NaN or a number)")
    if frame.sparse:
        raise UnsupportedError(f"{ctx.where()}: IterativeImputer receives a sparse matrix, "
                               "for which sklearn raises on every row")
    cols = list(frame.columns)
    check_numbers(ctx, cols, allow_nan=nan_marker, who="IterativeImputer")
    missing = [IsMissing(c) if nan_marker else Compare("==", c, float(mv)) for c in cols]
    work = list(lower_transform(imp.initial_imputer_, Frame(cols), ctx,
                                "initial_imputer_").columns)
    empty = np.asarray(imp._is_empty_feature, dtype=bool)
    if imp.keep_empty_features:  # kept, filled by the initial imputer, never missing
        masks: list[Expr | None] = [None if e else m for m, e in zip(missing, empty)]
    else:
        masks = [m for m, e in zip(missing, empty) if not e]
    if len(masks) != len(work):
        raise CompileError(f"{ctx.where()}: the initial imputer outputs {len(work)} columns, "
                           f"the imputer's mask has {len(masks)}")
    for i, step in enumerate(imp.imputation_sequence_ if imp.n_iter_ else ()):
        feat = int(step.feat_idx)
        if masks[feat] is None:  # an empty feature kept: its mask is all False
            continue
        name = f"imputation_sequence_[{i}] (feature {feat})"
        start = len(ctx.checks)
        value = _prediction(step.estimator, [work[int(j)] for j in step.neighbor_feat_idx],
                            ctx, name)
        _only_when(ctx, start, masks[feat])
        clipped = _clip(value, float(imp._min_value[feat]), float(imp._max_value[feat]))
        work[feat] = Select(masks[feat], clipped, work[feat])
    if imp.add_indicator and imp.indicator_ is not None:
        work.extend(Select(missing[j], Const(1.0), Const(0.0)) for j in imp.indicator_.features_)
    return Frame(work, frame.sparse)
