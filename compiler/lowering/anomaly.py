"""IsolationForest: path lengths through random trees, as sklearn/ensemble/_iforest.py
scores them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.ensemble._iforest import _average_path_length

from ..ir import Arith, BoolIndex, Compare, Const, Expr, Item, Neg, Not, Output, Pow, Sum, Tree
from ..registry import CompileError, Context, Frame, Head, rule
from .common import check_numbers
from .trees import lower_tree


def _depth_tree(est: IsolationForest, k: int, inputs: tuple[Expr, ...], sparse: bool) -> Tree:
    """Tree k of the forest whose leaves hold the depth it adds for a row reaching them:
    `_decision_path_lengths[k][leaf] + _average_path_length_per_tree[k][leaf] - 1.0`,
    evaluated here in the same double arithmetic (int64 + float64, then - 1.0).

    `tree.apply` on a CSR matrix has no missing-value branch: a stored NaN fails
    `value <= threshold` and goes right, whatever the tree learned."""
    tree = lower_tree(est.estimators_[k], inputs, 1)
    added = est._decision_path_lengths[k] + est._average_path_length_per_tree[k] - 1.0
    values = tuple((float(v),) if leaf else () for v, leaf in
                   zip(added.tolist(), (np.asarray(tree.left) == -1).tolist()))
    missing_left = (False,) * len(tree.left) if sparse else tree.missing_left
    return replace(tree, values=values, missing_left=missing_left)


def _numpy_decision(depths: np.ndarray, denominator: float, offset: float) -> np.ndarray:
    """decision_function from depths, in numpy's own arithmetic (its vectorised power)."""
    ratio = np.divide(depths, np.array([denominator]))
    return -(2 ** -ratio) - offset


def _inlier_depth(denominator: float, offset: float, ctx: Context) -> float:
    """The least depth sum D with `decision >= 0`, found with numpy's own `2 ** x`.

    predict is `decision < 0: -1`, and with contamination a fraction offset_ is one of
    the training scores (or between two), so a row at the same leaves scores exactly 0;
    numpy's vectorised power differs from C's pow in the last bit for a few percent of
    inputs, enough to flip such a label. The decision grows with the depth sum, which the
    compiled code adds exactly as sklearn does, so comparing that sum with D gives
    sklearn's label bit for bit (on the machine that compiles, as sklearn's own label
    depends on its numpy build and CPU)."""
    def inlier(bits: np.ndarray) -> np.ndarray:
        return ~(_numpy_decision(bits.view(np.float64), denominator, offset) < 0)

    lo, hi = np.int64(0), np.array([np.inf]).view(np.int64)[0]  # depths are >= 0
    if inlier(np.array([lo]))[0]:
        return 0.0
    while hi - lo > 1:  # non-negative doubles are ordered as their bit patterns
        mid = lo + (hi - lo) // 2
        if inlier(np.array([mid]))[0]:
            hi = mid
        else:
            lo = mid
    near = np.arange(max(hi - 256, 0), hi + 256, dtype=np.int64)
    if (inlier(near) != (near >= hi)).any():
        raise CompileError(f"{ctx.where()}: numpy's 2 ** x is not monotone near the "
                           "inlier boundary of this forest; its predict cannot be compiled "
                           "as one depth threshold")
    return float(np.array([hi]).view(np.float64)[0])


@rule(IsolationForest, "estimator", notes="score_samples, decision_function, predict "
      "(decision < 0: -1); contamination 'auto' or a fraction; max_features, bootstrap; "
      "NaN routed as learned")
def isolation_forest(est: IsolationForest, frame: Frame, ctx: Context) -> Head:
    """IsolationForest.score_samples: validate_data(dtype=float32, ensure_all_finite=False)
    refuses nothing (NaN follows each tree's missing-value direction, infinities and
    values past float32's range are +-inf to the splits); each tree reads its
    `estimators_features_` columns when max_features < n_features; the depths are added
    tree by tree from zero (`depths += ...`, in estimator order, whatever the chunking);
    the score is `-(2 ** -(depths / (n_estimators * c(max_samples))))`, with sklearn's
    `where=denominator != 0` (a forest of one-sample trees scores -2 ** -1)."""
    check_numbers(ctx, frame.columns, allow_nan=True, dtype=None, who="IsolationForest")
    n_features = len(frame.columns)
    if n_features != est.n_features_in_:
        raise CompileError(f"{ctx.where()}: the estimator expects {est.n_features_in_} "
                           f"columns and receives {n_features}")
    subsample = est._max_features != n_features
    columns = tuple(frame.columns)  # one inputs tuple: the targets walk the trees as one forest
    trees = []
    for k, features in enumerate(est.estimators_features_):
        tree = _depth_tree(est, k, columns, frame.sparse)
        if subsample:  # tree k's feature j is column features[j]
            tree = replace(tree, feature=tuple(int(features[j]) for j in tree.feature))
        trees.append(tree)
    denominator = float((len(est.estimators_) * _average_path_length([est._max_samples]))[0])
    if denominator != 0:
        depths: Expr = Sum(tuple(Item(t, 0) for t in trees)) if len(trees) > 1 \
            else Item(trees[0], 0)
        ratio: Expr = Neg(Arith("/", depths, Const(denominator)))
    else:
        ratio = Const(-1.0)  # np.divide's out=np.ones_like(depths), then negated
    score = Neg(Pow(Const(2.0), ratio))
    offset = float(est.offset_)
    decision = Arith("-", score, Const(offset))
    if denominator != 0:
        inlier: Expr = Compare(">=", depths, _inlier_depth(denominator, offset, ctx))
    else:
        inlier = Not(Compare("<", decision, 0.0))
    return Head("anomaly", (-1, 1), {
        "predict": Output("predict", "label", (BoolIndex(inlier),)),
        "decision_function": Output("decision_function", "scalar", (decision,)),
        "score_samples": Output("score_samples", "scalar", (score,)),
    })
