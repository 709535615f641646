"""Arithmetic shapes and input checks that several lowering rules share."""

from __future__ import annotations

import numpy as np

from ..ir import Arith, Compare, Const, Expr, Func, IsMissing, Neg, Or, Refusal, Sum
from ..registry import CompileError, Context

# float32(x) is +-inf exactly when |x| >= FLT_MAX + half an ulp (the tie rounds to even: inf)
F32_OVERFLOW = float(np.finfo(np.float32).max) + 2.0**103


def f32_split_bounds(thresholds: np.ndarray) -> np.ndarray:
    """The doubles B with `x <= B` <=> `float32(x) <= threshold` for every non-NaN double x,
    one per threshold.

    sklearn's trees cast X to float32 and compare it with a float64 threshold; folding
    the cast into the bound makes one double compare exact in every target. B is the top
    of the float32 rounding interval of f, the largest float32 <= threshold.
    """
    thr = np.asarray(thresholds, dtype=float)
    if np.isnan(thr).any():
        raise CompileError("a tree split has a NaN threshold")
    with np.errstate(all="ignore"):  # inf and subnormal steps are meant
        f = thr.astype(np.float32)
        f = np.where(f.astype(float) > thr, np.nextafter(f, np.float32(-np.inf)), f)
        up = np.nextafter(f, np.float32(np.inf))
        mid = (f.astype(float) + up.astype(float)) / 2.0  # exact: both are float32 values
        rounds_down = mid.astype(np.float32).astype(float) <= thr  # the tie rounds to even
        bound = np.where(rounds_down, mid, np.nextafter(mid, -np.inf))
    bound = np.where(np.isposinf(up), np.nextafter(F32_OVERFLOW, -np.inf), bound)
    bound = np.where(np.isneginf(f), -F32_OVERFLOW, bound)  # float32(x) is -inf, tie included
    return np.where(np.isposinf(f), np.inf, bound)


def f32_split_bound(threshold: float) -> float:
    """f32_split_bounds for one threshold."""
    return float(f32_split_bounds(np.array([threshold]))[0])


def is_inf(x: Expr) -> Expr:
    return Or((Compare(">=", x, float("inf")), Compare("<=", x, float("-inf"))))


def check_numbers(ctx: Context, cols: list[Expr], *, allow_nan: bool,
                  dtype: str | None = "float64", who: str = "") -> None:
    """sklearn's check_array(ensure_all_finite=...) for the columns a step reads.

    sklearn looks at the whole matrix and reports NaN before infinity, so the checks are
    one "any NaN" and then one "any infinity" over all columns, in that order. dtype None:
    the step only needs numbers and checks nothing."""
    numbers = []
    for col in cols:
        if col.type == "string":
            raise CompileError(f"{ctx.where()}: a text column reaches {who or 'a numeric step'}; "
                               "encode it first (e.g. OneHotEncoder)")
        if col.type == "number" and not isinstance(col, Const):
            numbers.append(col)
    if not numbers or dtype is None:
        return
    if not allow_nan:
        ctx.refuse_if(_any([IsMissing(c) for c in numbers]), Refusal.MISSING_VALUE,
                      f"Input X contains NaN ({who or ctx.where()} does not accept "
                      "missing values)")
    if dtype == "float32":
        fails = [Or((Compare(">=", c, F32_OVERFLOW), Compare("<=", c, -F32_OVERFLOW)))
                 for c in numbers]
    else:
        fails = [is_inf(c) for c in numbers]
    ctx.refuse_if(_any(fails), Refusal.INFINITE_VALUE,
                  f"Input X contains infinity or a value too large for dtype('{dtype}')")


def _any(items: list[Expr]) -> Expr:
    return items[0] if len(items) == 1 else Or(tuple(items))


def numpy_sum(terms: list[Expr]) -> Expr:
    """The sum in numpy's own order (pairwise, 8 accumulators), as np.sum(axis=1) does it."""
    n = len(terms)
    if n < 8:
        return Sum(tuple(terms)) if n > 1 else terms[0]
    if n <= 128:
        acc: list[Expr] = list(terms[:8])
        m = n - n % 8
        for i in range(8, m, 8):
            acc = [Arith("+", acc[j], terms[i + j]) for j in range(8)]
        res: Expr = Arith("+", Arith("+", Arith("+", acc[0], acc[1]), Arith("+", acc[2], acc[3])),
                          Arith("+", Arith("+", acc[4], acc[5]), Arith("+", acc[6], acc[7])))
        return Sum((res, *terms[m:])) if m < n else res
    half = n // 2
    half -= half % 8
    return Arith("+", numpy_sum(terms[:half]), numpy_sum(terms[half:]))


def expit(x: Expr) -> Expr:
    """scipy.special.expit: 1 / (1 + exp(-x))."""
    return Arith("/", Const(1.0), Arith("+", Const(1.0), Func("exp", Neg(x))))


def softmax(scores: list[Expr]) -> list[Expr]:
    """sklearn.utils.extmath.softmax: subtract the max, exp, divide by the numpy sum."""
    from ..ir import Max

    top = Max(tuple(scores))
    exps = [Func("exp", Arith("-", s, top)) for s in scores]
    total = numpy_sum(exps)
    return [Arith("/", e, total) for e in exps]


def as_label(value: object) -> object:
    """A class label as the plain Python value the targets return."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, float, str)):
        return value
    raise CompileError(f"class label {value!r} of type {type(value).__name__} is not supported; "
                       "labels must be int, float, str or bool")
