"""QuantileTransformer, PowerTransformer and SplineTransformer: each maps one column through
a fixed nonlinear function, computed here in the arithmetic of the library routine sklearn
calls (sklearn 1.9.1, numpy 2.4, scipy 1.17.1).

Routines reproduced, operation for operation:
- `numpy.interp`: numpy/_core/src/multiarray/compiled_base.c `arr_interp`. Its
  `binary_search_with_guess` returns the largest j with xp[j] <= x whatever its guess, so
  the interval is a `Bucket`; a slope is `(fp[j+1] - fp[j]) / (xp[j+1] - xp[j])` whether
  numpy precomputes it (`lenxp <= lenx`) or not, so slopes are a compile-time table.
- `scipy.special.ndtri` (stats.norm.ppf): xsf/cephes/ndtri.h with cephes `polevl`/`p1evl`.
- `scipy.special.boxcox`: scipy/special/_boxcox.pxd; `scipy.stats.yeojohnson`:
  stats/_morestats.py `_yeojohnson_transform`.
- `BSpline.__call__` / `BSpline.design_matrix`: scipy/interpolate/src/__fitpack.cc
  `_find_interval` (a `Bucket` over the inner knots), `_deBoor_D`, `_evaluate_spline`
  (`out = 0.0; out += c * wrk[a]`) and `data_matrix` (the bare `wrk` values).
- `numpy.remainder` (periodic splines): npy_math_internal.h.src `npy_divmod`: an exact
  `fmod`, then `b` added to a negative remainder; fmod is long division below.
"""

from __future__ import annotations

import math
import struct

import numpy as np
from scipy import stats
from scipy.interpolate import BSpline
from sklearn.preprocessing import PowerTransformer, QuantileTransformer, SplineTransformer
from sklearn.preprocessing._data import BOUNDS_THRESHOLD

from ..ir import (
    Arith,
    Bucket,
    Compare,
    Const,
    Expr,
    Func,
    IsMissing,
    Lookup,
    Neg,
    Not,
    Or,
    Refusal,
    Select,
    Sum,
)
from ..registry import Context, Frame, UnsupportedError, rule
from .common import check_numbers, is_inf
from .compose import lower_transform


def _any(items: list[Expr]) -> Expr:
    return items[0] if len(items) == 1 else Or(tuple(items))


def _clip(x: Expr, lo: float, hi: float) -> Expr:
    """np.clip with lo < hi: NaN stays NaN."""
    return Select(Compare("<", x, lo), Const(lo), Select(Compare(">", x, hi), Const(hi), x))


def _number_columns(frame: Frame) -> list[Expr]:
    return [c for c in frame.columns if c.type == "number" and not isinstance(c, Const)]


# ---- numpy.interp ----------------------------------------------------------------------

def _interp(x: Expr, xp: np.ndarray, fp: np.ndarray) -> Expr:
    """np.interp(x, xp, fp) (left/right default to fp[0]/fp[-1]) for a finite x.

    arr_interp: below xp[0] left; at or above xp[-1] fp[-1]; else, on interval j,
    `slope * (x - xp[j]) + fp[j]`, with `fp[j]` where `x == xp[j]`, and where that is NaN
    `slope * (x - xp[j+1]) + fp[j+1]`, then `fp[j]` when NaN again and fp[j] == fp[j+1].
    The special cases only change a result when a reachable slope is 0, infinite or NaN,
    so they are emitted only then."""
    xp = np.asarray(xp, dtype=float)
    fp = np.asarray(fp, dtype=float)
    if len(xp) == 1:  # x < xp: left = fp[0]; x > xp: right = fp[0]; else fp[0]
        return Const(float(fp[0]))
    reachable = xp[:-1] < xp[1:]  # an interval of zero width is never the largest j
    with np.errstate(all="ignore"):
        slopes = np.where(reachable, (fp[1:] - fp[:-1]) / (xp[1:] - xp[:-1]), 0.0)
    inner = xp[1:-1]
    j = Bucket(x, tuple(float(v) for v in inner), right=True) if len(inner) else None

    def at(values: np.ndarray) -> Expr:
        return _per_index(j, values)

    a, f, s = at(xp[:-1]), at(fp[:-1]), at(slopes)
    near = Arith("+", Arith("*", s, Arith("-", x, a)), f)
    odd = reachable & ~(np.isfinite(slopes) & (slopes != 0))
    if odd.any():
        b, g = at(xp[1:]), at(fp[1:])
        far = Arith("+", Arith("*", s, Arith("-", x, b)), g)
        same = Compare("==", at((fp[:-1] == fp[1:]).astype(float)), 1.0)
        near = Select(Compare("==", Arith("-", x, a), 0.0), f,
                      Select(IsMissing(near), Select(IsMissing(far), Select(same, f, far), far),
                             near))
    return Select(Compare("<", x, float(xp[0])), Const(float(fp[0])),
                  Select(Compare(">=", x, float(xp[-1])), Const(float(fp[-1])), near))


def _per_index(index: Expr | None, values: object) -> Expr:
    """values[index] for a per-interval constant; a Const when it does not vary."""
    vals = tuple(float(v) for v in values)
    if index is None or all(struct.pack("<d", v) == struct.pack("<d", vals[0]) for v in vals):
        return Const(vals[0])
    return Lookup(index, vals)


# ---- scipy.special.ndtri (cephes) ------------------------------------------------------

NDTRI_P0 = (-5.99633501014107895267E1, 9.80010754185999661536E1, -5.66762857469070293439E1,
            1.39312609387279679503E1, -1.23916583867381258016E0)
NDTRI_Q0 = (1.95448858338141759834E0, 4.67627912898881538453E0, 8.63602421390890590575E1,
            -2.25462687854119370527E2, 2.00260212380060660359E2, -8.20372256168333339912E1,
            1.59056225126211695515E1, -1.18331621121330003142E0)
NDTRI_P1 = (4.05544892305962419923E0, 3.15251094599893866154E1, 5.71628192246421288162E1,
            4.40805073893200834700E1, 1.46849561928858024014E1, 2.18663306850790267539E0,
            -1.40256079171354495875E-1, -3.50424626827848203418E-2, -8.57456785154685413611E-4)
NDTRI_Q1 = (1.57799883256466749731E1, 4.53907635128879210584E1, 4.13172038254672030440E1,
            1.50425385692907503408E1, 2.50464946208309415979E0, -1.42182922854787788574E-1,
            -3.80806407691578277194E-2, -9.33259480895457427372E-4)
NDTRI_P2 = (3.23774891776946035970E0, 6.91522889068984211695E0, 3.93881025292474443415E0,
            1.33303460815807542389E0, 2.01485389549179081538E-1, 1.23716634817820021358E-2,
            3.01581553508235416007E-4, 2.65806974686737550832E-6, 6.23974539184983293730E-9)
NDTRI_Q2 = (6.02427039364742014255E0, 3.67983563856160859403E0, 1.37702099489081330271E0,
            2.16236993594496635890E-1, 1.34204006088543189037E-2, 3.28014464682127739104E-4,
            2.89247864745380683936E-6, 6.79019408009981274425E-9)
EXP_M2 = 0.13533528323661269189  # exp(-2)
SQRT2PI = 2.506628274631000502415765284811045253007


def _polevl(x: Expr, coef: tuple[float, ...], monic: bool = False) -> Expr:
    """cephes polevl (Horner from coef[0]) or p1evl (a leading coefficient 1 not stored)."""
    ans: Expr = Arith("+", x, Const(coef[0])) if monic else Const(coef[0])
    for c in coef[1:]:
        ans = Arith("+", Arith("*", ans, x), Const(c))
    return ans


def _rational(x: Expr, p: tuple[float, ...], q: tuple[float, ...]) -> Expr:
    """`x * polevl(x, p) / p1evl(x, q)`, grouped as C groups it."""
    return Arith("/", Arith("*", x, _polevl(x, p)), _polevl(x, q, monic=True))


def _ndtri(y0: Expr) -> Expr:
    """scipy.special.ndtri: cephes' rational approximations, branch for branch."""
    flip = Compare(">", y0, 1.0 - EXP_M2)
    y = Select(flip, Arith("-", Const(1.0), y0), y0)
    w = Arith("-", y, Const(0.5))
    w2 = Arith("*", w, w)
    central = Arith("*", Arith("+", w, Arith("*", w, _rational(w2, NDTRI_P0, NDTRI_Q0))),
                    Const(SQRT2PI))
    z = Func("sqrt", Arith("*", Const(-2.0), Func("log", y)))
    x0 = Arith("-", z, Arith("/", Func("log", z), z))
    inv = Arith("/", Const(1.0), z)
    x1 = Select(Compare("<", z, 8.0), _rational(inv, NDTRI_P1, NDTRI_Q1),
                _rational(inv, NDTRI_P2, NDTRI_Q2))
    tail = Arith("-", x0, x1)
    main = Select(Compare(">", y, EXP_M2), central, Select(flip, tail, Neg(tail)))
    return Select(Compare("==", y0, 0.0), Const(-math.inf),
                  Select(Compare("==", y0, 1.0), Const(math.inf),
                         Select(Or((Compare("<", y0, 0.0), Compare(">", y0, 1.0))),
                                Const(math.nan), main)))


# ---- QuantileTransformer ---------------------------------------------------------------

@rule(QuantileTransformer, "transformer",
      notes="output_distribution uniform / normal; NaN passes; sparse input (negatives "
            "refused unless ignore_implicit_zeros)")
def quantile_transformer(qt: QuantileTransformer, frame: Frame, ctx: Context) -> Frame:
    check_numbers(ctx, frame.columns, allow_nan=True, who="QuantileTransformer")
    numbers = _number_columns(frame)
    if frame.sparse and not qt.ignore_implicit_zeros and numbers:
        ctx.refuse_if(_any([Compare("<", c, 0.0) for c in numbers]), Refusal.NEGATIVE_VALUE,
                      "QuantileTransformer only accepts non-negative sparse matrices.")
    out = []
    for j, col in enumerate(frame.columns):
        y = _quantile_column(qt, col, np.asarray(qt.quantiles_[:, j], dtype=float), ctx)
        if frame.sparse:  # only X.data is transformed: an implicit zero stays zero
            y = Select(Compare("==", col, 0.0), Const(0.0), y)
        out.append(y)
    return Frame(out, frame.sparse)


def _quantile_column(qt: QuantileTransformer, x: Expr, q: np.ndarray, ctx: Context) -> Expr:
    """_transform_col(inverse=False): the mean of interp up and interp down, the bounds
    masks (the lower one applied last), then norm.ppf and the clip for "normal"."""
    if np.isnan(q).any() or (np.diff(q) < 0).any():
        raise UnsupportedError(
            f"{ctx.where()}: QuantileTransformer quantiles are NaN or not ascending; "
            "numpy.interp's result then depends on its search guess (the previous row)")
    refs = np.asarray(qt.references_, dtype=float)
    v = Arith("*", Const(0.5), Arith("-", _interp(x, q, refs),
                                     _interp(Neg(x), -q[::-1], -refs[::-1])))
    lo_x, hi_x = float(q[0]), float(q[-1])
    if qt.output_distribution == "uniform":
        y = Select(Compare("==", x, lo_x), Const(0.0),
                   Select(Compare("==", x, hi_x), Const(1.0), v))
    else:  # ppf(0) = -inf and ppf(1) = inf are clipped to the ends
        eps = float(np.spacing(1))
        lo = float(stats.norm.ppf(BOUNDS_THRESHOLD - eps))
        hi = float(stats.norm.ppf(1 - (BOUNDS_THRESHOLD - eps)))
        y = Select(Compare("<", Arith("-", x, Const(BOUNDS_THRESHOLD)), lo_x), Const(lo),
                   Select(Compare(">", Arith("+", x, Const(BOUNDS_THRESHOLD)), hi_x), Const(hi),
                          _clip(_ndtri(v), lo, hi)))
    return Select(IsMissing(x), x, y)


# ---- PowerTransformer ------------------------------------------------------------------

def _box_cox(x: Expr, lmbda: float) -> Expr:
    """scipy.special.boxcox (_boxcox.pxd) for one constant lambda."""
    if abs(lmbda) < 1e-19:
        return Func("log", x)
    t = Arith("*", Const(lmbda), Func("log", x))
    big = Arith("-", Arith("*", Const(math.copysign(1.0, lmbda)),
                           Func("exp", Arith("-", t, Const(math.log(abs(lmbda)))))),
                Const(1 / lmbda))
    return Select(Compare("<", t, 709.78), Arith("/", Func("expm1", t), Const(lmbda)), big)


def _yeo_johnson(x: Expr, lmbda: float) -> Expr:
    """scipy.stats._morestats._yeojohnson_transform for one constant lambda (NaN takes
    the x < 0 branch and stays NaN)."""
    eps = float(np.finfo(np.float64).eps)
    if abs(lmbda) < eps:
        pos: Expr = Func("log1p", x)
    else:
        pos = Arith("/", Func("expm1", Arith("*", Const(lmbda), Func("log1p", x))),
                    Const(lmbda))
    neg_x = Func("log1p", Neg(x))
    if abs(lmbda - 2) > eps:
        k = 2 - lmbda
        neg: Expr = Arith("/", Neg(Func("expm1", Arith("*", Const(k), neg_x))), Const(k))
    else:
        neg = Neg(neg_x)
    return Select(Compare(">=", x, 0.0), pos, neg)


@rule(PowerTransformer, "transformer",
      notes="yeo-johnson, box-cox (non-positive values refused); standardize on or off")
def power_transformer(pt: PowerTransformer, frame: Frame, ctx: Context) -> Frame:
    if frame.sparse:
        raise UnsupportedError(f"{ctx.where()}: PowerTransformer does not accept sparse input")
    check_numbers(ctx, frame.columns, allow_nan=True, who="PowerTransformer")
    numbers = _number_columns(frame)
    box_cox = pt.method == "box-cox"
    if box_cox and numbers:  # np.nanmin(X) <= 0 over the whole matrix
        ctx.refuse_if(_any([Compare("<=", c, 0.0) for c in numbers]), Refusal.NEGATIVE_VALUE,
                      "The Box-Cox transformation can only be applied to strictly positive "
                      "data")
    transform = _box_cox if box_cox else _yeo_johnson
    out = [transform(col, float(lmbda)) for col, lmbda in zip(frame.columns, pt.lambdas_)]
    if pt.standardize:  # self._scaler.transform validates again: an infinity is refused
        return lower_transform(pt._scaler, Frame(out), ctx, "standardize")
    return Frame(out)


# ---- SplineTransformer -----------------------------------------------------------------

CHUNK = 26  # quotient bits per long-division step: q * (27-bit part of b) stays exact


def _fmod_abs(a: Expr, b: float) -> Expr:
    """fmod(|a|, b) for a constant b > 0, exactly (fmod is exact; a - trunc(a/b)*b is not).

    Long division from the top: after the step with divisor c = b*2^k the remainder is
    below c. A step takes q = floor(r / c) < 2^26 (rounding can make it one too large),
    subtracts q*c as q*hi + q*lo (b = hi + lo, hi its top 27 bits: both products exact,
    and so are the differences, whose exact values are representable), and adds c back
    to a negative result. A first plain step at the largest finite b*2^E keeps q*c finite.
    NaN and infinities give NaN, as fmod does."""
    bits = struct.unpack("<Q", struct.pack("<d", b))[0]
    hi = struct.unpack("<d", struct.pack("<Q", bits & ~((1 << CHUNK) - 1)))[0]
    lo = b - hi
    top = 1024 - math.frexp(b)[1]  # b * 2^top is the largest finite b * 2^k
    r: Expr = Func("abs", a)
    c_top = math.ldexp(b, top)
    r = Select(Compare(">=", r, c_top), Arith("-", r, Const(c_top)), r)
    for k in [*range(top - CHUNK, 0, -CHUNK), 0]:
        c = math.ldexp(b, k)
        q = Func("floor", Arith("/", r, Const(c)))
        t = Arith("-", r, Arith("*", q, Const(math.ldexp(hi, k))))
        if lo:
            t = Arith("-", t, Arith("*", q, Const(math.ldexp(lo, k))))
        r = Select(Compare("<", t, 0.0), Arith("+", t, Const(c)), t)
    return r


def _remainder(a: Expr, b: float) -> Expr:
    """np.remainder(a, b) for a constant b > 0: fmod's result, plus b when a is negative
    and the remainder is not zero (npy_divmod); a zero remainder is +0.0."""
    r = _fmod_abs(a, b)
    return Select(Compare("<", a, 0.0),
                  Select(Compare("==", r, 0.0), Const(0.0), Arith("-", Const(b), r)), r)


def _de_boor(x: Expr, t: np.ndarray, k: int) -> tuple[list[Expr], Expr | None]:
    """The k+1 non-zero B-splines at x (`_deBoor_D` with m = 0) and the interval index
    (interval - k; None when there is one interval).

    `_find_interval` returns the largest l in [k, n-1] with t[l] <= x (k below t[k]),
    whatever its starting guess: a Bucket over t[k+1:n]. The knots each step reads are
    per-interval tables; where two of them coincide the step writes 0 and skips its
    update, as the C code does."""
    n = len(t) - k - 1
    inner = t[k + 1:n]
    ell = Bucket(x, tuple(float(v) for v in inner), right=True) if len(inner) else None
    intervals = range(k, n)
    # a NaN x has no interval: every value is NaN (degree 0 would otherwise read no x)
    h: list[Expr] = [Select(IsMissing(x), Const(math.nan), Const(1.0)) if k == 0 else Const(1.0)]
    for j in range(1, k + 1):
        hh, h = h, [Const(0.0)]
        for m in range(1, j + 1):
            xb = np.array([t[i + m] for i in intervals], dtype=float)
            xa = np.array([t[i + m - j] for i in intervals], dtype=float)
            flat = xb == xa
            w = Arith("/", hh[m - 1], _per_index(ell, np.where(flat, 1.0, xb - xa)))
            update = Arith("+", h[m - 1], Arith("*", w, Arith("-", _per_index(ell, xb), x)))
            fresh: Expr = Arith("*", w, Arith("-", x, _per_index(ell, xa)))
            if flat.all():
                fresh = Const(0.0)
            elif flat.any():
                skip = Compare("==", _per_index(ell, flat.astype(float)), 1.0)
                h[m - 1] = Select(skip, h[m - 1], update)
                fresh = Select(skip, Const(0.0), fresh)
            else:
                h[m - 1] = update
            h.append(fresh)
    return h, ell


def _basis(ws: list[Expr], ell: Expr | None, coef: np.ndarray, k: int, n: int,
           bare: bool) -> list[Expr]:
    """Column values from the non-zero B-splines: `_evaluate_spline`'s
    `0.0 + c[l-k, j] * wrk[0] + ... + c[l, j] * wrk[k]`, or with `bare` the values
    `data_matrix` stores (no products: an infinite wrk does not spread NaN)."""
    cols = []
    for jp in range(coef.shape[1]):
        table = [[float(coef[i + a - k, jp]) for i in range(k, n)] for a in range(k + 1)]
        if bare:  # identity coefficients: at most one a per interval
            value: Expr = Const(0.0)
            for a in reversed(range(k + 1)):
                if any(table[a]):
                    value = Select(Compare("==", _per_index(ell, table[a]), 1.0), ws[a], value)
            cols.append(value)
        else:
            cols.append(Sum((Const(0.0), *[Arith("*", _per_index(ell, table[a]), ws[a])
                                           for a in range(k + 1)])))
    return cols


OUT_OF_KNOTS = "`X` contains values beyond the limits of the knots."


@rule(SplineTransformer, "transformer",
      notes="knots uniform / quantile / array; extrapolation error, constant, linear, "
            "continue, periodic; include_bias; sparse_output; handle_missing")
def spline_transformer(st: SplineTransformer, frame: Frame, ctx: Context) -> Frame:
    if frame.sparse:
        raise UnsupportedError(f"{ctx.where()}: SplineTransformer does not accept sparse input")
    zeros = st.handle_missing == "zeros"
    check_numbers(ctx, frame.columns, allow_nan=False, dtype=None if zeros else "float64",
                  who="SplineTransformer")
    _supported_spline(st, len(frame.columns), ctx)
    out: list[Expr] = []
    degree = st.degree  # transform's `degree`: the linear branch raises it for later features
    for col, spl in zip(frame.columns, st.bsplines_):
        block, degree = _spline_column(st, col, spl, degree, ctx)
        if zeros and st.extrapolation in ("continue", "error", "periodic"):
            block = [Select(IsMissing(col), Const(0.0), v) for v in block]
        out.extend(block if st.include_bias else block[:-1])
    return Frame(out, bool(st.sparse_output))


def _supported_spline(st: SplineTransformer, width: int, ctx: Context) -> None:
    """Refuse the configurations whose sklearn 1.9.1 result is not a function of the row."""
    mode, degree, sparse = st.extrapolation, st.degree, st.sparse_output
    t = st.bsplines_[0].t
    where = f"{ctx.where()}: SplineTransformer(extrapolation={mode!r}, degree={degree}"
    if sparse and mode == "periodic" and degree == 0:
        raise UnsupportedError(f"{where}, sparse_output=True): sklearn raises 'inconsistent "
                               "shapes' for every row")
    if not sparse and mode == "constant" and degree == 0 and st.bsplines_[0].c.shape[1] > 1:
        raise UnsupportedError(f"{where}): sklearn cannot broadcast f_max[-0:] and raises for "
                               "every row above the last knot")
    if mode == "linear" and degree == 0 and width > 1 and len(t) < 3:
        raise UnsupportedError(f"{where}) on {width} features with 2 knots: from the second "
                               "feature on, transform's raised degree (2) reads past the one "
                               "spline and raises IndexError for every row beyond the knots")
    if sparse and st.handle_missing == "zeros" and mode in ("continue", "error", "periodic"):
        if width > 1:
            raise UnsupportedError(
                f"{where}, sparse_output=True, handle_missing='zeros') on {width} features: "
                "sklearn zeroes missing values of the first feature only; the others get the "
                "spline at the batch's minimum, which depends on the other rows")
        k = st.bsplines_[0].k
        if mode == "error" and not t[k] <= 0.0 <= t[len(t) - k - 1]:
            raise UnsupportedError(
                f"{where}, sparse_output=True, handle_missing='zeros'): a batch of missing "
                "values alone is evaluated at 0.0, outside the knots, and raises; with other "
                "rows it does not")


def _spline_column(st: SplineTransformer, col: Expr, spl: BSpline, degree: int,
                   ctx: Context) -> tuple[list[Expr], int]:
    """One feature's block of n_splines columns (before include_bias) and the `degree`
    transform carries to the next feature."""
    t, k, coef = np.asarray(spl.t, dtype=float), int(spl.k), np.asarray(spl.c, dtype=float)
    n = len(t) - k - 1
    mode, sparse = st.extrapolation, st.sparse_output
    x = col
    if mode == "periodic":  # x = t[k] + (X - t[k]) % (t[n] - t[k]), or 0 for a point range
        period = float(t[n] - t[k])
        shifted = Arith("-", col, Const(float(t[k])))
        x = Arith("+", Const(float(t[k])), _remainder(shifted, period)) if period > 0 \
            else Const(0.0)
    else:
        shifted = col
    if sparse and mode in ("continue", "error", "periodic") and not isinstance(x, Const):
        # design_matrix's finite check (a missing value was replaced by an in-range one)
        ctx.refuse_if(is_inf(shifted), Refusal.MISSING_VALUE,
                      "Array must not contain infs or nans.")
    if mode == "error":  # spl(x) is NaN outside the knots; sklearn raises for the block
        beyond = Or((Compare("<", col, float(t[k])), Compare(">", col, float(t[n]))))
        ctx.refuse_if(beyond, Refusal.OUT_OF_RANGE, OUT_OF_KNOTS)
    ws, ell = _de_boor(x, t, k)
    values = _basis(ws, ell, coef, k, n, bare=sparse and mode == "continue")
    if mode not in ("constant", "linear"):
        return values, degree
    return _extrapolated(st, spl, col, values, degree)


def _extrapolated(st: SplineTransformer, spl: BSpline, col: Expr, values: list[Expr],
                  degree: int) -> tuple[list[Expr], int]:
    """transform's constant / linear branch: zeros, the spline where xmin <= X <= xmax
    (NaN: neither), then its assignments below xmin and above xmax in its order (they only
    meet when xmin > xmax). xmin = t[degree] with transform's `degree`, which the linear
    branch raises to 1 or 2 (degree <= 1) and keeps for the next feature."""
    xmin, xmax = float(spl.t[degree]), float(spl.t[-degree - 1])
    below, above = Compare("<", col, xmin), Compare(">", col, xmax)
    inside = Not(Or((IsMissing(col), below, above)))
    block = [Select(inside, v, Const(0.0)) for v in values]
    width = len(block)
    f_min, f_max = spl(xmin), spl(xmax)
    steps: list[tuple[Expr, int, Expr]] = []  # (mask, column, value), in sklearn's order
    if st.extrapolation == "constant":
        steps += [(below, j, Const(float(f_min[j]))) for j in list(range(width))[:degree]]
        # XBS[:, -degree:] is every column for degree 0 (sparse); dense refuses that case
        ups = list(range(width))[-degree:] if degree else (
            list(range(width)) if st.sparse_output else [])
        steps += [(above, j, Const(float(f_max[j]))) for j in ups]
    else:
        fp_min, fp_max = spl(xmin, nu=1), spl(xmax, nu=1)
        if degree <= 1:
            degree += 1
        for j in range(degree):
            i = width - 1 - j
            steps += [(below, j, _line(f_min[j], col, xmin, fp_min[j])),
                      (above, i, _line(f_max[i], col, xmax, fp_max[i]))]
    for mask, j, value in steps:
        block[j] = Select(mask, value, block[j])
    return block, degree


def _line(f: float, col: Expr, x0: float, slope: float) -> Expr:
    """`f + (X - x0) * slope`, the linear continuation."""
    return Arith("+", Const(float(f)),
                 Arith("*", Arith("-", col, Const(x0)), Const(float(slope))))
