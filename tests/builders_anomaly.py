"""Builders for the anomaly family (see builders.py): IsolationForest, and IterativeImputer
(kept here with its family test file, tests/test_anomaly.py).

IsolationForest forests are small (2-8 trees) on 30-120 rows: max_samples from 1 (a
forest of one-node trees) to all rows, contamination 'auto' or a fraction (offset_ is then
a percentile of the training scores), max_features below 1 (each tree reads its own
columns), bootstrap; the data keep their NaN (the trees route them) and text is one-hot
encoded, sometimes into a sparse matrix (CSR trees send NaN right).
"""

from __future__ import annotations

import numpy as np
from builders import _encode_text, _fit, _numeric_estimator, _split, dataset
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import IsolationForest
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor, ExtraTreeRegressor


@st.composite
def isolation_forest(draw):
    X, y = draw(dataset(n_num=(1, 5), n_str=(0, 1), task="regression"))
    est = IsolationForest(
        n_estimators=draw(st.integers(2, 8)),
        max_samples=draw(st.sampled_from(["auto", 1, 2, 7, 16, 0.3, 1.0])),
        contamination=draw(st.sampled_from(["auto", "auto", 0.05, 0.2, 0.5])),
        max_features=draw(st.sampled_from([1.0, 1.0, 0.5, 0.8, 1])),
        bootstrap=draw(st.booleans()),
        random_state=draw(st.integers(0, 2**16)),
    )
    num, txt = _split(X)
    if txt:
        ct = ColumnTransformer([("txt", _encode_text(), txt)], remainder="passthrough",
                               sparse_threshold=draw(st.sampled_from([0.0, 1.0])))
        return _fit(make_pipeline(ct, est), X, y)
    how = draw(st.sampled_from(["raw", "pipeline", "scaled"]))
    if how == "scaled":
        return _fit(make_pipeline(StandardScaler(), est), X, y)
    return _fit(est if how == "raw" else make_pipeline(est), X, y)


def _iterative_estimator(draw, ints: bool):
    """The per-feature estimator: BayesianRidge (the default, None), a linear pipeline,
    a tree regressor, or a classifier of the integer codes."""
    options = [None, None, make_pipeline(StandardScaler(), Ridge(alpha=0.5)),
               DecisionTreeRegressor(max_depth=3, random_state=0),
               ExtraTreeRegressor(max_depth=4, random_state=0)]
    if ints:
        options.append(DecisionTreeClassifier(max_depth=3, random_state=0))
    return draw(st.sampled_from(options))


@st.composite
def iterative_imputer(draw):
    """IterativeImputer(sample_posterior=False) in a pipeline ending in a supported
    estimator: 1-4 rounds over 2-4 columns with NaN (or -1 as the marker), every
    imputation order, n_nearest_features, skip_complete, clipping bounds, initial
    strategies, keep_empty_features (with an all-missing column), add_indicator.

    sklearn returns the initial imputation alone when every entry of the batch is missing
    (a batch-level shortcut no per-row code can follow, see lowering/impute.py), so the
    imputer always sees one column that no row can have missing: an all-missing column
    kept by keep_empty_features, or one imputed beforehand by a SimpleImputer."""
    task = draw(st.sampled_from(["classification", "regression"]))
    ints = draw(st.booleans())
    X, y = draw(dataset(n_num=(2, 4), task=task, missing=True, ints=ints, frame=False))
    X = X.copy()
    X[np.random.default_rng(draw(st.integers(0, 2**32 - 1))).random(X.shape) < 0.15] = np.nan
    complete = draw(st.sampled_from(["empty", "prefilled"]))
    if complete == "empty":
        X[:, draw(st.integers(0, X.shape[1] - 1))] = np.nan
    marker = draw(st.sampled_from([np.nan, np.nan, -1.0]))
    if marker == -1.0:
        X = np.where(np.isnan(X), -1.0, X)
    bounds = draw(st.sampled_from([(None, None), (-1.0, 2.0), (0.0, None),
                                   (None, list(np.linspace(1.0, 3.0, X.shape[1])))]))
    imp = IterativeImputer(
        estimator=_iterative_estimator(draw, ints),
        missing_values=marker,
        max_iter=draw(st.integers(1, 4)),
        tol=draw(st.sampled_from([1e-3, 0.0])),
        n_nearest_features=draw(st.sampled_from([None, None, 1, 2])),
        initial_strategy=draw(st.sampled_from(["mean", "median", "most_frequent",
                                               "constant"])),
        fill_value=draw(st.sampled_from([None, 0.5])),
        imputation_order=draw(st.sampled_from(["ascending", "descending", "roman", "arabic",
                                               "random"])),
        skip_complete=draw(st.booleans()),
        min_value=bounds[0], max_value=bounds[1],
        keep_empty_features=complete == "empty",
        add_indicator=draw(st.booleans()),
        random_state=draw(st.integers(0, 2**16)),
    )
    steps = [imp, StandardScaler(), _numeric_estimator(draw, task)]  # scaled: fast fits
    if complete == "prefilled":
        first = SimpleImputer(missing_values=marker, strategy="constant", fill_value=0.25)
        rest = list(range(1, X.shape[1]))
        steps.insert(0, ColumnTransformer([("first", first, [0]), ("rest", "passthrough", rest)]))
    return _fit(make_pipeline(*steps), X, y)


BUILDERS = {
    "IsolationForest": isolation_forest,
    "IterativeImputer": iterative_imputer,
}
