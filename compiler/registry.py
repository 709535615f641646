"""Lowering rules, registered per sklearn class; the support table is read from here.

A rule for a transformer maps a `Frame` (the columns flowing into the step) to the
`Frame` it outputs. A rule for an estimator maps a `Frame` to the `Head` (its outputs).
A class without a rule is unsupported, and compiling a model containing it fails with
an `UnsupportedError` naming the component and where it sits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .ir import Check, Expr, Feature, FeatureSpec, Output, Refusal


class CompileError(Exception):
    """A model scorec refuses to compile; the message says why and what to do."""


class UnsupportedError(CompileError):
    pass


@dataclass
class Frame:
    """The columns between two steps; `sparse` mirrors sklearn's container (it changes
    some arithmetic and what estimators accept)."""

    columns: list[Expr]
    sparse: bool = False
    # the container's dtype: "float32" after an encoder or discretizer with dtype=float32,
    # which makes numeric steps after it compute in float32 (see `Rule.float32`)
    dtype: str = "float64"


@dataclass
class Head:
    """What a final estimator produces."""

    task: str
    classes: tuple
    outputs: dict[str, Output]


@dataclass
class Context:
    """State shared by the rules while lowering one model."""

    features: list[FeatureSpec]
    checks: list[Check] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    changed: bool = False  # a rule learned a feature's kind: lower again
    transforming: int = 0  # > 0 while a step is lowered for its transform, not its predict

    def where(self) -> str:
        return " > ".join(self.path) if self.path else "the model"

    def feature(self, index: int) -> Feature:
        return Feature(index, self.features[index].kind)

    def refuse_if(self, fails: Expr, reason: Refusal, message: str) -> None:
        self.checks.append(Check(fails, reason, message))

    def marker(self, col: Expr) -> str | None:
        """How sklearn sees a missing value of a raw text input ("nan"/"none")."""
        return self.features[col.index].missing if isinstance(col, Feature) else None

    def want_string(self, col: Expr, missing: str) -> None:
        """A rule consumes `col` as text; if it is a raw input, that input is a string."""
        if isinstance(col, Feature):
            spec = self.features[col.index]
            if spec.kind != "string" or spec.missing != missing:
                if spec.kind == "string" and missing == "nan":
                    return  # keep a more specific marker learned earlier
                self.features[col.index] = FeatureSpec(spec.name, "string", missing)
                self.changed = True
        elif col.type != "string":
            raise UnsupportedError(
                f"{self.where()}: a categorical step receives a computed number column; "
                "only raw input columns can be treated as text"
            )


TransformRule = Callable[[object, Frame, Context], Frame]
EstimatorRule = Callable[[object, Frame, Context], Head]


@dataclass(frozen=True)
class Rule:
    name: str  # the class's name, e.g. "LogisticRegression"
    module: str  # where it is defined, e.g. "sklearn.linear_model._logistic"
    role: str  # "composition" | "transformer" | "estimator"
    lower: Callable
    notes: str = ""
    float32: bool = False  # gives sklearn's result on float32 input too (trees cast to it)


# rules by the class's qualified name: a class of an optional library (XGBoost, LightGBM)
# gets its rule without that library being imported
RULES: dict[str, Rule] = {}


def _key(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def rule(cls: type | str, role: str, notes: str = "", title: str | None = None,
         float32: bool = False) -> Callable[[Callable], Callable]:
    """Register the decorated function as the lowering of `cls` (a class, or the dotted
    path of one, "module.ClassName"). `title` names it in the support table and the
    tests' builders where the class name alone is ambiguous ("xgboost.Booster"). A rule
    with `float32` accepts float32 input (compositions pass it on; trees compare in
    float32 anyway); any other refuses it, since sklearn would compute it in float32."""
    key = cls if isinstance(cls, str) else _key(cls)

    def register(fn: Callable) -> Callable:
        module, _, name = key.rpartition(".")
        RULES[key] = Rule(title or name, module, role, fn, notes,
                          float32 or role == "composition")
        return fn

    return register


def rule_of(obj: object) -> Rule | None:
    return RULES.get(_key(type(obj)))


# libraries refused as a whole, with the reason
REFUSED_LIBRARIES = {
    "catboost": "CatBoost models are not compiled: their categorical features go through "
                "CTR statistics (target statistics over feature combinations) that scorec's "
                "IR has no exact general form for; its oblivious trees alone would fit",
}


def find_rule(obj: object, ctx: Context) -> Rule:
    r = rule_of(obj)
    library = type(obj).__module__.partition(".")[0]
    if r is None and library in REFUSED_LIBRARIES:
        raise UnsupportedError(f"unsupported component {type(obj).__name__} at {ctx.where()}: "
                               f"{REFUSED_LIBRARIES[library]}")
    if r is None:
        raise UnsupportedError(
            f"unsupported component {type(obj).__name__} at {ctx.where()}. "
            f"Supported: {', '.join(supported_names())}"
        )
    return r


def supported_names() -> list[str]:
    return sorted(r.name for r in RULES.values())
