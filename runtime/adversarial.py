"""Input values most likely to expose a wrong compilation.

Beyond NaN, infinities and huge or tiny magnitudes, the dangerous inputs sit exactly at
a decision boundary: a split bound, a clip limit, a category. For every comparison whose
operand is a monotone chain of arithmetic on one raw feature (imputer, scaler), the
exact raw value where the comparison flips is found by bisection over the doubles, and
that value and its neighbours become candidates.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable

import numpy as np

from scorec.compiler import ir
from scorec.compiler.lowering.common import F32_OVERFLOW
from scorec.compiler.passes import _postorder, all_roots

SPECIAL_NUMBERS = (
    math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -1.0, 5e-324, -5e-324, 1e-300,
    1e300, -1e300, 1.7976931348623157e308, -1.7976931348623157e308, 1e15, -1e15,
    F32_OVERFLOW, -F32_OVERFLOW, math.nextafter(F32_OVERFLOW, 0.0),
    math.nextafter(-F32_OVERFLOW, 0.0), 3.4028234663852886e38,
)

HOSTILE_TEXT = ("", " ", "'", "\"", "\\", "'); DROP TABLE t; --", "*/", "\n", "NULL", "null",
                "nan", "Ünïcödé", "日本", "tab\there", "select", "??=")


def _ordered(x: float) -> int:
    i = struct.unpack("<q", struct.pack("<d", x))[0]
    return i if i >= 0 else -(i & 0x7FFFFFFFFFFFFFFF)


def _unordered(i: int) -> float:
    bits = i if i >= 0 else (-i) | (1 << 63)
    return struct.unpack("<d", struct.pack("<Q", bits & 0xFFFFFFFFFFFFFFFF))[0]


# functions of one number that never decrease: a bound on f(x) is a bound on x
MONOTONE_FUNCS = frozenset({"exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt",
                            "tanh", "sinh", "arctan", "arcsinh", "float32"})


def _chain(expr: ir.Expr) -> tuple[int, Callable[[float], float]] | None:
    """(feature index, f) when expr is f(raw feature) for a chain of per-value arithmetic."""
    if isinstance(expr, ir.Feature):
        return (expr.index, lambda x: x) if expr.kind == "number" else None
    if isinstance(expr, ir.Neg):
        inner = _chain(expr.a)
        return (inner[0], lambda x, f=inner[1]: -f(x)) if inner else None
    if isinstance(expr, ir.Arith):
        ops = {"+": lambda a, b: a + b, "-": lambda a, b: a - b,
               "*": lambda a, b: a * b, "/": lambda a, b: a / b}
        op = ops[expr.op]
        if isinstance(expr.b, ir.Const):
            inner, c = _chain(expr.a), expr.b.value
            return (inner[0], lambda x, f=inner[1]: op(f(x), c)) if inner else None
        if isinstance(expr.a, ir.Const) and expr.op != "/":
            inner, c = _chain(expr.b), expr.a.value
            return (inner[0], lambda x, f=inner[1]: op(c, f(x))) if inner else None
        return None
    if isinstance(expr, ir.Func) and expr.fn in MONOTONE_FUNCS:
        inner, fn = _chain(expr.a), getattr(np, expr.fn)

        def apply(x: float, f=None, g=fn) -> float:
            with np.errstate(all="ignore"):
                return float(g(np.float64(f(x))))

        return (inner[0], lambda x, f=inner[1]: apply(x, f)) if inner else None
    if isinstance(expr, ir.Select) and isinstance(expr.cond, ir.IsMissing):
        return _chain(expr.other)  # an imputer: the non-missing path
    return None


def _text_source(expr: ir.Expr) -> int | None:
    """The raw text feature behind an imputed text column."""
    while isinstance(expr, ir.Select):
        expr = expr.other
    return expr.index if isinstance(expr, ir.Feature) and expr.kind == "string" else None


def _crossing(f: Callable[[float], float], bound: float) -> float | None:
    """The largest double x with f(x) <= bound, for monotone f (either direction)."""
    lo, hi = _ordered(-1.7976931348623157e308), _ordered(1.7976931348623157e308)
    try:
        p_lo, p_hi = f(_unordered(lo)) <= bound, f(_unordered(hi)) <= bound
    except (OverflowError, ZeroDivisionError):
        return None
    if p_lo == p_hi:
        return None
    while hi - lo > 1:  # invariant: p(lo) == p_lo, p(hi) == p_hi
        mid = (lo + hi) // 2
        if (f(_unordered(mid)) <= bound) == p_lo:
            lo = mid
        else:
            hi = mid
    return _unordered(lo)


def _f32_steps(bound: float) -> list[float]:
    if math.isinf(bound):
        return [bound]
    with np.errstate(over="ignore"):
        f = np.float32(bound)
        return [bound, float(np.nextafter(f, np.float32(-np.inf))),
                float(np.nextafter(f, np.float32(np.inf)))]


def critical_values(program: ir.Program, steps: int = 2) -> dict[int, list]:
    """Per feature index: values at and around every boundary the program tests."""
    found: dict[int, set] = {}

    def add(index: int, value: object) -> None:
        found.setdefault(index, set()).add(value)

    for node in _postorder(all_roots(program)):
        targets: list[tuple[ir.Expr, float]] = []
        if isinstance(node, ir.Tree):
            for i in range(len(node.left)):
                if node.left[i] != -1 and node.categories and node.categories[i] is not None:
                    chain = _chain(node.inputs[node.feature[i]])
                    if chain and chain[1](1.0) == 1.0:  # the categories, and a value beside
                        for v in node.categories[i]:
                            add(chain[0], v)
                            add(chain[0], v + 0.5)
                elif node.left[i] != -1:  # the exact bound, and a float32 step either side
                    b = node.bound[i]
                    targets += [(node.inputs[node.feature[i]], v) for v in _f32_steps(b)]
        elif isinstance(node, ir.Compare) and math.isfinite(node.bound):
            targets = [(node.a, node.bound)]
        elif isinstance(node, ir.Bucket):
            targets = [(node.a, e) for e in node.edges if math.isfinite(e)]
        elif isinstance(node, ir.InSet):
            chain = _chain(node.a)
            if chain and chain[1](1.0) == 1.0:
                for v in node.values:
                    add(chain[0], v)
            elif _text_source(node.a) is not None:
                for v in node.values:
                    add(_text_source(node.a), v)
        for expr, bound in targets:
            chain = _chain(expr)
            if chain is None:
                continue
            x = _crossing(chain[1], bound)
            if x is None:
                continue
            for k in range(-steps, steps + 1):
                v = x
                for _ in range(abs(k)):
                    v = math.nextafter(v, math.inf if k > 0 else -math.inf)
                add(chain[0], v)
    return {i: sorted(vs, key=lambda v: (str(type(v)), v)) for i, vs in found.items()}
