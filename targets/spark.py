"""Spark SQL target: `CREATE OR REPLACE TEMPORARY FUNCTION NAME_<output>(...) RETURNS <type>
RETURN WITH ... SELECT ...;` per output, the same query the DuckDB macros are (targets/sql.py)
in Spark 4's spelling.

What differs from DuckDB, and how the printer keeps the IR's IEEE meaning:
- literals: `1.5D` is a DOUBLE (`1.5` a DECIMAL); NaN and infinities are `double('NaN')`,
  `double('Infinity')`; strings take backslash escapes, so `\\` and `'` are escaped;
- lists are arrays with 1-based `element_at`, lambdas are `x -> ...`, folds `aggregate`;
- Spark returns NULL where IEEE gives -inf or NaN (`ln(0)`, `log1p(-1)`, `log10(-1)`), and
  raises on `x / 0` in ANSI mode (NULL without it): such calls are guarded so the result is
  IEEE's in both modes; `floor`/`ceil` return BIGINT (and overflow), so they are computed
  on doubles;
- like DuckDB, Spark orders NaN above every number and has NaN = NaN, so comparisons are
  printed as in targets/sql.py;
- a refused row raises with `raise_error`, which is typed NULL inside CASE.
"""

from __future__ import annotations

import math

from scorec.compiler import ir

from .sql import SqlPrinter, emit_sql


def number(v: float) -> str:
    """A DOUBLE literal that reads back as exactly `v`."""
    v = float(v)
    if v != v:
        return "double('NaN')"
    if math.isinf(v):
        return "double('Infinity')" if v > 0 else "double('-Infinity')"
    text = repr(v) + "D"
    return f"({text})" if text.startswith("-") else text


def string(s: str) -> str:
    """A string literal: Spark reads backslash escapes, so `\\`, `'` and control
    characters are escaped (a control character as \\uXXXX)."""
    out = []
    for c in s:
        if c in "\\'":
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return "'" + "".join(out) + "'"


def ident(name: str) -> str:
    """A back-quoted identifier."""
    return "`" + name.replace("`", "``") + "`"


class SparkPrinter(SqlPrinter):
    target = "spark"
    number, string, ident = staticmethod(number), staticmethod(string), staticmethod(ident)
    TYPES = {"number": "DOUBLE", "index": "INT", "string": "STRING", "bool": "BOOLEAN"}
    FUNCS = {"log": "ln", "arctan": "atan", "arcsinh": "asinh", "sign": "signum",
             "abs": "abs", "rint": "rint"}
    SUM_CHAIN_MAX = 1  # long sums stay `aggregate` loops (the chain was measured on DuckDB)

    def lam(self, params: list[str], body: str) -> str:
        return f"{params[0] if len(params) == 1 else '(' + ', '.join(params) + ')'} -> {body}"

    def list_of(self, items: list[str]) -> str:
        return "array(" + ", ".join(items) + ")"

    def elem(self, lst: str, pos: str) -> str:
        return f"element_at({lst}, {pos})"

    def positions(self, lo: str, hi: str) -> str:
        # sequence(a, b) counts down when a > b: take the first hi - lo of lo..hi
        return f"slice(sequence({lo}, {hi}), 1, ({hi}) - ({lo}))"

    def transform(self, lst: str, var: str, body: str) -> str:
        return f"transform({lst}, {self.lam([var], body)})"

    def fold(self, lst: str, acc: str, var: str, body: str, init: str) -> str:
        return f"aggregate({lst}, {init}, {self.lam([acc, var], body)})"

    def keep(self, lst: str, var: str, cond: str) -> str:
        return f"filter({lst}, {self.lam([var], cond)})"

    def length(self, lst: str) -> str:
        return f"size({lst})"

    def ascending(self, lst: str) -> str:
        return f"array_sort({lst})"

    def first(self, lst: str, n: int) -> str:
        return f"slice({lst}, 1, {n})"

    def rest(self, lst: str, width: int) -> str:
        return f"slice({lst}, 2, {width - 1})"

    def pad(self, lst: str, n: int, fill: int) -> str:
        return f"concat({lst}, array_repeat({fill}, {n} - size({lst})))"

    def find(self, lst: str, value: str) -> str:
        return f"CAST(array_position({lst}, {value}) AS INT)"

    def list_max(self, lst: str) -> str:
        return f"array_max({lst})"

    def list_min(self, lst: str) -> str:
        return f"array_min({lst})"

    def any_of(self, lst: str, var: str, cond: str) -> str:
        return f"exists({lst}, {self.lam([var], cond)})"

    def struct(self, fields: dict[str, str]) -> str:
        return "named_struct(" + ", ".join(f"'{k}', {v}" for k, v in fields.items()) + ")"

    def query(self, tables: list[tuple[str, str]], inputs: dict[str, str],
              bindings: list[tuple[str, list[tuple[str, str]]]], value: str) -> str:
        """Each binding, and each constant table, is a lambda's argument,
        `element_at(transform(array(e), b -> ...), 1)`: Spark inlines a function's CTEs into
        one projection (OptimizeOneRowRelationSubquery collapses them whatever they cost),
        copying a column into every place that reads it. Values read many times (a softmax,
        an MLP's layers) grew exponentially, to out-of-memory in the optimizer, and a
        forest's node tables were copied into each of its trees' walks (100 copies of each
        table for 100 trees: out of memory serializing the task); a lambda's argument is
        computed once. (Lambdas run interpreted, not code-generated.)"""
        for _, columns in reversed(bindings):
            for name, expr in reversed(columns):
                value = f"element_at(transform(array({expr}), {name} -> {value}), 1)"
        for name, cast in reversed(tables):
            value = f"element_at(transform(array({cast}), {name} -> {value}), 1)"
        return f"WITH {self.inputs_cte(inputs, False)}\nSELECT {value}\nFROM _l0"

    def from_bool(self, cond: str) -> str:
        return f"CAST({cond} AS INT)"

    def raise_(self, message: str) -> str:
        return f"raise_error({message})"

    def split_list(self, literal: str, kind: str) -> str:
        return f"CAST(split({literal}, ',') AS ARRAY<{self.TYPES[kind]}>)"

    def labels(self, classes: tuple) -> str:
        kinds = {bool if isinstance(c, bool) else type(c) for c in classes}
        if kinds == {str}:
            return self.list_of([self.string(c) for c in classes])
        if kinds == {bool}:
            return self.list_of(["true" if c else "false" for c in classes])
        if kinds == {int}:
            if not all(-(2**63) <= c < 2**63 for c in classes):
                raise ValueError("spark target: a class label does not fit BIGINT")
            return self.list_of([f"{c}L" for c in classes])
        return self.list_of([self.number(float(c)) for c in classes])

    @classmethod
    def label_type(cls, classes: tuple) -> str:
        kinds = {bool if isinstance(c, bool) else type(c) for c in classes}
        return "BIGINT" if kinds == {int} else super().label_type(classes)

    @staticmethod
    def array_of(kind: str) -> str:
        return f"ARRAY<{kind}>"

    # ---- statements --------------------------------------------------------------------

    def inputs_cte(self, inputs: dict[str, str], tables: bool) -> str:
        columns = ", ".join(f"{v} AS {k}" for k, v in inputs.items()) or "0 AS _"
        return f"_l0 AS (SELECT {'*, ' if tables else ''}{columns}{' FROM _f' if tables else ''})"

    def definition(self, fname: str, params: list[tuple[str, str]], returns: str,
                   body: str) -> str:
        args = ", ".join(f"{p} {self.TYPES[kind]}" for p, kind in params)
        return (f"CREATE OR REPLACE TEMPORARY FUNCTION {fname}({args}) RETURNS {returns} "
                f"RETURN\n{body};\n")

    # ---- nodes whose Spark meaning differs ---------------------------------------------

    REPEATS_OPERAND = frozenset({"log", "log2", "log10", "log1p", "floor", "ceil", "trunc"})

    def guarded_func(self, fn: str, a: str) -> str:
        nan, inf = self.number(math.nan), self.number(math.inf)
        if fn in ("log", "log2", "log10", "log1p"):  # NULL at and below the pole
            pole = self.number(-1.0 if fn == "log1p" else 0.0)
            call = f"{self.FUNCS.get(fn, fn)}({a})"
            return (f"CASE WHEN {a} > {pole} THEN {call} WHEN {a} = {pole} THEN (-{inf}) "
                    f"ELSE {nan} END")  # NaN > pole holds: ln(NaN) is NaN
        if fn in ("floor", "ceil", "trunc"):  # BIGINT results, exact below 2**52
            whole = f"CAST({a} AS BIGINT)" if fn == "trunc" else f"{fn}({a})"
            return (f"CASE WHEN isnan({a}) OR abs({a}) >= {self.number(2.0**52)} THEN {a} "
                    f"ELSE CAST({whole} AS DOUBLE) END")
        if fn == "exp2":
            return f"pow({self.number(2.0)}, {a})"
        if fn == "float32":  # beyond float32's range the cast is an infinity, as IEEE's
            return f"CAST(CAST({a} AS FLOAT) AS DOUBLE)"
        if fn in ("expm1", "sign", "rint"):
            return f"{self.FUNCS.get(fn, fn)}({a})"
        return super().guarded_func(fn, a)

    def pow(self, node: ir.Pow) -> str:
        """Java's pow(1, NaN) and pow(-1, ±inf) are NaN; C's and numpy's are 1."""
        one = self.number(1.0)
        return self.let(self.expr(node.a), lambda a: self.let(self.expr(node.b), lambda b: (
            f"CASE WHEN {a} = {one} OR ({a} = (-{one}) AND abs({b}) = "
            f"{self.number(math.inf)}) THEN {one} ELSE pow({a}, {b}) END")))

    def arith(self, node: ir.Arith) -> str:
        """Division by a zero raises (ANSI) or is NULL: give IEEE's inf or NaN instead; a
        negative zero divisor is told by atan2(b, -1) = -pi."""
        a, b = self.expr(node.a), self.expr(node.b)
        if node.op != "/" or (isinstance(node.b, ir.Const) and node.b.value != 0.0):
            return f"({a} {node.op} {b})"
        return self.let(a, lambda a: self.let(b, lambda b: self.ieee_division(a, b)))

    def ieee_division(self, a: str, b: str) -> str:
        zero, nan, inf = self.number(0.0), self.number(math.nan), self.number(math.inf)
        negative = f"(atan2({b}, {self.number(-1.0)}) < {zero})"
        return (f"CASE WHEN {b} <> {zero} OR isnan({b}) THEN {a} / {b} "
                f"WHEN isnan({a}) OR {a} = {zero} THEN {nan} "
                f"WHEN ({a} > {zero}) <> {negative} THEN {inf} ELSE (-{inf}) END")


def emit(program: ir.Program, name: str, idents: list[str], header: str) -> dict[str, str]:
    """{NAME.spark.sql: one Spark SQL function per output, and NAME_refusal}."""
    return emit_sql(SparkPrinter, program, name, idents, header, f"{name}.spark.sql")
