"""Builders for the nearest-neighbour models (see builders.py): one per supported component.

Training sets are small (20-60 rows, 1-4 features): a compiled neighbour search is one step
per stored row. Trees get small leaves sometimes (leaf_size 4 or 12), so queries visit
several leaves in a query-dependent order. Integer-valued data (0..4) come often, so many
rows are exactly equidistant from a query and sklearn's heap decides which are kept; the
data reach the model raw, scaled (StandardScaler / MinMaxScaler), imputed, or beside one-hot
text. Labels come from the shared hostile label sets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from builders import _encode_text, _fit, _numeric_estimator, _split, dataset
from hypothesis import assume
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.impute import KNNImputer, SimpleImputer
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor, NearestCentroid
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler


def _small(draw, X, y, low: int = 20, high: int = 60):
    """The first m rows: the dataset strategy draws 30-120."""
    m = draw(st.integers(low, high))
    X = X.iloc[:m] if isinstance(X, pd.DataFrame) else X[:m]
    y = y[:m]
    return X, y


def _data(draw, task: str, text: bool = False, missing: bool = False):
    """(X, y): raw numbers (integer-valued half of the time), maybe text, 20-60 rows."""
    ints = draw(st.booleans())
    X, y = draw(dataset(n_num=(1, 4), n_str=(0, 1) if text else (0, 0), task=task,
                        missing=missing, ints=ints))
    X, y = _small(draw, X, y)
    if task == "classification":
        assume(len(set(y.tolist())) >= 2)
    return X, y


def _pipeline(draw, est, task: str):
    """`est` behind one of: nothing, a scaler, an imputer and a scaler, or one-hot text."""
    how = draw(st.sampled_from(["raw", "standard", "minmax", "impute", "text"]))
    X, y = _data(draw, task, text=how == "text", missing=how in ("impute", "text"))
    if how == "raw":
        model = est if draw(st.booleans()) else make_pipeline(est)
    elif how == "standard":
        model = make_pipeline(StandardScaler(), est)
    elif how == "minmax":
        model = make_pipeline(MinMaxScaler(), est)
    elif how == "impute":
        model = make_pipeline(SimpleImputer(), StandardScaler(), est)
    else:
        num, txt = _split(X)
        steps = [("txt", _encode_text(), txt)]
        if num:
            steps.append(("num", make_pipeline(SimpleImputer(), StandardScaler()), num))
        model = make_pipeline(ColumnTransformer(steps, sparse_threshold=0.0), est)
    return _fit(model, X, y), X, y


# metric, metric_params, the algorithms that accept them
METRICS = [
    ("minkowski", None, ("brute", "kd_tree", "ball_tree", "auto")),
    ("euclidean", None, ("brute", "kd_tree", "ball_tree")),
    ("manhattan", None, ("brute", "kd_tree", "ball_tree")),
    ("chebyshev", None, ("brute", "kd_tree", "ball_tree")),
    ("l2", None, ("brute", "kd_tree")),
    ("sqeuclidean", None, ("brute",)),
    ("minkowski", {"p": 3}, ("brute", "kd_tree", "ball_tree")),
    ("minkowski", {"p": 1.5}, ("brute", "ball_tree")),
    ("minkowski", {"p": 2, "w": None}, ("brute", "ball_tree")),  # w: one per column
]


def _neighbours(cls, task: str):
    @st.composite
    def build(draw):
        metric, params, algorithms = draw(st.sampled_from(METRICS))
        weights = draw(st.sampled_from(["uniform", "distance"]))
        if cls is KNeighborsClassifier and weights == "distance":
            algorithms = ("brute",)  # a tree + distance weights is refused (see neighbors.py)
        algorithm = draw(st.sampled_from(algorithms))
        est = cls(n_neighbors=draw(st.integers(1, 7)), weights=weights, algorithm=algorithm,
                  metric=metric, metric_params=dict(params) if params else None,
                  leaf_size=draw(st.sampled_from([4, 12, 30])))
        model, X, y = _pipeline(draw, est, task)
        if params and "w" in params:  # one weight per column the model sees: fit again
            w = np.linspace(0.5, 2.0, est.n_features_in_)
            est.set_params(metric_params={"p": params["p"], "w": w})
            model = _fit(model, X, y)
        return model

    return build


@st.composite
def k_neighbors_regressor_2d(draw):
    """KNeighborsRegressor on a 2-D y of two or three outputs."""
    est = KNeighborsRegressor(n_neighbors=draw(st.integers(1, 7)),
                              weights=draw(st.sampled_from(["uniform", "distance"])),
                              algorithm=draw(st.sampled_from(["brute", "kd_tree"])),
                              leaf_size=draw(st.sampled_from([4, 30])))
    X, y = _data(draw, "regression")
    outputs = draw(st.integers(2, 3))
    Y = np.stack([y, np.round(y * 3.0) / 3.0, -y][:outputs], axis=1)
    return _fit(make_pipeline(StandardScaler(), est), X, Y)


@st.composite
def k_neighbors_regressor(draw):
    if draw(st.integers(0, 4)) == 0:
        return draw(k_neighbors_regressor_2d())
    return draw(_neighbours(KNeighborsRegressor, "regression")())


@st.composite
def nearest_centroid(draw):
    priors = draw(st.sampled_from(["uniform", "empirical", "explicit"]))
    est = NearestCentroid(metric=draw(st.sampled_from(["euclidean", "manhattan"])),
                          shrink_threshold=draw(st.sampled_from([None, 0.2, 1.0])))
    model, X, y = _pipeline(draw, est, "classification")
    if priors != "uniform":
        k = len(est.classes_)
        est.set_params(priors="empirical" if priors == "empirical"
                       else list(np.arange(1, k + 1) / (k * (k + 1) / 2)))
        model = _fit(model, X, y)
    # a zero deviation under shrinking makes NaN centroids: sklearn raises for every row
    assume(np.isfinite(est.centroids_).all())
    return model


@st.composite
def knn_imputer(draw):
    """KNNImputer with every donor taking part (n_neighbors >= rows: what scorec compiles),
    NaN or -1 as the missing marker, sometimes a column missing in every fitted row."""
    task = draw(st.sampled_from(["classification", "regression"]))
    ints = draw(st.booleans())
    X, y = draw(dataset(n_num=(1, 4), task=task, missing=True, ints=ints, frame=False))
    X, y = _small(draw, X, y, 10, 30)
    if task == "classification":
        assume(len(set(y.tolist())) >= 2)
    X = X.copy()
    if draw(st.integers(0, 3)) == 0:
        X[:, draw(st.integers(0, X.shape[1] - 1))] = np.nan  # an all-missing column
    marker = draw(st.sampled_from([np.nan, np.nan, -1.0]))
    if marker == -1.0:
        X = np.where(np.isnan(X), -1.0, X)
    imp = KNNImputer(missing_values=marker,
                     n_neighbors=len(X) + draw(st.sampled_from([0, 3])),
                     weights=draw(st.sampled_from(["uniform", "distance"])),
                     add_indicator=draw(st.booleans()),
                     keep_empty_features=draw(st.booleans()))
    return _fit(make_pipeline(imp, _numeric_estimator(draw, task)), X, y)


BUILDERS = {
    "KNeighborsClassifier": _neighbours(KNeighborsClassifier, "classification"),
    "KNeighborsRegressor": k_neighbors_regressor,
    "NearestCentroid": nearest_centroid,
    "KNNImputer": knn_imputer,
}
