"""Scalers, Normalizer and Binarizer, in sklearn's own operation order.

Dense and sparse input differ in sklearn's arithmetic: a sparse matrix is scaled by the
reciprocal (inplace_column_scale multiplies by 1 / scale), is never centred, and row
norms of a sparse matrix are Cython loops with their own zero rule. `Frame.sparse` says
which container sklearn holds, so each rule follows the matching branch.
"""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import (
    Binarizer,
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    RobustScaler,
    StandardScaler,
)

from ..ir import Arith, Compare, Const, Expr, Func, Max, Select, Sum
from ..registry import Context, Frame, UnsupportedError, rule
from .common import check_numbers, numpy_sum

# _handle_zeros_in_scale: a dense row norm below 10 * eps(float64) divides by 1 instead
NEAR_ZERO_NORM = 10 * float(np.finfo(np.float64).eps)


def _scaled(x: Expr, scale: float, sparse: bool) -> Expr:
    """x / scale as sklearn computes it: dense `X /= scale`; sparse multiplies the stored
    values by the reciprocal (inplace_column_scale(X, 1.0 / scale))."""
    if sparse:
        return Arith("*", x, Const(float(1.0 / np.float64(scale))))
    return Arith("/", x, Const(float(scale)))


def _clipped(x: Expr, lo: float, hi: float) -> Expr:
    """np.clip(x, lo, hi): NaN stays NaN."""
    return Select(Compare("<", x, lo), Const(lo), Select(Compare(">", x, hi), Const(hi), x))


@rule(StandardScaler, "transformer", notes="with_mean / with_std on or off")
def standard_scaler(sc: StandardScaler, frame: Frame, ctx: Context) -> Frame:
    check_numbers(ctx, frame.columns, allow_nan=True, who="StandardScaler")
    out: list[Expr] = []
    for j, col in enumerate(frame.columns):
        x = col
        if sc.with_mean and not frame.sparse:
            x = Arith("-", x, Const(float(sc.mean_[j])))
        if sc.scale_ is not None:
            x = _scaled(x, sc.scale_[j], frame.sparse)
        out.append(x)
    return Frame(out, frame.sparse)


@rule(MinMaxScaler, "transformer", notes="feature_range, clip")
def min_max_scaler(sc: MinMaxScaler, frame: Frame, ctx: Context) -> Frame:
    check_numbers(ctx, frame.columns, allow_nan=True, who="MinMaxScaler")
    lo, hi = (float(v) for v in sc.feature_range)
    out: list[Expr] = []
    for j, col in enumerate(frame.columns):
        x: Expr = Arith("+", Arith("*", col, Const(float(sc.scale_[j]))),
                        Const(float(sc.min_[j])))
        out.append(_clipped(x, lo, hi) if sc.clip else x)
    return Frame(out, frame.sparse)


@rule(RobustScaler, "transformer",
      notes="with_centering, with_scaling, quantile_range, unit_variance; sparse input")
def robust_scaler(sc: RobustScaler, frame: Frame, ctx: Context) -> Frame:
    check_numbers(ctx, frame.columns, allow_nan=True, who="RobustScaler")
    out: list[Expr] = []
    for j, col in enumerate(frame.columns):
        x = col
        # a sparse matrix is never centred, even by a scaler fitted dense with centering
        if sc.center_ is not None and not frame.sparse:
            x = Arith("-", x, Const(float(sc.center_[j])))
        if sc.scale_ is not None:
            x = _scaled(x, sc.scale_[j], frame.sparse)
        out.append(x)
    return Frame(out, frame.sparse)


@rule(MaxAbsScaler, "transformer", notes="clip; sparse input")
def max_abs_scaler(sc: MaxAbsScaler, frame: Frame, ctx: Context) -> Frame:
    check_numbers(ctx, frame.columns, allow_nan=True, who="MaxAbsScaler")
    out: list[Expr] = []
    for j, col in enumerate(frame.columns):
        x = _scaled(col, sc.scale_[j], frame.sparse)
        out.append(_clipped(x, -1.0, 1.0) if sc.clip else x)
    return Frame(out, frame.sparse)


def einsum_squares(cols: list[Expr]) -> Expr:
    """np.einsum("ij,ij->i", X, X) for one row of a C-contiguous X (sklearn's row_norms).

    numpy's sum_of_products_contig_contig_outstride0_two keeps two SIMD lanes (even and
    odd elements); blocks of eight elements are added to the lanes last-first
    (muladd(a3, b3, acc), then a2, a1, a0), the tail in order; the lanes are added at
    the end."""
    squares = [Arith("*", c, c) for c in cols]
    lanes: list[Expr | None] = [None, None]

    def add(k: int, term: Expr) -> None:
        lanes[k] = term if lanes[k] is None else Arith("+", term, lanes[k])

    n, i = len(squares), 0
    while n - i >= 8:
        for k in (0, 1):
            for q in (6, 4, 2, 0):
                add(k, squares[i + q + k])
        i += 8
    for t in range(i, n):
        add((t - i) % 2, squares[t])
    even, odd = lanes
    return even if odd is None else Arith("+", even, odd)


_einsum_squares = einsum_squares  # the name project.py imports


def _left_fold(terms: list[Expr]) -> Expr:
    return terms[0] if len(terms) == 1 else Sum(tuple(terms))


def _dense_norm(norm: str, cols: list[Expr], fortran: bool) -> Expr:
    """sklearn.preprocessing.normalize's dense norms: np.sum(abs(X), axis=1), row_norms
    (einsum), or max(abs). Their order depends on X's memory layout: numpy reduces a row
    of a C-ordered X pairwise (einsum: in two lanes) and a row of an F-ordered X left to
    right. check_array makes a DataFrame F-ordered; other layouts are not visible here, so
    an array is taken as C-ordered (the orders differ by a few ulps: all terms are >= 0)."""
    if norm == "l1":
        terms = [Func("abs", c) for c in cols]
        return _left_fold(terms) if fortran else numpy_sum(terms)
    if norm == "l2":
        squares = _left_fold([Arith("*", c, c) for c in cols]) if fortran \
            else einsum_squares(cols)
        return Func("sqrt", squares)
    return Max(tuple(Func("abs", c) for c in cols))


def _sparse_norm(norm: str, cols: list[Expr]) -> Expr:
    """The CSR loops (inplace_csr_row_normalize_l1 / _l2: `sum_ += ...` over the stored
    values in column order, from 0.0; adding the implicit zeros changes nothing), and
    min_max_axis for "max" (max(|min|, max) over the row is max |x|)."""
    if norm == "l1":
        return _left_fold([Func("abs", c) for c in cols])
    if norm == "l2":
        return Func("sqrt", _left_fold([Arith("*", c, c) for c in cols]))
    return Max(tuple(Func("abs", c) for c in cols))


@rule(Normalizer, "transformer", notes="l1, l2, max; dense and sparse zero-norm rules")
def normalizer(nm: Normalizer, frame: Frame, ctx: Context) -> Frame:
    check_numbers(ctx, frame.columns, allow_nan=False, who="Normalizer")
    cols = frame.columns
    if not cols:
        return frame
    if frame.sparse:
        # the Cython loops and the max branch leave a row whose norm is exactly 0 alone
        norm = _sparse_norm(nm.norm, cols)
        zero = Compare("==", norm, 0.0)
        return Frame([Select(zero, c, Arith("/", c, norm)) for c in cols], True)
    # _handle_zeros_in_scale: a norm below 10 * eps becomes 1
    fortran = getattr(nm, "feature_names_in_", None) is not None  # it is fed a DataFrame
    norm = _dense_norm(nm.norm, cols, fortran)
    divisor = Select(Compare("<", norm, NEAR_ZERO_NORM), Const(1.0), norm)
    return Frame([Arith("/", c, divisor) for c in cols], False)


@rule(Binarizer, "transformer", notes="threshold (strictly greater); sparse input")
def binarizer(bz: Binarizer, frame: Frame, ctx: Context) -> Frame:
    check_numbers(ctx, frame.columns, allow_nan=False, who="Binarizer")
    threshold = float(bz.threshold)
    if frame.sparse and threshold < 0:
        raise UnsupportedError(f"{ctx.where()}: Binarizer(threshold={bz.threshold!r}) receives "
                               "a sparse matrix, for which sklearn raises 'Cannot binarize a "
                               "sparse matrix with threshold < 0' on every row")
    one, zero = Const(1.0), Const(0.0)
    return Frame([Select(Compare(">", c, threshold), one, zero) for c in frame.columns],
                 frame.sparse)
