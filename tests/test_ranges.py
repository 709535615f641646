"""The range pass (compiler.passes.Ranges) is a promise the PostgreSQL target builds on: an
operation whose operands' ranges rule out an overflow or an underflow to zero is printed
without a guard, and a fast path's box of inputs is proven by ranges alone. So every
bound it gives must hold for every value the IR computes: random expressions over
features inside a box, evaluated with numpy at the box's edges, at the constants the
expressions subtract (where sums cancel) and at random points."""

from __future__ import annotations

import math

import hypothesis.strategies as st
import numpy as np
from hypothesis import given, settings

from scorec.compiler import ir
from scorec.compiler.passes import Ranges, nodes
from tests.ir_eval import Evaluator

N = 3
constants = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 3.0, 1e-300, 5e-324, 1e300, 2.0 ** -60]),
    st.floats(-1e6, 1e6, allow_nan=False))


@st.composite
def expressions(draw, depth: int = 3) -> ir.Expr:
    if depth == 0 or draw(st.integers(0, 4)) == 0:
        if draw(st.booleans()):
            return ir.Feature(draw(st.integers(0, N - 1)))
        return ir.Const(draw(constants))
    kind = draw(st.sampled_from(["arith", "arith", "const", "neg", "sum", "exp", "impute"]))
    if kind == "neg":
        return ir.Neg(draw(expressions(depth - 1)))
    if kind == "exp":
        return ir.Func("exp", draw(expressions(depth - 1)))
    if kind == "sum":
        return ir.Sum(tuple(draw(st.lists(expressions(depth - 1), min_size=2, max_size=4))))
    if kind == "impute":
        f = ir.Feature(draw(st.integers(0, N - 1)))
        return ir.Select(ir.IsMissing(f), ir.Const(draw(constants)), f)
    op = draw(st.sampled_from("+-*/"))
    a = draw(expressions(depth - 1))
    b = ir.Const(draw(constants)) if kind == "const" else draw(expressions(depth - 1))
    return ir.Arith(op, *((b, a) if draw(st.booleans()) else (a, b)))


def _values(draw, mag: float, low: float, nan: bool, consts: list[float]) -> list[float]:
    """Values inside the box: its edges, the constants that fit, random points."""
    edges = [0.0, -0.0, mag, -mag, low, -low, math.nextafter(low, math.inf)]
    near = [v for c in consts for v in (c, math.nextafter(c, 0.0), math.nextafter(c, math.inf))]
    out = [v for v in edges + near if v == 0.0 or low <= abs(v) <= mag]
    out += [draw(st.floats(-mag, mag)) for _ in range(3)]
    out = [v for v in out if v == 0.0 or abs(v) >= low]
    return out + ([math.nan] if nan else [])


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_every_range_holds_for_every_value(data: st.DataObject) -> None:
    roots = [data.draw(expressions()) for _ in range(2)]
    ranges = Ranges()
    boxes = []
    for k in range(N):
        mag = 2.0 ** data.draw(st.integers(-8, 1023))
        low = data.draw(st.sampled_from([0.0, 2.0 ** -200, 1e-10]))
        nan = data.draw(st.booleans())
        ranges.assume(ir.Feature(k), mag, low, nan)
        boxes.append((mag, low, nan))
    every = nodes(roots)
    consts = [n.value for n in every if isinstance(n, ir.Const)]
    columns = [_values(data.draw, *box, consts) for box in boxes]
    for _ in range(12):
        row = [data.draw(st.sampled_from(c)) for c in columns]
        ev = Evaluator(row)
        for node in every:
            if node.type != "number":
                continue
            r, v = ranges.of(node), float(ev(node))
            where = f"{node!r} = {v!r} at {row}: {r}"
            if math.isnan(v):
                assert r.nan, where
                continue
            assert abs(v) <= r.mag, where
            assert v == 0.0 or abs(v) >= r.low, where
            assert v != 0.0 or r.zero, where
            assert r.sign * np.sign(v) >= 0, where
