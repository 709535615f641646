"""The scoring IR: one expression DAG per compiled model, shared by every target.

Every node has IEEE-754 double semantics, whatever the target: comparisons with NaN
are false, NaN propagates through arithmetic, `Exp` overflows to +inf. Emitters must
reproduce exactly these semantics in their language (DuckDB, for one, orders NaN
above every number and needs guards). Nodes are compared by identity: a node used
twice is one computation, and `passes.schedule` decides where it is bound to a name.

Types: "number" (double), "string" (text, possibly missing), "bool", "index" (a small
non-negative int), "vector" (a fixed-width tuple of numbers).
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


@dataclass(frozen=True, eq=False)
class Exp(Expr):
    """e**a; +inf on overflow (never an exception)."""

    a: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.a,)


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
    `bound`). values[i] is the leaf's vector (empty for split nodes). Node 0 is the root.
    """

    type = "vector"
    inputs: tuple[Expr, ...]
    feature: tuple[int, ...]
    bound: tuple[float, ...]
    missing_left: tuple[bool, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    values: tuple[tuple[float, ...], ...]

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


class Refusal(Enum):
    """Why a row is refused, where sklearn raises for it. Values are the C codes."""

    UNKNOWN_CATEGORY = -1
    MISSING_VALUE = -2
    INFINITE_VALUE = -3

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
