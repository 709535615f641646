"""Builders for the encode family (see builders.py): one per supported component.

The encoders read text columns (missing as None, or as NaN) or integer-valued number
columns (missing as NaN), with categories learned ('auto') or given as lists that may
hold a category the data never show and, where unknown values are accepted, leave one of
the data's out. KBinsDiscretizer reads numbers; NaN reaches it only where no imputer
runs first, and is refused there, as sklearn refuses it."""

from __future__ import annotations

import numpy as np
import pandas as pd
from builders import _fit, _numeric_estimator, _split, dataset
from hypothesis import assume
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import KBinsDiscretizer, OrdinalEncoder, TargetEncoder
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

QUANTILE_METHODS = ("inverted_cdf", "averaged_inverted_cdf", "closest_observation",
                    "interpolated_inverted_cdf", "hazen", "weibull", "linear",
                    "median_unbiased", "normal_unbiased")


def _column(X, c) -> np.ndarray:
    return X[c].to_numpy() if isinstance(X, pd.DataFrame) else X[:, c]


def _categorical_data(draw, task: str):
    """(X, y, category columns, other number columns): text columns, missing as None or
    NaN, or integer-valued numbers (0..4) with NaN."""
    if draw(st.booleans()):
        X, y = draw(dataset(n_num=(1, 3), task=task, ints=True, missing=draw(st.booleans())))
        return X, y, _split(X)[0], []
    X, y = draw(dataset(n_num=(0, 1), n_str=(1, 3), task=task, frame=draw(st.booleans())))
    num, txt = _split(X)
    if draw(st.booleans()):  # missing text as NaN, as pandas often gives it
        X = X.copy()
        for c in txt:
            col = _column(X, c)
            nan_col = np.array([np.nan if v is None else v for v in col], dtype=object)
            if isinstance(X, pd.DataFrame):
                X[c] = pd.Series(nan_col, dtype=object, index=X.index)
            else:
                X[:, c] = nan_col
    return X, y, txt, num


def _given_categories(draw, X, cols: list, may_drop: bool) -> list:
    """Per column: the data's categories, in a drawn order for text (numbers must ascend,
    missing last), with maybe an extra category the data never show and, when `may_drop`,
    maybe one of the data's left out (it becomes unknown)."""
    out = []
    for c in cols:
        values = _column(X, c).tolist()
        missing = [v for v in values if v is None or v != v][:1]
        present = sorted({v for v in values if v is not None and v == v})
        text = bool(present) and isinstance(present[0], str)
        if text:
            present = draw(st.permutations(present))
        if draw(st.booleans()):
            present = [*present, "never seen"] if text else [*present, 99.0]
        if may_drop and len(present) > 1 and draw(st.booleans()):
            present.pop(draw(st.integers(0, len(present) - 1)))
        cats = present + missing
        out.append(np.array(cats, dtype=object if text else float))
    return out


def _estimator(draw, task: str, float32: bool):
    """A numeric estimator; a tree where X reaches it as float32. A linear model fitted on
    float32 X computes in float32, which the IR (double, no dtype on a Frame) cannot follow;
    a tree casts X to float32 anyway."""
    if float32:
        return DecisionTreeClassifier(max_depth=4, random_state=0) \
            if task == "classification" else DecisionTreeRegressor(max_depth=4, random_state=0)
    return _numeric_estimator(draw, task)


def _encoded_model(draw, X, y, task: str, enc, cat_cols: list, num_cols: list):
    """The encoder on its columns (numbers beside it imputed) before a numeric estimator."""
    steps = [("cat", enc, cat_cols)]
    if num_cols:
        steps.append(("num", SimpleImputer(), num_cols))
    float32 = getattr(enc, "dtype", None) is np.float32 and not num_cols
    return _fit(make_pipeline(ColumnTransformer(steps), _estimator(draw, task, float32)), X, y)


@st.composite
def ordinal_encoder(draw):
    task = draw(st.sampled_from(["classification", "regression"]))
    X, y, cat_cols, num_cols = _categorical_data(draw, task)
    handle = draw(st.sampled_from(["error", "use_encoded_value"]))
    unknown = draw(st.sampled_from([-1, np.nan, 99])) if handle != "error" else None
    missing = draw(st.sampled_from([np.nan, -2, -1]))
    nan_out = unknown is not None and unknown != unknown or missing != missing
    dtype = draw(st.sampled_from([np.float64, np.float32] if nan_out else
                                 [np.float64, np.float32, np.int64]))
    categories = "auto"
    if draw(st.booleans()):
        categories = _given_categories(draw, X, cat_cols, may_drop=handle != "error")
    enc = OrdinalEncoder(categories=categories, handle_unknown=handle, unknown_value=unknown,
                         encoded_missing_value=missing, dtype=dtype,
                         min_frequency=draw(st.sampled_from([None, 3, 0.2])),
                         max_categories=draw(st.sampled_from([None, 2, 3])))
    return _encoded_model(draw, X, y, task, enc, cat_cols, num_cols)


@st.composite
def target_encoder(draw):
    """binary, multiclass (3-4 labels) and continuous targets; numeric class labels also
    encoded as a continuous target."""
    task = draw(st.sampled_from(["classification", "regression"]))
    X, y, cat_cols, num_cols = _categorical_data(draw, task)
    if task == "regression":
        target_type = draw(st.sampled_from(["auto", "continuous"]))
    else:
        numeric = y.dtype.kind in "if"
        kind = "binary" if len(set(y.tolist())) == 2 else "multiclass"
        target_type = draw(st.sampled_from(["auto", kind, *(["continuous"] if numeric else [])]))
    categories = "auto"
    if draw(st.booleans()):
        categories = _given_categories(draw, X, cat_cols, may_drop=True)
    enc = TargetEncoder(categories=categories, target_type=target_type,
                        smooth=draw(st.sampled_from(["auto", 0.0, 1.0, 20.0])),
                        cv=draw(st.sampled_from([2, 3, 5])))
    return _encoded_model(draw, X, y, task, enc, cat_cols, num_cols)


@st.composite
def kbins_discretizer(draw):
    """Every strategy, quantile_method, encoding and dtype; subsampled fits; a constant
    feature (one bin) at times; NaN imputed first, or refused."""
    task = draw(st.sampled_from(["classification", "regression"]))
    impute = draw(st.booleans())
    X, y = draw(dataset(task=task, missing=impute))
    if draw(st.booleans()):  # a constant feature: one bin, always 0
        X = X.copy()
        if isinstance(X, pd.DataFrame):
            X[X.columns[-1]] = 2.5
        else:
            X[:, -1] = 2.5
    width = X.shape[1]
    n_bins = draw(st.one_of(st.integers(2, 6), st.lists(st.integers(2, 6), min_size=width,
                                                        max_size=width)))
    kb = KBinsDiscretizer(
        n_bins=n_bins, encode=draw(st.sampled_from(["onehot", "onehot-dense", "ordinal"])),
        strategy=draw(st.sampled_from(["uniform", "quantile", "kmeans"])),
        quantile_method=draw(st.sampled_from(QUANTILE_METHODS)),
        dtype=draw(st.sampled_from([None, np.float64, np.float32])),
        subsample=draw(st.sampled_from([None, 200_000, 20])),
        random_state=draw(st.integers(0, 2**16)))
    steps = [SimpleImputer(), kb] if impute else [kb]
    if draw(st.booleans()):  # inside a ColumnTransformer, which decides sparse or dense
        ct = ColumnTransformer([("bins", make_pipeline(*steps), list(range(width)) if not
                                 isinstance(X, pd.DataFrame) else list(X.columns))],
                               sparse_threshold=draw(st.sampled_from([0.0, 0.3, 1.0])))
        steps = [ct]
    try:
        return _fit(make_pipeline(*steps, _estimator(draw, task, kb.dtype is np.float32)), X, y)
    except IndexError:  # sklearn's own fit fails one-hot encoding a feature left no bin
        assume(False)


BUILDERS = {
    "OrdinalEncoder": ordinal_encoder,
    "TargetEncoder": target_encoder,
    "KBinsDiscretizer": kbins_discretizer,
}
