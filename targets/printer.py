"""The expression printer every target subclasses: one dispatch over the IR, one place for
the renderings the languages share, so a target states only what its language spells
differently (as sqlglot has one generator per dialect over one expression tree).

A node is printed by the printer's method named after its class (`InSet` -> `in_set`),
else by its `TEMPLATES` entry, whose `{fields}` are the node's attributes: a target
overrides a rendering by a method or a template, and spells literals by `number` and
`string`.
"""

from __future__ import annotations

import keyword
import re
from functools import cache
from string import Formatter

from scorec.compiler import ir


@cache
def _method(cls: type) -> str:
    """The printer method for a node class: `IsMissing` -> `is_missing`, `Or` -> `or_`."""
    name = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()
    return name + "_" if keyword.iskeyword(name) else name


@cache
def _fields(template: str) -> tuple[str, ...]:
    """The template's field names, each once, in order."""
    return tuple(dict.fromkeys(f for _, f, _, _ in Formatter().parse(template) if f))


class Printer:
    """Prints IR nodes; `names` maps bound nodes (by id) to the name that refers to them."""

    target: str  # the language, for error messages
    NULL: str  # a missing-string test of "{}", unparenthesized
    OR: str  # the disjunction operator
    NAN = "isnan({})"  # a NaN test of "{}" that can stand as an operand
    # defaults, where most languages spell a node alike
    TEMPLATES: dict[type, str] = {
        ir.Arith: "({a} {op} {b})",
        ir.Neg: "(-{a})",
        ir.Pow: "pow({a}, {b})",
    }

    def __init__(self, names: dict[int, str] | None = None):
        self.names = {} if names is None else names
        # inside a Map body: how each operand's current element is spelled
        self.elements: list[str] | None = None

    @staticmethod
    def number(v: float) -> str:
        raise NotImplementedError

    @staticmethod
    def string(s: str) -> str:
        raise NotImplementedError

    def expr(self, node: ir.Expr, top: bool = False) -> str:
        """`node` as an expression; a bound node is its name, except at the `top` (where
        it is being bound)."""
        name = None if top else self.names.get(id(node))
        if name is not None:
            return name
        method = getattr(self, _method(type(node)), None)
        if method is not None:
            return method(node)
        if type(node) in self.TEMPLATES:
            return self.fill(self.TEMPLATES[type(node)], node)
        raise self.unhandled(node)

    def unhandled(self, node: ir.Expr, why: str = "") -> TypeError:
        return TypeError(f"{self.target} target: no rendering for {type(node).__name__}{why}")

    def fill(self, template: str, node: ir.Expr) -> str:
        """The template with each field printed in the order the template names it (printing
        can number tables): nodes printed, node tuples joined by ", ", the rest as str()."""
        parts = {}
        for f in _fields(template):
            v = getattr(node, f)
            parts[f] = self.expr(v) if isinstance(v, ir.Expr) else \
                self.join(v) if isinstance(v, tuple) else str(v)
        return template.format(**parts)

    def join(self, nodes: tuple[ir.Expr, ...], sep: str = ", ") -> str:
        return sep.join(self.expr(n) for n in nodes)

    def literal(self, v: str | float) -> str:
        return self.string(v) if isinstance(v, str) else self.number(v)

    def var(self, node: ir.Var) -> str:
        if self.elements is None:
            raise self.unhandled(node, " outside a map body")
        return self.elements[node.k]

    def map_body(self, node: ir.Map, elements: list[str]) -> str:
        """The map's body with each Var spelled as `elements[k]`."""
        outer, self.elements = self.elements, elements
        try:
            return self.expr(node.body)
        finally:
            self.elements = outer

    def const(self, node: ir.Const) -> str:
        return self.number(node.value)

    def text(self, node: ir.Text) -> str:
        return self.string(node.value)

    def compare(self, node: ir.Compare) -> str:
        return f"({self.expr(node.a)} {node.op} {self.number(node.bound)})"

    def is_missing(self, node: ir.IsMissing) -> str:
        a = self.expr(node.a)
        return f"({self.NULL.format(a)})" if node.a.type == "string" else self.NAN.format(a)

    def or_(self, node: ir.Or) -> str:
        return "(" + self.join(node.items, self.OR) + ")"

    def sum(self, node: ir.Sum) -> str:
        """Flat: Python and C group `a + b + c` as `(a + b) + c` and C may not regroup
        doubles (C99 5.1.2.3), so this is the left fold; nested parentheses instead would
        exceed clang's bracket depth (256) on large forests."""
        return "(" + self.join(node.terms, " + ") + ")"
