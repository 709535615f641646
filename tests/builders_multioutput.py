"""Builders for the multi-output components (see builders.py), and the multi-output data
they and tests/test_multioutput.py fit on.

`multi_dataset` turns `dataset`'s regression target into a 2-D y: correlated columns (so a
model learns something per output), or, for classification, a 0/1 indicator matrix with
both values in every column (a multilabel target). One column is drawn too: an (n, 1) y,
which some models keep 2-D (LinearRegression and the MultiTask models predict an (n, 1)
array, MultiOutput* fit one estimator) and others ravel."""

from __future__ import annotations

import numpy as np
from builders import _fit, _preprocessed, _split, dataset
from hypothesis import assume
from hypothesis import strategies as st
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import (
    Lasso,
    LogisticRegression,
    MultiTaskElasticNet,
    MultiTaskElasticNetCV,
    MultiTaskLasso,
    MultiTaskLassoCV,
    Ridge,
    RidgeClassifier,
)
from sklearn.multioutput import MultiOutputClassifier, MultiOutputRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor


@st.composite
def multi_dataset(draw, task: str = "regression", n_outputs: tuple[int, int] = (1, 4),
                  n_str: tuple[int, int] = (0, 1), missing: bool = True):
    """(X, Y): `dataset`'s features and a 2-D target of 1-4 columns (floats, or 0/1 ints
    with both values in each column for task "classification")."""
    X, y = draw(dataset(task="regression", n_str=n_str, missing=missing))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    k = draw(st.integers(*n_outputs))
    scale = float(np.std(y)) or 1.0
    cols = [y] + [y * rng.normal() + rng.normal(size=len(y)) * scale * rng.uniform(0.1, 2.0)
                  for _ in range(k - 1)]
    Y = np.column_stack(cols)
    if task == "classification":
        Y = (Y > np.median(Y, axis=0)).astype(int)
        assume(all(len(set(col.tolist())) == 2 for col in Y.T))
    return X, Y


def _multi_task(cls, cv: bool):
    """MultiTaskLasso / MultiTaskElasticNet (and their CV, few alphas, 3 folds) behind the
    usual preprocessing; they refuse NaN, which the imputer fills."""
    @st.composite
    def build(draw):
        X, Y = draw(multi_dataset())
        params: dict = {"fit_intercept": draw(st.booleans())}
        if cv:
            params.update(alphas=draw(st.sampled_from([3, 5])), cv=3)
        else:
            params["alpha"] = draw(st.sampled_from([0.01, 0.1, 1.0]))
        if cls in (MultiTaskElasticNet, MultiTaskElasticNetCV):
            params["l1_ratio"] = draw(st.sampled_from([0.2, 0.5, 0.9]))
        return _fit(_preprocessed(draw, X, cls(**params)), X, Y)

    return build


@st.composite
def multi_output_regressor(draw):
    """One regressor per output: linear (imputed, scaled, text one-hot encoded), a tree
    that takes NaN as it is, or a whole pipeline per output."""
    X, Y = draw(multi_dataset())
    kind = draw(st.sampled_from(["linear", "tree", "pipeline"]))
    if kind == "tree":
        est = MultiOutputRegressor(DecisionTreeRegressor(
            max_depth=draw(st.sampled_from([2, 4])), random_state=0))
        if _split(X)[1]:
            return _fit(_preprocessed(draw, X, est), X, Y)
        return _fit(est, X, Y)
    if kind == "pipeline" and not _split(X)[1]:
        return _fit(MultiOutputRegressor(make_pipeline(SimpleImputer(), StandardScaler(),
                                                       Ridge())), X, Y)
    base = draw(st.sampled_from([Ridge(alpha=0.5), Lasso(alpha=0.1)]))
    return _fit(_preprocessed(draw, X, MultiOutputRegressor(base)), X, Y)


@st.composite
def multi_output_classifier(draw):
    """One binary 0/1 classifier per label of an indicator matrix (1-3 labels)."""
    X, Y = draw(multi_dataset(task="classification", n_outputs=(1, 3)))
    base = draw(st.sampled_from([
        LogisticRegression(max_iter=300), RidgeClassifier(),
        DecisionTreeClassifier(max_depth=3, random_state=0),
        RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0),
    ]))
    est = MultiOutputClassifier(base)
    if isinstance(base, (DecisionTreeClassifier, RandomForestClassifier)) and not _split(X)[1]:
        return _fit(est, X, Y)
    return _fit(_preprocessed(draw, X, est), X, Y)


BUILDERS = {
    "MultiTaskLasso": _multi_task(MultiTaskLasso, cv=False),
    "MultiTaskElasticNet": _multi_task(MultiTaskElasticNet, cv=False),
    "MultiTaskLassoCV": _multi_task(MultiTaskLassoCV, cv=True),
    "MultiTaskElasticNetCV": _multi_task(MultiTaskElasticNetCV, cv=True),
    "MultiOutputRegressor": multi_output_regressor,
    "MultiOutputClassifier": multi_output_classifier,
}
