"""Compositions (Pipeline, ColumnTransformer, FeatureUnion: wiring only, plus weights) and
FunctionTransformer with a known numpy function."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer

from ..ir import Arith, Compare, Const, Expr, Func, Neg, Select
from ..registry import CompileError, Context, Frame, Head, UnsupportedError, find_rule, rule
from .common import check_numbers


def lower_step(obj: object, frame: Frame, ctx: Context, name: str) -> Frame | Head:
    """Lower one component, with its place recorded for error messages."""
    ctx.path.append(f"{name} ({type(obj).__name__})")
    try:
        found = find_rule(obj, ctx)
        if frame.dtype == "float32" and not found.float32:
            raise UnsupportedError(
                f"{ctx.where()}: receives float32 data (an earlier encoder or discretizer "
                "has dtype=np.float32), so sklearn computes this step in float32, which "
                "scorec does not reproduce: give that step dtype=np.float64")
        return found.lower(obj, frame, ctx)
    finally:
        ctx.path.pop()


def lower_final(obj: object, frame: Frame, ctx: Context, name: str) -> Frame | Head:
    """The last step of a model: a selector that predicts (RFE, RFECV: `predict` is
    `estimator_.predict(transform(X))`) is its selection, then its fitted estimator; where
    the step is lowered for its transform (a pipeline inside a pipeline), only its selection."""
    out = lower_step(obj, frame, ctx, name)
    inner = getattr(obj, "estimator_", None)
    if (isinstance(out, Frame) and inner is not None and not ctx.transforming
            and callable(getattr(obj, "predict", None))):
        ctx.path.append(f"{name} ({type(obj).__name__})")
        try:
            return lower_step(inner, out, ctx, "estimator_")
        finally:
            ctx.path.pop()
    return out


def lower_estimator(obj: object, frame: Frame, ctx: Context, name: str) -> Frame | Head:
    """A sub-estimator lowered for its predictions, even inside a transformer (an
    IterativeImputer's estimators)."""
    outer, ctx.transforming = ctx.transforming, 0
    try:
        return lower_final(obj, frame, ctx, name)
    finally:
        ctx.transforming = outer


def lower_transform(obj: object, frame: Frame, ctx: Context, name: str) -> Frame:
    ctx.transforming += 1
    try:
        out = lower_step(obj, frame, ctx, name)
    finally:
        ctx.transforming -= 1
    if not isinstance(out, Frame):
        raise CompileError(f"{ctx.where()}: step {name!r} ({type(obj).__name__}) is an estimator "
                           "where a transformer is expected")
    return out


@rule(Pipeline, "composition", notes="'passthrough' / None steps; set_output pandas")
def pipeline(pipe: Pipeline, frame: Frame, ctx: Context) -> Frame | Head:
    steps = [(n, s) for n, s in pipe.steps if s is not None and s != "passthrough"]
    for name, step in steps[:-1]:
        frame = lower_transform(step, frame, ctx, name)
    if not steps:
        return frame
    name, last = steps[-1]
    return lower_final(last, frame, ctx, name)


def _stacked(dtypes: list[str]) -> str:
    """The dtype of blocks stacked side by side (numpy's hstack: float32 only if all are)."""
    return "float32" if dtypes and all(d == "float32" for d in dtypes) else "float64"


@rule(ColumnTransformer, "composition",
      notes="columns by name, index, mask or make_column_selector (also names of a "
      "pandas-output step); remainder drop/passthrough")
def column_transformer(ct: ColumnTransformer, frame: Frame, ctx: Context) -> Frame:
    weights = ct.transformer_weights or {}
    columns = []
    dtypes: list[str] = []
    for name, trans, _ in ct.transformers_:
        indices = list(ct._transformer_to_input_indices.get(name, []))
        if isinstance(trans, str) and trans == "drop" or not indices:
            continue
        sub = Frame([frame.columns[i] for i in indices], frame.sparse, frame.dtype)
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
        dtypes.append(out.dtype)
    return Frame(columns, bool(ct.sparse_output_), _stacked(dtypes))


# FunctionTransformer funcs that are one IR operation per value (numpy ufuncs on float64)
UFUNCS: dict[object, Callable[[Expr], Expr]] = {
    **{getattr(np, fn): (lambda x, fn=fn: Func(fn, x)) for fn in (
        "log", "log1p", "log2", "log10", "exp", "expm1", "exp2", "sqrt", "tanh", "sinh", "cosh",
        "sin", "cos", "tan", "arctan", "arcsinh", "floor", "ceil", "trunc", "rint", "sign")},
    np.absolute: lambda x: Func("abs", x),
    np.square: lambda x: Arith("*", x, x),
    np.negative: Neg,
    np.reciprocal: lambda x: Arith("/", Const(1.0), x),
}
CLIP_BOUNDS = {"a_min": "min", "a_max": "max", "min": "min", "max": "max"}


def _func_name(func: object) -> str:
    module = getattr(func, "__module__", None) or ""
    name = getattr(func, "__name__", None) or repr(func)
    return f"{module}.{name}" if module and not isinstance(func, np.ufunc) else f"numpy.{name}"


def _clip_bounds(ft: FunctionTransformer, width: int, ctx: Context) -> list[tuple[float, float]]:
    """np.clip's (lower, upper) per column; no bound is -inf / +inf. A DataFrame (validate
    off, fitted on a frame) goes to DataFrame.clip instead, which ignores a NaN bound and
    swaps scalar bounds given in the wrong order, where numpy lets the upper bound win."""
    try:  # numpy's own argument rules (a_min needs a_max, no mixing of the two spellings)
        np.clip(np.zeros((1, width)), **(ft.kw_args or {}))
    except (TypeError, ValueError) as exc:
        raise UnsupportedError(f"{ctx.where()}: np.clip(X, **{ft.kw_args!r}) raises for every "
                               f"row: {exc}") from exc
    given = {"min": None, "max": None}
    for key, value in (ft.kw_args or {}).items():
        if key not in CLIP_BOUNDS:
            raise UnsupportedError(f"{ctx.where()}: FunctionTransformer(func=np.clip) with "
                                   f"kw_args {key!r} is not supported (a_min, a_max)")
        given[CLIP_BOUNDS[key]] = value
    frame_input = not ft.validate and getattr(ft, "feature_names_in_", None) is not None
    if frame_input and any(np.ndim(v) > 0 for v in given.values()):
        raise UnsupportedError(f"{ctx.where()}: np.clip with per-column bounds on a "
                               "DataFrame (DataFrame.clip aligns them) is not supported")
    try:
        lo, hi = (np.broadcast_to(np.asarray(default if given[k] is None else given[k],
                                             dtype=float), (width,))
                  for k, default in (("min", -np.inf), ("max", np.inf)))
    except ValueError as exc:
        raise UnsupportedError(f"{ctx.where()}: np.clip bounds {given} do not broadcast to "
                               f"one bound per column ({width} columns)") from exc
    if frame_input:
        lo = np.where(np.isnan(lo), -np.inf, lo)
        hi = np.where(np.isnan(hi), np.inf, hi)
        lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
    return [(float(a), float(b)) for a, b in zip(lo, hi)]


def _clip(x: Expr, lo: float, hi: float) -> Expr:
    """np.clip = minimum(maximum(x, lo), hi) with NaN propagating (a NaN bound: all NaN)."""
    if lo != lo or hi != hi:
        return Const(float("nan"))
    if lo > -np.inf:
        x = Select(Compare("<", x, lo), Const(lo), x)
    if hi < np.inf:
        x = Select(Compare(">", x, hi), Const(hi), x)
    return x


@rule(FunctionTransformer, "composition", notes="func None (identity), np.clip or a numpy "
      "math function (log, exp, sqrt, abs, ...); validate on or off")
def function_transformer(ft: FunctionTransformer, frame: Frame, ctx: Context) -> Frame:
    func = ft.func
    if func is not None and func not in UFUNCS and func is not np.clip:
        raise UnsupportedError(
            f"{ctx.where()}: FunctionTransformer with func={_func_name(func)} cannot be "
            "compiled; supported: None (identity), np.clip and the numpy functions "
            + ", ".join(sorted(f"np.{f.__name__}" for f in UFUNCS)))
    if ft.validate:  # check_array: numbers only, no NaN, no infinity
        check_numbers(ctx, frame.columns, allow_nan=False, who="FunctionTransformer")
    if func is None:
        return frame
    if frame.sparse:
        raise UnsupportedError(f"{ctx.where()}: FunctionTransformer(func={_func_name(func)}) "
                               "on a sparse matrix (numpy applies matrix methods, e.g. "
                               "np.square is a matrix product) is not supported")
    check_numbers(ctx, frame.columns, allow_nan=True, who="FunctionTransformer", dtype=None)
    if func is np.clip:
        bounds = _clip_bounds(ft, len(frame.columns), ctx)
        return Frame([_clip(c, lo, hi) for c, (lo, hi) in zip(frame.columns, bounds)])
    if ft.kw_args:
        raise UnsupportedError(f"{ctx.where()}: FunctionTransformer(func={_func_name(func)}) "
                               f"with kw_args {sorted(ft.kw_args)} is not supported")
    return Frame([UFUNCS[func](c) for c in frame.columns])


@rule(FeatureUnion, "composition", notes="transformer_list, transformer_weights, 'drop', "
      "'passthrough'")
def feature_union(fu: FeatureUnion, frame: Frame, ctx: Context) -> Frame:
    """Each transformer on the same input, in list order (their checks in that order),
    each output times its weight, side by side; sparse if any block is."""
    weights = fu.transformer_weights or {}
    columns: list[Expr] = []
    dtypes: list[str] = []
    sparse = False
    for name, trans in fu.transformer_list:
        if trans is None or isinstance(trans, str) and trans == "drop":
            continue
        if isinstance(trans, str) and trans == "passthrough":
            out = frame
        else:
            out = lower_transform(trans, frame, ctx, name)
        block = out.columns
        if weights.get(name) is not None:
            w = Const(float(weights[name]))
            block = [Arith("*", c, w) for c in block]
        columns.extend(block)
        sparse = sparse or out.sparse
        dtypes.append(out.dtype)
    return Frame(columns, sparse, _stacked(dtypes))
