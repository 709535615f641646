"""Builders for the meta family (see builders.py): one per supported component.

Each draws a small ensemble (2-4 sub-estimators: shallow trees, small forests, linear
models, plain or in a pipeline) over the shared `dataset` (hostile labels and feature
names, binary and multiclass). NaN reaches the meta-estimator where every sub-estimator
accepts it (trees and forests); otherwise the numbers are imputed, and text columns are
one-hot encoded, in a ColumnTransformer in front of it. HistGradientBoosting is left out
of the pools: its fit alone takes 0.2-1 s on the shared machine.
"""

from __future__ import annotations

import numpy as np
from builders import _encode_text, _fit, _split, dataset
from hypothesis import assume
from hypothesis import strategies as st
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    BaggingClassifier,
    BaggingRegressor,
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
    StackingClassifier,
    StackingRegressor,
    VotingClassifier,
    VotingRegressor,
)
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    RobustScaler,
    StandardScaler,
)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

# (factory, accepts NaN, has decision_function, a linear model)
CLASSIFIERS = (
    (lambda: LogisticRegression(max_iter=60), False, True, True),
    (lambda: make_pipeline(StandardScaler(), LogisticRegression(C=10.0, max_iter=60)),
     False, True, True),
    (lambda: DecisionTreeClassifier(max_depth=3, random_state=0), True, False, False),
    (lambda: DecisionTreeClassifier(min_samples_leaf=5, random_state=1), True, False, False),
    (lambda: RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0),
     True, False, False),
    (lambda: ExtraTreesClassifier(n_estimators=3, max_depth=4, random_state=0),
     True, False, False),
    (lambda: GradientBoostingClassifier(n_estimators=3, max_depth=2, random_state=0),
     False, True, False),
)
# (factory, accepts NaN, a linear model)
REGRESSORS = (
    (lambda: Ridge(), False, True),
    (lambda: LinearRegression(), False, True),
    (lambda: DecisionTreeRegressor(max_depth=3, random_state=0), True, False),
    (lambda: DecisionTreeRegressor(random_state=0), True, False),
    (lambda: RandomForestRegressor(n_estimators=3, max_depth=3, random_state=0), True, False),
    (lambda: GradientBoostingRegressor(n_estimators=3, max_depth=2, random_state=0),
     False, False),
)


def _members(draw, task: str, size=(2, 4), decision: bool = False,
             linear: bool = False) -> tuple[list, bool]:
    """A few fresh sub-estimators, and whether all of them accept NaN. `decision`: only
    those with decision_function; `linear`: only linear models."""
    if task == "classification":
        pool = [(f, nan) for f, nan, dec, lin in CLASSIFIERS
                if (dec or not decision) and (lin or not linear)]
    else:
        pool = [(f, nan) for f, nan, lin in REGRESSORS if lin or not linear]
    picks = draw(st.lists(st.sampled_from(pool), min_size=size[0], max_size=size[1]))
    return [f() for f, _ in picks], all(nan for _, nan in picks)


def _fit_in_front(draw, meta, X, y, native_nan: bool):
    """Fit `meta` on raw X where it can take it (numbers only, NaN only if every member
    accepts it), else behind a ColumnTransformer that imputes and one-hot encodes."""
    num, txt = _split(X)
    if txt or not native_nan or draw(st.booleans()):
        steps = [("num", "passthrough" if native_nan else SimpleImputer(), num)]
        if txt:
            steps.append(("txt", _encode_text(), txt))
        return _fit(make_pipeline(ColumnTransformer(steps, sparse_threshold=0), meta), X, y)
    return _fit(meta if draw(st.booleans()) else make_pipeline(meta), X, y)


def _named(members: list) -> list[tuple[str, object]]:
    return [(f"m{i}", m) for i, m in enumerate(members)]


def _weights(draw, n: int, negative: bool) -> list | None:
    kind = draw(st.sampled_from(["none", "ints", "floats", "negative"] if negative
                                else ["none", "ints", "floats"]))
    if kind == "none":
        return None
    if kind == "ints":  # equal integer weights make exact ties in hard voting
        return draw(st.lists(st.integers(0, 3), min_size=n, max_size=n).filter(any))
    values = draw(st.lists(st.sampled_from([0.1, 0.25, 1.0, 1.7, 3.0]), min_size=n,
                           max_size=n))
    if kind == "negative":
        values[draw(st.integers(0, n - 1))] *= -1
    return values


@st.composite
def voting_classifier(draw):
    X, y = draw(dataset(task="classification", n_str=(0, 1)))
    members, nan = _members(draw, "classification")
    voting = draw(st.sampled_from(["hard", "soft"]))
    named = _named(members)
    if len(named) > 2 and draw(st.booleans()):
        named[draw(st.integers(0, len(named) - 1))] = ("dropped", "drop")
    est = VotingClassifier(named, voting=voting,
                           weights=_weights(draw, len(named), negative=voting == "hard"))
    return _fit_in_front(draw, est, X, y, nan)


@st.composite
def voting_regressor(draw):
    X, y = draw(dataset(task="regression", n_str=(0, 1)))
    members, nan = _members(draw, "regression")
    named = _named(members)
    if len(named) > 2 and draw(st.booleans()):
        named[0] = ("dropped", "drop")
    est = VotingRegressor(named, weights=_weights(draw, len(named), negative=False))
    return _fit_in_front(draw, est, X, y, nan)


@st.composite
def stacking_classifier(draw):
    X, y = draw(dataset(task="classification", n_str=(0, 1)))
    method = draw(st.sampled_from(["auto", "predict_proba", "decision_function", "predict"]))
    final = draw(st.sampled_from([LogisticRegression(max_iter=300),
                                  DecisionTreeClassifier(max_depth=3, random_state=0)]))
    # a tree over trees' outputs: the C target cannot compile it yet (see test_meta.py)
    members, nan = _members(draw, "classification", (2, 3), method == "decision_function",
                            linear=isinstance(final, DecisionTreeClassifier))
    passthrough = draw(st.booleans())
    est = StackingClassifier(_named(members), final_estimator=final, stack_method=method,
                             passthrough=passthrough, cv=2)
    # passed-through NaN reaches the final estimator: a tree takes it, LogisticRegression not
    return _fit_in_front(draw, est, X, y,
                         nan and not (passthrough and isinstance(final, LogisticRegression)))


@st.composite
def stacking_regressor(draw):
    X, y = draw(dataset(task="regression", n_str=(0, 1)))
    final = draw(st.sampled_from([Ridge(), DecisionTreeRegressor(max_depth=3, random_state=0)]))
    members, nan = _members(draw, "regression", (2, 3),
                            linear=isinstance(final, DecisionTreeRegressor))
    passthrough = draw(st.booleans())
    est = StackingRegressor(_named(members), final_estimator=final, passthrough=passthrough,
                            cv=draw(st.sampled_from([2, 3])))
    return _fit_in_front(draw, est, X, y, nan and not (passthrough and isinstance(final, Ridge)))


@st.composite
def calibrated_classifier_cv(draw):
    X, y = draw(dataset(task="classification", n_str=(0, 1)))
    (base,), nan = _members(draw, "classification", (1, 1))
    method = draw(st.sampled_from(["sigmoid", "isotonic", "temperature"]))
    if draw(st.booleans()):
        est = CalibratedClassifierCV(base, method=method, cv=draw(st.sampled_from([2, 3])),
                                     ensemble=draw(st.sampled_from([True, False, "auto"])))
        return _fit_in_front(draw, est, X, y, nan)
    # a prefit base, frozen: fitted on all the data, the calibration only fits calibrators
    num, txt = _split(X)
    if txt or not nan:
        steps = [("num", SimpleImputer(), num)] + ([("txt", _encode_text(), txt)] if txt else [])
        base = make_pipeline(ColumnTransformer(steps, sparse_threshold=0), base)
    est = CalibratedClassifierCV(FrozenEstimator(_fit(base, X, y)), method=method,
                                 ensemble=draw(st.sampled_from([False, "auto"])))
    return _fit(est, X, y)


@st.composite
def frozen_estimator(draw):
    task = draw(st.sampled_from(["classification", "regression"]))
    X, y = draw(dataset(task=task, n_str=(0, 1)))
    (member,), nan = _members(draw, task, (1, 1))
    fitted = _fit_in_front(draw, member, X, y, nan)
    frozen = FrozenEstimator(fitted)
    return frozen if draw(st.booleans()) else _fit(make_pipeline(frozen), X, y)


# func, inverse_func, and how the target is made to fit func's domain
TARGET_FUNCS = (
    (np.log, np.exp, lambda y: np.exp(y / max(1.0, np.abs(y).max()))),
    (np.log1p, np.expm1, np.abs),
    (np.sqrt, np.square, np.abs),
    (np.exp, np.log, lambda y: y / max(1.0, np.abs(y).max())),
    (None, None, lambda y: y),
)


@st.composite
def transformed_target_regressor(draw):
    X, y = draw(dataset(task="regression", n_str=(0, 1)))
    (regressor,), nan = _members(draw, "regression", (1, 1))
    if draw(st.booleans()):
        func, inverse, domain = draw(st.sampled_from(TARGET_FUNCS))
        est = TransformedTargetRegressor(regressor, func=func, inverse_func=inverse,
                                         check_inverse=False)
        y = domain(y * draw(st.sampled_from([1.0, 1e3])))
    else:
        transformer = draw(st.sampled_from([
            StandardScaler(), StandardScaler(with_mean=False), StandardScaler(with_std=False),
            MinMaxScaler(feature_range=(-2.0, 3.0)), MaxAbsScaler(), RobustScaler(),
            RobustScaler(with_centering=False),
            FunctionTransformer(np.log1p, np.expm1, validate=draw(st.booleans()),
                                check_inverse=False),
        ]))
        if isinstance(transformer, FunctionTransformer):
            y = np.abs(y)
        est = TransformedTargetRegressor(regressor, transformer=transformer)
        y = y * draw(st.sampled_from([1.0, 1e3]))
    return _fit_in_front(draw, est, X, y, nan)


def _bagging_params(draw) -> dict:
    return {"n_estimators": draw(st.integers(2, 4)),
            "max_features": draw(st.sampled_from([1, 2, 0.5, 1.0])),
            "bootstrap_features": draw(st.booleans()),
            "bootstrap": draw(st.booleans()),
            # few samples: a member can miss a class
            "max_samples": draw(st.sampled_from([0.2, 0.5, 1.0])),
            "random_state": draw(st.integers(0, 3))}


@st.composite
def bagging_classifier(draw):
    X, y = draw(dataset(task="classification", n_str=(0, 1)))
    kind = draw(st.sampled_from(["tree", "linear", "vote", "boosted"]))
    if kind == "vote":  # no predict_proba: sklearn counts the votes
        base, nan = VotingClassifier([
            ("a", DecisionTreeClassifier(max_depth=2, random_state=0)),
            ("b", DecisionTreeClassifier(max_depth=4, random_state=1))]), True
    else:
        base, nan = {"tree": (DecisionTreeClassifier(max_depth=3, random_state=0), True),
                     "linear": (LogisticRegression(max_iter=300), False),
                     "boosted": (GradientBoostingClassifier(n_estimators=2, max_depth=2,
                                                            random_state=0), False)}[kind]
    params = _bagging_params(draw)
    num, _ = _split(X)
    if params["max_features"] == 2:
        assume(len(num) >= 2)
    return _fit_in_front(draw, BaggingClassifier(base, **params), X, y, nan)


@st.composite
def bagging_regressor(draw):
    X, y = draw(dataset(task="regression", n_str=(0, 1)))
    (base,), nan = _members(draw, "regression", (1, 1))
    params = _bagging_params(draw)
    if params["max_features"] == 2:
        assume(len(_split(X)[0]) >= 2)
    return _fit_in_front(draw, BaggingRegressor(base, **params), X, y, nan)


def _ada_data(draw, task: str):
    """AdaBoost refuses NaN in fit: no NaN in the data, or imputed in front."""
    impute = draw(st.booleans())
    return draw(dataset(task=task, n_str=(0, 1), missing=impute)), impute


@st.composite
def ada_boost_classifier(draw):
    (X, y), impute = _ada_data(draw, "classification")
    base = draw(st.sampled_from([DecisionTreeClassifier(max_depth=1),
                                 DecisionTreeClassifier(max_depth=2),
                                 LogisticRegression(max_iter=300)]))
    est = AdaBoostClassifier(base, n_estimators=draw(st.integers(1, 6)),
                             learning_rate=draw(st.sampled_from([0.5, 1.0, 2.0])),
                             random_state=0)
    return _fit_in_front(draw, est, X, y, not impute)


@st.composite
def ada_boost_regressor(draw):
    (X, y), impute = _ada_data(draw, "regression")
    base = draw(st.sampled_from([DecisionTreeRegressor(max_depth=2),
                                 DecisionTreeRegressor(),  # pure leaves: tied predictions
                                 Ridge()]))
    if draw(st.booleans()):
        y = np.round(y)  # few distinct targets: members predict the same values
    est = AdaBoostRegressor(base, n_estimators=draw(st.integers(1, 6)),
                            loss=draw(st.sampled_from(["linear", "square", "exponential"])),
                            learning_rate=draw(st.sampled_from([0.5, 1.0])),
                            random_state=draw(st.integers(0, 3)))
    return _fit_in_front(draw, est, X, y, not impute)


BUILDERS: dict = {
    "VotingClassifier": voting_classifier,
    "VotingRegressor": voting_regressor,
    "StackingClassifier": stacking_classifier,
    "StackingRegressor": stacking_regressor,
    "CalibratedClassifierCV": calibrated_classifier_cv,
    "FrozenEstimator": frozen_estimator,
    "TransformedTargetRegressor": transformed_target_regressor,
    "BaggingClassifier": bagging_classifier,
    "BaggingRegressor": bagging_regressor,
    "AdaBoostClassifier": ada_boost_classifier,
    "AdaBoostRegressor": ada_boost_regressor,
}
