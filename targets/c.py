"""C99 target: NAME.h declares the input struct and the scoring functions, NAME.c defines
them as straight-line code over `static const` tables; no heap, no recursion, no globals
that change, and only <math.h>, <stddef.h> and (for text) <string.h>.

Every IR node is printed with its exact IEEE-754 double meaning: constants are hex
floats, `Sum` keeps its left-to-right grouping, trees are walked from node tables by
one shared loop (no recursion; the trees of a forest advance in lockstep so their memory
reads overlap), and floating-point contraction (fused multiply-add) is switched off,
since it would change the rounding of `a * b + c`.
"""

from __future__ import annotations

import json
import math
import re

from scorec.compiler import ir
from scorec.compiler.passes import collect_trees, features_of, output_roots, schedule

from .printer import Printer

# InSet chains longer than this become a sorted static table and a binary search
SET_TABLE_MIN = 8

_CTYPE = {"number": "double ", "string": "char *const ", "bool": "int ", "index": "int "}

_PRAGMAS = """\
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
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


class _Printer(Printer):
    """Prints expressions and functions; collects the tables and helpers they use."""

    target, NULL, OR = "c", "{} == NULL", " || "
    number, string = staticmethod(number), staticmethod(string)
    TEMPLATES = {**Printer.TEMPLATES, ir.Not: "(!{a})", ir.Select: "({cond} ? {then} : {other})",
                 ir.BoolIndex: "({cond} ? 1 : 0)"}

    def __init__(self, program: ir.Program, prefix: str, idents: list[str]):
        super().__init__()
        self.program, self.p, self.idents = program, prefix, idents
        self.trees = {id(t): i for i, t in enumerate(collect_trees(program))}
        self.sets: dict[tuple, str] = {}
        self.forests: dict[tuple[int, ...], str] = {}
        self.helpers: set[str] = set()
        self.uses_strcmp = False

    def use(self, helper: str) -> str:
        self.helpers.add(helper)
        return f"{self.p}_{helper}"

    def set_table(self, values: tuple) -> str:
        return self.sets.setdefault(values, f"{self.p}_set{len(self.sets)}")

    def feature(self, node: ir.Feature) -> str:
        return f"in->{self.idents[node.index]}"

    def in_set(self, node: ir.InSet) -> str:
        a, text = self.expr(node.a), node.a.type == "string"
        # a C string ends at its first NUL: a category holding one can never be matched
        values = tuple(v for v in node.values if not (text and "\0" in v))
        parts = []
        if node.missing:
            parts.append((self.NULL if text else self.NAN).format(a))
        if len(values) >= SET_TABLE_MIN:
            key = tuple(sorted(set(values), key=_text_bytes if text else float))
            helper = self.use("in_text" if text else "in_number")
            parts.append(f"{helper}({a}, {self.set_table(key)}, {len(key)})")
            self.uses_strcmp |= text
        elif values and text:
            self.uses_strcmp = True
            tests = " || ".join(f"strcmp({a}, {string(v)}) == 0" for v in values)
            parts.append(f"({a} != NULL && ({tests}))" if not node.missing else tests)
        elif values:
            parts.extend(f"{a} == {number(v)}" for v in values)
        return "(" + self.OR.join(parts) + ")" if parts else "0"

    def max(self, node: ir.Max | ir.Argmax) -> str:
        helper = self.use(type(node).__name__.lower())
        return f"{helper}((const double[]){{{self.join(node.terms)}}}, {len(node.terms)})"

    argmax = max

    def item(self, node: ir.Item) -> str:
        if id(node.vec) not in self.names:  # trees are always bound: their leaf row
            raise self.unhandled(node, " of an unnamed vector")
        return f"{self.names[id(node.vec)]}[{node.k}]"

    def tree_tables(self, tree: ir.Tree) -> list[str]:
        """The nodes in preorder, so that a split's left child is the next node; each
        holds its bound, right child, input index and two flags: a missing value goes
        left; a leaf (whose `right` is its row of leaf values)."""
        if max(tree.feature) >= 2**30:
            raise ValueError("c target: a tree reads more than 2**30 inputs")
        order, stack = [], [0]
        while stack:
            i = stack.pop()
            order.append(i)
            if tree.left[i] != -1:
                stack += [tree.right[i], tree.left[i]]
        new = {old: j for j, old in enumerate(order)}
        nodes, leaves = [], []
        for i in order:
            if tree.left[i] == -1:
                nodes.append(f"{{0.0, {len(leaves)}, 0, 0, 1}}")
                leaves.append("{" + ", ".join(number(v) for v in tree.values[i]) + "}")
            else:
                nodes.append(f"{{{number(tree.bound[i])}, {new[tree.right[i]]}, "
                             f"{tree.feature[i]}, {int(tree.missing_left[i])}, 0}}")
        t = self.trees[id(tree)]
        return [f"static const {self.p}_node {self.p}_tree{t}[{len(nodes)}] = {{",
                *(f"    {r}," for r in nodes), "};",
                f"static const double {self.p}_leaf{t}[{len(leaves)}][{tree.width}] = {{",
                *(f"    {r}," for r in leaves), "};"]

    def walk_forest(self, inputs: tuple[ir.Expr, ...], bound: list[ir.Expr],
                    forests: dict) -> list[str]:
        """Compute the inputs once, then walk every tree reading them in one lockstep
        loop; forests[id(inputs)] records where each tree's leaf row lands."""
        k = len(forests)
        members = [n for n in bound if isinstance(n, ir.Tree) and n.inputs is inputs]
        trees = tuple(self.trees[id(n)] for n in members)
        table = self.forests.setdefault(trees, f"{self.p}_forest{len(self.forests)}")
        forests[id(inputs)] = (f"leaf{k}", {id(n): j for j, n in enumerate(members)})
        items = self.join(inputs)
        return [f"    const double x{k}[{len(inputs)}] = {{{items}}};",
                f"    int leaf{k}[{len(trees)}];",
                f"    {self.use('walk')}({table}, {len(trees)}, x{k}, leaf{k});"]

    def function(self, out: ir.Output, signature: str, width: str | None) -> list[str]:
        """The per-row scoring function: bind shared nodes, run the checks in order,
        then write the outputs."""
        program, p = self.program, self.p
        roots = output_roots(program, out.name)
        sched = schedule(roots)
        names = self.names = dict(sched.names)
        lines = [signature, "{"]
        if not features_of(roots):
            lines.append("    (void)in;")
        forests: dict[int, tuple[str, dict[int, int]]] = {}  # by inputs: leaf array, slots
        for node in sched.bound:
            name = names[id(node)]
            if isinstance(node, ir.Tree):
                if id(node.inputs) not in forests:  # the trees of a forest share inputs
                    lines += self.walk_forest(node.inputs, sched.bound, forests)
                leaves, slot = forests[id(node.inputs)]
                lines.append(f"    const double *const {name} = "
                             f"{p}_leaf{self.trees[id(node)]}[{leaves}[{slot[id(node)]}]];")
            else:
                lines.append(f"    const {_CTYPE[node.type]}{name} = "
                             f"{self.expr(node, top=True)};")
        if program.checks:
            lines.append("    int status;")
        for check in program.checks:
            lines.append(f"    if ({self.expr(check.fails)}) {{ "
                         f"status = {p}_{check.reason.code_name}; goto refused; }}")
        values = [self.expr(v) for v in out.values]
        if out.shape == "label" and program.task == "anomaly":  # the label itself: -1 or 1
            values = [f"{self.use('LABELS')}[{values[0]}]"]
        if width is None:
            lines.append(f"    *out = {values[0]};")
        else:
            lines.extend(f"    out[{k}] = {v};" for k, v in enumerate(values))
        lines.append("    return 0;")
        if program.checks:
            fill = "NAN" if out.shape != "label" else "0" if program.task == "anomaly" else "-1"
            lines.append("refused:")
            if width is None:
                lines.append(f"    *out = {fill};")
            else:
                lines.extend(f"    out[{k}] = {fill};" for k in range(len(values)))
            lines.append("    return status;")
        lines.append("}")
        return lines

    def helper_code(self) -> list[str]:
        p = self.p
        code = {
            "walk": f"""\
/* Walk n trees over inputs x; leaf[k] gets the value row tree k reaches. The walks
   advance in lockstep, one level per pass, so their memory reads overlap. */
static void {p}_walk(const {p}_node *const *trees, int n, const double *x, int *leaf)
{{
    int k, busy = 1;
    for (k = 0; k < n; ++k) leaf[k] = 0;
    while (busy) {{
        busy = 0;
        for (k = 0; k < n; ++k) {{
            const {p}_node *t = trees[k] + leaf[k];
            if (!t->leaf) {{
                const double v = x[t->feature];
                leaf[k] = (isnan(v) ? t->nan_left : v <= t->bound) ? leaf[k] + 1 : t->right;
                busy = 1;
            }}
        }}
    }}
    for (k = 0; k < n; ++k) leaf[k] = trees[k][leaf[k]].right;
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
            "in_text": f"""\
/* Is s one of the n strings of `set` (sorted by strcmp)? Missing (NULL) is not. */
static int {p}_in_text(const char *s, const char *const *set, size_t n)
{{
    size_t lo = 0, hi = n;
    if (s == NULL) return 0;
    while (lo < hi) {{
        const size_t mid = lo + (hi - lo) / 2;
        const int c = strcmp(s, set[mid]);
        if (c == 0) return 1;
        if (c < 0) hi = mid; else lo = mid + 1;
    }}
    return 0;
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
        return [code[h] + "\n" for h in ("walk", "max", "argmax", "in_text", "in_number")
                if h in self.helpers]


def _out_param(out: ir.Output, p: str) -> tuple[str, str | None]:
    """(the C type of `out`, the name of its width macro or None for a single value)."""
    if out.name == "decision_function":
        return "double", f"{p}_N_DECISION"
    if out.shape == "vector":
        return "double", f"{p}_N_CLASSES" if out.name == "predict_proba" else \
            f"{p}_N_{out.name.upper()}"
    return ("int" if out.shape == "label" else "double"), None


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

    protos, bodies, batches = [], [], []
    for out in program.outputs.values():
        ctype, width = _out_param(out, p)
        param = f"{ctype} out[{width}]" if width else f"{ctype} *out"
        sig = f"int {p}_{out.name}(const {p}_input *in, {param})"
        bsig = f"int {p}_{out.name}_batch(const {p}_input *rows, size_t n, {ctype} *out)"
        protos += [sig + ";", bsig + ";"]
        bodies += pr.function(out, sig, width) + [""]
        step = f"r * {width}" if width else "r"
        batches += [bsig, "{", "    int status = 0;", "    size_t r;",
                    "    for (r = 0; r < n; ++r) {",
                    f"        const int s = {p}_{out.name}(rows + r, out + {step});",
                    "        if (status == 0) status = s;", "    }", "    return status;", "}", ""]

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
        tables += [f"typedef struct {{ double bound; int right; unsigned int feature : 30, "
                   f"nan_left : 1, leaf : 1; }} {p}_node;", ""]
    for tree in collect_trees(program):
        tables += pr.tree_tables(tree) + [""]
    helpers = pr.helper_code()  # after printing bodies: now every used helper is known
    for trees, fname in pr.forests.items():
        items = ", ".join(f"{p}_tree{t}" for t in trees)
        tables.append(f"static const {p}_node *const {fname}[{len(trees)}] = {{{items}}};")
    for values, sname in pr.sets.items():
        text = isinstance(values[0], str)
        items = ", ".join(pr.literal(v) for v in values)
        ctype = "char *const" if text else "double"
        tables.append(f"static const {ctype} {sname}[{len(values)}] = {{{items}}};")
    if "LABELS" in pr.helpers:
        tables.append(f"static const int {p}_LABELS[{len(program.classes)}] = "
                      f"{{{', '.join(str(int(c)) for c in program.classes)}}};")
    includes = ["#include <math.h>", "#include <stddef.h>"]
    if pr.uses_strcmp:
        includes.append("#include <string.h>")
    c = [top, _PRAGMAS, "", *includes, "", f'#include "{p}.h"', "",
         *tables, "", *helpers, *bodies, *batches]
    return {f"{p}.h": "\n".join(h), f"{p}.c": re.sub(r"\n{3,}", "\n\n", "\n".join(c))}
