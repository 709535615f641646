"""Linear models and GLMs: a score `X @ coef.T + intercept` per output, then a link, a
classifier head or an outlier threshold, each as sklearn/linear_model computes it.

Where sklearn scores (sklearn 1.9.1):
- `LinearModel._decision_function` (`_base.py`): `validate_data(accept_sparse=...)`, then
  `X @ coef_.T + intercept_`. LinearRegression, Ridge(CV), Lasso(CV), ElasticNet(CV), Lars,
  LassoLars and their CV/IC variants, OrthogonalMatchingPursuit(CV), BayesianRidge,
  ARDRegression, TheilSenRegressor, HuberRegressor, QuantileRegressor, LinearSVR and the
  MultiTask Lasso/ElasticNet(CV) predict with it; a 2-D coef_ (fitted on a 2-D y) gives a
  row of outputs. ElasticNet and Lasso override it for sparse X without validating
  (`_coordinate_descent.py` `ElasticNet._decision_function`).
- `BaseSGDRegressor._decision_function` (`_stochastic_gradient.py`): the same arithmetic
  for SGDRegressor and PassiveAggressiveRegressor.
- `_GeneralizedLinearRegressor.predict` (`_glm/glm.py`): `link.inverse(X @ coef_ +
  intercept_)` with the loss's link from `_loss/link.py` (identity, or `np.exp`).
- `LinearClassifierMixin` (`_base.py`): `decision_function` is the score (one column
  flattened), `predict` takes `classes_[scores > 0]` (binary) or `classes_[argmax]`;
  `_predict_proba_lr` is expit, OvR-normalised with all-zero rows made uniform.
  `SGDClassifier.predict_proba` adds modified_huber's clip; LogisticRegression(CV) takes
  softmax for more than two classes.
- `SGDOneClassSVM`: `decision_function = X @ coef_ - offset_`, `score_samples =
  decision_function + offset_`, `predict = 1 if decision >= 0 else -1`.
- `_RidgeClassifierMixin.predict` (`_ridge.py`): for a multilabel fit, `decision > 0`
  per label through the LabelBinarizer.
- `RANSACRegressor.predict`: `validate_data(ensure_all_finite=False)`, then its fitted
  `estimator_.predict`.

Every model above validates X with `ensure_all_finite=True` (NaN, then infinity refused)
except ElasticNet/Lasso on sparse X and RANSAC's own check. Fitted on float32 data, their
coef_ is float32, but X stays float64 at predict time (dtype "numeric" or
[float64, float32]), so numpy promotes and the arithmetic is double with coef_ widened:
what is lowered here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn._loss.link import IdentityLink, LogLink
from sklearn.linear_model import (
    ARDRegression,
    BayesianRidge,
    ElasticNet,
    ElasticNetCV,
    GammaRegressor,
    HuberRegressor,
    Lars,
    LarsCV,
    Lasso,
    LassoCV,
    LassoLars,
    LassoLarsCV,
    LassoLarsIC,
    LinearRegression,
    LogisticRegression,
    LogisticRegressionCV,
    MultiTaskElasticNet,
    MultiTaskElasticNetCV,
    MultiTaskLasso,
    MultiTaskLassoCV,
    OrthogonalMatchingPursuit,
    OrthogonalMatchingPursuitCV,
    PassiveAggressiveClassifier,  # deprecated in 1.8, removed in 1.10: supported while present
    PassiveAggressiveRegressor,
    Perceptron,
    PoissonRegressor,
    QuantileRegressor,
    RANSACRegressor,
    Ridge,
    RidgeClassifier,
    RidgeClassifierCV,
    RidgeCV,
    SGDClassifier,
    SGDOneClassSVM,
    SGDRegressor,
    TheilSenRegressor,
    TweedieRegressor,
)
from sklearn.multioutput import MultiOutputClassifier, MultiOutputRegressor
from sklearn.svm import LinearSVC, LinearSVR

from ..ir import Argmax, Arith, BoolIndex, Compare, Const, Expr, Func, Output, Select, Sum
from ..registry import CompileError, Context, Frame, Head, UnsupportedError, rule
from .common import as_label, check_numbers, expit, numpy_sum, softmax
from .compose import lower_estimator

# ---- the score: validate X, then X @ coef.T + intercept ---------------------------------

def _unchecked(est: object, frame: Frame) -> bool:
    """ElasticNet and Lasso score sparse input without validating it (no NaN/inf check)."""
    return frame.sparse and isinstance(est, ElasticNet)


def _validated(est: object, frame: Frame, ctx: Context) -> np.ndarray:
    """validate_data's refusals for the step's input; coef_ as a 2-D float64 array."""
    if _unchecked(est, frame):
        check_numbers(ctx, frame.columns, allow_nan=True, who=type(est).__name__, dtype=None)
    else:
        check_numbers(ctx, frame.columns, allow_nan=False, who=type(est).__name__)
    coef = np.atleast_2d(np.asarray(est.coef_, dtype=float))
    if coef.shape[1] != len(frame.columns):
        raise CompileError(f"{ctx.where()}: coef_ has {coef.shape[1]} columns, "
                           f"the step receives {len(frame.columns)}")
    return coef


def _dots(coef: np.ndarray, cols: list[Expr], finite: bool) -> list[Expr]:
    """One `x . w` per row of coef. With inputs checked finite, a zero weight adds
    nothing and is left out; unchecked inputs keep every term (NaN * 0 is NaN). sklearn
    sums by BLAS, whose order depends on the CPU and the batch; the terms are added left
    to right, as OpenBLAS's ddot does for a row of under 16 columns (and scipy's
    csr_matvec for sparse rows): then a row scored alone is bit-identical to sklearn, and
    where a sum cancels badly the result is sklearn's, not one 1e-9 off it."""
    out = []
    for w in coef:
        terms: list[Expr] = [Arith("*", x, Const(float(wj))) for x, wj in zip(cols, w)
                             if wj != 0 or not finite]
        out.append(Const(0.0) if not terms else terms[0] if len(terms) == 1
                   else Sum(tuple(terms)))
    return out


def _scores(est: object, frame: Frame, ctx: Context) -> list[Expr]:
    """`X @ coef_.T + intercept_`, one score per row of coef_, after sklearn's checks."""
    coef = _validated(est, frame, ctx)
    intercept = np.broadcast_to(np.asarray(est.intercept_, dtype=float), (coef.shape[0],))
    dots = _dots(coef, frame.columns, finite=not _unchecked(est, frame))
    return [Arith("+", d, Const(float(b))) if not isinstance(d, Const) else Const(float(b))
            for d, b in zip(dots, intercept)]


def _single_score(est: object, frame: Frame, ctx: Context) -> Expr:
    """The score of a single-output regressor (a GLM: fitted on a 1-D y only)."""
    output = _prediction(est, frame, ctx)
    if output.shape != "scalar":
        raise UnsupportedError(f"{ctx.where()}: multi-output regression (coef_ of shape "
                               f"{np.shape(est.coef_)}) is not supported for "
                               f"{type(est).__name__}")
    return output.values[0]


def _prediction(est: object, frame: Frame, ctx: Context) -> Output:
    """predict of a linear regressor, shaped as sklearn's: `X @ coef_.T + intercept_` is
    one value per row for a 1-D coef_, and a row of coef_.shape[0] values for a 2-D one
    (fitted on a 2-D y; LinearRegression and the MultiTask models keep an (n, 1) y's
    coef_ 2-D, so their predict is then an (n, 1) array, a list of one per row)."""
    if np.ndim(est.coef_) == 0:  # OrthogonalMatchingPursuit, one feature, no intercept
        raise UnsupportedError(f"{ctx.where()}: coef_ is a 0-d array, with which sklearn's "
                               "own predict raises for every row (X @ coef_ needs a vector)")
    scores = tuple(_scores(est, frame, ctx))
    return Output("predict", "vector" if np.ndim(est.coef_) == 2 else "scalar", scores)


def _regression(value: Expr) -> Head:
    return Head("regression", (), {"predict": Output("predict", "scalar", (value,))})


# ---- regressors ----------------------------------------------------------------------------

def linear_regressor(est: object, frame: Frame, ctx: Context) -> Head:
    return Head("regression", (), {"predict": _prediction(est, frame, ctx)})


# the regressors that fit a 2-D y (a coef_ row per output); the others refuse one in fit
MULTI_OUTPUT = (LinearRegression, Ridge, RidgeCV, Lasso, ElasticNet, Lars, LassoLars,
                OrthogonalMatchingPursuit, MultiTaskLasso, MultiTaskElasticNet, MultiTaskLassoCV,
                MultiTaskElasticNetCV)
for _cls in (LinearRegression, Ridge, RidgeCV, Lasso, LassoCV, ElasticNet, ElasticNetCV, Lars,
             LarsCV, LassoLars, LassoLarsCV, LassoLarsIC, OrthogonalMatchingPursuit,
             OrthogonalMatchingPursuitCV, BayesianRidge, ARDRegression, TheilSenRegressor,
             HuberRegressor, QuantileRegressor, LinearSVR, MultiTaskLasso, MultiTaskElasticNet,
             MultiTaskLassoCV, MultiTaskElasticNetCV):
    rule(_cls, "estimator", notes=("one or several outputs" if _cls in MULTI_OUTPUT
                                   else "single output")
         + "; NaN/inf inputs refused as in sklearn"
         + ("; sparse input scored unchecked, as sklearn" if _cls in (ElasticNet, Lasso)
            else ""))(linear_regressor)
for _cls in (SGDRegressor, PassiveAggressiveRegressor):
    rule(_cls, "estimator", notes="every loss and penalty, averaged or not; NaN/inf inputs "
         "refused as in sklearn")(linear_regressor)


@rule(PoissonRegressor, "estimator", notes="log link: exp(X @ coef + intercept)")
@rule(GammaRegressor, "estimator", notes="log link: exp(X @ coef + intercept)")
@rule(TweedieRegressor, "estimator", notes="any power; link auto, identity or log")
def glm_regressor(est: object, frame: Frame, ctx: Context) -> Head:
    """`_base_loss.link.inverse` of the linear predictor: IdentityLink returns it as it
    is, LogLink is `np.exp` (overflowing to inf, as numpy)."""
    loss = est._base_loss if hasattr(est, "_base_loss") else est._get_loss()
    link = loss.link
    raw = _single_score(est, frame, ctx)
    if isinstance(link, IdentityLink):
        return _regression(raw)
    if isinstance(link, LogLink):
        return _regression(Func("exp", raw))
    raise UnsupportedError(f"{ctx.where()}: link {type(link).__name__} of "
                           f"{type(loss).__name__} is not supported (identity and log are)")


@rule(RANSACRegressor, "estimator", notes="through its fitted estimator_ (any supported "
      "regressor); RANSAC itself lets NaN/inf through to it")
def ransac_regressor(est: RANSACRegressor, frame: Frame, ctx: Context) -> Head:
    check_numbers(ctx, frame.columns, allow_nan=True, dtype=None, who="RANSACRegressor")
    inner = lower_estimator(est.estimator_, frame, ctx, "estimator_")
    if not isinstance(inner, Head) or inner.task != "regression":
        raise UnsupportedError(f"{ctx.where()}: estimator_ {type(est.estimator_).__name__} "
                               "is not a regressor; RANSACRegressor is compiled for regressors")
    return Head("regression", (), {"predict": inner.outputs["predict"]})


# ---- classifiers: one head, three ways to probabilities -----------------------------------

Proba = Callable[[list[Expr]], tuple[Expr, ...]]


def _binary(p1: Expr) -> tuple[Expr, ...]:
    """`[1 - p, p]`: the two columns of a binary predict_proba."""
    return (Arith("-", Const(1.0), p1), p1)


def _normalized(probs: list[Expr]) -> tuple[Expr, ...]:
    """`prob /= prob.sum(axis=1)`, a row whose sum is 0 set to 1 / n_classes each (the
    all-zero rule of `_predict_proba_lr` and of modified_huber)."""
    total = numpy_sum(probs)
    zero = Compare("==", total, 0.0)
    uniform = Const(1.0 / len(probs))
    return tuple(Select(zero, uniform, Arith("/", p, total)) for p in probs)


def ovr_proba(scores: list[Expr]) -> tuple[Expr, ...]:
    """LinearClassifierMixin._predict_proba_lr: expit of each score; binary `[1 - p, p]`,
    else OvR-normalised."""
    probs = [expit(s) for s in scores]
    return _binary(probs[0]) if len(probs) == 1 else _normalized(probs)


def _clip(s: Expr) -> Expr:
    """np.clip(s, -1, 1); NaN stays NaN."""
    return Select(Compare(">", s, 1.0), Const(1.0),
                  Select(Compare("<", s, -1.0), Const(-1.0), s))


def modified_huber_proba(scores: list[Expr]) -> tuple[Expr, ...]:
    """SGDClassifier.predict_proba for modified_huber: `(clip(s, -1, 1) + 1) / 2`; binary
    `[1 - p, p]`, else normalised with the all-zero rule."""
    probs = [Arith("/", Arith("+", _clip(s), Const(1.0)), Const(2.0)) for s in scores]
    return _binary(probs[0]) if len(probs) == 1 else _normalized(probs)


def logistic_proba(scores: list[Expr]) -> tuple[Expr, ...]:
    """LogisticRegression.predict_proba: `_predict_proba_lr` for two classes, else softmax."""
    return ovr_proba(scores) if len(scores) == 1 else tuple(softmax(scores))


def classifier_head(est: object, scores: list[Expr], proba: Proba | None,
                    ctx: Context) -> Head:
    """LinearClassifierMixin's outputs from the scores: decision_function flattened to one
    value for one score, predict `classes_[score > 0]` or `classes_[argmax]` (the first
    maximum; a NaN first)."""
    if np.ndim(est.classes_[0]) != 0:
        raise UnsupportedError(f"{ctx.where()}: multi-output classification is not "
                               "supported yet")
    classes = tuple(as_label(c) for c in est.classes_)
    binary = len(scores) == 1
    if len(scores) != (1 if len(classes) == 2 else len(classes)):
        raise CompileError(f"{ctx.where()}: {len(scores)} scores per row for "
                           f"{len(classes)} classes")
    if binary:
        (d,) = scores
        outputs = {
            "predict": Output("predict", "label", (BoolIndex(Compare(">", d, 0.0)),)),
            "decision_function": Output("decision_function", "scalar", (d,)),
        }
    else:
        outputs = {
            "predict": Output("predict", "label", (Argmax(tuple(scores)),)),
            "decision_function": Output("decision_function", "vector", tuple(scores)),
        }
    if proba is not None:
        outputs["predict_proba"] = Output("predict_proba", "vector", proba(scores))
    return Head("classification", classes, outputs)


@rule(LogisticRegression, "estimator", notes="binary and multinomial; any label type")
@rule(LogisticRegressionCV, "estimator", notes="binary and multinomial; any label type")
def logistic_regression(est: object, frame: Frame, ctx: Context) -> Head:
    return classifier_head(est, _scores(est, frame, ctx), logistic_proba, ctx)


SGD_PROBA: dict[str, Proba] = {"log_loss": ovr_proba, "modified_huber": modified_huber_proba}


@rule(SGDClassifier, "estimator", notes="every loss; predict_proba for log_loss (OvR "
      "normalised) and modified_huber, as sklearn")
def sgd_classifier(est: SGDClassifier, frame: Frame, ctx: Context) -> Head:
    return classifier_head(est, _scores(est, frame, ctx), SGD_PROBA.get(est.loss), ctx)


def linear_classifier(est: object, frame: Frame, ctx: Context) -> Head:
    """A classifier with decision_function and predict only."""
    return classifier_head(est, _scores(est, frame, ctx), None, ctx)


@rule(RidgeClassifier, "estimator", notes="binary, multiclass and multilabel; any label type")
@rule(RidgeClassifierCV, "estimator", notes="binary, multiclass and multilabel; any label type")
def ridge_classifier(est: RidgeClassifier | RidgeClassifierCV, frame: Frame,
                     ctx: Context) -> Head:
    """_RidgeClassifierMixin.predict: for a multilabel-indicator fit, `scores = 2 *
    (decision > 0) - 1` and the LabelBinarizer (pos_label 1, neg_label -1) inverts them
    with its threshold (pos + neg) / 2 = 0: label k is `int(decision_k > 0)` (NaN: 0);
    classes_ are the label indices. Otherwise LinearClassifierMixin's."""
    binarizer = est._label_binarizer
    if not binarizer.y_type_.startswith("multilabel"):
        return linear_classifier(est, frame, ctx)
    if binarizer.sparse_input_:
        raise UnsupportedError(f"{ctx.where()}: {type(est).__name__} fitted on a sparse label "
                               "matrix predicts a sparse matrix; fit it on a dense one")
    threshold = (binarizer.pos_label + binarizer.neg_label) / 2.0
    if not -1.0 <= threshold < 1.0:  # then (1 > threshold) and not (-1 > threshold)
        raise CompileError(f"{ctx.where()}: label binarizer threshold {threshold} does not "
                           "separate the scores -1 and 1")
    scores = _scores(est, frame, ctx)
    classes = tuple(as_label(c) for c in est.classes_)
    if classes != tuple(range(len(scores))):
        raise CompileError(f"{ctx.where()}: multilabel classes_ {classes!r} for "
                           f"{len(scores)} scores per row")
    return Head("classification", classes, {
        "predict": Output("predict", "vector",
                          tuple(BoolIndex(Compare(">", d, 0.0)) for d in scores)),
        "decision_function": Output("decision_function", "vector", tuple(scores)),
    })


for _cls in (Perceptron, PassiveAggressiveClassifier):
    rule(_cls, "estimator", notes="binary and multiclass (OvR); any label type")(
        linear_classifier)
rule(LinearSVC, "estimator", notes="binary and multiclass (ovr or crammer_singer); any label "
     "type")(linear_classifier)


# ---- outlier detection -----------------------------------------------------------------------

@rule(SGDOneClassSVM, "estimator", notes="predict (decision >= 0: 1, else -1), "
      "decision_function, score_samples")
def sgd_one_class_svm(est: SGDOneClassSVM, frame: Frame, ctx: Context) -> Head:
    coef = _validated(est, frame, ctx)
    (dot,) = _dots(coef, frame.columns, finite=True)
    offset = Const(float(np.asarray(est.offset_, dtype=float).reshape(-1)[0]))
    decision = Arith("-", dot, offset)
    return Head("anomaly", (-1, 1), {
        "predict": Output("predict", "label", (BoolIndex(Compare(">=", decision, 0.0)),)),
        "decision_function": Output("decision_function", "scalar", (decision,)),
        "score_samples": Output("score_samples", "scalar", (Arith("+", decision, offset),)),
    })


# ---- sklearn.multioutput: one fitted estimator per output ----------------------------------
# (not linear models: they sit here as the multi-output regressors' neighbours; they would
# belong in a module of their own)

def _per_output(est: MultiOutputRegressor | MultiOutputClassifier, frame: Frame,
                ctx: Context, task: str) -> list[Output]:
    """Each estimator's predict, lowered in the order `_MultiOutputEstimator.predict` calls
    them on the same X (`Parallel(...)(e.predict(X) for e in estimators_)`), so the first
    one's refusal is the row's; each must predict one value of `task` per row."""
    outputs = []
    for k, sub in enumerate(est.estimators_):
        head = lower_estimator(sub, frame, ctx, f"estimators_[{k}]")
        if not isinstance(head, Head) or head.task != task:
            raise UnsupportedError(f"{ctx.where()}: estimators_[{k}] ({type(sub).__name__}) "
                                   f"is not a compiled {task} model")
        out = head.outputs.get("predict")
        if out is None or out.shape != ("scalar" if task == "regression" else "label"):
            raise UnsupportedError(f"{ctx.where()}: estimators_[{k}] ({type(sub).__name__}) "
                                   "predicts several values per row")
        if task == "classification" and not _indicator(head.classes):
            raise UnsupportedError(
                f"{ctx.where()}: estimators_[{k}] ({type(sub).__name__}) has classes "
                f"{list(head.classes)!r}: MultiOutputClassifier is compiled where every "
                "estimator is binary with the integer labels 0 and 1, so that predict is an "
                "indicator matrix (other label sets would need classes per output)")
        outputs.append(out)
    return outputs


def _indicator(classes: tuple) -> bool:
    """Exactly the integer labels 0 and 1, in that order (a label index is then the label)."""
    return classes == (0, 1) and all(type(c) is int for c in classes)


# float32=True: X goes to each estimator as it came, and each one's own rule decides
@rule(MultiOutputRegressor, "estimator", float32=True,
      notes="any supported single-output regressor per output; predict stacks theirs")
def multi_output_regressor(est: MultiOutputRegressor, frame: Frame, ctx: Context) -> Head:
    """`np.asarray([e.predict(X) for e in estimators_]).T`: one value per estimator."""
    values = tuple(o.values[0] for o in _per_output(est, frame, ctx, "regression"))
    return Head("regression", (), {"predict": Output("predict", "vector", values)})


@rule(MultiOutputClassifier, "estimator", float32=True,
      notes="estimators binary with labels 0/1 (predict: an indicator matrix); no "
            "predict_proba (a list of arrays)")
def multi_output_classifier(est: MultiOutputClassifier, frame: Frame, ctx: Context) -> Head:
    """predict stacks the estimators' labels as MultiOutputRegressor does; with labels 0
    and 1 each is its class index, and classes are the output indices. predict_proba is
    a list of per-output arrays, which no compiled output states."""
    labels = tuple(o.values[0] for o in _per_output(est, frame, ctx, "classification"))
    return Head("classification", tuple(range(len(labels))),
                {"predict": Output("predict", "vector", labels)})
