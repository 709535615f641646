"""A reference evaluator of the IR with numpy's float64 semantics, for testing the targets.

Slow and plain on purpose: it is the meaning of each node written once, without any of the
targets' tricks, so a test can ask every target to agree with it on random programs.
"""

from __future__ import annotations

import math

import numpy as np

from scorec.compiler import ir

F = np.float64


def _num(v: object) -> np.float64:
    return F(math.nan) if v is None else F(v)


class Evaluator:
    """Evaluates the nodes of one program for one row (a list in feature order)."""

    def __init__(self, row: list):
        self.row = row
        self.memo: dict[int, object] = {}
        self.elements: list | None = None

    def __call__(self, node: ir.Expr) -> object:
        if isinstance(node, ir.Var) or self.elements is not None:
            return self._eval(node)  # inside a map body: no memo across elements
        if id(node) not in self.memo:
            self.memo[id(node)] = self._eval(node)
        return self.memo[id(node)]

    def _eval(self, n: ir.Expr) -> object:  # noqa: C901 - one case per node kind
        with np.errstate(all="ignore"):
            if isinstance(n, ir.Feature):
                v = self.row[n.index]
                if n.kind == "string":
                    return None if v is None or (isinstance(v, float) and v != v) else v
                return _num(v)
            if isinstance(n, ir.Const):
                return F(n.value)
            if isinstance(n, ir.Text):
                return n.value
            if isinstance(n, ir.Var):
                return self.elements[n.k]
            if isinstance(n, ir.Arith):
                a, b = self(n.a), self(n.b)
                return {"+": a + b, "-": a - b, "*": a * b, "/": np.divide(a, b)}[n.op]
            if isinstance(n, ir.Neg):
                return -self(n.a)
            if isinstance(n, ir.Func) and n.fn == "float32":
                return F(np.array([self(n.a)], dtype=F).astype(np.float32)[0])
            if isinstance(n, ir.Func):  # numpy's array loops, as sklearn calls them
                return getattr(np, n.fn)(np.array([self(n.a)], dtype=F))[0]
            if isinstance(n, ir.Pow):
                return np.power(np.array([self(n.a)], dtype=F), np.array([self(n.b)], dtype=F))[0]
            if isinstance(n, ir.IsMissing):
                a = self(n.a)
                return a is None if n.a.type == "string" else bool(np.isnan(a))
            if isinstance(n, ir.Compare):
                a, b = self(n.a), F(n.bound)
                return bool({"<=": a <= b, "<": a < b, ">=": a >= b, ">": a > b,
                             "==": a == b}[n.op])
            if isinstance(n, ir.InSet):
                a = self(n.a)
                missing = a is None if n.a.type == "string" else bool(np.isnan(a))
                return (missing and n.missing) or (not missing and a in n.values)
            if isinstance(n, ir.Not):
                return not self(n.a)
            if isinstance(n, ir.Or):
                return any(self(i) for i in n.items)
            if isinstance(n, ir.Select):
                return self(n.then) if self(n.cond) else self(n.other)
            if isinstance(n, ir.Sum):
                total = self(n.terms[0])
                for t in n.terms[1:]:
                    total = total + self(t)
                return total
            if isinstance(n, ir.Max):
                return F(np.max([self(t) for t in n.terms]))
            if isinstance(n, ir.Argmax):
                return int(np.argmax([self(t) for t in n.terms]))
            if isinstance(n, ir.BoolIndex):
                return 1 if self(n.cond) else 0
            if isinstance(n, ir.Item):
                return self(n.vec)[n.k]
            if isinstance(n, ir.Tree):
                xs = [self(i) for i in n.inputs]
                i = 0
                while n.left[i] != -1:
                    x = xs[n.feature[i]]
                    if np.isnan(x):
                        i = n.left[i] if n.missing_left[i] else n.right[i]
                    elif n.categories is not None and n.categories[i] is not None:
                        i = n.left[i] if x in n.categories[i] else n.right[i]
                    else:
                        i = n.left[i] if x <= n.bound[i] else n.right[i]
                return [F(v) for v in n.values[i]]
            if isinstance(n, ir.Bucket):
                side = "right" if n.right else "left"
                return int(np.searchsorted(np.array(n.edges, dtype=F), self(n.a), side=side))
            if isinstance(n, ir.Lookup):
                v = n.table[int(self(n.index))]
                return v if n.type == "index" else F(v)
            if isinstance(n, ir.Pack):
                return [self(i) for i in n.items]
            if isinstance(n, ir.MatVec):
                return self._mat_vec(n)
            if isinstance(n, ir.Map):
                ops = [[F(v) for v in o] if isinstance(o, tuple) else self(o)
                       for o in n.operands]
                for c in n.captures:
                    self(c)
                out = []
                for i in range(n.width):
                    outer, self.elements = self.elements, [o[i] for o in ops]
                    try:
                        out.append(self._body(n.body))
                    finally:
                        self.elements = outer
                return out
            if isinstance(n, ir.KSmallest):
                v = self(n.vec)
                order = sorted((i for i in range(len(v)) if v[i] < np.inf), key=lambda i: v[i])
                return (order + [n.fill] * n.k)[:n.k]
            if isinstance(n, ir.At):
                return self(n.vec)[int(self(n.index))]
            if isinstance(n, ir.Reduce):
                v = np.array(self(n.vec), dtype=F)
                if n.op == "sum":
                    total = v[0]
                    for e in v[1:]:
                        total = total + e
                    return total
                return {"max": np.max, "min": np.min, "argmax": np.argmax,
                        "argmin": np.argmin}[n.op](v).item()
        raise TypeError(f"no reference meaning for {type(n).__name__}")

    def _body(self, node: ir.Expr) -> object:
        """A map body: captures come from the memo, the rest is evaluated per element."""
        if id(node) in self.memo:
            return self.memo[id(node)]
        return self._eval(node)

    def _mat_vec(self, n: ir.MatVec) -> list:
        x = self(n.x)
        out = []
        for i, row in enumerate(n.matrix):
            terms = []
            for j in n.columns(i):
                a, w = x[j], F(row[j])
                terms.append({"mul": a * w, "sqdiff": (a - w) * (a - w),
                              "absdiff": abs(a - w)}[n.op])
            if n.reduce == "sum":
                acc = terms[0]
                for t in terms[1:]:
                    acc = acc + t
            else:
                acc = F(np.max(terms))
            out.append(acc + F(n.bias[i]) if n.bias is not None else acc)
        return out


def evaluate(program: ir.Program, output: str, row: list) -> object:
    """What the program's scoring function `output` returns for `row` (a Refused-like
    string for a row a check refuses)."""
    ev = Evaluator(row)
    for check in program.checks:
        if ev(check.fails):
            return check.reason
    out = program.outputs[output]
    vals = [ev(v) for v in out.values]
    if out.shape == "label":
        return program.classes[vals[0]]
    if out.shape == "scalar":
        return float(vals[0])
    return [float(v) for v in vals]
