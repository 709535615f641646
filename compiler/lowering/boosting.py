"""Gradient boosting: GradientBoosting* (sklearn trees, float32 splits) and
HistGradientBoosting* (float64 splits, NaN routed as learned), in sklearn's own order.

Both sum a raw score per output k as a left fold that starts with a constant,
`Sum((Const(init_k), Item(tree_0k, ..), Item(tree_1k, ..), ...))`, then apply the loss's
link exactly as sklearn does:

- GradientBoosting (sklearn/ensemble/_gb.py `_raw_predict`, `_gradient_boosting.pyx`
  `predict_stages`): raw = `_raw_predict_init(X)` (the init estimator, a constant), then
  for each stage in order `raw[:, k] += learning_rate * tree.value[leaf]`; X is validated
  as float32 with `ensure_all_finite=True` (NaN and inf refused, float32 overflow too).
  `learning_rate * value` is one double product, so it is folded into the leaf values here.
- HistGradientBoosting (`_hist_gradient_boosting/gradient_boosting.py` `_raw_predict`,
  `_predictor.pyx` `_predict_one_from_raw_data`): raw = zeros + `_baseline_prediction`,
  then per iteration `raw[:, k] += predictor_k(X)`; a numeric split is `x <= num_threshold`
  on float64 X, NaN goes `missing_go_to_left`; X is validated with
  `ensure_all_finite=False` (NaN and inf are scored, never refused).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from sklearn._loss.link import IdentityLink, LogLink
from sklearn._loss.loss import ExponentialLoss, HalfBinomialLoss, HalfMultinomialLoss
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)

from ..ir import (
    Argmax,
    Arith,
    BoolIndex,
    Compare,
    Const,
    Expr,
    Func,
    Item,
    Output,
    Sum,
    Tree,
)
from ..registry import CompileError, Context, Frame, Head, UnsupportedError, rule
from .common import as_label, check_numbers, expit, softmax
from .compose import lower_transform
from .trees import lower_tree


def _check_width(est: object, frame: Frame, ctx: Context) -> tuple[Expr, ...]:
    if len(frame.columns) != est.n_features_in_:
        raise CompileError(f"{ctx.where()}: the estimator expects {est.n_features_in_} "
                           f"columns and receives {len(frame.columns)}")
    return tuple(frame.columns)


def _raw(init: float, terms: list[Expr]) -> Expr:
    """sklearn's `raw[:, k] = init; raw[:, k] += term` for each term, in order."""
    return Sum((Const(init), *terms))


def _classifier_head(est: object, raws: list[Expr], binary_proba, positive: str) -> Head:
    """Outputs of a boosted classifier from its raw scores. Binary: `positive` is the
    comparison with 0 that picks classes_[1] (GB: >=, HGB: >); proba by the loss's link."""
    if np.ndim(est.classes_[0]) != 0:
        raise CompileError("multi-output classifiers are not supported")
    classes = tuple(as_label(c) for c in est.classes_)
    if len(raws) == 1:
        (d,) = raws
        p1 = binary_proba(d)
        outputs = {
            "predict": Output("predict", "label", (BoolIndex(Compare(positive, d, 0.0)),)),
            "predict_proba": Output("predict_proba", "vector", (Arith("-", Const(1.0), p1), p1)),
            "decision_function": Output("decision_function", "scalar", (d,)),
        }
    else:
        if len(raws) != len(classes):
            raise CompileError(f"{type(est).__name__} has {len(raws)} scores per row for "
                               f"{len(classes)} classes")
        outputs = {
            "predict": Output("predict", "label", (Argmax(tuple(raws)),)),
            "predict_proba": Output("predict_proba", "vector", tuple(softmax(raws))),
            "decision_function": Output("decision_function", "vector", tuple(raws)),
        }
    return Head("classification", classes, outputs)


# ---- GradientBoosting --------------------------------------------------------------------

def _gb_init(est: object, ctx: Context) -> list[float]:
    """The init estimator's raw prediction, asked of the fitted model itself. Only inits
    whose prediction does not depend on X (DummyClassifier/DummyRegressor, 'zero')."""
    init = est.init_
    constant = (isinstance(init, str) and init == "zero") or isinstance(init, DummyRegressor) \
        or (isinstance(init, DummyClassifier) and init.strategy != "stratified")
    if not constant:
        raise UnsupportedError(
            f"{ctx.where()}: {type(est).__name__} with init={type(init).__name__} is not "
            "supported: only the default init (DummyClassifier/DummyRegressor), 'zero', or a "
            "Dummy estimator (not strategy='stratified') has a prediction independent of X")
    probe = np.zeros((2, est.n_features_in_), dtype=np.float32)
    probe[1] = 1.0
    raw = np.asarray(est._raw_predict_init(probe), dtype=np.float64)
    if raw.shape != (2, est.n_trees_per_iteration_) or not np.array_equal(raw[0], raw[1]):
        raise CompileError(f"{ctx.where()}: the init estimator's prediction depends on X")
    if not np.all(np.isfinite(raw[0])):
        raise CompileError(f"{ctx.where()}: the init estimator's raw prediction is not finite")
    return [float(v) for v in raw[0]]


def _gb_raws(est: object, frame: Frame, ctx: Context) -> list[Expr]:
    """Validate as sklearn does (float32, all finite), then init + lr * tree, stage by stage."""
    check_numbers(ctx, frame.columns, allow_nan=False, dtype="float32", who=type(est).__name__)
    inputs = _check_width(est, frame, ctx)
    init = _gb_init(est, ctx)
    stages = est.estimators_
    if stages.ndim != 2 or stages.shape[1] != len(init):
        raise CompileError(f"{ctx.where()}: estimators_ has shape {stages.shape}, expected "
                           f"(n_stages, {len(init)})")
    scale = float(est.learning_rate)  # predict_stages takes it as a C double
    trees: list[list[Tree]] = [[] for _ in init]
    for stage in stages:
        for k, reg in enumerate(stage):
            if reg.tree_.value.shape[1:] != (1, 1):
                raise CompileError(f"{ctx.where()}: a boosting tree has value shape "
                                   f"{reg.tree_.value.shape}, expected (n_nodes, 1, 1)")
            tree = lower_tree(reg, inputs, 1)
            # out[i, k] += scale * value[leaf]: one double product, folded into the leaf
            trees[k].append(replace(tree, values=tuple(tuple(scale * v for v in vals)
                                                       for vals in tree.values)))
    return [_raw(init[k], [Item(t, 0) for t in trees[k]]) for k in range(len(init))]


@rule(GradientBoostingClassifier, "estimator", float32=True,
      notes="float32 splits; init + learning_rate x leaf, in stage order; log_loss and "
            "exponential; NaN/inf inputs refused as in sklearn")
def gradient_boosting_classifier(est, frame: Frame, ctx: Context) -> Head:
    raws = _gb_raws(est, frame, ctx)
    loss = type(est._loss)
    if len(raws) == 1 and loss is HalfBinomialLoss:
        proba = expit  # LogitLink.inverse: scipy.special.expit
    elif len(raws) == 1 and loss is ExponentialLoss:
        def proba(d: Expr) -> Expr:  # HalfLogitLink.inverse: expit(2 * raw)
            return expit(Arith("*", Const(2.0), d))
    elif len(raws) > 1 and loss is HalfMultinomialLoss:
        proba = None  # softmax
    else:
        raise _unsupported_loss(est, raws, ctx)
    # predict: binary `(decision >= 0)`, multiclass argmax of the decision
    return _classifier_head(est, raws, proba, ">=")


def _unsupported_loss(est, raws: list[Expr], ctx: Context) -> UnsupportedError:
    return UnsupportedError(f"{ctx.where()}: {type(est).__name__} with loss "
                            f"{type(est._loss).__name__} and {len(raws)} scores is not "
                            "supported")


@rule(GradientBoostingRegressor, "estimator", float32=True,
      notes="float32 splits; init + learning_rate x leaf, in stage order; any loss; "
            "NaN/inf inputs refused as in sklearn")
def gradient_boosting_regressor(est, frame: Frame, ctx: Context) -> Head:
    (raw,) = _gb_raws(est, frame, ctx)  # predict returns the raw score, whatever the loss
    return Head("regression", (), {"predict": Output("predict", "scalar", (raw,))})


# ---- HistGradientBoosting ----------------------------------------------------------------

def _hgb_tree(predictor: object, inputs: tuple[Expr, ...], where: str) -> Tree:
    """One TreePredictor's nodes as an IR Tree: `x <= num_threshold` (float64, exact), NaN
    by missing_go_to_left, node 0 the root. A categorical split (`_predictor.pyx`
    `_predict_one_from_raw_data`) sends a category code left when its bit is set in the
    node's `raw_left_cat_bitsets` row; the codes come from the model's OrdinalEncoder,
    which makes an unknown category NaN, so it goes the missing way, as sklearn's
    known-categories test sends it."""
    nodes = predictor.nodes
    split = [not bool(v) for v in nodes["is_leaf"]]
    categorical = [bool(c) and s for c, s in zip(nodes["is_categorical"], split)]
    thresholds = [float(t) for t in nodes["num_threshold"]]
    if any(s and not c and t != t for t, s, c in zip(thresholds, split, categorical)):
        raise CompileError(f"{where}: a tree split has a NaN threshold")
    n = len(nodes)
    for s, lo, hi in zip(split, nodes["left"], nodes["right"]):
        if s and not (0 < int(lo) < n and 0 < int(hi) < n):
            raise CompileError(f"{where}: a tree node points outside the tree")
    sets: list[tuple[float, ...] | None] = [None] * n
    for i in np.flatnonzero(categorical):
        bits = np.asarray(predictor.raw_left_cat_bitsets[nodes["bitset_idx"][i]], np.uint32)
        sets[i] = tuple(float(32 * w + b) for w in range(len(bits)) for b in range(32)
                        if (int(bits[w]) >> b) & 1)
    return Tree(
        inputs=inputs,
        feature=tuple(int(f) if s else 0 for f, s in zip(nodes["feature_idx"], split)),
        bound=tuple(t if s and not c else 0.0 for t, s, c in zip(thresholds, split,
                                                                   categorical)),
        missing_left=tuple(bool(m) and s for m, s in zip(nodes["missing_go_to_left"], split)),
        left=tuple(int(v) if s else -1 for v, s in zip(nodes["left"], split)),
        right=tuple(int(v) if s else -1 for v, s in zip(nodes["right"], split)),
        values=tuple(() if s else (float(v),) for v, s in zip(nodes["value"], split)),
        categories=tuple(sets) if any(categorical) else None,
    )


def _hgb_preprocessed(est: object, frame: Frame, ctx: Context) -> Frame:
    """With categorical features, HGB first runs its own ColumnTransformer
    (`_preprocess_X`): an OrdinalEncoder (unknown and missing categories -> NaN) on the
    categorical columns, placed first, and `check_array(dtype=float64,
    ensure_all_finite=False)` on the others."""
    pre = est._preprocessor
    columns: list[Expr] = []
    for name, trans, _ in pre.transformers_:
        indices = list(pre._transformer_to_input_indices.get(name, []))
        if not indices or (isinstance(trans, str) and trans == "drop"):
            continue
        sub = Frame([frame.columns[i] for i in indices], frame.sparse)
        if name == "numerical":
            check_numbers(ctx, sub.columns, allow_nan=True, dtype=None, who=type(est).__name__)
            columns += sub.columns
        else:
            columns += lower_transform(trans, sub, ctx, f"{name} (categorical_features)").columns
    return Frame(columns, False)


def _hgb_raws(est: object, frame: Frame, ctx: Context) -> list[Expr]:
    who = type(est).__name__
    if getattr(est, "_preprocessor", None) is not None:
        frame = _hgb_preprocessed(est, frame, ctx)
    if frame.sparse:
        raise CompileError(f"{ctx.where()}: {who} receives sparse input, which it rejects; "
                           "make the step before it output a dense array")
    # validate_data(dtype=float64, ensure_all_finite=False): NaN and inf are scored
    check_numbers(ctx, frame.columns, allow_nan=True, dtype=None, who=who)
    inputs = _check_width(est, frame, ctx)
    baseline = np.zeros((1, est.n_trees_per_iteration_)) + est._baseline_prediction
    if baseline.shape != (1, est.n_trees_per_iteration_) or not np.all(np.isfinite(baseline)):
        raise CompileError(f"{ctx.where()}: unexpected baseline prediction {baseline!r}")
    k_trees: list[list[Expr]] = [[] for _ in range(baseline.shape[1])]
    for i, iteration in enumerate(est._predictors):
        if len(iteration) != len(k_trees):
            raise CompileError(f"{ctx.where()}: iteration {i} has {len(iteration)} trees, "
                               f"expected {len(k_trees)}")
        for k, predictor in enumerate(iteration):
            k_trees[k].append(Item(_hgb_tree(predictor, inputs, ctx.where()), 0))
    return [_raw(float(baseline[0, k]), k_trees[k]) for k in range(len(k_trees))]


@rule(HistGradientBoostingClassifier, "estimator", float32=True,
      notes="float64 splits, NaN routed as learned, inf scored; baseline + trees in "
            "iteration order; categorical features (indices, masks, names, from_dtype) split "
            "by category sets")
def hist_gradient_boosting_classifier(est, frame: Frame, ctx: Context) -> Head:
    raws = _hgb_raws(est, frame, ctx)
    loss = type(est._loss)
    if not ((len(raws) == 1 and loss is HalfBinomialLoss)
            or (len(raws) > 1 and loss is HalfMultinomialLoss)):
        raise _unsupported_loss(est, raws, ctx)
    # predict: binary `(raw > 0)` (not >=), multiclass argmax of the raw scores
    return _classifier_head(est, raws, expit, ">")


@rule(HistGradientBoostingRegressor, "estimator", float32=True,
      notes="float64 splits, NaN routed as learned, inf scored; identity link, or exp "
            "(poisson, gamma); categorical features split by category sets")
def hist_gradient_boosting_regressor(est, frame: Frame, ctx: Context) -> Head:
    (raw,) = _hgb_raws(est, frame, ctx)
    link = type(est._loss.link)
    if link is IdentityLink:
        value = raw
    elif link is LogLink:
        value = Func("exp", raw)  # LogLink.inverse: np.exp
    else:
        raise UnsupportedError(f"{ctx.where()}: HistGradientBoostingRegressor with loss "
                               f"{est.loss!r} ({link.__name__}) is not supported")
    return Head("regression", (), {"predict": Output("predict", "scalar", (value,))})
