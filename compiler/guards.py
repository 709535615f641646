"""Guards: one cheap test that proves a row passes a run of sklearn's finiteness checks.

sklearn refuses a row with a NaN (where the step does not accept missing values), an
infinity, or a number too large for float32 (trees). Testing each value costs two branches
per feature on every row, though almost every row passes. A guard instead tests a few
nodes the scorer computes anyway: NaN or infinity flows through arithmetic (inf - inf and
inf * 0 are NaN, a finite divisor keeps inf infinite), so a finite decision score proves
every number it was computed from finite. Only a row whose guard fails runs the checks
one by one, in order, so that the reason reported is sklearn's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .ir import Arith, Compare, Const, Expr, Feature, IsMissing, Neg, Or, Select, Sum
from .passes import Ranges, nodes

# |x| < F32_GUARD proves float32(x) finite (float32 overflows at 3.4e38)
F32_GUARD = 1e38


def magnitude_tests(fails: Expr) -> list[tuple[Expr, float | None]] | None:
    """A check of the shape of sklearn's `ensure_all_finite` (an Or of NaN tests and of
    `x >= T` / `x <= -T`, T > 0) as (x, T) pairs, T None for a NaN test: the check passes
    when every x is a number with |x| < T. None for a check of any other shape."""
    out: list[tuple[Expr, float | None]] = []
    stack = [fails]
    while stack:
        item = stack.pop()
        if isinstance(item, Or):
            stack.extend(reversed(item.items))
        elif isinstance(item, IsMissing) and item.a.type == "number":
            out.append((item.a, None))
        elif isinstance(item, Compare) and item.a.type == "number" and item.op in (">=", "<=") \
                and (item.bound if item.op == ">=" else -item.bound) > 0:
            out.append((item.a, item.bound if item.op == ">=" else -item.bound))
        else:
            return None
    return out


def needs_of(fails: Expr, float32: bool = True) -> list[tuple[Expr, str]] | None:
    """What a row must satisfy for the check not to fail, as (node, "nan" | "inf" | "f32")
    needs, or None when the check has another form (or tests float32 overflow and
    `float32` is False)."""
    tests = magnitude_tests(fails)
    if tests is None or any(t is not None and t < (F32_GUARD if float32 else math.inf)
                            for _, t in tests):
        return None
    return [(x, "nan" if t is None else "inf" if t == math.inf else "f32") for x, t in tests]


def _finite_const(e: Expr, nonzero: bool = False) -> bool:
    return isinstance(e, Const) and math.isfinite(e.value) and (e.value != 0 or not nonzero)


class Finiteness:
    """For a node g: which nodes, being NaN (`nan`) or infinite (`inf`), make g NaN or
    infinite, and which, being infinite, make g infinite (`grows`). A finite g thus proves
    those nodes are not NaN / not infinite. `total`: computing the node cannot raise for
    float inputs in a language that raises on division by zero (Python)."""

    def __init__(self, roots: list[Expr]):
        self.nan: dict[int, frozenset[int]] = {}
        self.inf: dict[int, frozenset[int]] = {}
        self.grows: dict[int, frozenset[int]] = {}
        self.total: set[int] = set()
        for n in nodes(roots, into_trees=False):
            self._visit(n)

    def _visit(self, n: Expr) -> None:
        me = frozenset((id(n),))
        nan, inf, grows = me, me, me
        total = isinstance(n, (Feature, Const))
        if isinstance(n, Neg):
            a = id(n.a)
            nan, inf, grows = me | self.nan[a], me | self.inf[a], me | self.grows[a]
            total = a in self.total
        elif isinstance(n, (Arith, Sum)):
            terms = (n.a, n.b) if isinstance(n, Arith) else n.terms
            op = n.op if isinstance(n, Arith) else "+"
            total = all(id(t) in self.total for t in terms) and (
                op != "/" or _finite_const(n.b, nonzero=True))
            nan = me.union(*(self.nan[id(t)] for t in terms))
            inf = me.union(*(self.inf[id(t)] for t in (terms if op != "/" else terms[:1])))
            if op == "/":
                nan = me | self.nan[id(n.a)] | self.nan[id(n.b)]
            # inf stays inf (not NaN) only next to finite, non-zero constants
            rest = [t for t in terms if not _finite_const(t, nonzero=op in "*/")]
            if len(rest) == 1 and (op != "/" or rest[0] is terms[0]):
                grows = me | self.grows[id(rest[0])]
        elif isinstance(n, Select) and n.then.type == "number":
            t, o = id(n.then), id(n.other)
            total = t in self.total and o in self.total and isinstance(n.cond, IsMissing) \
                and id(n.cond.a) in self.total
            if isinstance(n.cond, IsMissing) and n.cond.a is n.other:
                # the other branch only when it is not NaN: when infinite, the select is
                inf = me | self.grows[o] | (self.inf[t] & self.inf[o])
                grows = me | self.grows[o] if _finite_const(n.then) else me
                nan = me | (self.nan[t] & self.nan[o])
            else:
                nan = me | (self.nan[t] & self.nan[o])
                inf = me | (self.inf[t] & self.inf[o])
                grows = me | (self.grows[t] & self.grows[o])
        self.nan[id(n)], self.inf[id(n)], self.grows[id(n)] = nan, inf, grows
        if total:
            self.total.add(id(n))


@dataclass
class Guard:
    """`|g| < bound` for every g in `nodes` (NaN fails): true proves that every need it
    was planned for holds."""

    nodes: list[Expr]
    bound: float


def plan_guard(needs: list[tuple[Expr, str]], values: list[Expr], facts: Ranges,
               total_only: bool) -> Guard:
    """The nodes whose finiteness proves every need, few and cheap: a node that must be
    below F32_GUARD is tested itself; then, greedily, the node among those computed for
    `values` (only `total` ones if `total_only`) whose finiteness proves the most of the
    other needs (one not expected to be NaN first); what is left, itself."""
    flow = Finiteness(values + [n for n, _ in needs])
    chosen: list[Expr] = []
    for node, kind in needs:
        if kind == "f32" and all(node is not c for c in chosen):
            chosen.append(node)
    bound = F32_GUARD if chosen else math.inf

    def covers(g: Expr, pending: list) -> list:
        got = flow.nan[id(g)], flow.inf[id(g)]
        return [need for need in pending if id(need[0]) in got[need[1] == "inf"]]

    pending = [need for need in needs if need[1] != "f32"
               and not any(covers(c, [need]) for c in chosen)]
    candidates = [n for n in nodes(values + [n for n, _ in needs], into_trees=False)
                  if n.type == "number" and (id(n) in flow.total or not total_only)
                  and not isinstance(n, Const)]
    while pending and candidates:
        best = max(candidates, key=lambda g: (len(covers(g, pending)), not facts.of(g).nan))
        got = covers(best, pending)
        if len(got) < 2:
            break
        chosen.append(best)
        pending = [need for need in pending if all(need is not q for q in got)]
    for node, _ in pending:
        if all(node is not c for c in chosen):
            chosen.append(node)
    return Guard(chosen, bound)
