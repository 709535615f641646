"""DuckDB SQL target: `CREATE OR REPLACE MACRO NAME_<output>(<params>) AS (...);` per output.

A macro is one expression, so shared values are bound as a correlated scalar subquery
whose CTEs are let-levels: `_l0` normalizes each input once (from VALUES, where no name
but the caller's can be in scope), and each level of bound nodes (`passes.schedule`)
is one struct column `_sN` read as `_sN.vI`. This shape was measured: a
lambda let (`list_transform([{...}], lambda _l: ...)`) runs nested CASE trees 5-10x
slower, and one column per bound node makes DuckDB's planner quadratic in the node count.
Internal names start with `_` or are scoped inside the subquery, so they never meet the
parameters (which start with a letter) or the caller's columns.

DuckDB is not IEEE where it matters, so every node is printed to keep the IR semantics:
- numbers are DOUBLE and NULL becomes NaN once per input, so nothing is ever NULL and
  boolean logic stays two-valued; text predicates are coalesced to a definite value;
- DuckDB orders NaN above every number: `x > b` is printed as `-x < -b` (false for NaN,
  exact otherwise); numeric IN lists use DuckDB's NaN = NaN on purpose;
- `0.1` is a DECIMAL: every constant carries an exponent and reads back exactly;
- long sums would pass the parser's expression depth limit (1000; a parenthesized `+`
  costs two levels, an unparenthesized chain one per term): up to `SUM_CHAIN_MAX` terms
  are one `a + b + c` chain, any more a `list_reduce` loop (the same strict left fold).
  The chain was measured on DuckDB 2.0, one thread, 1M rows: a 300-tree boosting model's
  sum as a loop over a 300-element list built per row took a quarter of its time.

Trees take one of two shapes, chosen per tree (measured on DuckDB 2.0, one thread; see
`CASE_MAX_NODES_PER_LEVEL`): small ones are nested CASE, big or very deep ones are walked
from node tables (`_Forest`): DuckDB pays for every CASE node in every vector of 2048
rows, however few rows reach it, which made a 100-tree depth-10 forest run at a few
thousand rows/s and take seconds to parse and plan; a walk costs a few list lookups per
row and level, and its tables are a handful of string constants. A CASE tree's split that
sends NaN left compares a copy of its input with NaN as -inf, bound once per query level
(`nan_low`), rather than `x <= b OR isnan(x)` at every such node: about 10% faster on the
boosting models, and the copy is exact for every other value.

Besides the outputs, `NAME_refusal(<params>)` returns the message the macros would raise
for a row, or NULL: one refused row aborts a whole SQL query, so callers (and the
runtime) find such rows with it first.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable

from scorec.compiler import ir
from scorec.compiler.lowering.common import F32_OVERFLOW
from scorec.compiler.passes import breadth_first, features_of, output_roots, schedule, tree_depth

from .printer import Printer

# DuckDB's parser stops at expression depth 1000; a CASE level costs about two.
TREE_CASE_MAX_DEPTH = 120
SUM_NEST_MAX = 100
# DuckDB: a sum of up to this many terms is one `+` chain, not a `list_reduce` over a list
# of them (building a 300-double list per row made a 300-tree boosting model 25% slower);
# a chain of n terms is n levels deep, far enough below the parser's limit of 1000.
SUM_CHAIN_MAX = 400
# A tree is walked from node tables (see `_Forest`) unless it is small: a CASE node costs
# about 1 us per 2048-row vector in DuckDB whatever the rows reaching it, a table walk about
# 25 ns per row and level, so nested CASE only pays below this many nodes per level of depth.
CASE_MAX_NODES_PER_LEVEL = 12
# operand text a guard may repeat before `SqlPrinter.let` binds it
SHORT_OPERAND = 160

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def number(v: float) -> str:
    """A DOUBLE literal that reads back as exactly `v` (never a DECIMAL)."""
    v = float(v)
    if v != v:
        return "'nan'::DOUBLE"
    if v in (float("inf"), float("-inf")):
        return "'inf'::DOUBLE" if v > 0 else "'-inf'::DOUBLE"
    text = repr(v)
    if "e" not in text:
        text += "e0"
    return f"({text})" if text.startswith("-") else text


def text(s: str) -> str:
    """A string literal: standard SQL, so only `'` is special; NUL goes through chr(0)."""
    parts = ["'" + p.replace("'", "''") + "'" for p in s.split("\0")]
    return parts[0] if len(parts) == 1 else "(" + " || chr(0) || ".join(parts) + ")"


def ident(name: str) -> str:
    """A double-quoted identifier (parameters may be DuckDB keywords names.py misses)."""
    return '"' + name.replace('"', '""') + '"'


def comment(s: str) -> str:
    """A `--` comment: no line break or control character may end it early."""
    return "-- " + "".join(" " if unicodedata.category(c)[0] in "CZ" and c != " " else c
                           for c in s)


def _label_list(classes: tuple) -> str:
    """The class labels as a list literal of their natural DuckDB type."""
    kinds = {bool if isinstance(c, bool) else type(c) for c in classes}
    if kinds == {str}:
        return "[" + ", ".join(text(c) for c in classes) + "]"
    if kinds == {bool}:
        return "[" + ", ".join("true" if c else "false" for c in classes) + "]"
    if kinds == {int}:
        small = all(-(2**63) <= c < 2**63 for c in classes)
        items = ", ".join(str(c) for c in classes)
        return f"CAST([{items}] AS {'BIGINT' if small else 'HUGEINT'}[])"
    if kinds <= {int, float}:
        return "[" + ", ".join(number(float(c)) for c in classes) + "]"
    raise TypeError(f"sql target: class labels mix types {sorted(k.__name__ for k in kinds)}")


class SqlPrinter(Printer):
    """Prints IR nodes as SQL expressions: the one SQL emitter. Node printers are written
    against the spelling hooks below (lists, lambdas, structs, casts, errors), which
    spell DuckDB; a dialect (targets/spark.py) overrides the hooks and the few node
    printers where its engine's semantics differ. `names` maps bound nodes (and
    features) to their let references."""

    target, NULL, OR = "sql", "{} IS NULL", " OR "
    number, string = staticmethod(number), staticmethod(text)
    # SQL types of the IR's value types, and of constant tables
    TYPES = {"number": "DOUBLE", "index": "BIGINT", "string": "VARCHAR", "bool": "BOOLEAN"}
    # DuckDB: exp(1000) = inf, exp(nan) = nan; greatest() is NaN if any term is, as numpy
    TEMPLATES = {**Printer.TEMPLATES, ir.Not: "(NOT {a})", ir.Max: "greatest({terms})",
                 ir.Select: "CASE WHEN {cond} THEN {then} ELSE {other} END"}
    # numpy's function name -> the engine's, where they differ (see `func` for the rest)
    FUNCS = {"log": "ln", "arctan": "atan", "arcsinh": "asinh"}

    # the functions whose spelling (`guarded_func`) repeats the operand
    REPEATS_OPERAND = frozenset({"log1p", "expm1", "sign", "float32"})
    # terms of a long sum printed as one `+` chain (see `sum`); 1: all but the first folded
    SUM_CHAIN_MAX = SUM_CHAIN_MAX

    def __init__(self, names: dict[int, str] | None = None,
                 forests: dict[int, _Forest] | None = None):
        super().__init__(names)
        self.forests = {} if forests is None else forests  # walked trees, by id
        self.lets = 0  # names given by `let`
        self.tables: dict[tuple, tuple[str, tuple]] = {}  # constant lists, see `table`
        self.nan_low: dict[int, str] = {}  # CASE trees' NaN-left inputs, see `tree`

    # ---- spelling: what a dialect overrides ------------------------------------------

    def lam(self, params: list[str], body: str) -> str:
        return f"lambda {', '.join(params)}: {body}"

    def list_of(self, items: list[str]) -> str:
        return "[" + ", ".join(items) + "]"

    def let(self, text: str, use: Callable[[str], str]) -> str:
        """`use(x)` for x = `text`, computed once. A guard spells its operand several times;
        guards nested inside one expression (a chain, a Map's body) would grow the text
        exponentially, so a long operand is bound to a lambda's argument first."""
        if len(text) <= SHORT_OPERAND:
            return use(text)
        self.lets += 1
        v = f"_let{self.lets}"
        return self.elem(self.transform(self.list_of([text]), v, use(v)), "1")

    def elem(self, lst: str, pos: str) -> str:
        """The element at 1-based position `pos`."""
        return f"{lst}[{pos}]"

    def positions(self, lo: str, hi: str) -> str:
        """The integers lo <= k < hi (none when hi <= lo)."""
        return f"range({lo}, {hi})"

    def transform(self, lst: str, var: str, body: str) -> str:
        return f"list_transform({lst}, {self.lam([var], body)})"

    def fold(self, lst: str, acc: str, var: str, body: str, init: str) -> str:
        """A strict left fold from `init` over the list."""
        return f"list_reduce({lst}, {self.lam([acc, var], body)}, {init})"

    def keep(self, lst: str, var: str, cond: str) -> str:
        return f"list_filter({lst}, {self.lam([var], cond)})"

    def length(self, lst: str) -> str:
        return f"len({lst})"

    def ascending(self, lst: str) -> str:
        """The list sorted ascending (structs field by field)."""
        return f"list_sort({lst})"

    def first(self, lst: str, n: int) -> str:
        return f"list_slice({lst}, 1, {n})"

    def rest(self, lst: str, width: int) -> str:
        """The list without its first element (its width is known)."""
        return f"list_slice({lst}, 2, {width})"

    def pad(self, lst: str, n: int, fill: int) -> str:
        return f"list_resize({lst}, {n}, {fill})"

    def find(self, lst: str, value: str) -> str:
        """The 1-based position of the first element equal to `value` (NaN = NaN)."""
        return f"list_position({lst}, {value})"

    def list_max(self, lst: str) -> str:
        return f"list_max({lst})"

    def list_min(self, lst: str) -> str:
        return f"list_min({lst})"

    def any_of(self, lst: str, var: str, cond: str) -> str:
        return f"list_bool_or({self.transform(lst, var, cond)})"

    def struct(self, fields: dict[str, str]) -> str:
        return "{" + ", ".join(f"'{k}': {v}" for k, v in fields.items()) + "}"

    def cast(self, x: str, kind: str) -> str:
        return f"CAST({x} AS {self.TYPES[kind]})"

    def from_bool(self, cond: str) -> str:
        """1 for true, 0 for false, as an index."""
        return f"({cond})::BIGINT"

    def raise_(self, message: str) -> str:
        return f"error({message})"

    def split_list(self, literal: str, kind: str) -> str:
        """A constant list cast from a string literal of comma-separated values."""
        return f"CAST(string_split({literal}, ',') AS {self.TYPES[kind]}[])"

    def labels(self, classes: tuple) -> str:
        """The class labels as a list of their natural type."""
        return _label_list(classes)

    # ---- statements: how the dialect defines a function ------------------------------

    ident, comment = staticmethod(ident), staticmethod(comment)

    def input(self, param: str, kind: str) -> str:
        """A parameter as the function reads it: a missing number (NULL) is NaN."""
        if kind == "string":
            return self.cast(param, "string")
        return f"coalesce({self.cast(param, 'number')}, {self.number(math.nan)})"

    def inputs_cte(self, inputs: dict[str, str], tables: bool) -> str:
        """`_l0`, the inputs as columns (from VALUES, where no name but the caller's can be
        in scope), joined to the constant tables `_f` if any."""
        values = ", ".join(inputs.values()) or "0"
        names = ", ".join(inputs) or "_"
        return (f"_l0 AS (SELECT * FROM (VALUES ({values})) _({names})"
                f"{', _f' if tables else ''})")

    def query(self, tables: list[tuple[str, str]], inputs: dict[str, str],
              bindings: list[tuple[str, list[tuple[str, str]]]], value: str) -> str:
        """The function's query: the constant tables (name, cast) in a one-row CTE `_f` (not
        folded into, and copied through, the plan), the inputs in `_l0`, then each binding
        (a CTE name, and columns: name, expression) adds columns that later ones read."""
        ctes = ["_f AS (SELECT\n  " + ",\n  ".join(f"{cast} AS {name}"
                                                    for name, cast in tables) + ")"] \
            if tables else []
        ctes.append(self.inputs_cte(inputs, bool(tables)))
        last = "_l0"
        for cte, columns in bindings:
            listed = ", ".join(f"{expr} AS {name}" for name, expr in columns)
            ctes.append(f"{cte} AS (SELECT *, {listed} FROM {last})")
            last = cte
        return "WITH " + ",\n".join(ctes) + f"\nSELECT {value}\nFROM {last}"

    def definition(self, fname: str, params: list[tuple[str, str]], returns: str,
                   body: str) -> str:
        """The statement defining scoring function `fname` as the query `body`."""
        return (f"CREATE OR REPLACE MACRO {fname}({', '.join(p for p, _ in params)}) AS (\n"
                f"{body});\n")

    @classmethod
    def returns(cls, program: ir.Program, out: ir.Output) -> str:
        """The SQL type an output's function returns."""
        if out.shape == "label":
            return cls.label_type(program.classes)
        kind = "index" if out.values and all(v.type == "index" for v in out.values) \
            else "number"
        return cls.TYPES[kind] if out.shape == "scalar" else cls.array_of(cls.TYPES[kind])

    @staticmethod
    def array_of(kind: str) -> str:
        return f"{kind}[]"

    @classmethod
    def label_type(cls, classes: tuple) -> str:
        kinds = {bool if isinstance(c, bool) else type(c) for c in classes}
        return {frozenset({str}): cls.TYPES["string"], frozenset({bool}): cls.TYPES["bool"],
                frozenset({int}): cls.TYPES["index"]}.get(frozenset(kinds), cls.TYPES["number"])

    # ---- constants ---------------------------------------------------------------------

    def table(self, values: tuple, kind: str = "number") -> str:
        """A constant list, cast once per query in the `_f` CTE (see `_list`)."""
        key = (repr(tuple(values)), kind)  # repr: -0.0 and 0.0 are other tables
        return self.tables.setdefault(key, (f"_k{len(self.tables)}", tuple(values)))[0]

    # ---- nodes -------------------------------------------------------------------------

    def func(self, node: ir.Func) -> str:
        if node.fn in self.REPEATS_OPERAND:
            return self.let(self.expr(node.a), lambda a: self.guarded_func(node.fn, a))
        return self.guarded_func(node.fn, self.expr(node.a))

    def guarded_func(self, fn: str, a: str) -> str:
        """numpy's `fn(a)`, `a` printed."""
        if fn == "log1p":  # DuckDB has no log1p: Kahan's x * ln(u) / (u - 1), u = 1 + x
            u, one, inf = f"({self.number(1.0)} + {a})", self.number(1.0), self.number(math.inf)
            return (f"CASE WHEN {u} = {one} THEN {a} WHEN {u} = {inf} THEN {u} "
                    f"ELSE ln({u}) * ({a} / ({u} - {one})) END")
        if fn == "expm1":  # nor expm1: Kahan's (u - 1) * x / ln(u), u = exp(x)
            u, one, inf = f"exp({a})", self.number(1.0), self.number(math.inf)
            return (f"CASE WHEN {u} = {one} THEN {a} WHEN {u} - {one} = {self.number(-1.0)} "
                    f"THEN {self.number(-1.0)} WHEN {u} = {inf} THEN {u} "
                    f"ELSE ({u} - {one}) * ({a} / ln({u})) END")
        if fn == "sign":  # DuckDB's sign(NaN) is 0
            return (f"CASE WHEN {self.NAN.format(a)} THEN {a} WHEN {a} > {self.number(0.0)} "
                    f"THEN {self.number(1.0)} WHEN {a} < {self.number(0.0)} "
                    f"THEN {self.number(-1.0)} ELSE {a} END")
        if fn == "float32":  # DuckDB raises on a double beyond float32's range
            lim, inf = self.number(F32_OVERFLOW), self.number(math.inf)
            return (f"CASE WHEN {self.NAN.format(a)} THEN {a} WHEN {a} >= {lim} THEN {inf} "
                    f"WHEN {a} <= {self.number(-F32_OVERFLOW)} THEN (-{inf}) "
                    f"ELSE CAST(CAST({a} AS FLOAT) AS DOUBLE) END")
        if fn == "rint":
            return f"round_even({a}, 0)"
        if fn == "exp2":
            return f"pow({self.number(2.0)}, {a})"
        return f"{self.FUNCS.get(fn, fn)}({a})"

    def bucket(self, node: ir.Bucket) -> str:
        """Counted, not searched: the engine orders NaN above every edge, as numpy does."""
        op = "<=" if node.right else "<"
        kept = self.keep(self.table(node.edges), "_e", f"_e {op} {self.expr(node.a)}")
        return self.length(kept)

    def position(self, index: ir.Expr) -> str:
        """A 1-based list position from an index node (or a map element holding one)."""
        i = self.expr(index)
        return f"{i} + 1" if index.type == "index" else f"{self.cast(i, 'index')} + 1"

    def lookup(self, node: ir.Lookup) -> str:
        kind = "index" if node.type == "index" else "number"
        return self.elem(self.table(node.table, kind), self.position(node.index))

    def at(self, node: ir.At) -> str:
        return self.elem(self.expr(node.vec), self.position(node.index))

    def k_smallest(self, node: ir.KSmallest) -> str:
        """Positions sorted by (value, position): structs sort field by field."""
        v = self.expr(node.vec)
        pairs = self.transform(self.positions("1", str(node.vec.width + 1)), "_i",
                               self.struct({"v": self.elem(v, "_i"), "i": "_i - 1"}))
        kept = self.keep(pairs, "_s", f"_s.v < {self.number(math.inf)}")
        first = self.first(self.ascending(kept), node.k)
        return self.pad(self.transform(first, "_s", "_s.i"), node.k, node.fill)

    def pack(self, node: ir.Pack) -> str:
        return self.list_of([self.expr(i) for i in node.items])

    def map(self, node: ir.Map) -> str:
        ops = [self.table(o) if isinstance(o, tuple) else self.expr(o) for o in node.operands]
        body = self.map_body(node, [self.elem(o, "_i") for o in ops])
        return self.transform(self.positions("1", str(node.width + 1)), "_i", body)

    def mat_vec(self, node: ir.MatVec) -> str:
        """Per output, the first term then the others folded left to right."""
        x = self.expr(node.x)

        def term(a: str, w: str) -> str:
            return {"mul": f"{a} * {w}", "sqdiff": f"({a} - {w}) * ({a} - {w})",
                    "absdiff": f"abs({a} - {w})"}[node.op]

        fold = "_a + _b" if node.reduce == "sum" else "greatest(_a, _b)"  # NaN is the max
        if node.support is None:
            n = len(node.matrix[0])
            w = self.table(tuple(v for row in node.matrix for v in row))

            def at(j: str) -> str:
                return term(self.elem(x, j), self.elem(w, f"(_i - 1) * {n} + {j}"))

            init, rest = at("1"), self.positions("2", str(n + 1))
        else:
            w = self.table(tuple(node.matrix[i][j] for i, c in enumerate(node.support)
                                 for j in c))
            col = self.table(tuple(j + 1 for c in node.support for j in c), "index")
            starts = [1]
            for c in node.support:
                starts.append(starts[-1] + len(c))
            start = self.table(tuple(starts), "index")

            def at(k: str) -> str:
                return term(self.elem(x, self.elem(col, k)), self.elem(w, k))

            begin = self.elem(start, "_i")
            init = at(begin)
            rest = self.positions(f"{begin} + 1", self.elem(start, "_i + 1"))
        value = self.fold(self.transform(rest, "_j", at("_j")), "_a", "_b", fold, init)
        if node.bias is not None:
            value = f"{value} + {self.elem(self.table(node.bias), '_i')}"
        return self.transform(self.positions("1", str(node.width + 1)), "_i", value)

    def reduce(self, node: ir.Reduce) -> str:
        v, w = self.expr(node.vec), node.vec.width
        if node.op == "sum":
            return self.fold(self.rest(v, w), "_a", "_b", "_a + _b", self.elem(v, "1"))
        if node.op == "max":  # NaN is the engine's maximum, as numpy's max propagates it
            return self.list_max(v)
        if node.op == "argmax":  # the first NaN, else the first maximum
            return f"({self.find(v, self.list_max(v))} - 1)"
        nan = self.any_of(v, "_e", self.NAN.format("_e"))
        if node.op == "min":
            return f"CASE WHEN {nan} THEN {self.number(math.nan)} ELSE {self.list_min(v)} END"
        return (f"(CASE WHEN {nan} THEN {self.find(v, self.number(math.nan))} "
                f"ELSE {self.find(v, self.list_min(v))} END - 1)")

    def compare(self, node: ir.Compare) -> str:
        a, b = self.expr(node.a), node.bound
        if node.op in (">", ">="):  # NaN > b holds in SQL engines; -NaN < -b does not
            return f"((-{a}) {'<' if node.op == '>' else '<='} {self.number(-b)})"
        return f"({a} {'=' if node.op == '==' else node.op} {self.number(b)})"

    def sum(self, node: ir.Sum) -> str:
        """The strict left fold: nested `+` when short; else an unparenthesized chain
        `a + b + c` (the same left fold, and a parenthesis costs the parser a level of
        depth) of the first `SUM_CHAIN_MAX` terms, the rest added by a `list_reduce` loop."""
        terms = [self.expr(t) for t in node.terms]
        if len(terms) <= SUM_NEST_MAX:
            acc = terms[0]
            for t in terms[1:]:
                acc = f"({acc} + {t})"
            return acc
        chain = max(self.SUM_CHAIN_MAX, 1)
        head = "(" + " + ".join(terms[:chain]) + ")" if chain > 1 else terms[0]
        rest = terms[chain:]
        return self.fold(self.list_of(rest), "_acc", "_x", "_acc + _x", head) if rest else head

    def argmax(self, node: ir.Argmax | ir.BoolIndex) -> str:
        return f"({self.index1(node)} - 1)"

    bool_index = argmax

    def item(self, node: ir.Item) -> str:
        vec = self.expr(node.vec)
        forest = self.forests.get(id(node.vec))
        if forest is not None:
            return forest.value(self, vec, node.k)
        if isinstance(node.vec, ir.Tree):
            if node.vec.width == 1:
                return vec  # width-1 trees return their value
            values = [self.number(node.vec.values[i][node.k]) for i in leaves(node.vec)]
            return self.elem(self.list_of(values), vec)
        return self.elem(vec, str(node.k + 1))

    def index1(self, node: ir.Expr) -> str:
        """A 1-based list position for an IR index node."""
        if id(node) not in self.names and isinstance(node, ir.Argmax):
            # first maximum; NaN is the engines' maximum and NaN = NaN: the first NaN wins
            terms = self.list_of([self.list_of([self.expr(t) for t in node.terms])])
            return self.elem(self.transform(terms, "_v", self.find("_v", self.list_max("_v"))),
                             "1")
        if id(node) not in self.names and isinstance(node, ir.BoolIndex):
            return f"CASE WHEN {self.expr(node.cond)} THEN 2 ELSE 1 END"
        return f"({self.expr(node)} + 1)"

    def in_set(self, node: ir.InSet) -> str:
        a = self.expr(node.a)
        if node.a.type == "string":  # NULL IN (...) is NULL: coalesce to the missing flag
            if not node.values:
                return f"({self.NULL.format(a)})" if node.missing else "false"
            items = ", ".join(self.string(v) for v in node.values)
            return f"coalesce({a} IN ({items}), {'true' if node.missing else 'false'})"
        values = [self.number(v) for v in node.values]
        if node.missing:
            values.append(self.number(math.nan))  # NaN = NaN in SQL engines
        return f"({a} IN ({', '.join(values)}))" if values else "false"

    def tree(self, tree: ir.Tree) -> str:
        """A walked tree (see `_Forest`) is the number of its leaf; a small one is nested
        CASE on `x <= bound` (NaN fails `<=` and goes right, as IEEE) returning its value
        where the tree has width 1, else the number of its leaf (see `leaves`): a CASE of
        lists costs twice a CASE of numbers. Where NaN goes left, `x` is the input's copy
        with NaN as -inf bound before the tree (`nan_low`), else `x <= bound OR isnan(x)`."""
        forest = self.forests.get(id(tree))
        if forest is not None:
            return forest.walk(self, tree)
        number_of = {node: i + 1 for i, node in enumerate(leaves(tree))}
        out: list[str] = []
        stack: list[int | str] = [0]
        while stack:
            node = stack.pop()
            if isinstance(node, str):
                out.append(node)
            elif tree.left[node] == -1:
                out.append(self.number(tree.values[node][0]) if tree.width == 1 else
                           str(number_of[node]))
            else:
                x = tree.inputs[tree.feature[node]]
                low = self.nan_low.get(id(x)) if tree.missing_left[node] else None
                xv = self.expr(x) if low is None else low
                test = f"{xv} <= {self.number(tree.bound[node])}"
                if tree.missing_left[node] and low is None:
                    test = f"({test} OR {self.NAN.format(xv)})"
                out.append(f"CASE WHEN {test} THEN ")
                stack += [" END", tree.right[node], " ELSE ", tree.left[node]]
        return "".join(out)


def leaves(tree: ir.Tree) -> list[int]:
    """The leaves of a tree in node order; a CASE tree of width > 1 returns 1 + the place
    of its leaf here."""
    return [i for i in range(len(tree.left)) if tree.left[i] == -1]


def walked(tree: ir.Tree, depth: int) -> bool:
    """Whether a tree of this depth is walked from node tables rather than nested CASE."""
    return depth > 0 and (depth > TREE_CASE_MAX_DEPTH
                          or len(tree.left) > CASE_MAX_NODES_PER_LEVEL * depth)


def nan_low(p: SqlPrinter, x: str) -> str:
    """`x` with NaN as -inf: `<= bound` then holds for NaN (left) and is exact otherwise."""
    return f"CASE WHEN {p.NAN.format(x)} THEN {p.number(-math.inf)} ELSE {x} END"


def nan_left_inputs(nodes: Iterable[ir.Expr]) -> list[ir.Expr]:
    """The inputs that a split of these trees sends left when NaN, once each."""
    found: dict[int, ir.Expr] = {}
    for t in nodes:
        if isinstance(t, ir.Tree):
            for i, ml in enumerate(t.missing_left):
                if ml and t.left[i] != -1:
                    found.setdefault(id(t.inputs[t.feature[i]]), t.inputs[t.feature[i]])
    return list(found.values())


def _list(values: list, kind: str) -> tuple[str, str]:
    """A constant list as a string literal of comma-separated numbers, and the type of its
    elements: the parser reads a long list of literals at about 2 MB/s but a string at
    memory speed, `string_split(...)::DOUBLE[]` is five times faster than casting a list
    literal, and DuckDB's cast reads doubles exactly (repr round-trips)."""
    return f"'{','.join(map(repr, values))}'", kind  # kind: "number" | "index"


class _Forest:
    """The walked trees that read one tuple of inputs, with their node tables concatenated.

    Nodes are numbered from 1 across the trees, each tree breadth-first so that a split's
    children are adjacent. A walk step is `n := c[n] + (x[g[n]] > b[n])::BIGINT`, where the
    row's list `x` holds the inputs, then each input that a NaN-left split reads with NaN
    replaced by -inf, then 0: DuckDB orders NaN above every number, so NaN passes `> b` and
    goes right, as IEEE's failing `x <= b`; as -inf it goes left; every other value compares
    exactly. A leaf steps to itself through the 0 (`0 > 0` is false), so a tree takes its
    depth in steps from its root, as a `list_reduce` loop, and ends on its leaf, whose value
    component k is `v_k[n]`. The tables are a CTE `_f` of one row, cast from strings in a
    VALUES row, so that DuckDB casts them once per query (a cast constant would be folded
    by the planner and then rebuilt, element by element, for every vector of rows) and
    joins that row to every input row. (A MATERIALIZED CTE does the same in DuckDB 2.0 but
    is evaluated once per row inside a macro by DuckDB 1.3.)
    """

    def __init__(self, index: int, inputs: tuple[ir.Expr, ...]):
        self.index, self.inputs = index, inputs
        self.trees: list[ir.Tree] = []
        self.root: dict[int, int] = {}
        self.depth: dict[int, int] = {}
        self.nan_left: list[int] = []
        self.lists: dict[str, tuple[str, str]] = {}

    def name(self, table: str) -> str:
        return f"_{table}{self.index}"

    @property
    def tables(self) -> dict[str, tuple[str, str]]:
        return {self.name(t): text for t, text in self.lists.items()}

    def build(self, cache: dict) -> None:
        """The node tables, or those of the same trees in an earlier macro."""
        done = cache.setdefault(("tables", *(id(t) for t in self.trees)), self)
        if done is not self:
            self.root, self.nan_left, self.lists = done.root, done.nan_left, done.lists
            return
        n = len(self.inputs)
        self.nan_left = sorted({t.feature[i] for t in self.trees
                                for i in range(len(t.left)) if t.missing_left[i]})
        slot = {f: n + j + 1 for j, f in enumerate(self.nan_left)}
        zero = n + len(self.nan_left) + 1
        width = max(t.width for t in self.trees)
        g: list[int] = []
        b: list[float] = []
        c: list[int] = []
        v: list[list[float]] = [[] for _ in range(width)]
        for t in self.trees:
            left, feature, bound, values = t.left, t.feature, t.bound, t.values
            order = breadth_first(t)
            number = [0] * len(left)
            for i, node in enumerate(order, start=len(g) + 1):
                number[node] = i
            self.root[id(t)] = len(g) + 1
            g += [zero if left[i] == -1 else slot[feature[i]] if t.missing_left[i]
                  else feature[i] + 1 for i in order]
            b += [0 if left[i] == -1 else bound[i] for i in order]
            c += [number[i] if left[i] == -1 else number[left[i]] for i in order]
            for k in range(width):
                v[k] += [values[i][k] if left[i] == -1 and k < len(values[i]) else 0
                         for i in order]
        self.lists = {"g": _list(g, "index"), "b": _list(b, "number"), "c": _list(c, "index")}
        for k, column in enumerate(v):
            self.lists[f"v{k}_"] = _list(column, "number")

    def row(self, p: SqlPrinter) -> str:
        """The row's list `x` (see the class)."""
        xs = [p.expr(i) for i in self.inputs]
        left = [nan_low(p, xs[f]) for f in self.nan_left]
        return p.list_of(xs + left + [p.number(0.0)])

    def walk(self, p: SqlPrinter, tree: ir.Tree) -> str:
        c, x, g, b = (self.name(t) for t in "cxgb")
        step = (f"{p.elem(c, '_n')} + "
                + p.from_bool(f"{p.elem(x, p.elem(g, '_n'))} > {p.elem(b, '_n')}"))
        root = p.cast(str(self.root[id(tree)]), "index")
        return p.fold(p.positions("1", str(self.depth[id(tree)] + 1)), "_n", "_i", step, root)

    def value(self, p: SqlPrinter, leaf: str, k: int) -> str:
        return p.elem(self.name(f"v{k}_"), leaf)


def forests(bound: list[ir.Expr], cache: dict) -> list[_Forest]:
    """The walked trees among the bound nodes, grouped by the inputs they read; `cache`
    keeps the tables built for earlier macros."""
    groups: dict[tuple[int, ...], _Forest] = {}
    for node in bound:
        if not isinstance(node, ir.Tree):
            continue
        if ("depth", id(node)) not in cache:
            cache["depth", id(node)] = tree_depth(node)
        depth = cache["depth", id(node)]
        if walked(node, depth):
            key = tuple(id(i) for i in node.inputs)
            forest = groups.setdefault(key, _Forest(len(groups), node.inputs))
            forest.trees.append(node)
            forest.depth[id(node)] = depth
    for forest in groups.values():
        forest.build(cache)
    return list(groups.values())


def define(printer: type[SqlPrinter], program: ir.Program, fname: str, roots: list[ir.Expr],
           idents: list[str], returns: str, result: Callable[[SqlPrinter], str],
           cache: dict | None = None) -> str:
    """One scoring function, `WITH <levels> SELECT <result>`, defined by the dialect's
    statement (see `SqlPrinter.definition`)."""
    refs: dict[int, str] = {}
    plan = schedule(roots)
    walks = forests(plan.bound, {} if cache is None else cache)
    p = printer(refs, {id(t): f for f in walks for t in f.trees})
    used = sorted({f.index: f for f in features_of(roots)}.values(), key=lambda f: f.index)
    for f in features_of(roots):
        refs[id(f)] = f"_in{f.index}"  # SQL names start with a letter
    bindings: list[tuple[str, list[tuple[str, str]]]] = []
    for lv, nodes in enumerate(plan.levels(), start=1):
        here = {id(n) for n in nodes}
        rows = [f for f in walks if any(id(t) in here for t in f.trees)]
        # the walked trees' row lists, and the NaN-left inputs of CASE trees with NaN as
        # -inf, bound before the trees that read them
        before = [(f.name("x"), f.row(p)) for f in rows]
        for x in nan_left_inputs(n for n in nodes if id(n) not in p.forests):
            if id(x) not in p.nan_low:
                p.nan_low[id(x)] = name = f"_nl{len(p.nan_low)}"
                before.append((name, nan_low(p, p.expr(x))))
        if before:
            bindings.append((f"_r{lv}", before))
        fields = {}
        for i, node in enumerate(nodes):
            fields[f"v{i}"] = "\n  " + p.expr(node, top=True)
            refs[id(node)] = f"_s{lv}.v{i}"
        bindings.append((f"_l{lv}", [(f"_s{lv}", p.struct(fields))]))
    value = result(p)  # printed before the tables: printing is what registers them
    tables = {name: t for f in walks for name, t in f.tables.items()}
    tables.update({name: _list(values, kind) for (_, kind), (name, values) in p.tables.items()})
    casts = [(name, p.split_list(text, kind)) for name, (text, kind) in tables.items()]
    inputs = {f"_in{f.index}": p.input(p.ident(idents[f.index]), f.kind) for f in used}
    params = [(p.ident(i), spec.kind) for i, spec in zip(idents, program.features)]
    return p.definition(fname, params, returns, p.query(casts, inputs, bindings, value))


def _checks(program: ir.Program, p: SqlPrinter, then: Callable[[str], str]) -> str:
    return "".join(f"WHEN {p.expr(c.fails)} THEN {then(p.string(c.message))}\n  "
                   for c in program.checks)


def output_function(printer: type[SqlPrinter], program: ir.Program, out: ir.Output, name: str,
                    idents: list[str], cache: dict | None = None) -> str:
    """The scoring function of one output: the first failing check raises, else the value."""

    def result(p: SqlPrinter) -> str:
        if out.shape == "label":
            value = p.elem(p.labels(program.classes), p.index1(out.values[0]))
        elif out.shape == "scalar":
            value = p.expr(out.values[0])
        else:
            value = p.list_of([p.expr(v) for v in out.values])
        checks = _checks(program, p, p.raise_)
        return f"CASE {checks}ELSE {value} END" if checks else value

    return define(printer, program, f"{name}_{out.name}", output_roots(program, out.name),
                  idents, printer.returns(program, out), result, cache)


def refusal_function(printer: type[SqlPrinter], program: ir.Program, name: str,
                     idents: list[str]) -> str:
    """NAME_refusal: the message of the first failing check, or NULL."""

    def result(p: SqlPrinter) -> str:
        none = p.cast("NULL", "string")
        checks = _checks(program, p, lambda m: m)
        return f"CASE {checks}ELSE {none} END" if checks else none

    return define(printer, program, f"{name}_refusal", [c.fails for c in program.checks],
                  idents, printer.TYPES["string"], result)


def emit_sql(printer: type[SqlPrinter], program: ir.Program, name: str, idents: list[str],
             header: str, filename: str) -> dict[str, str]:
    """{filename: one scoring function per output, and NAME_refusal}; `idents` are the
    parameters, one per feature in order."""
    if not _NAME.match(name):
        raise ValueError(f"{printer.target} target: model name {name!r} is not an SQL "
                         "identifier")
    if len(idents) != len(program.features):
        raise ValueError(f"{printer.target} target: one identifier per feature is needed")
    parts = [printer.comment(header) + "\n"]
    cache: dict = {}  # node tables, shared by the functions
    for out in program.outputs.values():
        parts.append("\n" + output_function(printer, program, out, name, idents, cache))
    parts.append("\n" + refusal_function(printer, program, name, idents))
    return {filename: "".join(parts)}


def emit(program: ir.Program, name: str, idents: list[str], header: str) -> dict[str, str]:
    """{NAME.sql: one DuckDB scoring macro per output, and NAME_refusal}."""
    return emit_sql(SqlPrinter, program, name, idents, header, f"{name}.sql")
