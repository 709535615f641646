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
- very deep trees and long sums would pass the parser's expression depth limit: they
  become a `list_reduce` loop (a table-driven tree walk; the same strict left fold).

Besides the outputs, `NAME_refusal(<params>)` returns the message the macros would raise
for a row, or NULL: one refused row aborts a whole SQL query, so callers (and the
runtime) find such rows with it first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from scorec.compiler import ir
from scorec.compiler.passes import features_of, output_roots, schedule, tree_depth

from .printer import Printer

# DuckDB's parser stops at expression depth 1000; a CASE level costs about two.
TREE_CASE_MAX_DEPTH = 120
SUM_NEST_MAX = 100

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


class _Printer(Printer):
    """Prints IR nodes; `names` maps bound nodes (and features) to their let references."""

    target, NULL, OR = "sql", "{} IS NULL", " OR "
    number, string = staticmethod(number), staticmethod(text)
    # DuckDB: exp(1000) = inf, exp(nan) = nan; greatest() is NaN if any term is, as numpy
    TEMPLATES = {**Printer.TEMPLATES, ir.Not: "(NOT {a})", ir.Max: "greatest({terms})",
                 ir.Select: "CASE WHEN {cond} THEN {then} ELSE {other} END"}

    def compare(self, node: ir.Compare) -> str:
        a, b = self.expr(node.a), node.bound
        if node.op in (">", ">="):  # NaN > b holds in DuckDB; -NaN < -b does not
            return f"((-{a}) {'<' if node.op == '>' else '<='} {number(-b)})"
        return f"({a} {'=' if node.op == '==' else node.op} {number(b)})"

    def sum(self, node: ir.Sum) -> str:
        terms = [self.expr(t) for t in node.terms]
        if len(terms) > SUM_NEST_MAX:  # list_reduce is the same strict left fold
            return f"list_reduce([{', '.join(terms)}], lambda _acc, _x: _acc + _x)"
        acc = terms[0]
        for t in terms[1:]:
            acc = f"({acc} + {t})"
        return acc

    def argmax(self, node: ir.Argmax | ir.BoolIndex) -> str:
        return f"({self.index1(node)} - 1)"

    bool_index = argmax

    def item(self, node: ir.Item) -> str:
        vec = self.expr(node.vec)
        if isinstance(node.vec, ir.Tree) and node.vec.width == 1:
            return vec  # width-1 trees return their value
        return f"{vec}[{node.k + 1}]"

    def index1(self, node: ir.Expr) -> str:
        """A 1-based index (DuckDB lists) for an IR index node."""
        if id(node) not in self.names and isinstance(node, ir.Argmax):
            # first maximum; DuckDB's NaN is the maximum and NaN = NaN, so the first NaN wins
            terms = ", ".join(self.expr(t) for t in node.terms)
            return f"list_transform([[{terms}]], lambda _v: list_position(_v, list_max(_v)))[1]"
        if id(node) not in self.names and isinstance(node, ir.BoolIndex):
            return f"CASE WHEN {self.expr(node.cond)} THEN 2 ELSE 1 END"
        return f"({self.expr(node)} + 1)"

    def in_set(self, node: ir.InSet) -> str:
        a = self.expr(node.a)
        if node.a.type == "string":  # NULL IN (...) is NULL: coalesce to the missing flag
            if not node.values:
                return f"({self.NULL.format(a)})" if node.missing else "false"
            items = ", ".join(text(v) for v in node.values)
            return f"coalesce({a} IN ({items}), {'true' if node.missing else 'false'})"
        values = [number(v) for v in node.values]
        if node.missing:
            values.append(number(float("nan")))  # DuckDB: NaN = NaN
        return f"({a} IN ({', '.join(values)}))" if values else "false"

    def tree(self, tree: ir.Tree) -> str:
        """Nested CASE on `x <= bound` (DuckDB's NaN fails `<=` and goes right, as IEEE),
        returning the leaf's value list, or its value for width-1 trees."""
        if tree_depth(tree) > TREE_CASE_MAX_DEPTH:
            return self.tree_loop(tree, [self.expr(i) for i in tree.inputs])
        out: list[str] = []
        stack: list[int | str] = [0]
        while stack:
            node = stack.pop()
            if isinstance(node, str):
                out.append(node)
            elif tree.left[node] == -1:
                v = tree.values[node]
                out.append(number(v[0]) if tree.width == 1 else self.leaf(v))
            else:
                xv, b = self.expr(tree.inputs[tree.feature[node]]), number(tree.bound[node])
                test = f"{xv} <= {b}"
                if tree.missing_left[node]:
                    test = f"({test} OR isnan({xv}))"
                out.append(f"CASE WHEN {test} THEN ")
                stack += [" END", tree.right[node], " ELSE ", tree.left[node]]
        return "".join(out)

    @staticmethod
    def leaf(values: tuple[float, ...]) -> str:
        return "[" + ", ".join(number(v) for v in values) + "]"

    def tree_loop(self, tree: ir.Tree, x: list[str]) -> str:
        """A deep tree walked from tables: `depth` steps of `node := child(node)`, where
        a leaf is its own child; 1-based node numbers."""
        n = len(tree.left)
        leaf = [tree.left[i] == -1 for i in range(n)]
        lo = [i + 1 if leaf[i] else tree.left[i] + 1 for i in range(n)]
        hi = [i + 1 if leaf[i] else tree.right[i] + 1 for i in range(n)]
        nan = [lo[i] if tree.missing_left[i] else hi[i] for i in range(n)]
        ints = lambda v: "[" + ", ".join(map(str, v)) + "]"  # noqa: E731
        values = [self.leaf(v) if v else "NULL" for v in tree.values]
        if tree.width == 1:
            values = [number(v[0]) if v else "NULL" for v in tree.values]
        tables = (f"{{'x': [{', '.join(x)}], 'f': {ints([f + 1 for f in tree.feature])}, "
                  f"'b': [{', '.join(map(number, tree.bound))}], 'lo': {ints(lo)}, "
                  f"'hi': {ints(hi)}, 'm': {ints(nan)}}}")
        step = ("CASE WHEN isnan(_t.x[_t.f[_n]]) THEN _t.m[_n] "
                "WHEN _t.x[_t.f[_n]] <= _t.b[_n] THEN _t.lo[_n] ELSE _t.hi[_n] END")
        walk = (f"list_transform([{tables}], lambda _t: list_reduce(range({tree_depth(tree)}), "
                f"lambda _n, _i: {step}, 1))[1]")
        return f"[{', '.join(values)}][{walk}]"


def macro(program: ir.Program, fname: str, roots: list[ir.Expr], idents: list[str],
          result: Callable[[_Printer], str]) -> str:
    """`CREATE OR REPLACE MACRO fname(params) AS (WITH <levels> SELECT <result>);`"""
    refs: dict[int, str] = {}
    p = _Printer(refs)
    used = sorted({f.index: f for f in features_of(roots)}.values(), key=lambda f: f.index)
    inputs = [f"CAST({ident(idents[f.index])} AS VARCHAR)" if f.kind == "string" else
              f"coalesce(CAST({ident(idents[f.index])} AS DOUBLE), 'nan'::DOUBLE)" for f in used]
    for f in features_of(roots):
        refs[id(f)] = f"f{f.index}"
    ctes = [f"_l0 AS (SELECT * FROM (VALUES ({', '.join(inputs or ['0'])})) "
            f"_({', '.join([f'f{f.index}' for f in used] or ['_'])}))"]
    for lv, nodes in enumerate(schedule(roots).levels(), start=1):
        fields = []
        for i, node in enumerate(nodes):
            fields.append(f"  'v{i}': {p.expr(node, top=True)}")
            refs[id(node)] = f"_s{lv}.v{i}"
        ctes.append(f"_l{lv} AS (SELECT *, {{\n" + ",\n".join(fields) + f"\n}} AS _s{lv} "
                    f"FROM _l{lv - 1})")
    params = ", ".join(ident(i) for i in idents)
    return (f"CREATE OR REPLACE MACRO {fname}({params}) AS (\nWITH " + ",\n".join(ctes)
            + f"\nSELECT {result(p)}\nFROM _l{len(ctes) - 1});\n")


def _checks(program: ir.Program, p: _Printer, then: Callable[[str], str]) -> str:
    return "".join(f"WHEN {p.expr(c.fails)} THEN {then(text(c.message))}\n  "
                   for c in program.checks)


def output_macro(program: ir.Program, out: ir.Output, name: str, idents: list[str]) -> str:
    """The scoring macro of one output: the first failing check raises, else the value."""

    def result(p: _Printer) -> str:
        if out.shape == "label":
            value = f"{_label_list(program.classes)}[{p.index1(out.values[0])}]"
        elif out.shape == "scalar":
            value = p.expr(out.values[0])
        else:
            value = "[" + ", ".join(p.expr(v) for v in out.values) + "]"
        checks = _checks(program, p, lambda m: f"error({m})")
        return f"CASE {checks}ELSE {value} END" if checks else value

    return macro(program, f"{name}_{out.name}", output_roots(program, out.name), idents, result)


def refusal_macro(program: ir.Program, name: str, idents: list[str]) -> str:
    """NAME_refusal: the message of the first failing check, or NULL."""

    def result(p: _Printer) -> str:
        checks = _checks(program, p, lambda m: m)
        return f"CASE {checks}ELSE CAST(NULL AS VARCHAR) END" if checks else "CAST(NULL AS VARCHAR)"

    return macro(program, f"{name}_refusal", [c.fails for c in program.checks], idents, result)


def emit(program: ir.Program, name: str, idents: list[str], header: str) -> dict[str, str]:
    """{NAME.sql: one scoring macro per output, and NAME_refusal}; `idents` are the
    macro parameters, one per feature in order."""
    if not _NAME.match(name):
        raise ValueError(f"sql target: model name {name!r} is not an SQL identifier")
    if len(idents) != len(program.features):
        raise ValueError("sql target: one identifier per feature is needed")
    parts = [comment(header) + "\n"]
    for out in program.outputs.values():
        parts.append("\n" + output_macro(program, out, name, idents))
    parts.append("\n" + refusal_macro(program, name, idents))
    return {f"{name}.sql": "".join(parts)}
