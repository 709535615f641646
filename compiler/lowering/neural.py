"""MLPClassifier and MLPRegressor: sklearn's `_forward_pass_fast`, one MatVec per layer.

sklearn computes `activation = safe_sparse_dot(activation, coefs_[i]); activation +=
intercepts_[i]` (BLAS: any summation order is sklearn's), applies the hidden activation in
place between layers (`neural_network/_base.py` ACTIVATIONS) and the output activation
last; predict goes through the LabelBinarizer. Every layer is a `MatVec` with bias and every
hidden activation one `Map`, so the generated text stays linear in the number of weights;
only the output layer is read item by item.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.neural_network import MLPClassifier, MLPRegressor

from ..ir import (
    Argmax,
    Arith,
    BoolIndex,
    Compare,
    Const,
    Expr,
    Func,
    Item,
    Map,
    MatVec,
    Output,
    Pack,
    Select,
    Var,
)
from ..registry import CompileError, Context, Frame, Head, UnsupportedError, rule
from .common import as_label, check_numbers, expit, softmax


def relu(x: Expr) -> Expr:
    """np.maximum(x, 0): NaN stays NaN and -0.0 becomes +0.0 (numpy's maximum returns its
    second operand on equal values); `x <= 0 ? 0.0 : x` is exactly that, NaN failing `<=`."""
    return Select(Compare("<=", x, 0.0), Const(0.0), x)


def tanh(x: Expr) -> Expr:
    """np.tanh."""
    return Func("tanh", x)


# The hidden activations in sklearn's arithmetic (logistic is scipy.special.expit,
# 1 / (1 + exp(-x))), each applied to one element; identity leaves a layer as it is.
HIDDEN: dict[str, Callable[[Expr], Expr] | None] = {
    "identity": None, "logistic": expit, "tanh": tanh, "relu": relu,
}


def _weights(est: MLPClassifier | MLPRegressor, n_in: int,
             ctx: Context) -> list[tuple[np.ndarray, np.ndarray]]:
    """(coef, intercept) per layer, checked to be what a double forward pass reproduces."""
    name = type(est).__name__
    params = list(est.coefs_) + list(est.intercepts_)
    if any(np.asarray(p).dtype != np.float64 for p in params):
        raise UnsupportedError(
            f"{ctx.where()}: {name} was fitted on float32 data (its coefs_ are "
            f"{np.asarray(est.coefs_[0]).dtype}), so sklearn runs its forward pass in float32 "
            "for float32 input, which double arithmetic cannot reproduce; refit it on "
            "float64 data")
    if est.activation not in HIDDEN:
        raise UnsupportedError(f"{ctx.where()}: {name} activation={est.activation!r} is not "
                               f"supported (supported: {', '.join(HIDDEN)})")
    if est.coefs_[0].shape[0] != n_in:
        raise CompileError(f"{ctx.where()}: coefs_[0] has {est.coefs_[0].shape[0]} rows, "
                           f"the step receives {n_in} columns")
    return [(np.asarray(c), np.asarray(b)) for c, b in zip(est.coefs_, est.intercepts_)]


def output_layer(est: MLPClassifier | MLPRegressor, frame: Frame, ctx: Context) -> list[Expr]:
    """The output layer's values before the output activation, one per output unit.

    validate_data (ensure_all_finite=True, float64 kept) refuses NaN, then infinity."""
    check_numbers(ctx, frame.columns, allow_nan=False, who=type(est).__name__)
    layers = _weights(est, len(frame.columns), ctx)
    activation = HIDDEN[est.activation]
    x: Expr = Pack(tuple(frame.columns))
    for i, (coef, intercept) in enumerate(layers):
        if i and activation is not None:
            x = Map(activation(Var(0)), (x,))
        x = MatVec(x, tuple(tuple(float(v) for v in row) for row in coef.T),
                   bias=tuple(float(v) for v in intercept))
    return [Item(x, k) for k in range(layers[-1][0].shape[1])]


def _expect_output_activation(est: object, ctx: Context, expected: tuple[str, ...]) -> None:
    """out_activation_ is set by fit from the task; anything else is not a model we know."""
    if est.out_activation_ not in expected:
        raise UnsupportedError(f"{ctx.where()}: {type(est).__name__} with output activation "
                               f"{est.out_activation_!r} is not supported")


def _multilabel(est: MLPClassifier, scores: list[Expr], ctx: Context) -> Head:
    """A multilabel-indicator fit: a logistic unit per label. predict_proba is the (n,
    n_labels) activations as they are; predict is LabelBinarizer's inverse for multilabel
    (`_inverse_binarize_thresholding`): `p > (pos_label + neg_label) / 2` per label, as
    ints; classes_ are the label indices 0 .. n_labels - 1."""
    binarizer = est._label_binarizer
    if binarizer.sparse_input_:
        raise UnsupportedError(f"{ctx.where()}: MLPClassifier fitted on a sparse label "
                               "matrix predicts a sparse matrix; fit it on a dense one")
    _expect_output_activation(est, ctx, ("logistic",))
    classes = tuple(as_label(c) for c in est.classes_)
    if classes != tuple(range(len(scores))):
        raise CompileError(f"{ctx.where()}: multilabel classes_ {classes!r} are not the "
                           f"label indices 0..{len(scores) - 1}")
    threshold = (binarizer.pos_label + binarizer.neg_label) / 2.0
    proba = tuple(expit(s) for s in scores)
    return Head("classification", classes, {
        "predict": Output("predict", "vector",
                          tuple(BoolIndex(Compare(">", p, threshold)) for p in proba)),
        "predict_proba": Output("predict_proba", "vector", proba),
    })


@rule(MLPClassifier, "estimator",
      notes="binary, multiclass, multilabel; activations identity/logistic/tanh/relu; "
            "float64 fits")
def mlp_classifier(est: MLPClassifier, frame: Frame, ctx: Context) -> Head:
    binarizer = est._label_binarizer
    if binarizer.y_type_ not in ("binary", "multiclass", "multilabel-indicator"):
        raise UnsupportedError(f"{ctx.where()}: MLPClassifier fitted on y of type "
                               f"{binarizer.y_type_!r} is not supported")
    if binarizer.y_type_ == "multilabel-indicator":
        return _multilabel(est, output_layer(est, frame, ctx), ctx)
    classes = tuple(as_label(c) for c in est.classes_)
    if len(classes) < 2:
        raise UnsupportedError(f"{ctx.where()}: MLPClassifier fitted on a single class: its "
                               "predict_proba has two columns for one class")
    scores = output_layer(est, frame, ctx)
    if binarizer.y_type_ == "binary":
        _expect_output_activation(est, ctx, ("logistic",))
        (score,) = scores
        p = expit(score)
        # LabelBinarizer.inverse_transform: classes[y > (pos_label + neg_label) / 2]
        threshold = (binarizer.pos_label + binarizer.neg_label) / 2.0
        return Head("classification", classes, {
            "predict": Output("predict", "label", (BoolIndex(Compare(">", p, threshold)),)),
            "predict_proba": Output("predict_proba", "vector", (Arith("-", Const(1.0), p), p)),
        })
    _expect_output_activation(est, ctx, ("softmax",))
    proba = tuple(softmax(scores))
    # _inverse_binarize_multiclass: argmax of the probabilities (not of the scores: exp
    # and the division can make distinct scores tie), the first maximum winning
    return Head("classification", classes, {
        "predict": Output("predict", "label", (Argmax(proba),)),
        "predict_proba": Output("predict_proba", "vector", proba),
    })


@rule(MLPRegressor, "estimator",
      notes="one or several outputs; squared_error, poisson; every activation; float64 fits")
def mlp_regressor(est: MLPRegressor, frame: Frame, ctx: Context) -> Head:
    """`_forward_pass_fast`, then the output activation per output unit; predict ravels a
    single output and returns (n, n_outputs) otherwise."""
    _expect_output_activation(est, ctx, ("identity", "exp"))
    scores = output_layer(est, frame, ctx)
    values = tuple(Func("exp", s) if est.out_activation_ == "exp" else s for s in scores)
    shape = "scalar" if len(values) == 1 else "vector"
    return Head("regression", (), {"predict": Output("predict", shape, values)})
