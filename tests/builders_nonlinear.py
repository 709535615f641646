"""Builders for the nonlinear family (see builders.py): one per supported component.

Each transformer feeds an estimator directly (a tree scores its NaN; a linear model
refuses it, so an imputer sits between them), so every bound, knot and quantile of the
transformer can move the result. QuantileTransformer is also drawn behind a sparse
ColumnTransformer (one-hot text beside raw numbers), sklearn's sparse branch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from builders import _encode_text, _fit, _numeric_estimator, _split, dataset
from hypothesis import assume
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PowerTransformer, QuantileTransformer, SplineTransformer
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

TASKS = ["classification", "regression"]


def _linear_estimator(task: str):
    """A model whose score moves with every input value (and accepts sparse input)."""
    return LogisticRegression(max_iter=300) if task == "classification" else Ridge()


def _ending(draw, task: str, nan: bool) -> list:
    """The steps after the transformer: a tree (scores NaN) or imputer + a model."""
    if nan and draw(st.booleans()):
        return [SimpleImputer(), _linear_estimator(task)]
    return [_numeric_estimator(draw, task)]


def _map_numbers(X, fn):
    """fn applied to every number column (NaN kept), X a DataFrame or an array."""
    if isinstance(X, pd.DataFrame):
        num, _ = _split(X)
        X = X.copy()
        for c in num:
            X[c] = fn(X[c].to_numpy(dtype=float))
        return X
    return fn(X.astype(float))


@st.composite
def quantile_transformer(draw):
    task = draw(st.sampled_from(TASKS))
    qt = QuantileTransformer(
        n_quantiles=draw(st.sampled_from([1, 2, 5, 10, 1000])),
        output_distribution=draw(st.sampled_from(["uniform", "normal"])),
        ignore_implicit_zeros=draw(st.booleans()),
        subsample=draw(st.sampled_from([None, 25])), random_state=0)
    if draw(st.booleans()):  # sparse: one-hot text beside raw numbers, stored values only
        X, y = draw(dataset(n_num=(1, 3), n_str=(1, 1), task=task, frame=True, missing=False))
        num, txt = _split(X)
        if not qt.ignore_implicit_zeros:  # else sklearn refuses the negatives at fit
            X = _map_numbers(X, np.abs)
        ct = ColumnTransformer([("txt", _encode_text(), txt), ("num", "passthrough", num)],
                               sparse_threshold=1.0)
        model = _fit(make_pipeline(ct, qt, _linear_estimator(task)), X, y)
        assume(model.steps[0][1].sparse_output_)
        return model
    X, y = draw(dataset(n_num=(1, 4), task=task))
    return _fit(make_pipeline(qt, *_ending(draw, task, nan=True)), X, y)


@st.composite
def power_transformer(draw):
    task = draw(st.sampled_from(TASKS))
    method = draw(st.sampled_from(["yeo-johnson", "box-cox"]))
    X, y = draw(dataset(n_num=(1, 2), task=task))  # lambda's optimiser: ~40 ms a column
    shape = draw(st.sampled_from(["raw", "skewed"]))
    if shape == "skewed":  # a far-from-1 lambda: large powers, overflow at 1e300
        X = _map_numbers(X, lambda v: np.exp(v / np.nanstd(v)))
    if method == "box-cox":
        X = _map_numbers(X, lambda v: np.abs(v) + 0.01)
    pt = PowerTransformer(method=method, standardize=draw(st.booleans()))
    return _fit(make_pipeline(pt, *_ending(draw, task, nan=True)), X, y)


def _knots(draw, X, n_knots: int):
    """'uniform', 'quantile', or knots of the caller's own: sorted, around the data."""
    kind = draw(st.sampled_from(["uniform", "quantile", "array"]))
    if kind != "array":
        return kind
    values = np.asarray(X, dtype=float) if not isinstance(X, pd.DataFrame) \
        else X.to_numpy(dtype=float)
    lo, hi = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    inner = np.sort(rng.random((n_knots, values.shape[1])), axis=0)
    inner[0], inner[-1] = 0.0, 1.0
    margin = draw(st.sampled_from([0.0, 0.1]))
    knots = lo - margin * span + inner * (1 + 2 * margin) * span
    assume(np.all(np.diff(knots, axis=0) > 0))
    return knots


@st.composite
def spline_transformer(draw):
    task = draw(st.sampled_from(TASKS))
    zeros = draw(st.booleans())
    mode = draw(st.sampled_from(["error", "constant", "linear", "continue", "periodic"]))
    sparse = draw(st.booleans())
    degree = draw(st.integers(0, 4))
    n_knots = draw(st.integers(2, 6))
    # sklearn 1.9.1 computes these configurations batch by batch or not at all (see
    # nonlinear._supported_spline); scorec refuses them
    one = sparse and zeros and mode in ("continue", "error", "periodic")
    assume(not (sparse and mode == "periodic" and degree == 0))
    assume(not (not sparse and mode == "constant" and degree == 0 and n_knots > 2))
    X, y = draw(dataset(n_num=(1, 1) if one else (1, 3), task=task, missing=zeros))
    assume(not (mode == "linear" and degree == 0 and n_knots == 2 and X.shape[1] > 1))
    st_ = SplineTransformer(n_knots=n_knots, degree=degree, knots=_knots(draw, X, n_knots),
                            extrapolation=mode, include_bias=draw(st.booleans()),
                            handle_missing="zeros" if zeros else "error", sparse_output=sparse)
    if mode in ("linear", "continue"):  # unbounded bases: a linear model's sum of them
        # cancels (terms of 1e6 summing to 0.5 far out), where BLAS's order decides the
        # last digits of sklearn's answer (README: ill-conditioned sums); a tree is exact
        steps = [DecisionTreeClassifier(max_depth=4, random_state=0)
                 if task == "classification" else
                 DecisionTreeRegressor(max_depth=4, random_state=0)]
    else:
        steps = [_linear_estimator(task)] if sparse else _ending(draw, task, nan=False)
    model = _fit(make_pipeline(st_, *steps), X, y)
    spl = model.steps[0][1].bsplines_[0]
    t, k = spl.t, spl.k
    assume(not (one and mode == "error" and not t[k] <= 0.0 <= t[len(t) - k - 1]))
    return model


BUILDERS = {
    "QuantileTransformer": quantile_transformer,
    "PowerTransformer": power_transformer,
    "SplineTransformer": spline_transformer,
}
