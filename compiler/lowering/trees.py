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
from ..registry import CompileError, Context, Frame, Head, rule
from .common import as_label, check_numbers, f32_split_bounds


def lower_tree(est: object, inputs: tuple[Expr, ...], width: int) -> Tree:
    """One fitted sklearn tree as an IR Tree whose leaves hold `width` values."""
    t = est.tree_
    if t.n_outputs != 1:
        raise CompileError("multi-output trees are not supported")
    split = t.children_left != -1
    missing = getattr(t, "missing_go_to_left", np.zeros(t.node_count, dtype=np.uint8))
    values = t.value[:, 0, :width].tolist()
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
    """sklearn's forest average: zeros, += each tree in order, /= n_estimators."""
    total: Expr = Sum(tuple(Item(t, k) for t in trees)) if len(trees) > 1 else Item(trees[0], k)
    return Arith("/", total, Const(float(len(trees))))


def _classifier(est: object, trees: list[Tree], averaged: bool) -> Head:
    if np.ndim(est.classes_[0]) != 0:
        raise CompileError("multi-output classifiers are not supported")
    classes = tuple(as_label(c) for c in est.classes_)
    k = len(classes)
    if averaged:
        proba = tuple(_mean(trees, j) for j in range(k))
    else:
        proba = tuple(Item(trees[0], j) for j in range(k))
    return Head("classification", classes, {
        "predict": Output("predict", "label", (Argmax(proba),)),
        "predict_proba": Output("predict_proba", "vector", proba),
    })


@rule(DecisionTreeClassifier, "estimator", float32=True,
      notes="float32 splits; NaN routed as learned")
def decision_tree_classifier(est, frame: Frame, ctx: Context) -> Head:
    inputs = _check_input(est, frame, ctx)
    return _classifier(est, [lower_tree(est, inputs, len(est.classes_))], averaged=False)


@rule(DecisionTreeRegressor, "estimator", float32=True,
      notes="float32 splits; NaN routed as learned")
def decision_tree_regressor(est, frame: Frame, ctx: Context) -> Head:
    inputs = _check_input(est, frame, ctx)
    value = Item(lower_tree(est, inputs, 1), 0)
    return Head("regression", (), {"predict": Output("predict", "scalar", (value,))})


def forest_classifier(est, frame: Frame, ctx: Context) -> Head:
    inputs = _check_input(est, frame, ctx)
    trees = [lower_tree(e, inputs, len(est.classes_)) for e in est.estimators_]
    return _classifier(est, trees, averaged=True)


def forest_regressor(est, frame: Frame, ctx: Context) -> Head:
    inputs = _check_input(est, frame, ctx)
    trees = [lower_tree(e, inputs, 1) for e in est.estimators_]
    return Head("regression", (), {"predict": Output("predict", "scalar", (_mean(trees, 0),))})


rule(ExtraTreeClassifier, "estimator", float32=True,
     notes="as DecisionTree")(decision_tree_classifier)
rule(ExtraTreeRegressor, "estimator", float32=True,
     notes="as DecisionTree")(decision_tree_regressor)
for _cls in (RandomForestClassifier, ExtraTreesClassifier):
    rule(_cls, "estimator", float32=True,
         notes="mean of tree probabilities, in tree order")(forest_classifier)
for _cls in (RandomForestRegressor, ExtraTreesRegressor):
    rule(_cls, "estimator", float32=True,
         notes="mean of tree predictions, in tree order")(forest_regressor)
