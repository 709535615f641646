"""Python target: a standard-library-only module of straight-line scoring functions.

Fast without giving up exactness:

- A row that is a list of the right length is unpacked into locals at once, and a value
  that is already a `float` (a `str` for a text feature) is used as it is; anything else
  goes through the general conversion (`_inputs`, `_num`, `_str`), which gives the same
  values as before.
- Numbers that only meet arithmetic with constants (imputer, scaler, linear model) are not
  converted at all: a value that would not give what its float gives raises or leaves a
  non-float result, and the row is redone by the function's plain `_NAME_strict` copy
  (see `_loose`). (A numpy scalar may make numpy warn on the way.)
- Trees are conditional expressions inlined in the scoring function while the program is
  small enough for Python to compile quickly on first import (`TREE_CODE_MAX_NODES`).
  Bigger forests, and trees nested deeper than Python's parser allows, are data: compact
  arrays decoded at import and walked by one loop (`_walk`).
- Refusal checks that cannot fail once the checks before them passed (an imputed column is
  never NaN, a one-hot column never infinite) are left out. The others are guarded: one
  cheap test proves none of them fails (`math.hypot` of the checked values is finite, or
  a value every checked value flows into is finite), and only a row failing that test
  runs the checks one by one, in order, to raise sklearn's message.
"""

from __future__ import annotations

import base64
import math
import struct

from scorec.compiler import ir
from scorec.compiler.guards import Guard, needs_of, plan_guard
from scorec.compiler.passes import (
    collect_trees,
    features_of,
    nodes,
    passed_checks,
    schedule,
    tree_depth,
)

from .printer import Printer

# Python's parser refuses deeper nesting; deeper trees are walked from tables instead
TREE_CODE_MAX_DEPTH = 60
# Trees are code while the program has at most this many tree nodes: Python compiles about
# 100,000 of them a second, and a bigger module would be slow to import the first time.
TREE_CODE_MAX_NODES = 150_000
# with more nodes of tree code than this, the scoring functions share one evaluator (one
# copy of the code to compile) rather than each holding its own copy
SHARED_MIN_NODES = 10_000
# Python's compiler recurses once per `+` of `a + b + c ...`: a longer sum is accumulated
# by statements of at most this many terms each
SUM_CHUNK = 200

_HELPERS = '''
def _max(*xs):
    top = xs[0]
    for x in xs:
        if x != x:
            return _NAN
        if x > top:
            top = x
    return top


def _argmax(*xs):
    best = 0
    for i, x in enumerate(xs):
        if x != x:
            return i
        if x > xs[best]:
            best = i
    return best


def _num(v):
    return _NAN if v is None else float(v)


def _str(v):
    return None if v is None or (isinstance(v, float) and v != v) else v


def _inputs(row):
    if isinstance(row, _Mapping):
        try:
            return [row[name] for name in FEATURES]
        except KeyError as exc:
            raise ValueError(f"row has no feature {exc.args[0]!r}") from None
    values = list(row)
    if len(values) != len(FEATURES):
        raise ValueError(f"row has {len(values)} values, expected {len(FEATURES)}")
    return values
'''

# Helpers printed only where the program uses them: IEEE results where Python's math
# module raises (domain errors, poles, overflow), and the loops of the vector nodes.
_OPTIONAL_HELPERS = {
    "exp": """
def _exp(x):
    try:
        return _math.exp(x)
    except OverflowError:
        return _INF
""",
    "exp2": """
def _exp2(x):
    try:
        return _math.pow(2.0, x)
    except OverflowError:
        return _INF
""",
    "expm1": """
def _expm1(x):
    try:
        return _math.expm1(x)
    except OverflowError:
        return _INF
""",
    "sinh": """
def _sinh(x):
    try:
        return _math.sinh(x)
    except OverflowError:
        return _math.copysign(_INF, x)
""",
    "cosh": """
def _cosh(x):
    try:
        return _math.cosh(x)
    except OverflowError:
        return _INF
""",
    **{fn: f"""
def _{fn}(x):
    if x > 0.0:
        return _math.{fn}(x)
    return -_INF if x == 0.0 else _NAN
""" for fn in ("log", "log2", "log10")},
    "log1p": """
def _log1p(x):
    if x > -1.0:
        return _math.log1p(x)
    return -_INF if x == -1.0 else _NAN
""",
    "sqrt": """
def _sqrt(x):
    return _math.sqrt(x) if x >= 0.0 else _NAN
""",
    **{fn: f"""
def _{fn}(x):
    return _math.{fn}(x) if x - x == 0.0 else _NAN
""" for fn in ("sin", "cos", "tan")},
    **{fn: f"""
def _{fn}(x):
    return float(_math.{fn}(x)) if x - x == 0.0 else x
""" for fn in ("floor", "ceil", "trunc")},
    "rint": """
def _rint(x):
    return float(round(x)) if x - x == 0.0 else x
""",
    "float32": """
_pack_f, _unpack_f = _Struct("<f").pack, _Struct("<f").unpack


def _float32(x):
    try:
        return _unpack_f(_pack_f(x))[0]
    except OverflowError:  # beyond float32's range
        return _math.copysign(_INF, x)
""",
    "sign": """
def _sign(x):
    return 1.0 if x > 0.0 else -1.0 if x < 0.0 else x
""",
    "pow": """
def _pow(a, b):
    try:
        return _math.pow(a, b)
    except OverflowError:
        return -_INF if a < 0.0 and b % 2.0 == 1.0 else _INF
    except ValueError:  # 0 ** negative is a pole, a negative ** fraction NaN
        if a == 0.0:
            return -_INF if _math.copysign(1.0, a) < 0.0 and b % 2.0 == 1.0 else _INF
        return _NAN
""",
    "div": """
def _div(a, b):
    try:
        return a / b
    except ZeroDivisionError:
        if a != a or a == 0.0:
            return _NAN
        return _INF if (a > 0.0) == (_math.copysign(1.0, b) > 0.0) else -_INF
""",
    "bucket": """
def _bucket(edges, x):
    return _bisect_left(edges, x) if x == x else len(edges)
""",
    "min": """
def _min(*xs):
    low = xs[0]
    for x in xs:
        if x != x:
            return _NAN
        if x < low:
            low = x
    return low
""",
    "argmin": """
def _argmin(*xs):
    best = 0
    for i, x in enumerate(xs):
        if x != x:
            return i
        if x < xs[best]:
            best = i
    return best
""",
    "ksmallest": """
def _ksmallest(v, k, fill):
    out = _nsmallest(k, [i for i in range(len(v)) if v[i] < _INF], key=v.__getitem__)
    return out + [fill] * (k - len(out))
""",
    "sum": """
def _sum(xs):
    return _reduce(_add, xs)
""",
}
# module imports a helper needs
_HELPER_IMPORTS = {
    "bucket": "from bisect import bisect_left as _bisect_left",
    "ksmallest": "from heapq import nsmallest as _nsmallest",
    "float32": "from struct import Struct as _Struct",
    "bisect_right": "from bisect import bisect_right as _bisect_right",
    "sum": "from functools import reduce as _reduce\nfrom operator import add as _add",
    "matvec": "from functools import reduce as _reduce\nfrom operator import add as _add\n"
              "from operator import mul as _mul",
}
# functions Python computes as numpy does without a helper
_PLAIN_FUNCS = {"tanh": "_math.tanh", "arctan": "_math.atan", "arcsinh": "_math.asinh",
                "abs": "abs"}

_TABLE_HELPERS = '''

def _array(codes, size, text):
    """The little-endian numbers in base64 `text`, as an array of the first type code in
    `codes` whose items have `size` bytes on this platform."""
    for code in codes:
        values = _Array(code)
        if values.itemsize == size:
            values.frombytes(_b64decode(text))
            if _sys.byteorder == "big":
                values.byteswap()
            return values
    raise ImportError(f"no array type of {size}-byte items")


def _table(feature, bound, right, values, width, roots):
    """Trees stored as arrays, numbered so that a split's left child follows it: per node
    the input it reads (-1: a leaf), its bound, and its right child (a leaf: the index of
    its value in `values`)."""
    values = _array("d", 8, values)
    values = list(zip(*[iter(values)] * width)) if width > 1 else values.tolist()
    return (_array("ilq", 4, feature), _array("d", 8, bound), _array("ilq", 4, right),
            values, roots)


def _walk(x, feature, bound, right, values, roots):
    """The leaf value of each tree for the inputs `x`."""
    out = []
    for i in roots:
        f = feature[i]
        while f >= 0:
            i = i + 1 if x[f] <= bound[i] else right[i]
            f = feature[i]
        out.append(values[right[i]])
    return out


def _missing_left(x):
    """x, then x with NaN as -inf: a split that sends NaN left reads the second half."""
    return x + [v if v == v else -_INF for v in x]
'''


def number(v: float) -> str:
    """A literal that reads back as exactly `v`."""
    if v != v:
        return "_NAN"
    if v in (math.inf, -math.inf):
        return "1e999" if v > 0 else "(-1e999)"
    text = repr(float(v))
    return f"({text})" if text.startswith("-") else text


def _bare(v: float) -> str:
    """`number` without the parentheses, where a leading minus parses right."""
    text = number(v)
    return text[1:-1] if text.startswith("(") else text


_ARITH = (ir.Arith, ir.Sum, ir.Neg)


def _loose(roots: list[ir.Expr], values: list[ir.Expr], guarded: list[ir.Expr],
           others: list[ir.Expr]) -> tuple[set[int], list[ir.Expr]]:
    """Numeric features that need no conversion, and the values to test instead.

    A feature is loose when its raw value is only ever tested for NaN (an imputer, or a
    guarded check) and otherwise used in arithmetic with a constant (directly, or after an
    imputer that fills it with a constant). Then an int, bool or Fraction gives exactly
    what its float gives (Python converts it the same way), None, text, Decimal and the
    like raise, and a numpy scalar makes every result computed from it a numpy scalar:
    testing `type(v) is float` on the values where the arithmetic ends (the frontier)
    proves the row gave what converting it first would have given. (None, given None ->
    NaN, would differ; it cannot reach the result without raising.)"""
    order = nodes(roots)
    uses: dict[int, list] = {}
    for node in order:
        for child in node.children():
            uses.setdefault(id(child), []).append(node)
    for kind, group in (("value", values), ("guarded", guarded), ("check", others)):
        for root in group:
            uses.setdefault(id(root), []).append(kind)
    in_guarded: set[int] = set()  # a guarded check's root and the Or nodes under it
    for root in guarded:
        stack = [root]
        while stack:
            node = stack.pop()
            in_guarded.add(id(node))
            if isinstance(node, ir.Or):
                stack.extend(node.items)

    def guarded_use(use: object) -> bool:
        return use == "guarded" or (isinstance(use, ir.Expr) and id(use) in in_guarded)

    def with_const(use: object, node: ir.Expr) -> bool:
        return isinstance(use, ir.Arith) and (
            (use.a is node and isinstance(use.b, ir.Const))
            or (use.b is node and isinstance(use.a, ir.Const)))

    def imputer(use: object, node: ir.Expr) -> bool:
        return (isinstance(use, ir.Select) and use.other is node
                and isinstance(use.then, ir.Const) and isinstance(use.cond, ir.IsMissing)
                and use.cond.a is node)

    def raw_ok(node: ir.Expr) -> bool:
        """Every use of this raw value is allowed, and one is arithmetic."""
        arithmetic = False
        for use in uses.get(id(node), []):
            if with_const(use, node):
                arithmetic = True
            elif imputer(use, node):
                after = uses.get(id(use), [])
                if not after or not all(with_const(u, use) for u in after):
                    return False
                arithmetic = True
            elif isinstance(use, (ir.IsMissing, ir.Compare)):
                if not all(guarded_use(u) or (isinstance(use, ir.IsMissing) and imputer(u, node)
                                              and u.cond is use)
                           for u in uses.get(id(use), [])):
                    return False
            else:
                return False
        return arithmetic

    columns: dict[int, list[ir.Feature]] = {}
    for node in order:
        if isinstance(node, ir.Feature) and node.kind == "number":
            columns.setdefault(node.index, []).append(node)
    loose = {i for i, ns in columns.items() if all(raw_ok(n) for n in ns)}
    raw = {id(n) for i in loose for n in columns[i]}
    raw |= {id(u) for n in order if id(n) in raw for u in uses.get(id(n), [])
            if imputer(u, n)}
    # a numpy scalar's arithmetic gives numpy scalars: its results are tested where the
    # arithmetic ends (a use that is neither arithmetic nor a guarded check, which only
    # runs in the strict function), and where it is only checked
    tainted: set[int] = set()
    frontier: list[ir.Expr] = []
    for node in order:
        if isinstance(node, _ARITH) and any(id(c) in raw or id(c) in tainted
                                            for c in node.children()):
            tainted.add(id(node))
            node_uses = uses.get(id(node), [])
            if not all(isinstance(u, _ARITH) or guarded_use(u) for u in node_uses) \
                    or not any(isinstance(u, _ARITH) for u in node_uses):
                frontier.append(node)
    if len(loose) < len(frontier) + 2:
        return set(), []
    return loose, frontier


class _Printer(Printer):
    target, NULL, NAN, OR = "python", "{} is None", "({0} != {0})", " or "
    number, string = staticmethod(number), staticmethod(repr)
    TEMPLATES = {**Printer.TEMPLATES, ir.Feature: "f{index}",
                 ir.Not: "(not {a})", ir.Select: "({then} if {cond} else {other})",
                 ir.Max: "_max({terms})", ir.BoolIndex: "(1 if {cond} else 0)"}

    def __init__(self, program: ir.Program):
        super().__init__()
        self.program = program
        self.sets: dict[tuple, str] = {}
        trees = collect_trees(program)
        small = sum(len(t.left) for t in trees) <= TREE_CODE_MAX_NODES
        self.code = {id(t) for t in trees if small and tree_depth(t) <= TREE_CODE_MAX_DEPTH}
        self.code_nodes = sum(len(t.left) for t in trees if id(t) in self.code)
        self.width = {id(t): t.width for t in trees}
        self.tables: list[tuple[tuple[int, ...], list[ir.Tree]]] = []  # (input ids, trees)
        self.table_of: dict[int, int] = {}
        for t in trees:
            if id(t) in self.code:
                continue
            key = (tuple(id(i) for i in t.inputs), t.width)
            k = next((j for j, (other, _) in enumerate(self.tables) if other == key),
                     len(self.tables))
            if k == len(self.tables):
                self.tables.append((key, []))
            self.tables[k][1].append(t)
            self.table_of[id(t)] = k
        # the checks are pruned already (build.compile_program); what they prove, for guards
        self.checks = [(check, check.fails) for check in program.checks]
        self.facts = passed_checks(program)
        self.helpers: set[str] = set()
        self.consts: dict[tuple, str] = {}  # constant tuples (tables, matrices) by value

    def use(self, helper: str) -> str:
        self.helpers.add(helper)
        return f"_{helper}"

    def const_name(self, values: tuple) -> str:
        """A module constant holding `values` (a tuple of floats, or of such tuples)."""
        return self.consts.setdefault(repr(values), (f"_C{len(self.consts)}", values))[0]

    # ---- expressions -------------------------------------------------------------------

    def func(self, node: ir.Func) -> str:
        fn = _PLAIN_FUNCS.get(node.fn) or self.use(node.fn)
        return f"{fn}({self.expr(node.a)})"

    def pow(self, node: ir.Pow) -> str:
        return f"{self.use('pow')}({self.expr(node.a)}, {self.expr(node.b)})"

    def bucket(self, node: ir.Bucket) -> str:
        edges = self.const_name(tuple(node.edges))
        a = self.expr(node.a)
        if node.right:  # bisect_right puts NaN past every edge, as numpy does
            self.helpers.add("bisect_right")
            return f"_bisect_right({edges}, {a})"
        return f"{self.use('bucket')}({edges}, {a})"

    def lookup(self, node: ir.Lookup) -> str:
        return f"{self.const_name(tuple(node.table))}[{self.expr(node.index)}]"

    def pack(self, node: ir.Pack) -> str:
        return "[" + self.join(node.items) + "]"

    def mat_vec(self, node: ir.MatVec) -> str:
        """One comprehension over the rows; each row's terms folded left to right."""
        self.helpers.add("matvec")
        x = self.expr(node.x)
        term = {"mul": "a * w", "sqdiff": "(a - w) * (a - w)", "absdiff": "abs(a - w)"}[node.op]
        if node.support is None:
            rows = self.const_name(tuple(tuple(r) for r in node.matrix))
            pairs = f"zip({x}, row)"
            if node.op == "mul":
                terms = f"map(_mul, {x}, row)"
            else:
                terms = f"[{term} for a, w in {pairs}]"
            loop = f"for row in {rows}"
        else:
            cols = self.const_name(tuple(tuple(c) for c in node.support))
            rows = self.const_name(tuple(tuple(node.matrix[i][j] for j in c)
                                         for i, c in enumerate(node.support)))
            terms = f"[{term} for a, w in zip(map({x}.__getitem__, cols), row)]"
            loop = f"for cols, row in zip({cols}, {rows})"
        reduced = f"_reduce(_add, {terms})" if node.reduce == "sum" else \
            f"{self.use('max')}(*{terms})"
        if node.bias is None:
            return f"[{reduced} {loop}]"
        bias = self.const_name(tuple(node.bias))
        return f"[s + b for s, b in zip([{reduced} {loop}], {bias})]"

    def map(self, node: ir.Map) -> str:
        names = [f"_e{k}" for k in range(len(node.operands))]
        body = self.map_body(node, names)
        ops = [self.const_name(tuple(o)) if isinstance(o, tuple) else self.expr(o)
               for o in node.operands]
        if len(ops) == 1:
            return f"[{body} for {names[0]} in {ops[0]}]"
        return f"[{body} for {', '.join(names)} in zip({', '.join(ops)})]"

    def k_smallest(self, node: ir.KSmallest) -> str:
        """heapq.nsmallest is sorted(...)[:k], and sorted is stable: ties keep index order."""
        return f"{self.use('ksmallest')}({self.expr(node.vec)}, {node.k}, {node.fill})"

    def at(self, node: ir.At) -> str:
        return f"{self.expr(node.vec)}[{self.expr(node.index)}]"

    def reduce(self, node: ir.Reduce) -> str:
        v = self.expr(node.vec)
        if node.op == "sum":
            return f"{self.use('sum')}({v})"
        return f"{self.use(node.op)}(*{v})"

    def set_name(self, values: tuple) -> str:
        return self.sets.setdefault(values, f"_SET{len(self.sets)}")

    def in_set(self, node: ir.InSet) -> str:
        a = self.expr(node.a)
        parts = []
        if node.missing:
            parts.append(self.NULL.format(a) if node.a.type == "string" else f"{a} != {a}")
        if len(node.values) == 1:
            parts.append(f"{a} == {self.literal(node.values[0])}")
        elif node.values:
            parts.append(f"{a} in {self.set_name(node.values)}")
        return "(" + self.OR.join(parts) + ")" if parts else "False"

    def arith(self, node: ir.Arith) -> str:
        """A one-hot column times a weight, `(1.0 if c else 0.0) * w`, is `(w if c else
        0.0 * w)`: an operation between constants is done here, with the same doubles."""
        for sel, const, first in ((node.a, node.b, True), (node.b, node.a, False)):
            if (isinstance(sel, ir.Select) and isinstance(const, ir.Const)
                    and id(sel) not in self.names and sel.then.type == "number"
                    and isinstance(sel.then, ir.Const) and isinstance(sel.other, ir.Const)):
                try:
                    then, other = (_fold(node.op, v, const.value) if first
                                   else _fold(node.op, const.value, v)
                                   for v in (sel.then.value, sel.other.value))
                except ZeroDivisionError:
                    break
                return (f"({number(then)} if {self.expr(sel.cond)} else {number(other)})")
        if node.op == "/" and not (isinstance(node.b, ir.Const) and node.b.value != 0.0):
            return f"{self.use('div')}({self.expr(node.a)}, {self.expr(node.b)})"
        return f"({self.expr(node.a)} {node.op} {self.expr(node.b)})"

    def argmax(self, node: ir.Argmax) -> str:
        if len(node.terms) == 2:  # numpy: the first NaN wins, then the first maximum
            a, b = (self.expr(t) for t in node.terms)
            return f"(1 if ({b} > {a} or {b} != {b}) and {a} == {a} else 0)"
        return f"_argmax({self.join(node.terms)})"

    def item(self, node: ir.Item) -> str:
        vec = node.vec
        name = self.names.get(id(vec))
        if isinstance(vec, ir.Tree):
            if name is None:  # a code tree of one value, read only here
                return self.tree(vec)
            if vec.width == 1:
                return name
            if id(vec) in self.code:
                return f"{name}_{node.k}"
        return f"{self.expr(vec)}[{node.k}]"

    def tree(self, node: ir.Tree) -> str:
        """A code tree as one conditional expression (NaN fails `x <= b` and `x > b`: a
        split sending NaN left tests `x > b` and has its branches swapped)."""
        xs = [self.expr(i) for i in node.inputs]

        def leaf(i: int) -> str:
            v = node.values[i]
            return number(v[0]) if len(v) == 1 else "(" + ", ".join(map(number, v)) + ")"

        # iterative post-order build: a deep tree must not hit Python's recursion limit
        done: dict[int, str] = {}
        stack = [0]
        while stack:
            i = stack[-1]
            if node.left[i] == -1:
                done[i] = leaf(i)
                stack.pop()
                continue
            left, right = node.left[i], node.right[i]
            if left not in done or right not in done:
                stack.extend(c for c in (right, left) if c not in done)
                continue
            x, b = xs[node.feature[i]], _bare(node.bound[i])
            yes, no = done.pop(left), done.pop(right)
            if node.missing_left[i]:
                done[i] = f"({no} if {x} > {b} else {yes})"
            else:
                done[i] = f"({yes} if {x} <= {b} else {no})"
            stack.pop()
        return done[0]

    # ---- functions ---------------------------------------------------------------------

    def function(self, name: str, outs: list[ir.Output]) -> list[str]:
        """`def name(row)` returning the output's value, or a tuple of the outputs'. With
        loose features (`_loose`), a fast `name` that leaves them unconverted and falls
        back to the plain `_name_strict` for any row it cannot prove the same."""
        guardable = [(c, f, needs_of(f)) for c, f in self.checks]
        values = [v for out in outs for v in out.values]
        roots = [f for _, f in self.checks] + values
        loose, frontier = _loose(roots, values, [f for _, f, ns in guardable if ns is not None],
                                 [f for _, f, ns in guardable if ns is None])
        if not loose:
            return self.body(name, outs, guardable, set(), [])
        strict = f"_{name}_strict"
        return (self.body(strict, outs, guardable, set(), []) + ["", ""]
                + self.body(name, outs, guardable, loose, frontier, strict))

    def body(self, name: str, outs: list[ir.Output], guardable: list, loose: set[int],
             frontier: list[ir.Expr], strict: str = "") -> list[str]:
        program = self.program
        needs = [n for _, _, ns in guardable if ns is not None for n in ns]
        values = [v for out in outs for v in out.values]
        guard = plan_guard(needs, values, self.facts, total_only=True) if needs else None
        force = {id(n) for n in guard.nodes} if guard else set()
        force |= {id(n) for n in frontier}
        roots = [f for _, f in self.checks] + values
        for node in nodes(roots, into_trees=False):
            if isinstance(node, ir.Argmax) and len(node.terms) == 2:  # inline: reads twice
                force.update(id(t) for t in node.terms if not isinstance(t, ir.Item))
            if isinstance(node, ir.Sum) and len(node.terms) > SUM_CHUNK:  # by statements
                force.add(id(node))
        inline = {t for t in self.code if self.width[t] == 1}
        sched = schedule(roots, force=frozenset(force), inline=frozenset(inline))
        bound, self.names = sched.bound, dict(sched.names)
        lines = [f"def {name}(row):"]
        n = len(program.features)
        # every feature the checks and outputs read is converted, as sklearn converts the
        # whole row, even where the analysis left a check out
        used = {f.index for f in features_of([c.fails for c in program.checks] + values)}
        lines.append(f"    if type(row) is not list or len(row) != {n}:")
        lines.append("        row = _inputs(row)")
        if used:
            targets = [f"f{i}" if i in used else "_" for i in range(n)]
            lines.append(f"    {', '.join(targets)}{',' if n == 1 else ''} = row")
        for i in sorted(used - loose):
            kind, conv = ("str", "_str") if program.features[i].kind == "string" \
                else ("float", "_num")
            lines.append(f"    if type(f{i}) is not {kind}:")
            lines.append(f"        f{i} = {conv}(f{i})")
        emitted: set[int] = set()
        computed = [line for node in bound for line in self.binding(node, emitted)]
        if not loose:
            lines += computed + self.check_lines(guardable, guard)
        else:
            # a row this code cannot prove equal to its converted self takes the strict path
            tests = [f"type({self.expr(g)}) is not float" for g in frontier]
            if guard is not None:
                computed.append(f"    ok = {self.guard_test(guard)}")
                tests.append("not ok")
            lines += ["    try:", *("    " + line for line in computed), "    except Exception:",
                      f"        return {strict}(row)"]
            lines += [f"    if {' or '.join(tests)}:", f"        return {strict}(row)"]
            lines += self.check_lines([(c, f, ns) for c, f, ns in guardable if ns is None], None)
        results = [self.result(out) for out in outs]
        lines.append("    return " + (results[0] if len(results) == 1 else
                                      "(" + ", ".join(results) + ",)"))
        return lines

    def result(self, out: ir.Output) -> str:
        vals = [self.expr(v) for v in out.values]
        if out.shape == "label":
            return f"CLASSES[{vals[0]}]"
        if out.shape == "scalar":
            return vals[0]
        return "[" + ", ".join(vals) + "]"

    def binding(self, node: ir.Expr, emitted: set[int]) -> list[str]:
        name = self.names[id(node)]
        if isinstance(node, ir.Sum) and len(node.terms) > SUM_CHUNK:  # the same left fold
            terms = [self.expr(t) for t in node.terms]
            lines = [f"    {name} = ({' + '.join(terms[:SUM_CHUNK])})"]
            for i in range(SUM_CHUNK, len(terms), SUM_CHUNK):
                lines.append(f"    {name} = ({name} + {' + '.join(terms[i:i + SUM_CHUNK])})")
            return lines
        if not isinstance(node, ir.Tree):
            return [f"    {name} = {self.expr(node, top=True)}"]
        if id(node) in self.code:
            if node.width == 1:
                return [f"    {name} = {self.tree(node)}"]
            parts = ", ".join(f"{name}_{k}" for k in range(node.width))
            return [f"    {parts} = {self.tree(node)}"]
        k = self.table_of[id(node)]
        if k in emitted:
            return []
        emitted.add(k)
        trees = self.tables[k][1]
        names = [self.names.get(id(t), "_") for t in trees]
        xs = "[" + ", ".join(self.expr(i) for i in node.inputs) + "]"
        if any(any(t.missing_left) for t in trees):
            xs = f"_missing_left({xs})"
        target = ", ".join(names) + ("," if len(names) == 1 else "")
        return [f"    {target} = _walk({xs}, *_TABLE{k})"]

    def check_lines(self, guardable: list, guard: Guard | None) -> list[str]:
        def raising(check: ir.Check, fails: ir.Expr, pad: str) -> list[str]:
            return [f"{pad}if {self.expr(fails)}:",
                    f"{pad}    raise ValueError({check.message!r})"]

        if guard is None:
            return [line for c, f, _ in guardable for line in raising(c, f, "    ")]
        lines = [f"    if not {self.guard_test(guard)}:"]
        lines += [line for c, f, _ in guardable for line in raising(c, f, "        ")]
        rest = [(c, f) for c, f, ns in guardable if ns is None]
        if rest:
            lines.append("    else:")
            lines += [line for c, f in rest for line in raising(c, f, "        ")]
        return lines

    def guard_test(self, guard: Guard) -> str:
        gs = [self.expr(g) for g in guard.nodes]
        b = number(guard.bound)
        return f"-{b} < {gs[0]} < {b}" if len(gs) == 1 else f"_hypot({', '.join(gs)}) < {b}"

    def table_data(self) -> list[str]:
        lines = []
        for k, ((_, width), trees) in enumerate(self.tables):
            feature, bound, right, roots = [], [], [], []
            values: dict[bytes, int] = {}
            n_inputs = len(trees[0].inputs)
            for tree in trees:
                base = len(feature)
                roots.append(base)
                order = _preorder(tree)
                at = {node: base + j for j, node in enumerate(order)}
                for node in order:
                    if tree.left[node] == -1:
                        feature.append(-1)
                        bound.append(0.0)
                        right.append(values.setdefault(_packed_key(tree.values[node]), len(values)))
                    else:
                        slot = tree.feature[node] + (n_inputs if tree.missing_left[node] else 0)
                        feature.append(slot)
                        bound.append(tree.bound[node])
                        right.append(at[tree.right[node]])
            flat = [v for key in values for v in struct.unpack(f"<{width}d", key)]
            lines.append(f"_TABLE{k} = _table({_packed('i', feature)}, {_packed('d', bound)}, "
                         f"{_packed('i', right)}, {_packed('d', flat)}, {width}, "
                         f"{tuple(roots)!r})")
        return lines


def _tuple_literal(values: tuple) -> str:
    """A tuple of floats (or of such tuples) as a literal that reads back exactly."""
    if values and isinstance(values[0], tuple):
        return "(" + "".join(_tuple_literal(v) + ", " for v in values) + ")"
    return "(" + "".join((str(v) if isinstance(v, int) else _bare(v)) + ", "
                         for v in values) + ")"


def _fold(op: str, a: float, b: float) -> float:
    """`a op b` in double arithmetic, as the generated code would compute it."""
    return a + b if op == "+" else a - b if op == "-" else a * b if op == "*" else a / b


def _preorder(tree: ir.Tree) -> list[int]:
    """Node ids in depth-first order, left child first: a split's left child follows it."""
    order, stack = [], [0]
    while stack:
        i = stack.pop()
        order.append(i)
        if tree.left[i] != -1:
            stack.extend((tree.right[i], tree.left[i]))
    return order


def _packed_key(values: tuple[float, ...]) -> bytes:
    """The exact bits of a leaf (0.0 and -0.0 differ, equal NaNs are one)."""
    return struct.pack(f"<{len(values)}d", *values)


def _packed(code: str, values: list) -> str:
    """base64 of the values as little-endian int32 ('i') or float64 ('d'), as a literal."""
    data = struct.pack(f"<{len(values)}{code}", *values)
    return repr(base64.b64encode(data).decode("ascii"))


def emit(program: ir.Program, name: str, idents: list[str], header: str) -> dict[str, str]:
    """{NAME.py: source}; Python uses the features' own names (in FEATURES), so `idents`
    is not needed."""
    return {f"{name}.py": emit_python(program, header)}


def emit_python(program: ir.Program, header: str) -> str:
    """The source of a standard-library-only scoring module."""
    p = _Printer(program)
    body: list[str] = []
    outs = list(program.outputs.values())
    if len(outs) > 1 and p.code_nodes > SHARED_MIN_NODES:
        # one copy of the trees' code: every function calls one evaluator of all outputs
        body += p.function("_score", outs) + ["", ""]
        for k, out in enumerate(outs):
            body += [f"def {out.name}(row):", f"    return _score(row)[{k}]", "", ""]
    else:
        for out in outs:
            body += p.function(out.name, [out]) + ["", ""]
    head = [
        '"""' + header.replace("\\", "\\\\").replace('"""', "'''") + '"""',
        "",
        "import math as _math",
        "from collections.abc import Mapping as _Mapping",
    ]
    if p.tables:
        head += ["import sys as _sys", "from array import array as _Array",
                 "from base64 import b64decode as _b64decode"]
    head += [
        "",
        "_INF = _math.inf",
        "_NAN = _math.nan",
        "_hypot = _math.hypot",
        f"FEATURES = {tuple(f.name for f in program.features)!r}",
        f"CLASSES = {tuple(program.classes)!r}",
    ]
    for values, sname in p.sets.items():
        items = ", ".join(p.literal(v) for v in values)
        head.append(f"{sname} = frozenset(({items},))")
    for cname, values in p.consts.values():
        head.append(f"{cname} = {_tuple_literal(values)}")
    imports = sorted({line for h in p.helpers if h in _HELPER_IMPORTS
                      for line in _HELPER_IMPORTS[h].split("\n")})
    head[3:3] = imports
    optional = "".join(_OPTIONAL_HELPERS[h] + "\n" for h in sorted(p.helpers)
                       if h in _OPTIONAL_HELPERS)
    helpers = _HELPERS + optional + (_TABLE_HELPERS if p.tables else "")
    tables = "".join(line + "\n" for line in p.table_data())
    return ("\n".join(head) + "\n" + helpers.rstrip("\n") + "\n\n\n"
            + (tables + "\n\n" if tables else "") + "\n".join(body).rstrip() + "\n")
