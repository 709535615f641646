"""Python target: a standard-library-only module of straight-line scoring functions."""

from __future__ import annotations

from scorec.compiler import ir
from scorec.compiler.passes import collect_trees, features_of, output_roots, schedule, tree_depth

from .printer import Printer

# Python's parser refuses deeper nesting; deeper trees are walked from tables instead
TREE_CODE_MAX_DEPTH = 60


_HELPERS = '''
def _exp(x):
    try:
        return _math.exp(x)
    except OverflowError:
        return _INF


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


def _walk(x, feature, bound, missing_left, left, right, values):
    i = 0
    while left[i] != -1:
        v = x[feature[i]]
        if v != v:
            i = left[i] if missing_left[i] else right[i]
        elif v <= bound[i]:
            i = left[i]
        else:
            i = right[i]
    return values[i]


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


def number(v: float) -> str:
    """A literal that reads back as exactly `v`."""
    if v != v:
        return "_NAN"
    if v in (float("inf"), float("-inf")):
        return "_INF" if v > 0 else "(-_INF)"
    text = repr(float(v))
    return f"({text})" if text.startswith("-") else text


class _Printer(Printer):
    target, NULL, NAN, OR = "python", "{} is None", "({0} != {0})", " or "
    number, string = staticmethod(number), staticmethod(repr)
    TEMPLATES = {**Printer.TEMPLATES, ir.Feature: "f{index}", ir.Exp: "_exp({a})",
                 ir.Not: "(not {a})", ir.Select: "({then} if {cond} else {other})",
                 ir.Max: "_max({terms})", ir.Argmax: "_argmax({terms})",
                 ir.BoolIndex: "(1 if {cond} else 0)", ir.Item: "{vec}[{k}]"}

    def __init__(self, program: ir.Program):
        super().__init__()
        self.program = program
        self.sets: dict[tuple, str] = {}
        self.trees: dict[int, str] = {}
        for i, tree in enumerate(collect_trees(program)):
            self.trees[id(tree)] = f"_tree{i}"

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

    def tree(self, node: ir.Tree) -> str:
        return f"{self.trees[id(node)]}({self.join(node.inputs)})"

    def tree_function(self, tree: ir.Tree) -> list[str]:
        fname = self.trees[id(tree)]
        args = ", ".join(f"x{j}" for j in range(len(tree.inputs)))
        lines = [f"def {fname}({args}):"]
        if tree_depth(tree) > TREE_CODE_MAX_DEPTH:
            table = f"_T{fname[5:]}"
            lines.append(f"    return _walk(({args},), *{table})")
            bounds = ", ".join(map(number, tree.bound))
            leaves = ", ".join(self.leaf(v) for v in tree.values)
            lines.insert(0, f"{table} = ({tree.feature!r}, ({bounds},), {tree.missing_left!r}, "
                         f"{tree.left!r}, {tree.right!r}, ({leaves},))")
            return lines
        stack = [(0, 1)]
        while stack:
            node, depth = stack.pop()
            pad = "    " * depth
            if isinstance(node, str):
                lines.append(pad + node)
                continue
            if tree.left[node] == -1:
                lines.append(f"{pad}return {self.leaf(tree.values[node])}")
                continue
            x, b = f"x{tree.feature[node]}", number(tree.bound[node])
            first, second = tree.left[node], tree.right[node]
            if tree.missing_left[node]:  # NaN fails `x > b`: it takes the else branch, left
                test, first, second = f"{x} > {b}", second, first
            else:
                test = f"{x} <= {b}"
            lines.append(f"{pad}if {test}:")
            stack.append((second, depth + 1))
            stack.append(("else:", depth))
            stack.append((first, depth + 1))
        return lines

    @staticmethod
    def leaf(values: tuple[float, ...]) -> str:
        return "(" + ", ".join(number(v) for v in values) + ("," if len(values) == 1 else "") + ")"

    def function(self, out: ir.Output) -> list[str]:
        program = self.program
        sched = schedule(output_roots(program, out.name))
        self.names = dict(sched.names)
        lines = [f"def {out.name}(row):", "    values = _inputs(row)"]
        used = sorted({n.index for n in features_of(output_roots(program, out.name))})
        for i in used:
            conv = "_str" if program.features[i].kind == "string" else "_num"
            lines.append(f"    f{i} = {conv}(values[{i}])")
        pending = list(program.checks)
        for node in sched.bound:
            lines.append(f"    {self.names[id(node)]} = {self.expr(node, top=True)}")
        for check in pending:
            lines.append(f"    if {self.expr(check.fails)}:")
            lines.append(f"        raise ValueError({check.message!r})")
        vals = [self.expr(v) for v in out.values]
        if out.shape == "label":
            lines.append(f"    return CLASSES[{vals[0]}]")
        elif out.shape == "scalar":
            lines.append(f"    return {vals[0]}")
        else:
            lines.append("    return [" + ", ".join(vals) + "]")
        return lines


def emit(program: ir.Program, name: str, idents: list[str], header: str) -> dict[str, str]:
    """{NAME.py: source}; Python uses the features' own names (in FEATURES), so `idents`
    is not needed."""
    return {f"{name}.py": emit_python(program, header)}


def emit_python(program: ir.Program, header: str) -> str:
    """The source of a standard-library-only scoring module."""
    p = _Printer(program)
    body: list[str] = []
    for tree in collect_trees(program):
        body.extend(p.tree_function(tree))
        body.append("")
    for out in program.outputs.values():
        body.extend(p.function(out))
        body.append("")
        body.append("")
    head = [
        '"""' + header.replace("\\", "\\\\").replace('"""', "'''") + '"""',
        "",
        "import math as _math",
        "from collections.abc import Mapping as _Mapping",
        "",
        "_INF = _math.inf",
        "_NAN = _math.nan",
        f"FEATURES = {tuple(f.name for f in program.features)!r}",
        f"CLASSES = {tuple(program.classes)!r}",
    ]
    for values, sname in p.sets.items():
        items = ", ".join(p.literal(v) for v in values)
        head.append(f"{sname} = frozenset(({items},))")
    return "\n".join(head) + "\n" + _HELPERS + "\n\n" + "\n".join(body).rstrip() + "\n"
