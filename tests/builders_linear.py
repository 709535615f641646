"""Builders for the linear family (see builders.py): one per supported component.

Each model is fitted behind one of four inputs (`_fitted`): the bare estimator or a
StandardScaler in front of it, both on data without NaN, so rows with NaN or infinity
reach the estimator's own checks; the usual imputer/scaler/one-hot preprocessing; or a
sparse ColumnTransformer output (one-hot text beside scaled numbers that keep their NaN).
"""

from __future__ import annotations

import warnings

import numpy as np
from builders import _encode_text, _fit, _preprocessed, _split, dataset
from hypothesis import assume
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import (
    ARDRegression,
    BayesianRidge,
    ElasticNetCV,
    GammaRegressor,
    HuberRegressor,
    Lars,
    LarsCV,
    LassoCV,
    LassoLars,
    LassoLarsCV,
    LassoLarsIC,
    LogisticRegressionCV,
    OrthogonalMatchingPursuit,
    OrthogonalMatchingPursuitCV,
    PassiveAggressiveClassifier,
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
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC, LinearSVR
from sklearn.tree import DecisionTreeRegressor


def _fitted(draw, est, task: str = "regression", *, unscaled: bool = True,
            sparse: bool = True, target=None):
    """`est` fitted behind one of the four inputs; `unscaled`: the bare estimator may be
    drawn (SGD diverges on unscaled data); `sparse`: its fit accepts sparse X; `target`
    maps y (e.g. positive for a GLM)."""
    how = draw(st.sampled_from(["bare"] * unscaled + ["scaled", "preprocessed"]
                               + ["sparse"] * sparse))
    if how == "preprocessed":
        X, y = draw(dataset(task=task, n_str=(0, 1)))
        model = _preprocessed(draw, X, est)
        if not sparse:
            model[0].set_params(sparse_threshold=0.0)
    elif how == "sparse":
        X, y = draw(dataset(task=task, n_str=(1, 1), missing=False))
        num, txt = _split(X)
        model = make_pipeline(ColumnTransformer(
            [("txt", _encode_text(), txt), ("num", StandardScaler(), num)],
            sparse_threshold=1.0), est)
    else:
        X, y = draw(dataset(task=task, missing=False))
        model = est if how == "bare" else make_pipeline(StandardScaler(), est)
    model = _fit(model, X, y if target is None else target(y))
    final = model[-1] if hasattr(model, "steps") else model
    # OrthogonalMatchingPursuit squeezes a one-feature coef_ to 0-d without an intercept;
    # sklearn cannot predict with it (scorec refuses it, see test_linear.py)
    assume(np.ndim(getattr(final, "coef_", [0.0])) != 0)
    return model


def _made(cls, **params):
    """cls(**params), quietly: PassiveAggressive* warn that they are deprecated."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return cls(**params)


def _drawn(cls, task: str, inputs: dict, options: dict):
    """A builder drawing one value of each option (a list of choices) for `cls`."""
    @st.composite
    def build(draw):
        params = {k: draw(st.sampled_from(v)) for k, v in options.items()}
        return _fitted(draw, _made(cls, **params), task, **inputs)

    return build


def _regressor(cls, inputs: dict | None = None, **options):
    return _drawn(cls, "regression", inputs or {}, options)


def _classifier(cls, inputs: dict | None = None, **options):
    return _drawn(cls, "classification", inputs or {}, options)


INTERCEPT = [True, False]
ALPHA = [0.01, 0.1, 1.0]
DENSE = {"sparse": False}  # estimators whose fit refuses sparse X
SCALED = {"unscaled": False}  # SGD and liblinear need scaled data

SGD_CLASSIFIER_LOSSES = ["hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron",
                         "squared_error", "huber", "epsilon_insensitive",
                         "squared_epsilon_insensitive"]
SGD_REGRESSOR_LOSSES = ["squared_error", "huber", "epsilon_insensitive",
                        "squared_epsilon_insensitive"]
PENALTIES = ["l2", "l1", "elasticnet", None]
LEARNING_RATES = ["optimal", "constant", "invscaling", "adaptive"]


@st.composite
def sgd_classifier(draw):
    """SGDClassifier, every loss (log_loss and modified_huber have predict_proba)."""
    est = SGDClassifier(loss=draw(st.sampled_from(SGD_CLASSIFIER_LOSSES)),
                        penalty=draw(st.sampled_from(PENALTIES)),
                        alpha=draw(st.sampled_from([1e-4, 1e-2])),
                        fit_intercept=draw(st.booleans()), average=draw(st.booleans()),
                        learning_rate=draw(st.sampled_from(LEARNING_RATES)), eta0=0.01,
                        class_weight=draw(st.sampled_from([None, "balanced"])),
                        max_iter=50, random_state=0)
    return _fitted(draw, est, "classification", **SCALED)


@st.composite
def sgd_regressor(draw):
    est = SGDRegressor(loss=draw(st.sampled_from(SGD_REGRESSOR_LOSSES)),
                       penalty=draw(st.sampled_from(PENALTIES)),
                       alpha=draw(st.sampled_from([1e-4, 1e-2])),
                       fit_intercept=draw(st.booleans()), average=draw(st.booleans()),
                       learning_rate=draw(st.sampled_from(LEARNING_RATES)), eta0=0.01,
                       max_iter=50, random_state=0)
    return _fitted(draw, est, "regression", **SCALED)


@st.composite
def sgd_one_class_svm(draw):
    """SGDOneClassSVM on the features alone (y is not used)."""
    est = SGDOneClassSVM(nu=draw(st.sampled_from([0.1, 0.5, 0.9])),
                         fit_intercept=draw(st.booleans()), average=draw(st.booleans()),
                         learning_rate=draw(st.sampled_from(LEARNING_RATES)), eta0=0.01,
                         max_iter=50, random_state=0)
    return _fitted(draw, est, "regression", **SCALED)


@st.composite
def linear_svc(draw):
    penalty = draw(st.sampled_from(["l2", "l1"]))
    loss = "squared_hinge" if penalty == "l1" else draw(st.sampled_from(
        ["hinge", "squared_hinge"]))
    est = LinearSVC(penalty=penalty, loss=loss, C=draw(st.sampled_from([0.1, 1.0, 10.0])),
                    multi_class=draw(st.sampled_from(["ovr", "crammer_singer"])),
                    fit_intercept=draw(st.booleans()),
                    intercept_scaling=draw(st.sampled_from([1.0, 10.0])),
                    class_weight=draw(st.sampled_from([None, "balanced"])),
                    max_iter=2000, random_state=0)
    return _fitted(draw, est, "classification", **SCALED)


def _glm(cls, positive: float | None, **options):
    """A GLM fitted on y made valid for its family: |y| (+ an offset where y must be > 0)."""
    @st.composite
    def build(draw):
        params = {k: draw(st.sampled_from(v)) for k, v in options.items()}
        lift = positive
        if cls is TweedieRegressor:
            power = params["power"]
            lift = None if power <= 0 else 0.0 if power < 2 else 0.1
        target = None if lift is None else (lambda y: np.abs(y) + lift)
        est = cls(alpha=draw(st.sampled_from([0.0, 0.1, 1.0])),
                  fit_intercept=draw(st.booleans()),
                  solver=draw(st.sampled_from(["lbfgs", "newton-cholesky"])), **params)
        return _fitted(draw, est, "regression", target=target)

    return build


@st.composite
def ransac_regressor(draw):
    """RANSAC around a linear model (trained without NaN, so NaN rows are refused inside
    it) or around a tree (RANSAC lets NaN through, the tree routes it)."""
    inner = draw(st.sampled_from(["default", "ridge", "huber", "sgd", "tree"]))
    est = {"default": None, "ridge": Ridge(), "huber": HuberRegressor(),
           "sgd": SGDRegressor(max_iter=50, random_state=0),
           "tree": DecisionTreeRegressor(max_depth=3, random_state=0)}[inner]
    ransac = RANSACRegressor(estimator=est, max_trials=draw(st.sampled_from([5, 20])),
                             min_samples=draw(st.sampled_from([None, 0.5])), random_state=0)
    if inner == "tree":
        X, y = draw(dataset(task="regression"))
        return _fit(ransac, X, y)
    return _fitted(draw, ransac, "regression", unscaled=inner != "sgd")


BUILDERS = {
    "SGDClassifier": sgd_classifier,
    "SGDRegressor": sgd_regressor,
    "SGDOneClassSVM": sgd_one_class_svm,
    "Perceptron": _classifier(Perceptron, SCALED, penalty=PENALTIES, alpha=[1e-4, 1e-2],
                              fit_intercept=INTERCEPT, class_weight=[None, "balanced"],
                              max_iter=[50], random_state=[0]),
    "PassiveAggressiveClassifier": _classifier(
        PassiveAggressiveClassifier, SCALED, C=[0.1, 1.0], loss=["hinge", "squared_hinge"],
        fit_intercept=INTERCEPT, average=[False, True], max_iter=[50], random_state=[0]),
    "PassiveAggressiveRegressor": _regressor(
        PassiveAggressiveRegressor, SCALED, C=[0.1, 1.0], epsilon=[0.0, 0.1],
        loss=["epsilon_insensitive", "squared_epsilon_insensitive"], fit_intercept=INTERCEPT,
        average=[False, True], max_iter=[50], random_state=[0]),
    "RidgeClassifier": _classifier(RidgeClassifier, alpha=ALPHA, fit_intercept=INTERCEPT,
                                   solver=["auto", "lsqr", "sparse_cg"],
                                   class_weight=[None, "balanced"]),
    "RidgeClassifierCV": _classifier(RidgeClassifierCV, alphas=[(0.1, 1.0, 10.0), [0.5]],
                                     fit_intercept=INTERCEPT, cv=[None, 3]),
    "LinearSVC": linear_svc,
    "LinearSVR": _regressor(LinearSVR, SCALED, C=[0.1, 1.0, 10.0], epsilon=[0.0, 0.5],
                            loss=["epsilon_insensitive", "squared_epsilon_insensitive"],
                            fit_intercept=INTERCEPT, intercept_scaling=[1.0, 10.0],
                            max_iter=[2000], random_state=[0]),
    "HuberRegressor": _regressor(HuberRegressor, epsilon=[1.1, 1.35, 2.0], alpha=[0.0, 1e-4, 1.0],
                                 fit_intercept=INTERCEPT),
    "QuantileRegressor": _regressor(QuantileRegressor, quantile=[0.2, 0.5, 0.8],
                                    alpha=[0.0, 0.1], fit_intercept=INTERCEPT),
    "PoissonRegressor": _glm(PoissonRegressor, 0.0),
    "GammaRegressor": _glm(GammaRegressor, 0.1),
    "TweedieRegressor": _glm(TweedieRegressor, None, power=[0.0, 1.0, 1.5, 2.0, 3.0],
                             link=["auto", "identity", "log"]),
    "RidgeCV": _regressor(RidgeCV, alphas=[(0.1, 1.0, 10.0), [0.5]], fit_intercept=INTERCEPT,
                          cv=[None, 3]),
    "LassoCV": _regressor(LassoCV, alphas=[10], cv=[3], fit_intercept=INTERCEPT),
    "ElasticNetCV": _regressor(ElasticNetCV, alphas=[10], cv=[3], l1_ratio=[0.5, [0.2, 0.8]],
                               fit_intercept=INTERCEPT),
    "LogisticRegressionCV": _classifier(LogisticRegressionCV, Cs=[2], cv=[2],
                                        fit_intercept=INTERCEPT, max_iter=[200]),
    "Lars": _regressor(Lars, DENSE, fit_intercept=INTERCEPT, n_nonzero_coefs=[1, 500]),
    "LarsCV": _regressor(LarsCV, DENSE, cv=[3], fit_intercept=INTERCEPT),
    "LassoLars": _regressor(LassoLars, DENSE, alpha=ALPHA, fit_intercept=INTERCEPT,
                            positive=[False, True]),
    "LassoLarsCV": _regressor(LassoLarsCV, DENSE, cv=[3], fit_intercept=INTERCEPT),
    "LassoLarsIC": _regressor(LassoLarsIC, DENSE, criterion=["aic", "bic"],
                              fit_intercept=INTERCEPT),
    "OrthogonalMatchingPursuit": _regressor(OrthogonalMatchingPursuit, DENSE,
                                            n_nonzero_coefs=[None, 1], fit_intercept=INTERCEPT),
    "OrthogonalMatchingPursuitCV": _regressor(OrthogonalMatchingPursuitCV, DENSE, cv=[3],
                                              fit_intercept=INTERCEPT),
    "BayesianRidge": _regressor(BayesianRidge, DENSE, fit_intercept=INTERCEPT,
                                compute_score=[False, True]),
    "ARDRegression": _regressor(ARDRegression, DENSE, fit_intercept=INTERCEPT,
                                threshold_lambda=[1e4, 10.0]),
    "TheilSenRegressor": _regressor(TheilSenRegressor, DENSE, fit_intercept=INTERCEPT,
                                    max_subpopulation=[50], random_state=[0]),
    "RANSACRegressor": ransac_regressor,
}
