"""Lower a fitted sklearn model to a `Program`: the front end of the compiler."""

from __future__ import annotations

from . import lowering  # noqa: F401  (registers the rules)
from .ir import FeatureSpec, Program
from .lowering.compose import lower_final
from .registry import CompileError, Context, Frame, Head


def input_names(model: object) -> list[str]:
    """The model's input columns: the fitted DataFrame's names, else x0 .. x{n-1}."""
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    n = getattr(model, "n_features_in_", None)
    if n is None:
        raise CompileError(f"{type(model).__name__} does not record how many inputs it has")
    return [f"x{i}" for i in range(int(n))]


def lower_model(model: object) -> Program:
    """The Program computing what `model` computes. Rules discover which inputs are text
    (an encoder's categories say so); lowering then runs again with those kinds known."""
    specs = [FeatureSpec(name, "number") for name in input_names(model)]
    for _ in range(3):
        ctx = Context(list(specs))
        frame = Frame([ctx.feature(i) for i in range(len(specs))])
        head = lower_final(model, frame, ctx, "model")
        if not ctx.changed:
            break
        specs = ctx.features
    else:  # pragma: no cover - kinds only ever move number -> string
        raise CompileError("could not settle the input kinds of the model")
    if not isinstance(head, Head):
        raise CompileError("the model ends in a transformer; scorec compiles models that "
                           "predict (end the pipeline in an estimator)")
    return Program(features=tuple(ctx.features), task=head.task, classes=head.classes,
                   checks=tuple(ctx.checks), outputs=head.outputs)
