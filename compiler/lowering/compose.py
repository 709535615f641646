"""Pipeline and ColumnTransformer: wiring only, no arithmetic of their own."""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from ..ir import Arith, Const
from ..registry import CompileError, Context, Frame, Head, UnsupportedError, find_rule, rule
from .common import check_numbers


def lower_step(obj: object, frame: Frame, ctx: Context, name: str) -> Frame | Head:
    """Lower one component, with its place recorded for error messages."""
    ctx.path.append(f"{name} ({type(obj).__name__})")
    try:
        return find_rule(obj, ctx).lower(obj, frame, ctx)
    finally:
        ctx.path.pop()


def lower_transform(obj: object, frame: Frame, ctx: Context, name: str) -> Frame:
    out = lower_step(obj, frame, ctx, name)
    if not isinstance(out, Frame):
        raise CompileError(f"{ctx.where()}: step {name!r} ({type(obj).__name__}) is an estimator "
                           "where a transformer is expected")
    return out


@rule(Pipeline, "composition")
def pipeline(pipe: Pipeline, frame: Frame, ctx: Context) -> Frame | Head:
    steps = [(n, s) for n, s in pipe.steps if s is not None and s != "passthrough"]
    for name, step in steps[:-1]:
        frame = lower_transform(step, frame, ctx, name)
    if not steps:
        return frame
    name, last = steps[-1]
    return lower_step(last, frame, ctx, name)


@rule(ColumnTransformer, "composition",
      notes="columns by name, index, mask or make_column_selector; remainder drop/passthrough")
def column_transformer(ct: ColumnTransformer, frame: Frame, ctx: Context) -> Frame:
    weights = ct.transformer_weights or {}
    columns = []
    for name, trans, _ in ct.transformers_:
        indices = list(ct._transformer_to_input_indices.get(name, []))
        if isinstance(trans, str) and trans == "drop" or not indices:
            continue
        sub = Frame([frame.columns[i] for i in indices], frame.sparse)
        if isinstance(trans, str) and trans == "passthrough":
            out = sub
        else:
            out = lower_transform(trans, sub, ctx, name)
        block = out.columns
        if name in weights and weights[name] is not None:
            w = float(weights[name])
            block = [Arith("*", c, Const(w)) for c in block]
        expected = ct.output_indices_[name]
        if len(block) != expected.stop - expected.start:
            raise CompileError(f"{ctx.where()}: transformer {name!r} lowered to {len(block)} "
                               f"columns but sklearn outputs {expected.stop - expected.start}")
        columns.extend(block)
    return Frame(columns, bool(ct.sparse_output_))


@rule(FunctionTransformer, "composition", notes="identity only (func=None): what "
      "ColumnTransformer stores for remainder='passthrough'")
def function_transformer(ft: FunctionTransformer, frame: Frame, ctx: Context) -> Frame:
    if ft.func is not None:
        raise UnsupportedError(f"{ctx.where()}: FunctionTransformer with a custom func "
                               f"({getattr(ft.func, '__name__', ft.func)!r}) cannot be compiled")
    if ft.validate:
        check_numbers(ctx, frame.columns, allow_nan=False, who="FunctionTransformer")
    return frame
