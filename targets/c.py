"""C99 target: NAME.h declares the input struct and the scoring functions, NAME.c defines
them as straight-line code over `static const` tables; no heap, no recursion, no globals
that change, and only <math.h>, <stddef.h> and (for text) <string.h>.

Every IR node is printed with its exact IEEE-754 double meaning: constants are hex
floats, `Sum` keeps its left-to-right grouping, trees are walked from node tables
(no recursion, no branch per node: a batch walks one tree at a time over a block of
rows, eight rows in lockstep so their memory reads overlap), and floating-point
contraction (fused multiply-add) is switched off, since it would change the rounding
of `a * b + c`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import numpy as np

from scorec.compiler import ir
from scorec.compiler.guards import Guard, needs_of, plan_guard
from scorec.compiler.passes import (
    all_roots,
    breadth_first,
    collect_trees,
    features_of,
    forests,
    nodes,
    output_roots,
    passed_checks,
    schedule,
    tree_depth,
    trees_of,
)

from .printer import Printer

# InSet chains longer than this become a sorted static table and a binary search
SET_TABLE_MIN = 8
# a run of NaN/infinity checks over at least this many numbers goes behind a guard
GUARD_MIN = 4
# tree walks advanced together (16 hides the load latency of a step on x86-64: 8 lanes
# ran 20% slower); batches walk trees over blocks of at most BLOCK_MAX rows, sized to
# BLOCK_STACK bytes of scratch (inputs, leaf indices, sums), and at least LANES rows
# while that takes at most LANES_STACK bytes (below that, row by row)
LANES = 16
BLOCK_MAX = 64
BLOCK_STACK = 96 * 1024
LANES_STACK = 160 * 1024
# a dense matrix product's outputs are computed in whole vectors of this many doubles,
# UNROLL columns per pass over them
VECTOR_PAD = 4
UNROLL = 4
# sizeof of the node layouts ("" wide, "32" compact), which the generated code asserts
NODE_BYTES = {"": 16, "32": 8}

# numpy's name -> C99's, where they differ
_C_FUNCS = {"abs": "fabs", "arctan": "atan", "arcsinh": "asinh"}

_CTYPE = {"number": "double ", "string": "char *const ", "bool": "int ", "index": "int "}

# GCC 12 at -O2 drops the float rounding of `(float)(a + b)` pairs that its SLP vectoriser
# packs together (two float32 results side by side came back unrounded): SLP is off too
_PRAGMAS = """\
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off", "no-tree-slp-vectorize")
#endif"""


def number(v: float) -> str:
    """A double literal that reads back as exactly `v` (hex float where not an integer)."""
    v = float(v)
    if v != v:
        return "NAN"
    if math.isinf(v):
        return "INFINITY" if v > 0 else "(-INFINITY)"
    if v.is_integer() and abs(v) < 2.0**53:
        text = repr(v)  # short and exact: "3.0", "-12.0", "-0.0"
    else:
        text = v.hex()
    return f"({text})" if text.startswith("-") else text


def string(text: str) -> str:
    """A C string literal of `text`'s UTF-8 bytes: anything but plain printable ASCII
    (and `"`, `\\`, `?`, which could start a trigraph) as a 3-digit octal escape."""
    out = []
    for b in text.encode("utf-8", "surrogatepass"):
        c = chr(b)
        out.append(c if 0x20 <= b < 0x7F and c not in '"\\?' else f"\\{b:03o}")
    return '"' + "".join(out) + '"'


def comment(text: str) -> str:
    """Text safe inside /* ... */: printable ASCII only (escapes for the rest), and no
    `*/`, `/*` or `??` (a trigraph) can form."""
    safe = "".join(c if " " <= c <= "~" else ascii(c)[1:-1] for c in str(text))
    return re.sub(r"[*/?](?=[*/?])", r"\g<0> ", safe)


def _text_bytes(v: str) -> bytes:
    return v.encode("utf-8", "surrogatepass")


def _text_key(node: ir.Expr) -> object:
    """Which text a node is: a column is one text however many Feature nodes read it."""
    return ("feature", node.index) if isinstance(node, ir.Feature) else id(node)


def _float(v: float) -> str:
    """A float literal of the float32 value that v rounds to."""
    f = float(np.float32(v))
    if math.isinf(f):
        return "INFINITY" if f > 0 else "(-INFINITY)"
    text = (repr(f) if f.is_integer() else f.hex()) + "f"
    return f"({text})" if text.startswith("-") else text


def _most_nodes(forest: list[ir.Tree]) -> int:
    return max(len(t.left) for t in forest)


def _compact(forest: list[ir.Tree]) -> bool:
    """Can this forest use the compact node (float bound, 16-bit child and input)? When
    every bound B is the top of a float32 rounding interval, `x <= B` is exactly
    `(float)x <= (float)B` (sklearn's own float32 split), and the walk reads half the
    bytes."""
    if 3 * len(forest[0].inputs) >= 2**16 or _most_nodes(forest) >= 2**16:
        return False
    bounds = np.array([b for t in forest for b, left in zip(t.bound, t.left) if left != -1])
    with np.errstate(all="ignore"):
        f = bounds.astype(np.float32)
        above = np.nextafter(bounds, np.inf).astype(np.float32)
    return bool(np.all((above > f) | np.isposinf(bounds)))


def _child_unit(forest: list[ir.Tree], kind: str) -> int:
    """Bytes per unit of a stored child: 1 (a byte offset), or the node size where a byte
    offset would not fit the compact node's 16 bits."""
    size = NODE_BYTES[kind]
    return size if kind and _most_nodes(forest) * size >= 2**16 else 1


@dataclass(frozen=True)
class _Fold:
    """A left fold of tree leaves in `node`: `start` (or the first term), then + each
    term's leaf value in order, each partial sum rounded to float32 where `float32`
    (XGBoost's running margin). One row's fold is a chain of dependent additions, one per
    tree; a batch computes the folds tree by tree over its block, so its rows' chains run
    side by side. The arithmetic of each row is unchanged."""

    node: ir.Expr
    start: ir.Const | None
    terms: tuple[ir.Item, ...]
    float32: bool


def _float32_step(node: ir.Expr) -> tuple[ir.Expr, ir.Expr] | None:
    """(sum, term) of `Item(Pack((float32(sum + term),)), 0)`, a float32 running sum's step."""
    if isinstance(node, ir.Item) and isinstance(node.vec, ir.Pack) and len(node.vec.items) == 1:
        f = node.vec.items[0]
        if isinstance(f, ir.Func) and f.fn == "float32" and isinstance(f.a, ir.Arith) \
                and f.a.op == "+":
            return f.a.a, f.a.b
    return None


def _folds(roots: list[ir.Expr], walked: set[int], force: frozenset[int]) -> list[_Fold]:
    """The folds of at least two leaves of walked trees in these expressions, but for those
    whose partial sums a guard tests (they stay named one by one)."""
    def leaf(node: ir.Expr) -> bool:
        return isinstance(node, ir.Item) and id(node.vec) in walked

    order = nodes(roots, into_trees=False)
    steps: dict[int, tuple[ir.Expr, ir.Expr]] = {}
    for n in order:
        step = _float32_step(n)
        if step and leaf(step[1]) and (isinstance(step[0], ir.Const) or id(step[0]) in steps):
            steps[id(n)] = step
    inner = {id(total) for total, _ in steps.values()}
    found = []
    for n in order:
        if isinstance(n, ir.Sum):
            start = n.terms[0] if isinstance(n.terms[0], ir.Const) else None
            terms = n.terms[1:] if start else n.terms
            if len(terms) > 1 and all(leaf(t) for t in terms):
                found.append(_Fold(n, start, terms, False))
        elif id(n) in steps and id(n) not in inner:
            chain, total = [], n
            while id(total) in steps:
                total, term = steps[id(total)]
                chain.append(term)
            if len(chain) > 1:
                found.append(_Fold(n, total, tuple(reversed(chain)), True))
    return [f for f in found
            if not any(id(x) in force for x in nodes([f.node], into_trees=False)[:-1])]


def _guarded(runs: list[tuple[list[ir.Check], Guard | None]]) -> frozenset[int]:
    """The nodes the runs' guards test: they must be bound by name."""
    return frozenset(id(g) for _, guard in runs if guard for g in guard.nodes)


class _Printer(Printer):
    """Prints expressions and functions; collects the tables and helpers they use."""

    target, NULL, OR = "c", "{} == NULL", " || "
    number, string = staticmethod(number), staticmethod(string)
    TEMPLATES = {**Printer.TEMPLATES, ir.Not: "(!{a})", ir.Select: "({cond} ? {then} : {other})",
                 ir.BoolIndex: "({cond} ? 1 : 0)"}

    def __init__(self, program: ir.Program, prefix: str, idents: list[str]):
        super().__init__()
        self.program, self.p, self.idents = program, prefix, idents
        self.forests = forests(collect_trees(program))  # numbered forest by forest
        self.trees = {id(t): i for i, t in enumerate(t for f in self.forests for t in f)}
        self.forest_of = {id(t): g for g, f in enumerate(self.forests) for t in f}
        self.layout = ["32" if _compact(f) else "" for f in self.forests]
        self.unit = [_child_unit(f, k) for f, k in zip(self.forests, self.layout)]
        self.sets: dict[tuple, str] = {}
        self.consts: dict[tuple, str] = {}  # (C type, values) -> static table name
        self.members: dict[tuple, str] = {}
        self.helpers: set[str] = set()
        self.walkers: dict[str, tuple] = {}  # helper -> _walk's arguments
        self.uses_strcmp = False
        # per text input: every category any test compares it with, in strcmp order
        found: dict[object, set[str]] = {}
        for n in nodes(all_roots(program)):
            if isinstance(n, ir.InSet) and n.a.type == "string":
                found.setdefault(_text_key(n.a), set()).update(
                    v for v in n.values if "\0" not in v)  # a C string ends at a NUL
        self.categories = {k: tuple(sorted(v, key=_text_bytes)) for k, v in found.items() if v}
        self.cats: dict[object, str] = {}  # per function: category index variables
        self.facts = passed_checks(program)

    def use(self, helper: str) -> str:
        self.helpers.add(helper)
        return f"{self.p}_{helper}"

    def walker(self, over: str, g: int) -> str:
        """The function that walks forest g's trees over a block of rows or for one row
        (see `_walk`). A row walker is specific to the forest's number of input slots; a
        tree walker to its lanes: the trees split evenly into groups of at most LANES."""
        kind, nx, n, unit = self.layout[g], self.slots(g), len(self.forests[g]), self.unit[g]
        lanes = LANES if over == "rows" else -(-n // -(-n // LANES))
        helper = f"walk_{over}{kind}_{nx if over == 'rows' else lanes}" + \
            (f"_in{unit}" if unit > 1 else "")
        self.walkers[helper] = (over, kind, nx, lanes, unit)
        return self.use(helper)

    def set_table(self, values: tuple) -> str:
        return self.sets.setdefault(values, f"{self.p}_set{len(self.sets)}")

    def find_text(self, a: str, key: object) -> str:
        """The index of text `a` among its input's categories, -1 for any other text."""
        self.uses_strcmp = True
        table = self.set_table(self.categories[key])
        return f"{self.use('find_text')}({a}, {table}, {table}_start)"

    def bind(self, sched, roots: list[ir.Expr], into_trees: bool) -> list[str]:
        """The lines binding `sched`'s nodes in order; a text input compared with its
        categories is looked up once, right where it is known, into `c<k>`."""
        lookups = {}
        for n in nodes(roots, into_trees):
            if isinstance(n, ir.InSet) and n.a.type == "string" and n.values and \
                    (isinstance(n.a, ir.Feature) or id(n.a) in self.names) and \
                    _text_key(n.a) in self.categories:
                lookups.setdefault(_text_key(n.a), n.a)
        self.cats, lines = {}, []

        def look_up(key: object) -> None:
            var = self.cats[key] = f"c{len(self.cats)}"
            lines.append(f"    const int {var} = {self.find_text(self.expr(lookups[key]), key)};")

        for key, a in lookups.items():
            if isinstance(a, ir.Feature):
                look_up(key)
        for node in sched.bound:
            name = self.names[id(node)]
            if isinstance(node, ir.Tree):
                t = self.trees[id(node)]
                lines.append(f"    const double *const {name} = {self.p}_leaf{t}[leaf[{t}]];")
            elif node.type == "vector":
                lines += self.vector_lines(node, name)
            else:
                lines.append(f"    const {_CTYPE[node.type]}{name} = "
                             f"{self.expr(node, top=True)};")
            if _text_key(node) in lookups:
                look_up(_text_key(node))
        return lines

    def member_table(self, size: int, members: tuple[int, ...]) -> str:
        """A table of size + 1 flags, t[i + 1] = 1 for the members i (t[0]: index -1)."""
        key = (size, members)
        return self.members.setdefault(key, f"{self.p}_member{len(self.members)}")

    def feature(self, node: ir.Feature) -> str:
        return f"in->{self.idents[node.index]}"

    def in_set(self, node: ir.InSet) -> str:
        a, text = self.expr(node.a), node.a.type == "string"
        parts = []
        if node.missing:
            parts.append((self.NULL if text else self.NAN).format(a))
        if text:
            key = _text_key(node.a)
            table = self.categories.get(key, ())
            found = tuple(sorted({table.index(v) for v in node.values if "\0" not in v}))
            var = self.cats.get(key)
            if found and var is not None and len(found) <= 4:
                parts.extend(f"{var} == {i}" for i in found)
            elif found:
                c = var if var is not None else self.find_text(a, key)
                parts.append(f"{self.member_table(len(table), found)}[{c} + 1]")
        elif len(node.values) >= SET_TABLE_MIN:
            key = tuple(sorted(set(node.values), key=float))
            parts.append(f"{self.use('in_number')}({a}, {self.set_table(key)}, {len(key)})")
        else:
            parts.extend(f"{a} == {number(v)}" for v in node.values)
        return "(" + self.OR.join(parts) + ")" if parts else "0"

    def table(self, values: tuple, ctype: str = "double") -> str:
        """A static const table of `values` (numbers, or rows of numbers), shared by value."""
        key = (ctype, repr(values))  # repr: -0.0 and 0.0 (or 1 and 1.0) are other tables
        return self.consts.setdefault(key, (f"{self.p}_k{len(self.consts)}", values))[0]

    def func(self, node: ir.Func) -> str:
        a = self.expr(node.a)
        if node.fn == "sign":
            return f"{self.use('sign')}({a})"
        if node.fn == "float32":
            return f"((double)(float)({a}))"
        return f"{_C_FUNCS.get(node.fn, node.fn)}({a})"

    def bucket(self, node: ir.Bucket) -> str:
        edges = self.table(tuple(node.edges))
        return (f"{self.use('bucket')}({self.expr(node.a)}, {edges}, {len(node.edges)}, "
                f"{int(node.right)})")

    def lookup(self, node: ir.Lookup) -> str:
        ctype = "int" if node.type == "index" else "double"
        return f"{self.table(tuple(node.table), ctype)}[(int)({self.expr(node.index)})]"

    def reduce(self, node: ir.Reduce) -> str:
        return f"{self.use(node.op)}({self.expr(node.vec)}, {node.vec.width})"

    def vector_lines(self, node: ir.Expr, name: str) -> list[str]:
        """The statements computing vector `node` into a local array `name`."""
        w = node.width
        if isinstance(node, ir.Pack):
            return [f"    const double {name}[{w}] = {{{self.join(node.items)}}};"]
        if isinstance(node, ir.Map):
            ops = [self.table(tuple(o)) if isinstance(o, tuple) else self.expr(o)
                   for o in node.operands]
            body = self.map_body(node, [f"{o}[i]" for o in ops])
            return [f"    double {name}[{w}];",
                    f"    {{ int i; for (i = 0; i < {w}; ++i) {name}[i] = {body}; }}"]
        if isinstance(node, ir.MatVec):
            return self.mat_vec_lines(node, name)
        if isinstance(node, ir.KSmallest):
            return self.k_smallest_lines(node, name)
        raise self.unhandled(node)

    def k_smallest_lines(self, node: ir.KSmallest, name: str) -> list[str]:
        """An insertion into a sorted array of at most k positions: a value moves only past
        strictly greater ones, so ties keep position order, and a value equal to the
        current k-th is not taken."""
        v, k = self.expr(node.vec), node.k
        return [f"    double {name}[{k}] = {{0}};", "    {", "        int i, j, n = 0;",
                f"        for (i = 0; i < {node.vec.width}; ++i) {{",
                f"            const double x = {v}[i];",
                "            if (!(x < INFINITY)) continue;",
                f"            if (n == {k}) {{ if (!(x < {v}[(int){name}[{k - 1}]])) continue; "
                f"j = {k - 1}; }}",
                "            else j = n++;",
                f"            for (; j > 0 && x < {v}[(int){name}[j - 1]]; --j) "
                f"{name}[j] = {name}[j - 1];",
                f"            {name}[j] = i;", "        }",
                f"        for (; n < {k}; ++n) {name}[n] = {node.fill};", "    }"]

    def at(self, node: ir.At) -> str:
        return f"{self.expr(node.vec)}[(int)({self.expr(node.index)})]"

    def mat_vec_lines(self, node: ir.MatVec, name: str) -> list[str]:
        """A dense matrix is stored transposed and applied column by column: each output
        still adds its terms in order j = 0, 1, ..., and the inner loop over outputs has
        no dependency between iterations, so the compiler can vectorize it (at -O2, GCC
        does only when no scalar remainder is left: the outputs are padded with zero rows
        to a multiple of VECTOR_PAD, computed and never read). A sparse one (support) is
        stored by rows, with its column indices."""
        x, m = self.expr(node.x), node.width
        if node.support is None and m >= VECTOR_PAD:  # zero rows up to whole vectors
            m += -m % VECTOR_PAD
        pad = (0.0,) * (m - node.width)

        def term(a: str, w: str) -> str:
            return {"mul": f"{a} * {w}", "sqdiff": f"({a} - {w}) * ({a} - {w})",
                    "absdiff": f"fabs({a} - {w})"}[node.op]

        def step(acc: str, t: str) -> str:
            if node.reduce == "sum":
                return f"{acc} += {t};"
            return f"{{ const double t = {t}; if (!(isnan({acc}) || t <= {acc})) {acc} = t; }}"

        lines = [f"    double {name}[{m}];", "    {"]
        if node.support is None:
            n = len(node.matrix[0])
            cols = self.table(tuple(tuple(node.matrix[i][j] for i in range(node.width)) + pad
                                    for j in range(n)))
            first = term(f"{x}[0]", f"{cols}[0][i]")
            lines += ["        int i, j = 1;",
                      f"        for (i = 0; i < {m}; ++i) {name}[i] = {first};"]
            if n > UNROLL:  # UNROLL columns per pass: an output is loaded and stored once
                body = " ".join(step("a", term(f"{x}[j + {u}]", f"{cols}[j + {u}][i]"))
                                for u in range(UNROLL))
                lines += [f"        for (; j + {UNROLL - 1} < {n}; j += {UNROLL})",
                          f"            for (i = 0; i < {m}; ++i) "
                          f"{{ double a = {name}[i]; {body} {name}[i] = a; }}"]
            lines += [f"        for (; j < {n}; ++j)",
                      f"            for (i = 0; i < {m}; ++i) "
                      + step(f"{name}[i]", term(f"{x}[j]", f"{cols}[j][i]"))]
        else:
            flat = tuple(node.matrix[i][j] for i, c in enumerate(node.support) for j in c)
            index = tuple(j for c in node.support for j in c)
            starts = [0]
            for c in node.support:
                starts.append(starts[-1] + len(c))
            w, col, start = (self.table(flat), self.table(index, "int"),
                             self.table(tuple(starts), "int"))
            first = term(f"{x}[{col}[{start}[i]]]", f"{w}[{start}[i]]")
            lines += ["        int i, k;",
                      f"        for (i = 0; i < {m}; ++i) {{",
                      f"            double s = {first};",
                      f"            for (k = {start}[i] + 1; k < {start}[i + 1]; ++k) "
                      + step("s", term(f"{x}[{col}[k]]", f"{w}[k]")),
                      f"            {name}[i] = s;", "        }"]
        if node.bias is not None:
            lines.append(f"        {{ int b; for (b = 0; b < {m}; ++b) "
                         f"{name}[b] += {self.table(tuple(node.bias) + pad)}[b]; }}")
        return lines + ["    }"]

    def max(self, node: ir.Max | ir.Argmax) -> str:
        helper = self.use(type(node).__name__.lower())
        return f"{helper}((const double[]){{{self.join(node.terms)}}}, {len(node.terms)})"

    argmax = max

    def item(self, node: ir.Item) -> str:
        if id(node.vec) not in self.names:  # trees are always bound: their leaf row
            raise self.unhandled(node, " of an unnamed vector")
        return f"{self.names[id(node.vec)]}[{node.k}]"

    def tree_tables(self, tree: ir.Tree) -> list[str]:
        """The nodes in breadth-first order, so that a split's children are neighbours;
        each holds its bound, its left child (as a byte offset, see `_walk`) and the input
        slot it reads (see `slots`):
        the walk goes right exactly when slot > bound. A leaf loops to itself (bound +inf),
        so every walk takes the tree's depth in steps, without a branch. Leaf values are
        kept apart, by node, so the walk's hot data stays small."""
        g = self.forest_of[id(tree)]
        nx = len(tree.inputs)
        order = breadth_first(tree)
        new = {old: j for j, old in enumerate(order)}
        nodes, leaves = [], []
        bound = _float if self.layout[g] else number
        size = NODE_BYTES[self.layout[g]] // self.unit[g]
        for j, i in enumerate(order):
            if tree.left[i] == -1:
                nodes.append(f"{{INFINITY, {j * size}, 1}}")
                leaves.append("{" + ", ".join(number(v) for v in tree.values[i]) + "}")
                continue
            f, b, nan_left = tree.feature[i], tree.bound[i], tree.missing_left[i]
            if b == math.inf and not nan_left:  # only a missing value goes right
                slot, text = 2 * nx + f, bound(0.5)
            else:
                slot, text = 2 * f + int(nan_left), bound(b)
            nodes.append(f"{{{text}, {new[tree.left[i]] * size}, {slot}}}")
            leaves.append("{0}")
        t = self.trees[id(tree)]
        return [f"static const {self.p}_node{self.layout[g]} {self.p}_tree{t}[{len(nodes)}] = {{",
                *(f"    {r}," for r in nodes), "};",
                f"static const double {self.p}_leaf{t}[{len(leaves)}][{tree.width}] = {{",
                *(f"    {r}," for r in leaves), "};"]

    def slots(self, g: int) -> int:
        """How many input slots a row of forest g has. Slot 2k is input k with a missing
        value as +inf (above every bound: it goes right), slot 2k + 1 with it as -inf (it
        goes left); where a bound is +inf and a missing value goes right, slot 2n + k
        is 1 for a missing input k, else 0."""
        forest = self.forests[g]
        nx = len(forest[0].inputs)
        only_nan = any(b == math.inf and not ml and left != -1 for t in forest
                       for b, ml, left in zip(t.bound, t.missing_left, t.left))
        return 3 * nx if only_nan else 2 * nx

    def inputs_function(self, g: int, inputs: tuple[ir.Expr, ...]) -> list[str]:
        """Forest g's inputs, computed once per row into x (read at every split); an input
        may read the leaf of a tree of an earlier forest (a tree stacked on trees), which
        the row's `leaf` holds: forests are walked in order."""
        sched = schedule(list(inputs), prefix="u", into_trees=False)
        self.names = dict(sched.names)
        real, nx = ("float" if self.layout[g] else "double"), len(inputs)
        lines = [f"static void {self.p}_inputs{g}(const {self.p}_input *in, const int *leaf, "
                 f"{real} *x)", "{"]
        if not features_of(list(inputs), into_trees=False):
            lines.append("    (void)in;")
        if not any(isinstance(n, ir.Tree) for n in sched.bound):
            lines.append("    (void)leaf;")
        lines += self.bind(sched, list(inputs), into_trees=False)
        put = self.use("put" + self.layout[g])
        lines += [f"    {put}(x + {2 * k}, {self.expr(n)});" for k, n in enumerate(inputs)]
        if self.slots(g) > 2 * nx:  # the two slots of an input differ only when it is missing
            lines += [f"    x[{2 * nx + k}] = x[{2 * k}] != x[{2 * k + 1}];" for k in range(nx)]
        return lines + ["}", ""]

    def folds(self, out: ir.Output) -> list[_Fold]:
        """The tree-leaf folds of output `out` (see `_Fold`)."""
        return _folds(output_roots(self.program, out.name), set(self.trees),
                      _guarded(self.check_runs(list(out.values))))

    def function(self, out: ir.Output, signature: str, width: str | None,
                 folds: list[_Fold] = ()) -> list[str]:
        """The per-row scoring function: bind shared nodes (a tree is its leaf's value
        row, `leaf` holding where each tree's walk ended; fold i is `acc[i]`, computed by
        the caller), run the checks in order, then write the outputs."""
        program = self.program
        roots = output_roots(program, out.name)
        runs = self.check_runs(list(out.values))
        force = _guarded(runs)
        given = frozenset(id(f.node) for f in folds)
        sched = schedule(roots, into_trees=False, force=force, given=given)
        self.names = dict(sched.names)
        self.names.update({id(f.node): f"acc[{i}]" for i, f in enumerate(folds)})
        lines = [signature, "{"]
        if not features_of(roots, into_trees=False, given=given):
            lines.append("    (void)in;")
        if folds and not any(isinstance(n, ir.Tree) for n in sched.bound):
            lines.append("    (void)leaf;")
        lines += self.bind(sched, roots, into_trees=False)
        if program.checks:
            lines.append("    int status;")
        lines += self.check_lines(runs)
        values = [self.expr(v) for v in out.values]
        if out.shape == "label" and program.task == "anomaly":  # the label itself: -1 or 1
            values = [f"{self.use('LABELS')}[{values[0]}]"]
        if width is None:
            lines.append(f"    *out = {values[0]};")
        else:
            lines.extend(f"    out[{k}] = {v};" for k, v in enumerate(values))
        lines.append("    return 0;")
        if program.checks:
            labels = out.shape == "label" or all(v.type == "index" for v in out.values)
            fill = "NAN" if not labels else "0" if program.task == "anomaly" else "-1"
            lines.append("refused:")
            if width is None:
                lines.append(f"    *out = {fill};")
            else:
                lines.extend(f"    out[{k}] = {fill};" for k in range(len(values)))
            lines.append("    return status;")
        lines.append("}")
        return lines

    def fold_function(self, name: str, folds: list[_Fold]) -> list[str]:
        """`name(leaf, m, acc)`: the folds of m rows (leaf indices n_trees apart, sums
        len(folds) apart), a tree at a time for every row, in each fold's order. The
        terms are a table walked by one loop (a loop per term took GCC minutes)."""
        nf, nt, p = len(folds), len(self.trees), self.p
        init, terms = [], []  # terms: (tree, fold, float32, leaf column, leaf width)
        for i, fold in enumerate(folds):
            items = list(fold.terms)
            if fold.start is None:
                first = items.pop(0)
                t = self.trees[id(first.vec)]
                value = f"{p}_leaf{t}[leaf[r * {nt} + {t}]][{first.k}]"
            else:
                value = number(fold.start.value)
            init.append(f"        acc[r * {nf} + {i}] = {value};")
            terms += [(self.trees[id(it.vec)], i, fold.float32, f"&{p}_leaf"
                       f"{self.trees[id(it.vec)]}[0][{it.k}]", it.vec.width) for it in items]
        ascending = all(self.trees[id(a.vec)] <= self.trees[id(b.vec)]
                        for f in folds for a, b in zip(f.terms, f.terms[1:]))
        if ascending:  # tree by tree: a stable sort keeps each fold's own order
            terms.sort(key=lambda term: term[0])

        def table(ctype: str, field: int) -> str:
            items = ", ".join(str(term[field]) for term in terms)
            return f"static const {ctype} {name}_{('tree', 'sum', 'f32', 'leaf', 'width')[field]}" \
                   f"[{len(terms)}] = {{{items}}};"

        lines = [table("int", 0), table("int", 1), table("double *const", 3)]
        kinds, widths = {term[2] for term in terms}, {term[4] for term in terms}
        if len(kinds) > 1:
            lines.append(table("unsigned char", 2).replace("True", "1").replace("False", "0"))
        if len(widths) > 1:
            lines.append(table("int", 4))
        w = f"{name}_width[j]" if len(widths) > 1 else str(widths.pop())
        step = {True: "a[r * {nf}] = (double)(float)(a[r * {nf}] + v[l[r * {nt}] * {w}]);",
                False: "a[r * {nf}] = a[r * {nf}] + v[l[r * {nt}] * {w}];"}
        loops = {k: "for (r = 0; r < m; ++r) " + step[k].format(nf=nf, nt=nt, w=w)
                 for k in kinds}
        each = loops.popitem()[1] if len(kinds) == 1 else \
            f"if ({name}_f32[j]) {loops[True]}\n        else {loops[False]}"
        return lines + [f"static void {name}(const int *leaf, int m, double *acc)", "{",
                        "    int r, j;", "    for (r = 0; r < m; ++r) {", *init, "    }",
                        f"    for (j = 0; j < {len(terms)}; ++j) {{",
                        f"        const double *const v = {name}_leaf[j];",
                        f"        const int *const l = leaf + {name}_tree[j];",
                        f"        double *const a = acc + {name}_sum[j];",
                        f"        {each}", "    }", "}", ""]

    def check_runs(self, values: list[ir.Expr]) -> list[tuple[list[ir.Check], Guard | None]]:
        """The checks in order, in runs: a run of checks that only test numbers for NaN,
        infinity or float32 overflow goes behind a guard (see `compiler.guards`) when
        that is cheaper than testing each number: the decision score the row computes
        anyway, or a sum over the checked numbers."""
        runs: list[tuple[list[ir.Check], Guard | None]] = []
        run: list[ir.Check] = []
        needs: list[tuple[ir.Expr, str]] = []

        def flush() -> None:
            if run:
                tested = {id(x) for x, _ in needs}
                guard = plan_guard(needs, values, self.facts, total_only=False)
                cheaper = len(tested) >= GUARD_MIN or len(guard.nodes) < len(tested)
                runs.append((list(run), guard if cheaper else None))
            run.clear()
            needs.clear()

        for check in self.program.checks:
            found = needs_of(check.fails)
            if found is None:
                flush()
                runs.append(([check], None))
            else:
                run.append(check)
                needs.extend(found)
        flush()
        return runs

    def check_lines(self, runs: list[tuple[list[ir.Check], Guard | None]]) -> list[str]:
        """The checks in order; a guarded run behind one test: `g * 0.0` is NaN exactly
        when g is NaN or infinite, else a zero, so a sum of them that is not NaN proves
        every guard node finite and every check of the run passed. A guard with a bound
        B (float32 overflow) sums squares: a sum below B * B proves every |g| < B, NaN
        included (the sum is NaN, the test fails)."""
        def one(check: ir.Check, indent: str) -> str:
            return (f"{indent}if ({self.expr(check.fails)}) {{ "
                    f"status = {self.p}_{check.reason.code_name}; goto refused; }}")

        lines: list[str] = []
        for checks, guard in runs:
            if guard is None:
                lines.extend(one(c, "    ") for c in checks)
                continue
            square = guard.bound < math.inf
            terms = [f"{g} * {g if square else '0.0'}" for g in map(self.expr, guard.nodes)]
            while len(terms) > 1:  # pairwise: a short dependency chain
                terms = [f"({a} + {b})" for a, b in zip(terms[::2], terms[1::2])] + \
                    terms[len(terms) - len(terms) % 2:]
            test = f"!({terms[0]} < {number(guard.bound ** 2)})" if square \
                else f"isnan({terms[0]})"
            lines.append(f"    if ({test}) {{")
            lines.extend(one(c, "        ") for c in checks)
            lines.append("    }")
        return lines

    def helper_code(self) -> list[str]:
        p = self.p
        code = {
            **{helper: _walk(f"{p}_{helper}", *args, p=p)
               for helper, args in self.walkers.items()},
            "put": f"""\
/* The two input slots of value v (see the forest's walk). */
static void {p}_put(double *x, double v)
{{
    x[0] = isnan(v) ? INFINITY : v;
    x[1] = isnan(v) ? -INFINITY : v;
}}""",
            "put32": f"""\
/* The two input slots of value v (see the forest's walk), rounded to float as sklearn's
   trees round their input. */
static void {p}_put32(float *x, double v)
{{
    x[0] = isnan(v) ? INFINITY : (float)v;
    x[1] = isnan(v) ? -INFINITY : (float)v;
}}""",
            "max": f"""\
/* numpy.max: NaN when any term is NaN, else the largest. */
static double {p}_max(const double *x, int n)
{{
    double top = x[0];
    int i;
    for (i = 0; i < n; ++i) {{
        if (isnan(x[i])) return x[i];
        if (x[i] > top) top = x[i];
    }}
    return top;
}}""",
            "argmax": f"""\
/* numpy.argmax: the first NaN, else the first maximum. */
static int {p}_argmax(const double *x, int n)
{{
    int best = 0, i;
    for (i = 0; i < n; ++i) {{
        if (isnan(x[i])) return i;
        if (x[i] > x[best]) best = i;
    }}
    return best;
}}""",
            "min": f"""\
/* numpy.min: NaN when any term is NaN, else the smallest. */
static double {p}_min(const double *x, int n)
{{
    double low = x[0];
    int i;
    for (i = 0; i < n; ++i) {{
        if (isnan(x[i])) return x[i];
        if (x[i] < low) low = x[i];
    }}
    return low;
}}""",
            "argmin": f"""\
/* numpy.argmin: the first NaN, else the first minimum. */
static int {p}_argmin(const double *x, int n)
{{
    int best = 0, i;
    for (i = 0; i < n; ++i) {{
        if (isnan(x[i])) return i;
        if (x[i] < x[best]) best = i;
    }}
    return best;
}}""",
            "sum": f"""\
/* The left fold ((x[0] + x[1]) + x[2]) + ... */
static double {p}_sum(const double *x, int n)
{{
    double s = x[0];
    int i;
    for (i = 1; i < n; ++i) s += x[i];
    return s;
}}""",
            "sign": f"""\
/* numpy.sign: -1, 0 or 1; NaN stays NaN. */
static double {p}_sign(double x)
{{
    return x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : x;
}}""",
            "bucket": f"""\
/* numpy.searchsorted(edges, x, side): how many of the n ascending edges are below x
   (right: at or below it); NaN sorts after every edge. */
static int {p}_bucket(double x, const double *edges, int n, int right)
{{
    int lo = 0, hi = n;
    if (isnan(x)) return n;
    while (lo < hi) {{
        const int mid = lo + (hi - lo) / 2;
        if (right ? edges[mid] <= x : edges[mid] < x) lo = mid + 1; else hi = mid;
    }}
    return lo;
}}""",
            "find_text": f"""\
/* The index of s in `set`, sorted by strcmp, where start[b] .. start[b + 1] are the
   strings whose first byte is b; -1 when s is not there (or missing: NULL). */
static int {p}_find_text(const char *s, const char *const *set, const int *start)
{{
    int lo, hi;
    if (s == NULL) return -1;
    lo = start[(unsigned char)s[0]];
    hi = start[(unsigned char)s[0] + 1];
    while (lo < hi) {{
        const int mid = lo + (hi - lo) / 2;
        const int c = strcmp(s, set[mid]);
        if (c == 0) return mid;
        if (c < 0) hi = mid; else lo = mid + 1;
    }}
    return -1;
}}""",
            "in_number": f"""\
/* Is x one of the n sorted numbers of `set`? NaN is not. */
static int {p}_in_number(double x, const double *set, size_t n)
{{
    size_t lo = 0, hi = n;
    while (lo < hi) {{
        const size_t mid = lo + (hi - lo) / 2;
        if (x < set[mid]) hi = mid;
        else if (x > set[mid]) lo = mid + 1;
        else return x == set[mid];
    }}
    return 0;
}}""",
        }
        order = ("put", "put32", *sorted(self.walkers), "max", "argmax", "min", "argmin", "sum",
                 "sign", "bucket", "find_text", "in_number")
        return [code[h] + "\n" for h in order if h in self.helpers]


def _walk(name: str, over: str, kind: str, nx: int, lanes: int, unit: int, p: str) -> str:
    """The function `name`, a walker that advances `lanes` independent walks in lockstep
    (their memory reads overlap: one walk is a chain of dependent loads), each step
    branch-free: over "rows", one tree at a time for a block of rows (the tree's nodes stay
    in cache); over "trees", every tree for one row. A walk holds the byte offset of its
    node and the tables store children as byte offsets, so no step scales an index
    (`unit` > 1: node indices, in compact trees too big for a 16-bit byte offset). Rows
    are nx slots apart, a literal, so a lane's row is a constant displacement. `kind` "32"
    is the compact layout, which reads float inputs."""
    node, real = f"{p}_node{kind}", "float" if kind else "double"
    size = f"(long)sizeof({node})"
    scale = f" * {size}" if unit > 1 else ""
    tree = "T" if over == "rows" else "T{j}"
    row = "(xr + {d})" if over == "rows" else "x"
    steps = "\n".join(
        f"                {{ const {node} *const q = (const {node} *)({tree.format(j=j)} + o{j}); "
        f"o{j} = q->left{scale} + ({row.format(d=j * nx)}[q->key] > q->bound) * {size}; }}"
        for j in range(lanes))
    starts = ", ".join(f"o{j} = 0" for j in range(lanes))
    if over == "rows":
        head = f"""\
/* Walk each of n trees for m rows of input slots ({nx} per row): leaf[r * stride + t]
   gets the node where row r ends in tree t. x and leaf hold m rounded up to a multiple
   of {lanes} rows. */
static void {name}(const {node} *const *trees, const unsigned short *depth,
                          int n, const {real} *x, int m, int *leaf, int stride)
{{
    int t, r, d;
    for (t = 0; t < n; ++t) {{
        const char *const T = (const char *)trees[t];
        const int steps = depth[t];
        for (r = 0; r < m; r += {lanes}) {{
            const {real} *const xr = x + r * {nx};
"""
        store = "".join(f"            leaf[(r + {j}) * stride + t] = (int)(o{j} / {size});\n"
                        for j in range(lanes))
    else:
        head = f"""\
/* Walk n trees for one row of inputs x: leaf[t] gets the node where it ends in tree t.
   The trees go in `order`, by depth, so that a group's walks take about as many steps. */
static void {name}(const {node} *const *trees, const unsigned short *depth,
                           const unsigned short *order, int n, const {real} *x, int *leaf)
{{
    int t, d, r;
    for (t = 0; t < n; t += {lanes}) {{
        {{
            int steps = 0;
""" + "".join(f"            const char *const T{j} = "
              f"(const char *)trees[order[t + {j} < n ? t + {j} : t]];\n" for j in range(lanes)) + (
            f"            for (r = 0; r < {lanes} && t + r < n; ++r)\n"
            "                if (depth[order[t + r]] > steps) steps = depth[order[t + r]];\n")
        store = "".join(f"            if (t + {j} < n) leaf[order[t + {j}]] = "
                        f"(int)(o{j} / {size});\n" for j in range(lanes))
    return (head + f"            long {starts};\n"
            f"            for (d = 0; d < steps; ++d) {{\n{steps}\n            }}\n"
            + store + "        }\n    }\n}")


def _out_param(out: ir.Output, p: str) -> tuple[str, str | None]:
    """(the C type of `out`, the name of its width macro or None for a single value)."""
    if out.name == "decision_function":
        return "double", f"{p}_N_DECISION"
    if out.shape == "vector" and out.name == "predict":  # several outputs (multi-output)
        labels = all(v.type == "index" for v in out.values)
        return ("int" if labels else "double"), f"{p}_N_OUTPUTS"
    if out.shape == "vector":
        return "double", f"{p}_N_CLASSES" if out.name == "predict_proba" else \
            f"{p}_N_{out.name.upper()}"
    return ("int" if out.shape == "label" else "double"), None


def _walked_entry_points(pr: _Printer, used: list[int], row: str, sig: str, bsig: str,
                        width: str | None, n_folds: int) -> list[str]:
    """The public per-row and batch functions of an output that reads forests `used`:
    compute each forest's inputs, walk its trees, then finish the row in `row`. A batch
    works in blocks of rows, walking one tree at a time over the block, then adds up its
    `n_folds` sums of leaves (`OUTPUT_folds`) before `ROW_summed` finishes each row (one
    row is fastest with the sums in straight-line code, as `row` has them)."""
    p, n_trees = pr.p, len(pr.trees)
    forests = [(g, len(pr.forests[g]), pr.slots(g), pr.trees[id(pr.forests[g][0])])
               for g in used]
    per_row = 4 * n_trees + 8 * sum(nx for _, _, nx, _ in forests) + 8 * n_folds  # scratch
    block = min(BLOCK_MAX, BLOCK_STACK // per_row)
    if block < LANES and LANES * per_row <= LANES_STACK:
        block = LANES
    block = max(1, block - (block % LANES if block >= LANES else 0))
    padded = -(-block // LANES) * LANES  # the walk reads and writes whole lanes of rows
    real = {g: "float" if pr.layout[g] else "double" for g in used}
    one = [sig, "{", *(f"    {real[g]} x{g}[{nx}];" for g, _, nx, _ in forests),
           f"    int leaf[{n_trees}];"]
    for g, nt, _, first in forests:
        walk = pr.walker("trees", g)
        one += [f"    {p}_inputs{g}(in, leaf, x{g});",
                f"    {walk}({p}_forest{g}, {p}_depth{g}, {p}_order{g}, {nt}, x{g}, "
                f"leaf + {first});"]
    one += [f"    return {row}(in, leaf, out);", "}", ""]
    fold, summed = f"{row[:-len('_row')]}_folds", f"{row}_summed" if n_folds else row
    step = f" * {width}" if width else ""
    batch = [bsig, "{", *(f"    {real[g]} x{g}[{padded * nx}];" for g, _, nx, _ in forests),
             f"    int leaf[{padded * n_trees}];",
             *([f"    double acc[{padded * n_folds}];"] if n_folds else []),
             "    int status = 0, r, m;", "    size_t done;",
             f"    for (done = 0; done < n; done += {block}) {{",
             f"        m = n - done < {block} ? (int)(n - done) : {block};"]
    for g, nt, nx, first in forests:
        batch += [f"        for (r = 0; r < m; ++r) "
                  f"{p}_inputs{g}(rows + done + r, leaf + r * {n_trees}, x{g} + r * {nx});",
                  f"        if (m < {LANES}) {{ /* too few rows for the lanes: walk row by row */",
                  f"            for (r = 0; r < m; ++r) {pr.walker('trees', g)}({p}_forest{g}, "
                  f"{p}_depth{g}, {p}_order{g}, {nt}, x{g} + r * {nx}, "
                  f"leaf + r * {n_trees} + {first});",
                  "        } else {",
                  f"            for (; r % {LANES}; ++r) {p}_inputs{g}(rows + done + m - 1, "
                  f"leaf + (m - 1) * {n_trees}, x{g} + r * {nx}); /* whole lanes */",
                  f"            {pr.walker('rows', g)}({p}_forest{g}, {p}_depth{g}, "
                  f"{nt}, x{g}, m, leaf + {first}, {n_trees});", "        }"]
    if n_folds:
        batch.append(f"        {fold}(leaf, m, acc);")
    batch += ["        for (r = 0; r < m; ++r) {",
              f"            const int s = {summed}(rows + done + r, leaf + r * {n_trees}, "
              + (f"acc + r * {n_folds}, " if n_folds else "") + f"out + (done + r){step});",
              "            if (status == 0) status = s;", "        }", "    }",
              "    return status;", "}", ""]
    return one + batch


def emit(program: ir.Program, name: str, idents: list[str], header: str) -> dict[str, str]:
    """{NAME.h, NAME.c}: the public declarations and their definitions."""
    p = name
    pr = _Printer(program, p, idents)
    top = f"/* {comment(header)} */"
    defines = [f"#define {p}_N_FEATURES {len(program.features)}"]
    if program.classes:
        defines.append(f"#define {p}_N_CLASSES {len(program.classes)}")
    for out in program.outputs.values():
        if out.name == "decision_function" or out.shape == "vector":
            macro = _out_param(out, p)[1]
            if out.name != "predict_proba":
                defines.append(f"#define {macro} {len(out.values)}")
    defines += [f"#define {p}_{r.code_name} ({r.value})" for r in ir.Refusal]

    fields = []
    for spec, ident in zip(program.features, idents):
        ctype = "double " if spec.kind == "number" else "const char *"
        fields.append(f"    {ctype}{ident}; /* {comment(json.dumps(spec.name))} */")
    classes = ", ".join(f"{i} = {comment(json.dumps(c))}" for i, c in enumerate(program.classes))

    protos, bodies, walked = [], [], set()
    for out in program.outputs.values():
        ctype, width = _out_param(out, p)
        param = f"{ctype} out[{width}]" if width else f"{ctype} *out"
        sig = f"int {p}_{out.name}(const {p}_input *in, {param})"
        bsig = f"int {p}_{out.name}_batch(const {p}_input *rows, size_t n, {ctype} *out)"
        protos += [sig + ";", bsig + ";"]
        used = sorted({pr.forest_of[id(t)] for t in trees_of(output_roots(program, out.name))})
        walked.update(used)
        if used:
            row, folds = f"{p}_{out.name}_row", pr.folds(out)
            bodies += pr.function(out, f"static int {row}(const {p}_input *in, "
                                  f"const int *leaf, {param})", width) + [""]
            if folds:  # a batch's rows: their sums of leaves come added up (`_Fold`)
                bodies += pr.function(out, f"static int {row}_summed(const {p}_input *in, "
                                      f"const int *leaf, const double *acc, {param})",
                                      width, folds) + [""]
                bodies += pr.fold_function(f"{p}_{out.name}_folds", folds)
            bodies += _walked_entry_points(pr, used, row, sig, bsig, width, len(folds))
        else:
            bodies += pr.function(out, sig, width) + [""]
            step = f"r * {width}" if width else "r"
            bodies += [bsig, "{", "    int status = 0;", "    size_t r;",
                       "    for (r = 0; r < n; ++r) {",
                       f"        const int s = {p}_{out.name}(rows + r, out + {step});",
                       "        if (status == 0) status = s;", "    }", "    return status;",
                       "}", ""]
    for g in sorted(walked):
        bodies[:0] = pr.inputs_function(g, pr.forests[g][0].inputs)

    h = [top, f"#ifndef {p}_H", f"#define {p}_H", "", "#include <stddef.h>", "",
         "#ifdef __cplusplus", 'extern "C" {', "#endif", "", *defines, "",
         "/* One input row, a field per feature in order (the comment is the feature's name).",
         "   A missing number is NAN; a missing string is NULL. */",
         "typedef struct {", *fields, f"}} {p}_input;", ""]
    if classes:
        h.append(f"/* Class labels by index: {classes} */")
    marker = "0 for a label" if program.task == "anomaly" else "-1 for a class index"
    h += ["/* Each function returns 0, or the first failing check's negative code (the row is",
          f"   refused as sklearn would raise; out gets NAN, or {marker}). The",
          "   _batch forms score n rows (out is row-major) and return the first non-zero",
          "   status; every row is scored. */",
          *protos, "", "#ifdef __cplusplus", "}", "#endif", "", f"#endif /* {p}_H */", ""]

    tables = []
    if pr.trees:
        fields = {"": "double bound; int left; unsigned int key;",
                  "32": "float bound; unsigned short left, key;"}
        tables.append("/* Children are offsets in bytes (or nodes): a build whose node size "
                      "differs stops here. */")
        for kind in sorted(set(pr.layout)):
            tables += [f"typedef struct {{ {fields[kind]} }} {p}_node{kind};",
                       f"typedef char {p}_node{kind}_bytes[sizeof({p}_node{kind}) == "
                       f"{NODE_BYTES[kind]} ? 1 : -1];"]
        tables.append("")
    for g, forest in enumerate(pr.forests):
        for tree in forest:
            tables += pr.tree_tables(tree) + [""]
        if g in walked:
            items = ", ".join(f"{p}_tree{pr.trees[id(t)]}" for t in forest)
            depth = [tree_depth(t) for t in forest]
            order = sorted(range(len(forest)), key=depth.__getitem__)
            tables += [f"static const {p}_node{pr.layout[g]} *const {p}_forest{g}[{len(forest)}] "
                       f"= {{{items}}};",
                       f"static const unsigned short {p}_depth{g}[{len(forest)}] = "
                       f"{{{', '.join(map(str, depth))}}};",
                       f"static const unsigned short {p}_order{g}[{len(forest)}] = "
                       f"{{{', '.join(map(str, order))}}};", ""]
    helpers = pr.helper_code()  # after printing bodies: now every used helper is known
    for values, sname in pr.sets.items():
        text = isinstance(values[0], str)
        items = ", ".join(pr.literal(v) for v in values)
        ctype = "char *const" if text else "double"
        tables.append(f"static const {ctype} {sname}[{len(values)}] = {{{items}}};")
        if text:
            firsts = [(_text_bytes(v) or b"\0")[0] for v in values]  # "" is the only 0
            starts = ", ".join(str(sum(f < b for f in firsts)) for b in range(257))
            tables.append(f"static const int {sname}_start[257] = {{{starts}}};")
    for (ctype, _), (kname, values) in pr.consts.items():
        if values and isinstance(values[0], tuple):  # a matrix
            rows = ",\n    ".join("{" + ", ".join(map(number, r)) + "}" for r in values)
            tables.append(f"static const double {kname}[{len(values)}][{len(values[0])}] = "
                          f"{{\n    {rows}}};")
        else:
            items = ", ".join(str(v) if ctype == "int" else number(v) for v in values)
            tables.append(f"static const {ctype} {kname}[{len(values)}] = {{{items}}};")
    for (size, members), mname in pr.members.items():
        flags = ", ".join("1" if i - 1 in members else "0" for i in range(size + 1))
        tables.append(f"static const unsigned char {mname}[{size + 1}] = {{{flags}}};")
    if "LABELS" in pr.helpers:
        tables.append(f"static const int {p}_LABELS[{len(program.classes)}] = "
                      f"{{{', '.join(str(int(c)) for c in program.classes)}}};")
    includes = ["#include <math.h>", "#include <stddef.h>"]
    if pr.uses_strcmp:
        includes.append("#include <string.h>")
    c = [top, _PRAGMAS, "", *includes, "", f'#include "{p}.h"', "",
         *tables, "", *helpers, *bodies]
    return {f"{p}.h": "\n".join(h), f"{p}.c": re.sub(r"\n{3,}", "\n\n", "\n".join(c))}
