"""PostgreSQL target: `CREATE OR REPLACE FUNCTION NAME_<output>(...) ... LANGUAGE plpgsql
IMMUTABLE PARALLEL SAFE` per output, plus the IEEE arithmetic helpers they call.

PostgreSQL has no lambdas over arrays, so the body is PL/pgSQL: every node the schedule binds
is a variable assigned once (a vector node is an array filled by a loop, a walked forest a
loop over its node tables, as `_Forest` lays them out), then the refusal checks raise in
order, then the value is returned. Scalar expressions are the SQL emitter's
(targets/sql.py), in PostgreSQL's spelling.

PostgreSQL is IEEE about NaN the way DuckDB is (NaN = NaN, NaN above every number), but it
raises where IEEE gives an infinity or a zero: `*`, `/`, `+` and `exp` on overflow, `*`,
`/`, `exp` and `power` on underflow to zero, `ln(0)`, `sqrt(-1)`, `x / 0`, `sin('Infinity')`.
So arithmetic is printed with a fast path that cannot raise (magnitudes well inside the
range) and otherwise calls a helper, `NAME__mul(a, b)` and friends, that computes the same
operation and, only when PostgreSQL raises, returns the IEEE result: an exception block
costs a subtransaction, and the helpers are only called for extreme values. A refusal
raises from the function body itself (a helper raising from an IMMUTABLE context would be
folded at plan time when its arguments are constants).

Guards cost more than the arithmetic they guard (PL/pgSQL pays per statement), so a
function that does not loop gets a fast path (`fast_path`): a box of inputs, found at
compile time by the range pass, inside which no operation can raise. Where the value is
short as one expression, `NAME_<output>` is an SQL function, `CASE WHEN <box> THEN <value>
ELSE NAME__guarded_<output>(...) END`, which PostgreSQL inlines into the calling query;
else the PL/pgSQL function starts with `IF <box> THEN RETURN <value>; END IF;`. Both
compute the same operations as the guarded body, so a row's result does not depend on
the path it takes (measured on the linear loan pipeline: 3.2 us a row guarded, 1.0 inlined).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from scorec.compiler import ir
from scorec.compiler.lowering.common import F32_OVERFLOW
from scorec.compiler.passes import Range, Ranges, features_of, nodes, schedule, tree_depth

from .sql import SHORT_OPERAND, SqlPrinter, _Forest, comment, forests, walked

# operands below these magnitudes cannot make PostgreSQL's float8 operators raise
SAFE_BIG, SAFE_SMALL = 1e150, 1e-150
# exp(x) is finite and normal for |x| <= EXP_SAFE (it overflows above 709.78)
EXP_SAFE = 708.0
_ATOM = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_]*|'[^']*'::float8)\Z")  # a name, a number


def number(v: float) -> str:
    """A float8 literal that reads back as exactly `v` (a typed string: `1.5` alone would
    be a numeric)."""
    v = float(v)
    if v != v:
        return "'NaN'::float8"
    if math.isinf(v):
        return "'Infinity'::float8" if v > 0 else "'-Infinity'::float8"
    return f"'{v!r}'::float8"


def string(s: str) -> str:
    """A standard string literal (`'` doubled); PostgreSQL text cannot hold NUL."""
    if "\0" in s:
        raise ValueError(f"postgres target: text {s!r} holds a NUL character, which "
                         "PostgreSQL's text type cannot store")
    return "'" + s.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def dollar_quote(body: str) -> str:
    """`body` between dollar quotes whose tag the body does not contain."""
    tag, n = "scorec", 0
    while f"${tag}$" in body:
        n += 1
        tag = f"scorec{n}"
    return f"${tag}$\n{body}\n${tag}$"


class PostgresPrinter(SqlPrinter):
    target = "postgres"
    number, string, ident = staticmethod(number), staticmethod(string), staticmethod(ident)
    NAN = "({} = 'NaN'::float8)"  # NaN = NaN in PostgreSQL
    TYPES = {"number": "double precision", "index": "integer", "string": "text",
             "bool": "boolean"}
    FUNCS = {"log": "ln", "log10": "log", "arctan": "atan", "arcsinh": "asinh",
             "rint": "round"}

    def __init__(self, prefix: str, helpers: set[str]):
        super().__init__({})
        self.p = prefix
        self.helpers = helpers  # the helpers called, shared by the file's functions
        self.leaf_values: dict[int, list[str]] = {}  # walked tree -> its leaf values
        # while a statement is printed where every part of it is evaluated: the statements
        # that must run first (`hoist`), and a function declaring a variable
        self.pre: list[str] | None = None
        self.ranges = Ranges()  # what each number node can be, for the guards
        self.declare: Callable[[str, str], str] | None = None
        self.temps = 0
        # printing a fast path (see `fast_path`): arithmetic that would need a guard or an
        # IEEE helper raises Unsafe instead
        self.fast = False

    def hoist(self, text: str, always: bool = True) -> str:
        """A long number operand as a variable, assigned by a statement that runs first: a
        guard repeats its operands, and the alternatives cost far more per row (a helper
        call is a PL/pgSQL call, a `let` subquery a subplan). Only where the operand is
        evaluated in any case (not in a CASE branch): hoisting evaluates it always, and
        the printed arithmetic never raises. A name or a literal stays as it is; any
        other operand is hoisted `always` (the guard would evaluate it again), else only
        when long."""
        if self.pre is None or _ATOM.match(text) \
                or (len(text) <= SHORT_OPERAND and not always) \
                or (self.fast and len(text) <= FAST_OPERAND):
            return text
        self.temps += 1
        var = self.declare(f"_t{self.temps}", self.TYPES["number"])
        self.pre.append(f"{var} := {text};")
        return var

    def select(self, node: ir.Select) -> str:
        if isinstance(node.cond, ir.IsMissing) and node.cond.a.type == "number" \
                and not self.ranges.of(node.cond.a).nan:  # an imputer of a value never NaN
            return self.expr(node.other)
        cond, outer = self.expr(node.cond), self.pre
        self.pre = None  # a branch is evaluated only when taken
        try:
            return f"CASE WHEN {cond} THEN {self.expr(node.then)} ELSE {self.expr(node.other)} END"
        finally:
            self.pre = outer

    def call(self, helper: str, *args: str) -> str:
        if self.fast and helper in _IEEE:
            raise Unsafe(helper)
        self.helpers.add(helper)
        return f"{self.p}__{helper}({', '.join(args)})"

    # ---- spelling ----------------------------------------------------------------------

    def list_of(self, items: list[str]) -> str:
        return "ARRAY[" + ", ".join(items) + "]"

    def elem(self, lst: str, pos: str) -> str:
        return f"({lst})[{pos}]"

    def cast(self, x: str, kind: str) -> str:
        return f"CAST({x} AS {self.TYPES[kind]})"

    def from_bool(self, cond: str) -> str:
        return f"CAST({cond} AS integer)"

    def table(self, values: tuple, kind: str = "number") -> str:
        """A constant array, inline: PostgreSQL folds the cast once per cached plan."""
        text = ",".join(repr(v) for v in values)
        return f"'{{{text}}}'::{self.TYPES[kind]}[]"

    def labels(self, classes: tuple) -> str:
        kinds = {bool if isinstance(c, bool) else type(c) for c in classes}
        if kinds == {str}:
            return self.list_of([self.string(c) for c in classes])
        if kinds == {bool}:
            return self.list_of(["true" if c else "false" for c in classes])
        if kinds == {int}:
            if not all(-(2**63) <= c < 2**63 for c in classes):
                raise ValueError("postgres target: a class label does not fit bigint")
            return self.list_of([f"{c}::bigint" for c in classes])
        return self.list_of([self.number(float(c)) for c in classes])

    @classmethod
    def label_type(cls, classes: tuple) -> str:
        kinds = {bool if isinstance(c, bool) else type(c) for c in classes}
        return "bigint" if kinds == {int} else super().label_type(classes)

    # ---- arithmetic that PostgreSQL would raise for ------------------------------------

    def arith(self, node: ir.Arith) -> str:
        """`a op b` where no operand is beyond the magnitudes at which PostgreSQL could
        raise, else the helper that returns IEEE's result where PostgreSQL raises."""
        if isinstance(node.a, ir.Const) and isinstance(node.b, ir.Const):
            return self.number(_fold(node.op, node.a.value, node.b.value))
        a, b = node.a, node.b
        return self.guarded(node.op, a, b,
                            self.hoist(self.expr(a), not self.safe(node.op, a, False)),
                            self.hoist(self.expr(b), not self.safe(node.op, b, True)))

    def safe(self, op: str, operand: ir.Expr | Range, second: bool) -> bool:
        """Is `operand` of `op` (a node, or the range of a partial sum) safe by its range
        (compiler.passes.Ranges, see `_safe`)?"""
        return _safe(op, operand if isinstance(operand, Range) else self.ranges.of(operand),
                     second)

    def guarded(self, op: str, node_a: ir.Expr | Range, node_b: ir.Expr, a: str,
                b: str) -> str:
        """`a op b` for the operands printed as a and b (see `arith`), guarded where their
        ranges do not rule PostgreSQL's errors out."""
        within = []
        for operand, text, second in ((node_a, a, False), (node_b, b, True)):
            if self.safe(op, operand, second):  # tested here, not in the guard
                continue
            if self.fast:
                raise Unsafe(op)
            if isinstance(operand, ir.Const):
                return self.call(_HELPER[op], a, b)
            within.append(f"abs({text}) < {self.number(SAFE_BIG)}")
            if op in "*/":  # a product or quotient may underflow; a divisor not be zero
                zero = "" if second and op == "/" else f" OR {text} = {self.number(0.0)}"
                within.append(f"(abs({text}) > {self.number(SAFE_SMALL)}{zero})")
        if not within:
            return f"({a} {op} {b})"
        if len(a) + len(b) > SHORT_OPERAND:  # a guard repeating them would nest exponentially
            return self.call(_HELPER[op], a, b)
        return (f"CASE WHEN {' AND '.join(within)} THEN ({a} {op} {b}) "
                f"ELSE {self.call(_HELPER[op], a, b)} END")

    def sum(self, node: ir.Sum) -> str:
        """The left fold, each step guarded as `guarded` does; where operands cannot be
        hoisted (a CASE branch), an unsafe step is a helper call."""
        acc = self.expr(node.terms[0])
        for partial, t in zip(self.ranges.partial_sums(node), node.terms[1:]):
            term_safe = self.safe("+", t, True)
            if self.pre is None and not (term_safe and self.safe("+", partial, False)):
                acc = self.call("add", acc, self.expr(t))
            else:
                acc = self.guarded("+", partial, t, self.hoist(acc),
                                   self.hoist(self.expr(t), not term_safe))
        return acc

    def func(self, node: ir.Func) -> str:
        if node.fn == "exp":  # inline between bounds where exp cannot overflow or underflow
            if self.ranges.of(node.a).mag <= EXP_SAFE:
                return f"exp({self.expr(node.a)})"
            a = self.hoist(self.expr(node.a))
            if len(a) > SHORT_OPERAND:
                return self.call("exp", a)
            return (f"CASE WHEN {a} BETWEEN {self.number(-EXP_SAFE)} AND "
                    f"{self.number(EXP_SAFE)} THEN exp({a}) ELSE {self.call('exp', a)} END")
        return super().func(node)

    def pow(self, node: ir.Pow) -> str:
        return self.call("pow", self.expr(node.a), self.expr(node.b))

    def let(self, text: str, use: Callable[[str], str]) -> str:
        """A hoisted variable where it can be; else a subquery binds the long operand (OFFSET
        0 keeps the planner from pulling it up, which would copy the operand back into
        every use)."""
        text = self.hoist(text)
        if len(text) <= SHORT_OPERAND:
            return use(text)
        self.lets += 1
        v = f"_let{self.lets}"
        return f"(SELECT {use(v)} FROM (SELECT {text} AS {v} OFFSET 0) AS {v}_)"

    REPEATS_OPERAND = frozenset({"log", "log10", "log2", "sqrt", "float32", "sin", "cos", "tan",
                                 "sign", "log1p", "expm1"})

    def guarded_func(self, fn: str, a: str) -> str:
        nan, inf, zero = self.number(math.nan), self.number(math.inf), self.number(0.0)
        one = self.number(1.0)
        if fn in ("log", "log10", "log2"):  # raise at and below zero; NaN > 0 holds
            call = f"{self.FUNCS.get(fn, fn)}({a})" if fn != "log2" else \
                f"(ln({a}) / {self.number(math.log(2.0))})"
            return (f"CASE WHEN {a} > {zero} THEN {call} WHEN {a} = {zero} THEN (-{inf}) "
                    f"ELSE {nan} END")
        if fn == "sqrt":
            return f"CASE WHEN {a} >= {zero} THEN sqrt({a}) ELSE {nan} END"
        if fn == "float32":  # float4 raises on overflow and on an underflow to zero
            lim = self.number(F32_OVERFLOW)
            return (f"CASE WHEN {self.NAN.format(a)} THEN {a} WHEN {a} >= {lim} THEN {inf} "
                    f"WHEN {a} <= {self.number(-F32_OVERFLOW)} THEN (-{inf}) "
                    f"WHEN abs({a}) <= {self.number(2.0**-150)} THEN {a} * {zero} "
                    f"ELSE CAST(CAST({a} AS real) AS double precision) END")
        if fn == "exp":
            return self.call("exp", a)
        if fn == "exp2":
            return self.call("pow", self.number(2.0), a)
        if fn in ("sin", "cos", "tan"):  # raise for an infinity
            return f"CASE WHEN abs({a}) = {inf} THEN {nan} ELSE {fn}({a}) END"
        if fn == "sign":  # PostgreSQL's sign(NaN) is 0
            return (f"CASE WHEN {self.NAN.format(a)} THEN {a} WHEN {a} > {zero} THEN {one} "
                    f"WHEN {a} < {zero} THEN {self.number(-1.0)} ELSE {a} END")
        if fn == "log1p":  # no log1p: Kahan's x * ln(u) / (u - 1), u = 1 + x
            u = f"({one} + {a})"
            return (f"CASE WHEN {u} = {one} THEN {a} WHEN {u} = {inf} THEN {u} "
                    f"WHEN {u} = {zero} THEN (-{inf}) WHEN {u} < {zero} THEN {nan} "
                    f"ELSE ln({u}) * ({a} / ({u} - {one})) END")
        if fn == "expm1":  # nor expm1: Kahan's (u - 1) * x / ln(u), u = exp(x)
            u = self.call("exp", a)
            return (f"CASE WHEN {u} = {one} THEN {a} WHEN {u} - {one} = {self.number(-1.0)} "
                    f"THEN {self.number(-1.0)} WHEN {u} = {inf} THEN {u} "
                    f"ELSE ({u} - {one}) * ({a} / ln({u})) END")
        return f"{self.FUNCS.get(fn, fn)}({a})"

    # ---- nodes computed by statements (see `Body`): their names are arrays -----------

    def index1(self, node: ir.Expr) -> str:
        if id(node) not in self.names and isinstance(node, ir.Argmax):
            terms = self.list_of([self.expr(t) for t in node.terms])
            return f"({self.call('argmax', terms)} + 1)"
        return super().index1(node)

    def item(self, node: ir.Item) -> str:
        if isinstance(node.vec, ir.Tree):  # a walked tree's name is its leaf values
            walked_values = self.leaf_values.get(id(node.vec))
            if walked_values is not None:
                return walked_values[node.k]
            return super().item(node)
        return self.elem(self.expr(node.vec), str(node.k + 1))

    def bucket(self, node: ir.Bucket) -> str:
        right = "true" if node.right else "false"
        return self.call("bucket", self.table(node.edges), self.expr(node.a), right)

    def reduce(self, node: ir.Reduce) -> str:
        v = self.expr(node.vec)
        if node.op in ("sum", "max", "min"):
            return self.call(f"v{node.op}", v)
        return f"({self.call(node.op, v)})"


class Body:
    """The PL/pgSQL of one function: declarations and the statements computing its bound
    nodes, in order; `p.names` maps each to its variable."""

    def __init__(self, p: PostgresPrinter):
        self.p = p
        self.decls: dict[str, str] = {}
        self.lines: list[str] = []

    def declare(self, name: str, kind: str) -> str:
        self.decls[name] = kind
        return name

    def bind(self, node: ir.Expr, name: str) -> None:
        p = self.p
        if isinstance(node, ir.Tree):
            kind = "number" if node.width == 1 else "index"
            self.declare(name, p.TYPES[kind])
            self.lines.append(f"{name} := {p.tree(node)};")
        elif node.type == "vector":
            self.vector(node, name)
        else:  # printed before it is named: a node's printer may ask whether it is bound
            self.declare(name, p.TYPES[node.type])
            self.lines.append(f"{name} := {self.statement(lambda: p.expr(node, top=True))};")
        p.names[id(node)] = name

    def statement(self, text: Callable[[], str]) -> str:
        """`text()`, printed with hoisting on: the statements it hoists go first."""
        p = self.p
        p.pre, p.declare = [], self.declare
        try:
            out = text()
            self.lines += p.pre
            return out
        finally:
            p.pre = None

    def loop(self, var: str, count: str, body: list[str]) -> list[str]:
        self.declare(var, "integer")
        return [f"FOR {var} IN 1..{count} LOOP", *("  " + b for b in body), "END LOOP;"]

    def vector(self, node: ir.Expr, name: str) -> None:
        """A vector node as an array filled element by element."""
        p = self.p
        index = isinstance(node, ir.KSmallest)
        self.declare(name, p.TYPES["index" if index else "number"] + "[]")
        if isinstance(node, ir.Pack):
            self.lines.append(f"{name} := {p.list_of([p.expr(i) for i in node.items])};")
            return
        fill = f"array_fill({p.cast('0', 'index' if index else 'number')}, " \
            f"ARRAY[{node.width}])"
        self.lines.append(f"{name} := {fill};")
        if isinstance(node, ir.Map):
            ops = [p.table(o) if isinstance(o, tuple) else p.expr(o) for o in node.operands]
            body = p.map_body(node, [p.elem(o, "_i") for o in ops])
            self.lines += self.loop("_i", str(node.width), [f"{name}[_i] := {body};"])
        elif isinstance(node, ir.MatVec):
            self.lines += self.mat_vec(node, name)
        elif isinstance(node, ir.KSmallest):
            self.lines += self.k_smallest(node, name)
        else:
            raise p.unhandled(node)

    def mat_vec(self, node: ir.MatVec, name: str) -> list[str]:
        p, x = self.p, self.p.expr(node.x)
        acc = self.declare("_acc", p.TYPES["number"])
        self.declare("_j", "integer")
        w = p.table(tuple(node.matrix[i][j] for i in range(node.width)
                          for j in node.columns(i)))
        cols = p.table(tuple(j + 1 for i in range(node.width) for j in node.columns(i)),
                       "index")
        starts = [1]
        for i in range(node.width):
            starts.append(starts[-1] + len(node.columns(i)))
        start = p.table(tuple(starts), "index")
        t = _Terms(p)

        def term(k: str) -> str:
            return t.term(node.op, p.elem(x, p.elem(cols, k)), p.elem(w, k))

        step = t.add(acc, term("_j")) if node.reduce == "sum" \
            else f"greatest({acc}, {term('_j')})"
        body = [f"{acc} := {term(p.elem(start, '_i'))};",
                f"FOR _j IN {p.elem(start, '_i')} + 1..{p.elem(start, '_i + 1')} - 1 LOOP",
                f"  {acc} := {step};", "END LOOP;"]
        if node.bias is not None:
            body.append(f"{acc} := {t.add(acc, p.elem(p.table(node.bias), '_i'))};")
        return self.loop("_i", str(node.width), body + [f"{name}[_i] := {acc};"])

    def k_smallest(self, node: ir.KSmallest, name: str) -> list[str]:
        """An insertion into the first n places, as targets/c.py does (ties stay in
        position order)."""
        p, v, k = self.p, self.p.expr(node.vec), node.k
        self.declare("_n", "integer")
        self.declare("_j", "integer")
        x = self.declare("_x", p.TYPES["number"])
        inf = p.number(math.inf)
        worse = f"{x} < {p.elem(v, f'{name}[_j - 1] + 1')}"
        body = [f"{x} := {p.elem(v, '_i')};",
                f"CONTINUE WHEN NOT ({x} < {inf}) OR {x} = {p.number(math.nan)};",
                f"IF _n = {k} THEN",
                f"  CONTINUE WHEN NOT ({x} < {p.elem(v, f'{name}[{k}] + 1')});",
                f"  _j := {k};", "ELSE", "  _n := _n + 1;", "  _j := _n;", "END IF;",
                f"WHILE _j > 1 AND {worse} LOOP",
                f"  {name}[_j] := {name}[_j - 1];", "  _j := _j - 1;", "END LOOP;",
                f"{name}[_j] := _i - 1;"]
        return (["_n := 0;"] + self.loop("_i", str(node.vec.width), body)
                + [f"FOR _j IN _n + 1..{k} LOOP {name}[_j] := {node.fill}; END LOOP;"])

    def forest(self, forest: _Forest, row: str) -> None:
        """Every tree of a walked forest in one loop over its node tables (see
        targets/sql.py `_Forest`): the leaf values of tree t go to `_wG_k[t]`."""
        p = self.p
        tables = {t: _pg_table(p, text, kind) for t, (text, kind) in forest.lists.items()}
        x = self.declare(f"_x{forest.index}", p.TYPES["number"] + "[]")
        self.lines.append(f"{x} := {row};")
        roots = p.table(tuple(forest.root[id(t)] for t in forest.trees), "index")
        depths = p.table(tuple(forest.depth[id(t)] for t in forest.trees), "index")
        outs = [k for k in tables if k.startswith("v")]
        names = {k: self.declare(f"_w{forest.index}_{k.strip('_')}",
                                 p.TYPES["number"] + "[]") for k in outs}
        n = len(forest.trees)
        for k in outs:
            self.lines.append(f"{names[k]} := array_fill({p.number(0.0)}, ARRAY[{n}]);")
        self.declare("_leaf", "integer")
        self.declare("_s", "integer")
        goes_right = f"{p.elem(x, p.elem(tables['g'], '_leaf'))} > {p.elem(tables['b'], '_leaf')}"
        step = f"_leaf := {p.elem(tables['c'], '_leaf')} + {p.from_bool(goes_right)};"
        body = [f"_leaf := {p.elem(roots, '_t')};",
                f"FOR _s IN 1..{p.elem(depths, '_t')} LOOP {step} END LOOP;",
                *(f"{names[k]}[_t] := {p.elem(tables[k], '_leaf')};" for k in outs)]
        self.lines += self.loop("_t", str(n), body)
        for i, tree in enumerate(forest.trees):
            p.leaf_values[id(tree)] = [p.elem(names[f"v{k}_"], str(i + 1))
                                       for k in range(tree.width)]


class _Terms:
    """The guarded spellings a statement needs outside a node (a MatVec's terms)."""

    def __init__(self, p: PostgresPrinter):
        self.p = p

    def add(self, a: str, b: str) -> str:
        return self.p.call("add", a, b)

    def term(self, op: str, a: str, w: str) -> str:
        p = self.p
        if op == "mul":
            return p.call("mul", a, w)
        d = p.call("sub", a, w)
        return p.call("mul", d, d) if op == "sqdiff" else f"abs({d})"


def _pg_table(p: PostgresPrinter, text: str, kind: str) -> str:
    """A `_Forest` table (comma-separated values in a string literal) as an array."""
    return f"'{{{text[1:-1]}}}'::{p.TYPES[kind]}[]"


def _fold(op: str, a: float, b: float) -> float:
    """`a op b` on doubles with IEEE results where Python raises."""
    try:
        return {"+": a + b, "-": a - b, "*": a * b}[op] if op != "/" else a / b
    except ZeroDivisionError:
        if a != a or a == 0.0:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


_HELPER = {"+": "add", "-": "sub", "*": "mul", "/": "div"}
_IEEE = frozenset({"add", "sub", "mul", "div", "exp", "pow"})  # helpers that stand in for a guard


class Unsafe(Exception):
    """A fast path would need a guard: its box of inputs is too wide."""


# IEEE results where PostgreSQL raises, without catching its error: a PL/pgSQL EXCEPTION
# block starts a subtransaction, which a parallel worker may not do ("cannot start
# subtransactions during a parallel operation"), and the functions are PARALLEL SAFE. Each
# helper decides from the operands whether PostgreSQL would raise (an overflow to an
# infinity, an underflow to zero) and returns what C99 (Annex F) returns instead; near a
# limit it decides on operands scaled by a power of two, which scales the exact result and
# its rounding alike. The one approximation: a product or quotient within half an ulp above
# 2^-1075 (C: the smallest subnormal, 5e-324) gives zero. `{p}` is the model's name.
_BIG, _TINY = "'1e150'::float8", "'1e-150'::float8"
_INF, _NAN, _ZERO = "'Infinity'::float8", "'NaN'::float8", "0::float8"
_UP, _DOWN = f"'{2.0 ** 60!r}'::float8", f"'{2.0 ** -60!r}'::float8"
_OVER, _UNDER = f"'{2.0 ** 964!r}'::float8", f"'{2.0 ** -1015!r}'::float8"  # 2^1024, 2^-1075 scaled
_PLAIN = f"""(abs(a) BETWEEN {_TINY} AND {_BIG} AND abs(b) BETWEEN {_TINY} AND {_BIG})
     OR abs(a) = {_INF} OR abs(b) = {_INF} OR a = {_NAN} OR b = {_NAN}"""


def _scaled(op: str, l_: str) -> str:
    """The body of mul or div after its plain cases: `l_` is ln|a op b| (to about 1e-13);
    beyond e^710 the result overflows, below e^-746 it underflows to zero, in between it
    is decided on s, a op b scaled by 2^-60 or 2^60 (a normal number there)."""
    sign = "sign(a) * sign(b)"
    down, up = {"*": ("CASE WHEN abs(a) >= abs(b) THEN (a * {d}) * b ELSE a * (b * {d}) END",
                      "CASE WHEN abs(a) <= abs(b) THEN (a * {u}) * b ELSE a * (b * {u}) END"),
                "/": ("(a * {d}) / b", "(a * {u}) / b")}[op]
    return f"""
  l := {l_};
  IF l > 710 THEN RETURN {sign} * {_INF}; END IF;
  IF l < -746 THEN RETURN {sign} * {_ZERO}; END IF;
  IF l > 708 THEN
    s := {down.format(d=_DOWN)};
    IF abs(s) >= {_OVER} THEN RETURN {sign} * {_INF}; END IF;
  ELSIF l < -743 THEN
    s := {up.format(u=_UP)};
    IF abs(s) <= {_UNDER} THEN RETURN {sign} * {_ZERO}; END IF;
  END IF;
  RETURN a {op} b;
END"""


# exp(x) is +inf above EXP_MAX and 0 at or below EXP_ZERO (glibc's exp: math.exp here)
EXP_MAX, EXP_ZERO = 709.782712893384, -745.1332191019412
_HELPERS = {
    "add": ("a double precision, b double precision", "double precision", f"""
DECLARE
  h double precision;
BEGIN  -- PostgreSQL raises where a sum of finite numbers overflows
  IF (abs(a) < '1e300'::float8 AND abs(b) < '1e300'::float8) OR abs(a) < '1e-300'::float8
     OR abs(b) < '1e-300'::float8 OR abs(a) = {_INF} OR abs(b) = {_INF} OR a = {_NAN}
     OR b = {_NAN} THEN
    RETURN a + b;
  END IF;
  h := a / 2 + b / 2;  -- exact halves: the sum overflows exactly when h reaches 2^1023
  IF abs(h) >= '{2.0 ** 1023!r}'::float8 THEN RETURN sign(h) * {_INF}; END IF;
  RETURN a + b;
END"""),
    "sub": ("a double precision, b double precision", "double precision", """
BEGIN
  RETURN {p}__add(a, -b);
END"""),
    "mul": ("a double precision, b double precision", "double precision", f"""
DECLARE
  l double precision;
  s double precision;
BEGIN  -- PostgreSQL raises where a product of finite numbers overflows or becomes zero
  IF {_PLAIN} OR a = 0 OR b = 0 THEN
    RETURN a * b;
  END IF;""" + _scaled("*", "ln(abs(a)) + ln(abs(b))")),
    "div": ("a double precision, b double precision", "double precision", f"""
DECLARE
  l double precision;
  s double precision;
BEGIN
  IF b = 0 AND a <> {_NAN} THEN  -- b is +0 or -0 (atan2(-0, -1) = -pi)
    IF a = 0 THEN RETURN {_NAN}; END IF;
    RETURN sign(a) * CASE WHEN atan2(b, -1) < 0 THEN -1 ELSE 1 END * {_INF};
  END IF;
  IF {_PLAIN} OR a = 0 THEN
    RETURN a / b;
  END IF;""" + _scaled("/", "ln(abs(a)) - ln(abs(b))")),
    "exp": ("x double precision", "double precision", f"""
BEGIN
  IF x = {_NAN} THEN RETURN x; END IF;
  IF x > '{EXP_MAX!r}'::float8 THEN RETURN {_INF}; END IF;
  IF x <= '{EXP_ZERO!r}'::float8 THEN RETURN {_ZERO}; END IF;
  RETURN exp(x);
END"""),
    "pow": ("a double precision, b double precision", "double precision", f"""
DECLARE
  odd boolean := CASE WHEN abs(b) < '9007199254740992'::float8 AND b = trunc(b)
    THEN (b::bigint % 2) <> 0 ELSE false END;  -- an odd integer power (from 2^53 on, even)
  negative boolean := a < 0 OR (a = 0 AND atan2(a, -1) < 0);
  sgn double precision := CASE WHEN negative AND odd THEN -1 ELSE 1 END;
  t double precision;
  h double precision;
BEGIN
  IF a = 0 THEN
    IF b < 0 THEN RETURN sgn * {_INF}; END IF;  -- zero to a negative power (-inf too)
    RETURN power(a, b);
  END IF;
  IF a = {_NAN} OR b = {_NAN} OR abs(a) = {_INF} OR abs(b) = {_INF} THEN
    IF a = '-Infinity'::float8 AND b <> trunc(b) AND abs(b) <> {_INF} THEN
      RETURN CASE WHEN b > 0 THEN {_INF} ELSE {_ZERO} END;  -- C99: -inf to a non-integer power
    END IF;
    RETURN power(a, b);  -- POSIX results, no error
  END IF;
  IF a < 0 AND b <> trunc(b) THEN RETURN {_NAN}; END IF;  -- a negative number, non-integer power
  IF abs(a) = 1 OR b = 1 OR abs(b) < '1e-300'::float8 THEN RETURN power(a, b); END IF;
  IF abs(b) > '1e300'::float8 THEN  -- |b ln|a|| > 1e284
    RETURN CASE WHEN (abs(a) > 1) = (b > 0) THEN {_INF} ELSE {_ZERO} END * sgn;
  END IF;
  t := b * ln(abs(a));  -- ln|a^b|, to about 2e-13
  IF t BETWEEN '-744.4'::float8 AND '709.78'::float8 THEN
    RETURN power(a, b);  -- from 5.1e-324 to below the largest double: no error
  END IF;
  IF t >= '709.79'::float8 THEN RETURN sgn * {_INF}; END IF;
  IF t <= '-745.2'::float8 THEN RETURN sgn * {_ZERO}; END IF;
  h := power(abs(a), b / 2);  -- at a limit: the square of the half power, rounded once more
  RETURN sgn * {{p}}__mul(h, h);
END"""),
    "bucket": ("edges double precision[], x double precision, right_side boolean", "integer", """
DECLARE
  lo integer := 0;
  hi integer := array_length(edges, 1);
  mid integer;
BEGIN
  IF x = 'NaN'::float8 THEN RETURN hi; END IF;
  WHILE lo < hi LOOP
    mid := (lo + hi) / 2;
    IF edges[mid + 1] < x OR (right_side AND edges[mid + 1] = x) THEN lo := mid + 1;
    ELSE hi := mid; END IF;
  END LOOP;
  RETURN lo;
END"""),
    **{f"arg{m}": ("v double precision[]", "integer", f"""
DECLARE
  best integer := 1;
BEGIN  -- numpy: the first NaN, else the first extreme (0-based)
  FOR i IN 1..array_length(v, 1) LOOP
    IF v[i] = 'NaN'::float8 THEN RETURN i - 1; END IF;
    IF v[i] {op} v[best] THEN best := i; END IF;
  END LOOP;
  RETURN best - 1;
END""") for m, op in (("max", ">"), ("min", "<"))},
    **{f"v{m}": ("v double precision[]", "double precision", f"""
DECLARE
  out double precision := v[1];
BEGIN  -- numpy: NaN when any element is NaN
  FOR i IN 1..array_length(v, 1) LOOP
    IF v[i] = 'NaN'::float8 THEN RETURN v[i]; END IF;
    IF v[i] {op} out THEN out := v[i]; END IF;
  END LOOP;
  RETURN out;
END""") for m, op in (("max", ">"), ("min", "<"))},
    "vsum": ("v double precision[]", "double precision", """
DECLARE
  out double precision := v[1];
BEGIN  -- the left fold ((v1 + v2) + v3) + ...
  FOR i IN 2..array_length(v, 1) LOOP
    out := {p}__add(out, v[i]);
  END LOOP;
  RETURN out;
END"""),
}
# helpers the others call
_CALLS = {"vsum": {"add"}, "sub": {"add"}, "pow": {"mul"}}


def helper_definitions(prefix: str, used: set[str]) -> list[str]:
    """The CREATE FUNCTION statements of the helpers in `used` (and those they call)."""
    names = set(used)
    for h in used:
        names |= _CALLS.get(h, set())
    out = []
    for h in sorted(names):
        params, returns, body = _HELPERS[h]
        out.append(f"CREATE OR REPLACE FUNCTION {prefix}__{h}({params}) RETURNS {returns}\n"
                   f"LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS "
                   f"{dollar_quote(body.strip().replace('{p}', prefix))};\n")
    return out


def function(program: ir.Program, fname: str, values: list[ir.Expr], idents: list[str],
             returns: str, result: Callable[[PostgresPrinter], str] | None,
             helpers: set[str], prefix: str, cache: dict, first: Body | None = None) -> str:
    """One PL/pgSQL function: inputs, bound nodes, the checks in order, then `result`;
    without a result (NAME_refusal), a failing check's message is returned, else NULL.
    `first`: statements that come before all that (a fast path)."""
    roots = [c.fails for c in program.checks] + values
    p = PostgresPrinter(prefix, helpers)
    body = Body(p)
    if first is not None:
        body.decls.update(first.decls)
        body.lines += first.lines
    for f in features_of(roots):
        var = p.names[id(f)] = f"_f{f.index}"
        if var in body.decls:
            continue
        param = p.ident(idents[f.index])
        body.declare(var, p.TYPES[f.kind])
        read = param if f.kind == "string" else f"coalesce({param}, {p.number(math.nan)})"
        body.lines.append(f"{var} := {read};")
    plan = schedule(roots)
    walks = {id(t): f for f in forests(plan.bound, cache) for t in f.trees}
    done: set[int] = set()
    for i, node in enumerate(plan.bound):
        forest = walks.get(id(node))
        if forest is None:
            body.bind(node, f"_v{i}")
        elif id(forest) not in done:
            done.add(id(forest))
            body.forest(forest, forest.row(p))
    then = "RETURN {};" if result is None else "RAISE EXCEPTION USING MESSAGE = {};"
    for c in program.checks:
        fails = body.statement(lambda c=c: p.expr(c.fails))
        body.lines += f"IF {fails} THEN\n  {then.format(p.string(c.message))}\nEND IF;".split("\n")
    value = "NULL" if result is None else body.statement(lambda: result(p))
    decls = "".join(f"  {n} {t};\n" for n, t in body.decls.items())
    text = (f"DECLARE\n{decls}BEGIN\n" + "".join(f"  {line}\n" for line in body.lines)
            + f"  RETURN {value};\nEND")
    return _create(fname, _params(p, program, idents), returns, "plpgsql", text)


def _params(p: PostgresPrinter, program: ir.Program, idents: list[str]) -> str:
    return ", ".join(f"{p.ident(i)} {p.TYPES[s.kind]}" for i, s in zip(idents, program.features))


def _create(fname: str, params: str, returns: str, language: str, body: str) -> str:
    return (f"CREATE OR REPLACE FUNCTION {fname}({params}) RETURNS {returns}\n"
            f"LANGUAGE {language} IMMUTABLE PARALLEL SAFE AS {dollar_quote(body)};\n")


# The box of a fast path: |x| <= 2^e for each number input, between these exponents; an
# input whose products could underflow is also kept zero or above BOX_LOW
BOX_MIN_EXP, BOX_MAX_EXP = -8, 1023
BOX_LOW = 2.0 ** -200
# A fast path is one SQL expression unless repeating its shared values (an SQL function
# that PostgreSQL inlines has no variables) makes it this many times longer, or it is
# longer than INLINE_MAX characters: PostgreSQL's JIT (on by default) compiles an inlined
# expression for each query above a cost, which took 8 s for a 300-tree boosting model's
# 1 MB (its 5,000 rows ran in 0.8 s without JIT). A PL/pgSQL fast path is not compiled so;
# there an operand longer than FAST_OPERAND is a statement of its own (the nesting of a
# long sum stays shallow for PostgreSQL's stack).
INLINE_GROWTH = 3
INLINE_MAX = 32_000
FAST_OPERAND = 4_000


@dataclass(frozen=True)
class Box:
    """Number inputs with |x| <= 2^exps[i] (NULL and NaN only for those in `nan`), and for
    those in `low` zero or at least BOX_LOW."""

    exps: dict[int, int]
    low: frozenset[int] = frozenset()
    nan: frozenset[int] = frozenset()


@dataclass
class Fast:
    """A fast path: `test` holds for rows inside its box that no check refuses; `body`
    then returns the value (PL/pgSQL), as does `inline` (one expression)."""

    test: str
    body: Body
    inline: str | None  # None: too long
    checks: int


def fast_path(program: ir.Program, values: list[ir.Expr], idents: list[str],
              result: Callable[[PostgresPrinter], str] | None, prefix: str) -> Fast | None:
    """The function's value, computed at once for a row inside a box of number inputs
    where no operation can make PostgreSQL raise, so that no guard and no helper is
    needed: one test of the inputs replaces a guard per operation, and the intermediate
    values need no variables (PL/pgSQL pays per statement). Rows outside the box, and
    rows that a check refuses, go to the guarded body, which computes the same
    operations. None where the function loops (vectors, walked trees: a guard there is a
    small part of the work) or no box would do.

    The box is searched with the range pass (`_BoxSearch`): which inputs need a lower
    bound, which may be NULL or NaN without adding a check (an imputer's input), each
    input's largest exponent alone (the others at BOX_MIN_EXP), then all of them lowered
    by a common amount until the whole fits (so that inputs share the headroom whatever
    their scale), then each raised while it still fits."""
    roots = values + [c.fails for c in program.checks]
    numbers = sorted({f.index for f in features_of(roots) if f.kind == "number"})
    if any(walked(n, tree_depth(n)) if isinstance(n, ir.Tree) else n.type == "vector"
           for n in schedule(roots).bound):
        return None
    search = _BoxSearch(program, values)
    box = Box(dict.fromkeys(numbers, BOX_MIN_EXP))
    least = search.checks(box)
    if least is None:
        box = replace(box, low=frozenset(numbers))
        least = search.checks(box)
        if least is None:
            return None
        for i in numbers:  # an input that no product reads needs no lower bound
            if search.checks(replace(box, low=box.low - {i})) is not None:
                box = replace(box, low=box.low - {i})
    for i in numbers:
        if search.checks(replace(box, nan=box.nan | {i})) == least:
            box = replace(box, nan=box.nan | {i})

    def largest(fits: Callable[[int], bool], lo: int, hi: int) -> int:
        """The largest k in [lo, hi] with fits(k), given fits(lo)."""
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
        return lo

    def fits(exps: dict[int, int]) -> bool:
        return search.checks(replace(box, exps=exps)) is not None

    alone = {i: largest(lambda e, i=i: fits({**box.exps, i: e}), BOX_MIN_EXP, BOX_MAX_EXP)
             for i in numbers}

    def lowered(d: int) -> dict[int, int]:
        return {i: max(BOX_MIN_EXP, alone[i] - d) for i in numbers}

    span = max([e - BOX_MIN_EXP for e in alone.values()], default=0)
    exps = lowered(span - largest(lambda k: fits(lowered(span - k)), 0, span))
    for i in numbers:
        exps[i] = largest(lambda e, i=i: fits({**exps, i: e}), exps[i], alone[i])
    try:
        return _fast(program, values, idents, result, prefix, replace(box, exps=exps))
    except Unsafe:  # the printer needs a guard that `_BoxSearch` did not see
        return None


class _BoxSearch:
    """Does a box need no guard? The range pass answers without printing, and an
    assumption about one input recomputes only the nodes computed from it: their ranges,
    whether each is printed unguarded, and whether each check can fail."""

    def __init__(self, program: ir.Program, values: list[ir.Expr]):
        self.fails = [c.fails for c in program.checks]
        self.ranges = Ranges(values + self.fails)
        self.order = nodes(values + self.fails)
        self.node = {id(n): (k, n) for k, n in enumerate(self.order)}  # postorder place
        self.values = {id(n) for n in nodes(values)}
        self.check_nodes = [{id(n) for n in nodes([f])} for f in self.fails]
        self.assumed: dict[int, tuple] = {}
        self.guarded: set[int] = set()  # nodes printed with a guard in the box
        self.holds: dict[int, bool] = {}  # bool node -> can it be true in the box
        self._update(self.order)

    def _update(self, changed: list[ir.Expr]) -> None:
        """Recompute for these nodes, in postorder."""
        for n in changed:
            if _unguarded(self.ranges, n):
                self.guarded.discard(id(n))
            else:
                self.guarded.add(id(n))
            if n.type == "bool":  # Ranges.can_hold, remembered for each part of an Or
                self.holds[id(n)] = any(self.holds[id(i)] for i in n.items) \
                    if isinstance(n, ir.Or) else self.ranges.can_hold(n)

    def checks(self, box: Box) -> int | None:
        """How many checks can still fail inside the box, or None if a guard is needed."""
        changed: set[int] = set()
        for i, e in box.exps.items():
            assumption = (2.0 ** e, BOX_LOW if i in box.low else 0.0, i in box.nan)
            if self.assumed.get(i) != assumption:
                self.ranges.assume(ir.Feature(i), *assumption)
                self.assumed[i] = assumption
                changed.update(self.ranges.reading(i))
        if changed:
            self._update([n for _, n in sorted(self.node[i] for i in changed)])
        kept = [k for k, f in enumerate(self.fails) if self.holds[id(f)]]
        if any(n in self.values or any(n in self.check_nodes[k] for k in kept)
               for n in self.guarded):
            return None
        return len(kept)


def _unguarded(self, n: int) -> bool:
        if n not in self.unguarded:
            self.unguarded[n] = _unguarded(self.ranges, self.node[n])
        return self.unguarded[n]


def _unguarded(ranges: Ranges, node: ir.Expr) -> bool:
    """Does PostgresPrinter print the node with no guard and no IEEE helper (see
    `PostgresPrinter.fast`), by the nodes' ranges?"""
    if isinstance(node, ir.Arith):
        return (isinstance(node.a, ir.Const) and isinstance(node.b, ir.Const)) or \
            (_safe(node.op, ranges.of(node.a), False) and _safe(node.op, ranges.of(node.b), True))
    if isinstance(node, ir.Sum):
        return all(_safe("+", r, False) and _safe("+", ranges.of(t), True)
                   for r, t in zip(ranges.partial_sums(node), node.terms[1:]))
    if isinstance(node, ir.Func) and node.fn == "exp":
        return ranges.of(node.a).mag <= EXP_SAFE
    return not isinstance(node, ir.Pow) and not (isinstance(node, ir.Func)
                                                 and node.fn in ("exp2", "expm1"))


def _safe(op: str, r: Range, second: bool) -> bool:
    """Is an operand of this range within the magnitudes at which PostgreSQL's `op`
    cannot raise: below SAFE_BIG, and for a product or a quotient zero or above
    SAFE_SMALL, and a divisor not zero?"""
    return r.mag < SAFE_BIG and (op not in "*/" or r.low > SAFE_SMALL) and \
        not (op == "/" and second and r.zero)


def _unfolded(roots: list[ir.Expr]) -> int:
    """How many nodes these print as one expression, where a shared node is printed at
    each use and a tree prints its input at each split (this grows exponentially with
    the depth of sharing: an iterative imputer's rounds)."""
    size: dict[int, int] = {}
    for n in nodes(roots):
        inner = sum(size[id(n.inputs[f])] for f, left in zip(n.feature, n.left) if left != -1) \
            if isinstance(n, ir.Tree) else sum(size[id(c)] for c in n.children())
        size[id(n)] = 1 + inner
    return sum(size[id(r)] for r in roots)


def _fast(program: ir.Program, values: list[ir.Expr], idents: list[str],
          result: Callable[[PostgresPrinter], str] | None, prefix: str, box: Box) -> Fast:
    """The fast path of one box (see `fast_path`); raises Unsafe where a guard is needed."""
    p = PostgresPrinter(prefix, set())
    p.fast = True
    roots = values + [c.fails for c in program.checks]
    inputs = {}
    for f in features_of(roots):
        x = p.ident(idents[f.index])
        if f.index in box.nan:
            x = f"coalesce({x}, {p.number(math.nan)})"
        inputs[id(f)] = x
        if f.index in box.exps:
            p.ranges.assume(f, 2.0 ** box.exps[f.index], BOX_LOW if f.index in box.low else 0.0,
                            nan=f.index in box.nan)
    checks = [c for c in program.checks if p.ranges.can_hold(c.fails)]
    test = []
    for i, e in sorted(box.exps.items()):
        x, bound = p.ident(idents[i]), p.number(2.0 ** e)
        within = f"{x} BETWEEN {p.number(-2.0 ** e)} AND {bound}"
        if i in box.nan:
            within = f"({within} OR {x} IS NULL OR {x} = {p.number(math.nan)})"
        test.append(within)
        if i in box.low:
            test.append(f"(abs({x}) >= {p.number(BOX_LOW)} OR {x} = {p.number(0.0)})")

    def value_and_fails() -> tuple[str, list[str]]:
        return ("NULL" if result is None else result(p)), [p.expr(c.fails) for c in checks]

    box_test = " AND ".join(test) or "true"
    inline, test_text = None, box_test
    if _unfolded(values + [c.fails for c in checks]) <= INLINE_MAX // 8:
        p.names = dict(inputs)  # one expression: shared values are printed where used
        inline, fails = value_and_fails()
        test_text = f"{box_test} AND NOT ({' OR '.join(fails)})" if fails else box_test
    p.names = dict(inputs)
    body = Body(p)
    for i, node in enumerate(schedule(values + [c.fails for c in checks]).bound):
        body.bind(node, f"_q{i}")
    value, fails = body.statement(value_and_fails)
    ret = f"RETURN {value};"
    if fails:
        ret = f"IF NOT ({' OR '.join(fails)}) THEN {ret} END IF;"
    body.lines = [f"IF {box_test} THEN", *(f"  {line}" for line in body.lines), f"  {ret}",
                  "END IF;"]
    return Fast(test_text, body, inline, len(checks))


def _drop_previous(names: list[str]) -> str:
    """Drop earlier versions of these functions in the current schema, whatever their
    parameters: CREATE OR REPLACE cannot rename a parameter, and a changed parameter list
    would leave the old function beside the new one."""
    listed = ", ".join(string(n) for n in names)
    body = ("DECLARE f regprocedure;\nBEGIN\n  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p "
            f"WHERE p.proname IN ({listed})\n    AND p.pronamespace = "
            "current_schema()::regnamespace\n  LOOP EXECUTE 'DROP FUNCTION ' || f; END LOOP;\nEND")
    return f"DO {dollar_quote(body)};\n"


def output_functions(program: ir.Program, fname: str, values: list[ir.Expr],
                     idents: list[str], returns: str,
                     result: Callable[[PostgresPrinter], str] | None, helpers: set[str],
                     prefix: str, cache: dict) -> list[str]:
    """The function `fname`: where its fast path is short as one expression, an SQL
    function that PostgreSQL inlines into the calling query (no PL/pgSQL call per row),
    which calls the guarded PL/pgSQL function `NAME__guarded_<output>` for the rows
    outside the box; else one PL/pgSQL function, its fast path first where it has one."""
    fast = fast_path(program, values, idents, result, prefix)
    if fast is None or fast.inline is None or len(fast.inline) > min(
            INLINE_MAX, INLINE_GROWTH * sum(map(len, fast.body.lines))):
        return [function(program, fname, values, idents, returns, result, helpers, prefix,
                         cache, None if fast is None else fast.body)]
    guarded = f"{prefix}__guarded_{fname[len(prefix) + 1:]}"
    p = PostgresPrinter(prefix, helpers)
    args = ", ".join(p.ident(i) for i in idents)
    sql = f"SELECT CASE WHEN {fast.test}\n  THEN {fast.inline}\n  ELSE {guarded}({args}) END"
    return [function(program, guarded, values, idents, returns, result, helpers, prefix,
                     cache),
            _create(fname, _params(p, program, idents), returns, "sql", sql)]


def emit(program: ir.Program, name: str, idents: list[str], header: str) -> dict[str, str]:
    """{NAME.postgres.sql: the helpers, one PL/pgSQL function per output, NAME_refusal}."""
    helpers: set[str] = set()
    cache: dict = {}
    functions = []
    for out in program.outputs.values():
        def result(p: PostgresPrinter, out: ir.Output = out) -> str:
            if out.shape == "label":
                return p.elem(p.labels(program.classes), p.index1(out.values[0]))
            if out.shape == "scalar":
                return p.expr(out.values[0])
            return p.list_of([p.expr(v) for v in out.values])

        functions += output_functions(program, f"{name}_{out.name}", list(out.values), idents,
                                      PostgresPrinter.returns(program, out), result, helpers,
                                      name, cache)
    functions += output_functions(program, f"{name}_refusal", [], idents, "text", None,
                                  helpers, name, cache)
    defined = [f"{name}_{o}" for o in [*program.outputs, "refusal"]]
    defined += [f"{name}__guarded_{o}" for o in [*program.outputs, "refusal"]]
    defined += [f"{name}__{h}" for h in sorted(helpers | {c for h in helpers
                                                          for c in _CALLS.get(h, ())})]
    parts = [comment(header) + "\n", "\n" + _drop_previous(defined),
             *("\n" + h for h in helper_definitions(name, helpers)),
             *("\n" + f for f in functions)]
    return {f"{name}.postgres.sql": "".join(parts)}
