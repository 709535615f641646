"""Decision trees and forests, with sklearn's float32 split semantics and NaN routing."""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.tree import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    ExtraTreeClassifier,
    ExtraTreeRegressor,
)

from ..ir import Argmax, Arith, Const, Expr, Item, Output, Sum, Tree
from ..registry import CompileError, Context, Frame, Head, UnsupportedError, rule
from .common import as_label, check_numbers, f32_split_bounds


def lower_tree(est: object, inputs: tuple[Expr, ...], width: int) -> Tree:
    """One fitted sklearn tree as an IR Tree whose leaves hold the first `width` values of
    each output, output after output: `tree_.value[leaf, k, :width]` is at k * width.
    (A regressor's value has one column per output; a classifier's a column per class.)"""
    t = est.tree_
    split = t.children_left != -1
    missing = getattr(t, "missing_go_to_left", np.zeros(t.node_count, dtype=np.uint8))
    values = t.value[:, :, :width].reshape(t.node_count, -1).tolist()
    return Tree(
        inputs=inputs,
        feature=tuple(np.where(split, t.feature, 0).tolist()),
        bound=tuple(np.where(split, f32_split_bounds(np.where(split, t.threshold, 0.0)),
                             0.0).tolist()),
        missing_left=tuple((split & (np.asarray(missing) != 0)).tolist()),
        left=tuple(t.children_left.tolist()),
        right=tuple(t.children_right.tolist()),
        values=tuple(tuple(v) if not s else () for v, s in zip(values, split.tolist())),
    )


def _check_input(est: object, frame: Frame, ctx: Context) -> tuple[Expr, ...]:
    """validate_data(dtype=float32, ensure_all_finite='allow-nan' where supported)."""
    probe = np.zeros((1, max(len(frame.columns), 1)))
    first = est.estimators_[0] if hasattr(est, "estimators_") else est
    allow_nan = not frame.sparse and bool(first._support_missing_values(probe))
    check_numbers(ctx, frame.columns, allow_nan=allow_nan, dtype="float32",
                  who=type(est).__name__)
    if len(frame.columns) != est.n_features_in_:
        raise CompileError(f"{ctx.where()}: the estimator expects {est.n_features_in_} "
                           f"columns and receives {len(frame.columns)}")
    return tuple(frame.columns)


def _mean(trees: list[Tree], k: int) -> Expr:
    """sklearn's forest average: zeros, += each tree in order, /= n_estimators (for several
    outputs the same per element of the (n_samples, n_outputs) sum)."""
    total: Expr = Sum(tuple(Item(t, k) for t in trees)) if len(trees) > 1 else Item(trees[0], k)
    return Arith("/", total, Const(float(len(trees))))


def _value(trees: list[Tree], averaged: bool, k: int) -> Expr:
    """Leaf value k: the forest's mean, or the one tree's own."""
    return _mean(trees, k) if averaged else Item(trees[0], k)


def _width(est: object) -> int:
    """Values per output in a classifier's leaves: the most classes of any output
    (`tree_.value` pads the others)."""
    return int(np.max(est.n_classes_))


def _indicator_outputs(est: object, ctx: Context) -> int:
    """The number of outputs of a multi-output classifier whose every output has the
    classes [0, 1], so its predict is an indicator matrix the IR states as 0/1 per output
    (classes = the output indices). Other label sets are refused: each output would need
    its own classes, and the manifest holds one list."""
    sets = [np.asarray(c) for c in est.classes_]
    if not all(c.dtype.kind in "iu" and c.tolist() == [0, 1] for c in sets):
        shown = ", ".join(repr(c.tolist()) for c in sets[:4])
        raise UnsupportedError(
            f"{ctx.where()}: multi-output {type(est).__name__} with classes {shown}"
            f"{', ...' if len(sets) > 4 else ''}: each output predicts from its own label "
            "set, which the compiled outputs cannot state (one list of classes); supported "
            "where every output has the integer classes [0, 1] (an indicator matrix)")
    return len(sets)


def _classifier(est: object, trees: list[Tree], averaged: bool, ctx: Context) -> Head:
    """predict: the first largest probability per output (`classes_.take(argmax)`);
    predict_proba for a single output (several outputs get a list of arrays, which no
    compiled output states)."""
    if est.n_outputs_ != 1:
        n = _indicator_outputs(est, ctx)
        labels = tuple(Argmax((_value(trees, averaged, 2 * k), _value(trees, averaged, 2 * k + 1)))
                       for k in range(n))
        return Head("classification", tuple(range(n)),
                    {"predict": Output("predict", "vector", labels)})
    classes = tuple(as_label(c) for c in est.classes_)
    proba = tuple(_value(trees, averaged, j) for j in range(len(classes)))
    return Head("classification", classes, {
        "predict": Output("predict", "label", (Argmax(proba),)),
        "predict_proba": Output("predict_proba", "vector", proba),
    })


def _regressor(est: object, trees: list[Tree], averaged: bool) -> Head:
    """predict: one value, or one per output (`proba[:, :, 0]`, the forest's mean of them)."""
    values = tuple(_value(trees, averaged, k) for k in range(est.n_outputs_))
    shape = "scalar" if est.n_outputs_ == 1 else "vector"
    return Head("regression", (), {"predict": Output("predict", shape, values)})


@rule(DecisionTreeClassifier, "estimator", float32=True,
      notes="float32 splits; NaN routed as learned; several outputs when each is 0/1")
def decision_tree_classifier(est, frame: Frame, ctx: Context) -> Head:
    inputs = _check_input(est, frame, ctx)
    return _classifier(est, [lower_tree(est, inputs, _width(est))], averaged=False, ctx=ctx)


@rule(DecisionTreeRegressor, "estimator", float32=True,
      notes="float32 splits; NaN routed as learned; one or several outputs")
def decision_tree_regressor(est, frame: Frame, ctx: Context) -> Head:
    inputs = _check_input(est, frame, ctx)
    return _regressor(est, [lower_tree(est, inputs, 1)], averaged=False)


def forest_classifier(est, frame: Frame, ctx: Context) -> Head:
    inputs = _check_input(est, frame, ctx)
    trees = [lower_tree(e, inputs, _width(est)) for e in est.estimators_]
    return _classifier(est, trees, averaged=True, ctx=ctx)


def forest_regressor(est, frame: Frame, ctx: Context) -> Head:
    inputs = _check_input(est, frame, ctx)
    trees = [lower_tree(e, inputs, 1) for e in est.estimators_]
    return _regressor(est, trees, averaged=True)


rule(ExtraTreeClassifier, "estimator", float32=True,
     notes="as DecisionTree")(decision_tree_classifier)
rule(ExtraTreeRegressor, "estimator", float32=True,
     notes="as DecisionTree")(decision_tree_regressor)
for _cls in (RandomForestClassifier, ExtraTreesClassifier):
    rule(_cls, "estimator", float32=True, notes="mean of tree probabilities, in tree "
         "order; several outputs when each is 0/1")(forest_classifier)
for _cls in (RandomForestRegressor, ExtraTreesRegressor):
    rule(_cls, "estimator", float32=True, notes="mean of tree predictions, in tree "
         "order; one or several outputs")(forest_regressor)
