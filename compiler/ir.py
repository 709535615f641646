"""The scoring IR: one expression DAG per compiled model, shared by every target.

Every node has IEEE-754 double semantics, whatever the target: comparisons with NaN
are false, NaN propagates through arithmetic, `Func("exp", x)` overflows to +inf and
`Func("log", 0.0)` is -inf (C99 Annex F: never an exception). Emitters must reproduce
exactly these semantics in their language (DuckDB, for one, orders NaN above every number
and needs guards; Python's math module raises where IEEE returns inf or NaN). Nodes are
compared by identity: a node used twice is one computation, and `passes.schedule` decides
where it is bound to a name.

Types: "number" (double), "string" (text, possibly missing), "bool", "index" (a small
non-negative int), "vector" (a fixed-width tuple of numbers: a tree's leaf, or one of the
matrix-shaped nodes `Pack`, `MatVec`, `Map`, which targets print as loops over constant
tables so that the text stays linear in the number of model parameters).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Expr:
    """Base of every IR node; subclasses say their `type`."""

    type = "number"

    def children(self) -> tuple[Expr, ...]:
        return ()


@dataclass(frozen=True, eq=False)
class Feature(Expr):
    """Input feature `index`. kind "number": NaN is missing; "string": None is missing."""

    index: int
    kind: str = "number"

    @property
    def type(self) -> str:  # type: ignore[override]
        return self.kind


@dataclass(frozen=True, eq=False)
class Const(Expr):
    value: float


@dataclass(frozen=True, eq=False)
class Text(Expr):
    """A string constant (an imputer's fill value)."""

    type = "string"
    value: str


@dataclass(frozen=True, eq=False)
class Arith(Expr):
    """`a op b` for op in + - * /, IEEE double."""

    op: str
    a: Expr
    b: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.a, self.b)


@dataclass(frozen=True, eq=False)
class Neg(Expr):
    a: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.a,)


# Element-wise math functions `Func` knows, with C99's (IEEE) meaning: a pole gives an
# infinity (log(0) = -inf), a domain error NaN (log(-1), sqrt(-1)), overflow an infinity.
FUNCS = frozenset({
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "tanh", "sinh", "cosh",
    "sin", "cos", "tan", "arctan", "arcsinh", "abs", "floor", "ceil", "trunc", "rint", "sign",
    "float32",
})


@dataclass(frozen=True, eq=False)
class Func(Expr):
    """fn(a) for fn in FUNCS, as numpy's ufunc of that name computes it on a double
    (libm's result; a target's libm may differ from numpy's in the last bit). `rint`
    rounds half to even; `sign` is -1, 0 or 1 (NaN stays NaN); `float32` is the nearest
    float32 (`np.float32(a)`: +-inf beyond its range), so float32 arithmetic is a double
    operation then `float32` (exact: a double holds every float32 sum and product)."""

    fn: str
    a: Expr

    def __post_init__(self) -> None:
        if self.fn not in FUNCS:
            raise ValueError(f"unknown function {self.fn!r}")

    def children(self) -> tuple[Expr, ...]:
        return (self.a,)


@dataclass(frozen=True, eq=False)
class Pow(Expr):
    """a ** b with C99 pow's meaning (pow(x, 0) = 1 for any x, a negative base with a
    non-integer power is NaN, 0 ** -1 is inf)."""

    a: Expr
    b: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.a, self.b)


@dataclass(frozen=True, eq=False)
class IsMissing(Expr):
    """True when a number is NaN or a string is missing."""

    type = "bool"
    a: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.a,)


@dataclass(frozen=True, eq=False)
class Compare(Expr):
    """`a op bound` with op in <= < >= > ==; IEEE: false when `a` is NaN. bound is never NaN."""

    type = "bool"
    op: str
    a: Expr
    bound: float

    def children(self) -> tuple[Expr, ...]:
        return (self.a,)


@dataclass(frozen=True, eq=False)
class InSet(Expr):
    """True when `a` equals one of `values` (all str or all float), or is missing and `missing`."""

    type = "bool"
    a: Expr
    values: tuple
    missing: bool = False

    def children(self) -> tuple[Expr, ...]:
        return (self.a,)


@dataclass(frozen=True, eq=False)
class Not(Expr):
    type = "bool"
    a: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.a,)


@dataclass(frozen=True, eq=False)
class Or(Expr):
    type = "bool"
    items: tuple[Expr, ...]

    def children(self) -> tuple[Expr, ...]:
        return self.items


@dataclass(frozen=True, eq=False)
class Select(Expr):
    """`then` if `cond` else `other` (both numbers or both strings)."""

    cond: Expr
    then: Expr
    other: Expr

    @property
    def type(self) -> str:  # type: ignore[override]
        return self.then.type

    def children(self) -> tuple[Expr, ...]:
        return (self.cond, self.then, self.other)


@dataclass(frozen=True, eq=False)
class Sum(Expr):
    """Left fold `((t0 + t1) + t2) + ...`: the order is part of the meaning."""

    terms: tuple[Expr, ...]

    def children(self) -> tuple[Expr, ...]:
        return self.terms


@dataclass(frozen=True, eq=False)
class Max(Expr):
    """numpy.max semantics: NaN if any term is NaN (the sign of a zero result is not
    specified: max(-0.0, 0.0) may be either)."""

    terms: tuple[Expr, ...]

    def children(self) -> tuple[Expr, ...]:
        return self.terms


@dataclass(frozen=True, eq=False)
class Argmax(Expr):
    """numpy.argmax semantics: index of the first maximum; the first NaN wins."""

    type = "index"
    terms: tuple[Expr, ...]

    def children(self) -> tuple[Expr, ...]:
        return self.terms


@dataclass(frozen=True, eq=False)
class BoolIndex(Expr):
    """1 when `cond` holds, else 0."""

    type = "index"
    cond: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.cond,)


@dataclass(frozen=True, eq=False)
class Tree(Expr):
    """A binary decision tree returning its leaf's value vector.

    Node i is a leaf when left[i] == -1. Otherwise: if inputs[feature[i]] is NaN go to
    left[i] when missing_left[i] else right[i]; else go left when the input <= bound[i]
    (a double compare; lowering has already folded sklearn's float32 rounding into
    `bound`), or, for a category-set split (`categories[i]` not None), when the input is
    one of `categories[i]` (bound unused). values[i] is the leaf's vector (empty for
    split nodes). Node 0 is the root.
    """

    type = "vector"
    inputs: tuple[Expr, ...]
    feature: tuple[int, ...]
    bound: tuple[float, ...]
    missing_left: tuple[bool, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    values: tuple[tuple[float, ...], ...]
    categories: tuple[tuple[float, ...] | None, ...] | None = None

    def children(self) -> tuple[Expr, ...]:
        return self.inputs

    @property
    def width(self) -> int:
        return next(len(v) for v in self.values if v)


@dataclass(frozen=True, eq=False)
class Item(Expr):
    """Component k of a vector node."""

    vec: Expr
    k: int

    def children(self) -> tuple[Expr, ...]:
        return (self.vec,)


@dataclass(frozen=True, eq=False)
class Bucket(Expr):
    """numpy.searchsorted(edges, a, side): how many edges are below `a` (`right`: at or
    below it); NaN sorts after every edge. `edges` ascend and hold no NaN."""

    type = "index"
    a: Expr
    edges: tuple[float, ...]
    right: bool = False

    def __post_init__(self) -> None:
        if not self.edges or any(e != e for e in self.edges) or list(self.edges) != sorted(
                self.edges):
            raise ValueError("Bucket: edges must be ascending numbers, at least one")

    def children(self) -> tuple[Expr, ...]:
        return (self.a,)


@dataclass(frozen=True, eq=False)
class Lookup(Expr):
    """table[index], for an index node that is always within the table. A table of ints
    gives an index (e.g. one class numbering mapped to another), of floats a number."""

    index: Expr
    table: tuple[float, ...] | tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.table:
            raise ValueError("Lookup: empty table")
        kinds = {type(v) for v in self.table}
        if not (kinds == {int} or kinds == {float}):
            raise ValueError("Lookup: a table of all ints (an index) or all floats")

    @property
    def type(self) -> str:  # type: ignore[override]
        return "index" if isinstance(self.table[0], int) else "number"

    def children(self) -> tuple[Expr, ...]:
        return (self.index,)


@dataclass(frozen=True, eq=False)
class Pack(Expr):
    """The vector of the given numbers."""

    type = "vector"
    items: tuple[Expr, ...]

    def children(self) -> tuple[Expr, ...]:
        return self.items

    @property
    def width(self) -> int:
        return len(self.items)


MATVEC_OPS = ("mul", "sqdiff", "absdiff")


@dataclass(frozen=True, eq=False)
class MatVec(Expr):
    """A constant matrix applied to vector `x` (width n): y_i = reduce over j of
    term(x_j, M_ij), then + bias_i. The terms are `x_j * M_ij` ("mul"), `d * d` with
    `d = x_j - M_ij` ("sqdiff") or `|x_j - M_ij|` ("absdiff"); "sum" adds them as a
    left fold from the first term (((t0 + t1) + t2) + ...), "max" takes numpy's max (NaN
    if any term is NaN). `support[i]`, when given, lists the j of row i that take part, in
    order (a sparse row); else every j does, in order. Matrix products, kernels and
    distances to stored points are all this node."""

    type = "vector"
    x: Expr
    matrix: tuple[tuple[float, ...], ...]
    op: str = "mul"
    reduce: str = "sum"
    bias: tuple[float, ...] | None = None
    support: tuple[tuple[int, ...], ...] | None = None

    def __post_init__(self) -> None:
        if self.op not in MATVEC_OPS or self.reduce not in ("sum", "max"):
            raise ValueError(f"MatVec: unknown op {self.op!r} or reduce {self.reduce!r}")
        if self.support is not None and any(not s for s in self.support):
            raise ValueError("MatVec: every row needs at least one term")

    def children(self) -> tuple[Expr, ...]:
        return (self.x,)

    @property
    def width(self) -> int:
        return len(self.matrix)

    def columns(self, i: int) -> tuple[int, ...]:
        """The j of row i, in summation order."""
        return self.support[i] if self.support is not None else tuple(range(len(self.matrix[i])))


@dataclass(frozen=True, eq=False)
class Var(Expr):
    """Inside a `Map` body: the current element of the map's operand k."""

    k: int


@dataclass(frozen=True, eq=False)
class Map(Expr):
    """The vector `[body(o0[i], o1[i], ...) for i]`: `body` is a number expression in
    which `Var(k)` is element i of operand k. An operand is a vector node or a constant
    column (a tuple of floats). Sub-expressions of the body that use no Var are computed
    once, outside the loop: they are the node's `captures`."""

    type = "vector"
    body: Expr
    operands: tuple
    captures: tuple[Expr, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        widths = {len(o) if isinstance(o, tuple) else o.width for o in self.operands}
        if len(widths) != 1:
            raise ValueError(f"Map: operands of different widths {sorted(widths)}")
        object.__setattr__(self, "captures", _captures(self.body))

    def children(self) -> tuple[Expr, ...]:
        return tuple(o for o in self.operands if isinstance(o, Expr)) + self.captures

    @property
    def width(self) -> int:
        o = self.operands[0]
        return len(o) if isinstance(o, tuple) else o.width


def _captures(body: Expr) -> tuple[Expr, ...]:
    """The largest sub-expressions of a map body that read no Var, each once. (Iterative:
    a body may sit on a deep graph; a Map's children hold no Var, only its body does.)"""
    has_var: dict[int, bool] = {}
    stack: list[tuple[Expr, bool]] = [(body, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in has_var:
            continue
        if expanded:
            has_var[id(node)] = isinstance(node, Var) or any(
                has_var[id(c)] for c in node.children())
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in node.children() if id(c) not in has_var)
    if not has_var[id(body)]:
        raise ValueError("Map: the body reads no element")
    out: dict[int, Expr] = {}
    todo = [body]
    while todo:
        node = todo.pop()
        if not has_var[id(node)]:
            out.setdefault(id(node), node)
        else:
            todo.extend(reversed(node.children()))
    return tuple(out.values())


@dataclass(frozen=True, eq=False)
class Reduce(Expr):
    """One number from a vector: "sum" (left fold from element 0), "max"/"min" (numpy: NaN
    if any element is NaN), "argmax"/"argmin" (numpy: the first NaN, else the first
    extreme; an index)."""

    op: str
    vec: Expr

    def __post_init__(self) -> None:
        if self.op not in ("sum", "max", "min", "argmax", "argmin"):
            raise ValueError(f"Reduce: unknown op {self.op!r}")

    @property
    def type(self) -> str:  # type: ignore[override]
        return "index" if self.op.startswith("arg") else "number"

    def children(self) -> tuple[Expr, ...]:
        return (self.vec,)


@dataclass(frozen=True, eq=False)
class KSmallest(Expr):
    """The positions of the k smallest elements of `vec` that are below +inf, smallest
    first, an equal value going to the lower position; NaN and +inf never count. When
    fewer than k elements count, the remaining slots hold `fill`. A vector of k indices.
    (sklearn's neighbour heaps break ties at the k-th place otherwise for k >= 3: see
    lowering/neighbors.py, which simulates them.)"""

    type = "vector"
    vec: Expr
    k: int
    fill: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.k:
            raise ValueError("KSmallest: k must be positive")

    def children(self) -> tuple[Expr, ...]:
        return (self.vec,)

    @property
    def width(self) -> int:
        return self.k


@dataclass(frozen=True, eq=False)
class At(Expr):
    """vec[index] for an index computed per row (always within the vector)."""

    vec: Expr
    index: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.vec, self.index)


class Refusal(Enum):
    """Why a row is refused, where sklearn raises for it. Values are the C codes."""

    UNKNOWN_CATEGORY = -1
    MISSING_VALUE = -2
    INFINITE_VALUE = -3
    NEGATIVE_VALUE = -4
    OUT_OF_RANGE = -5  # a value beyond what the step was fitted for (spline knots)

    @property
    def code_name(self) -> str:
        return "E_" + self.name


@dataclass(frozen=True, eq=False)
class Check:
    """Refuse the row with `reason` when `fails` is true (checks run in order)."""

    fails: Expr
    reason: Refusal
    message: str


@dataclass(frozen=True)
class Output:
    """One scoring function. shape: "label" (one index into classes), "scalar", "vector"."""

    name: str
    shape: str
    values: tuple[Expr, ...]


@dataclass(frozen=True)
class FeatureSpec:
    """An input feature: its original name, kind and how sklearn sees it missing."""

    name: str
    kind: str  # "number" | "string"
    missing: str = "nan"  # what a missing string is to sklearn: "nan" or "none"


@dataclass
class Program:
    """Everything a target needs: inputs, refusal checks, and the scoring outputs."""

    features: tuple[FeatureSpec, ...]
    task: str  # "classification" | "regression" | "anomaly"
    classes: tuple = ()
    checks: tuple[Check, ...] = ()
    outputs: dict[str, Output] = field(default_factory=dict)
