"""Python target: a standard-library-only module of straight-line scoring functions."""

from __future__ import annotations

from scorec.compiler import ir
from scorec.compiler.passes import collect_trees, features_of, output_roots, schedule, tree_depth

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


class _Printer:
    def __init__(self, program: ir.Program):
        self.program = program
        self.sets: dict[tuple, str] = {}
        self.trees: dict[int, str] = {}
        for i, tree in enumerate(collect_trees(program)):
            self.trees[id(tree)] = f"_tree{i}"

    def set_name(self, values: tuple) -> str:
        return self.sets.setdefault(values, f"_SET{len(self.sets)}")

    def expr(self, node: ir.Expr, names: dict[int, str], top: bool = False) -> str:
        name = None if top else names.get(id(node))
        if name is not None:
            return name
        e = lambda n: self.expr(n, names)  # noqa: E731
        if isinstance(node, ir.Feature):
            return f"f{node.index}"
        if isinstance(node, ir.Const):
            return number(node.value)
        if isinstance(node, ir.Text):
            return repr(node.value)
        if isinstance(node, ir.Arith):
            return f"({e(node.a)} {node.op} {e(node.b)})"
        if isinstance(node, ir.Neg):
            return f"(-{e(node.a)})"
        if isinstance(node, ir.Exp):
            return f"_exp({e(node.a)})"
        if isinstance(node, ir.IsMissing):
            a = e(node.a)
            return f"({a} is None)" if node.a.type == "string" else f"({a} != {a})"
        if isinstance(node, ir.Compare):
            op = "==" if node.op == "==" else node.op
            return f"({e(node.a)} {op} {number(node.bound)})"
        if isinstance(node, ir.InSet):
            a = e(node.a)
            parts = []
            if node.missing:
                parts.append(f"{a} is None" if node.a.type == "string" else f"{a} != {a}")
            if len(node.values) == 1:
                v = node.values[0]
                parts.append(f"{a} == {repr(v) if isinstance(v, str) else number(v)}")
            elif node.values:
                parts.append(f"{a} in {self.set_name(node.values)}")
            return "(" + " or ".join(parts) + ")" if parts else "False"
        if isinstance(node, ir.Not):
            return f"(not {e(node.a)})"
        if isinstance(node, ir.Or):
            return "(" + " or ".join(e(i) for i in node.items) + ")"
        if isinstance(node, ir.Select):
            return f"({e(node.then)} if {e(node.cond)} else {e(node.other)})"
        if isinstance(node, ir.Sum):
            return "(" + " + ".join(e(t) for t in node.terms) + ")"
        if isinstance(node, ir.Max):
            return "_max(" + ", ".join(e(t) for t in node.terms) + ")"
        if isinstance(node, ir.Argmax):
            return "_argmax(" + ", ".join(e(t) for t in node.terms) + ")"
        if isinstance(node, ir.BoolIndex):
            return f"(1 if {e(node.cond)} else 0)"
        if isinstance(node, ir.Item):
            return f"{e(node.vec)}[{node.k}]"
        if isinstance(node, ir.Tree):
            return f"{self.trees[id(node)]}(" + ", ".join(e(i) for i in node.inputs) + ")"
        raise TypeError(f"python target: no rendering for {type(node).__name__}")

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
        names = dict(sched.names)
        lines = [f"def {out.name}(row):", "    values = _inputs(row)"]
        used = sorted({n.index for n in features_of(output_roots(program, out.name))})
        for i in used:
            conv = "_str" if program.features[i].kind == "string" else "_num"
            lines.append(f"    f{i} = {conv}(values[{i}])")
        pending = list(program.checks)
        for node in sched.bound:
            lines.append(f"    {names[id(node)]} = {self.expr(node, names, top=True)}")
        for check in pending:
            lines.append(f"    if {self.expr(check.fails, names)}:")
            lines.append(f"        raise ValueError({check.message!r})")
        vals = [self.expr(v, names) for v in out.values]
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
        items = ", ".join(repr(v) if isinstance(v, str) else number(v) for v in values)
        head.append(f"{sname} = frozenset(({items},))")
    return "\n".join(head) + "\n" + _HELPERS + "\n\n" + "\n".join(body).rstrip() + "\n"
