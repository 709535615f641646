"""Builders for LightGBM (see builders.py): the sklearn wrappers alone or at the end of a
pipeline, and LightGBM's own text model files and raw Boosters (read by
scorec.compiler.native.lightgbm_file, asked through lightgbm for reference outputs).

Models are small (1-8 iterations, 2-16 leaves, small leaves and bins so that 30-120 rows
give many splits, early stopping over up to 30 iterations) and draw every option that
changes prediction: objective, boosting type (gbdt, dart, rf with bagging, goss),
linear_tree, zero_as_missing / use_missing, categorical features (integer codes, an
OrdinalEncoder's codes with unknown -1, pandas categoricals of text or numbers), sigmoid,
reg_sqrt. Training data hold NaN, exact zeros and values within 1e-35 of zero, so splits
carry every missing type and thresholds sit at LightGBM's +-1e-35 zero bins.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from builders import _fit as _fit_quietly
from builders import _split, dataset
from hypothesis import assume
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from scorec.compiler.native.lightgbm_file import from_booster, read

REGRESSION_OBJECTIVES = ("regression", "regression_l1", "huber", "fair", "quantile", "mape",
                         "poisson", "gamma", "tweedie", "cross_entropy", "cross_entropy_lambda")
# characters LightGBM refuses in feature names ("special JSON characters")
_JSON_SPECIAL = str.maketrans({c: "_" for c in '",:[]{}'})


def _lightgbm():
    import lightgbm

    return lightgbm


def _fit(model, X, y, **fit_params):
    """builders._fit, where LightGBM's own error is a configuration it refuses too."""
    lgb = _lightgbm()
    return _fit_quietly(model, X, y, (lgb.basic.LightGBMError,), **fit_params)


def _zeros(draw, X):
    """Exact zeros and values LightGBM drops as zero (|x| <= 1e-35) in the numbers."""
    if not draw(st.booleans()):
        return X
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = X.copy()
    num, _ = _split(X)
    for c in num:
        col = X[c] if isinstance(X, pd.DataFrame) else X[:, c]
        values = np.array(col, dtype=float)
        values[rng.random(len(values)) < 0.2] = 0.0
        values[rng.random(len(values)) < 0.05] = rng.choice([1e-36, -1e-36, -0.0])
        if isinstance(X, pd.DataFrame):
            X[c] = values
        else:
            X[:, c] = values
    return X


def _safe_names(X):
    """LightGBM refuses quotes, colons, brackets in feature names (it turns spaces into _)."""
    if isinstance(X, pd.DataFrame):
        return X.rename(columns=lambda c: str(c).translate(_JSON_SPECIAL))
    return X


def _params(draw, *, linear: bool = True, objective: str | None = None) -> dict:
    """Tree shape, boosting type and missing-value options for a small fast model."""
    params = {"n_estimators": draw(st.integers(1, 8)),
              "num_leaves": draw(st.sampled_from([2, 3, 6, 16])),
              "max_depth": draw(st.sampled_from([-1, -1, 3])),
              "min_child_samples": draw(st.sampled_from([1, 3, 10])),
              "min_data_in_bin": draw(st.sampled_from([1, 3])),
              "max_bin": draw(st.sampled_from([255, 15])),
              "learning_rate": draw(st.sampled_from([0.1, 0.5, 1.0])),
              "min_data_per_group": 2, "cat_smooth": 1.0, "cat_l2": 1.0,
              "verbose": -1, "n_jobs": 1, "random_state": 0,
              # LightGBM picks row- or column-wise histograms by timing them, which changes
              # the sums and so the model: a redrawn example must fit the same model
              "force_col_wise": True, "deterministic": True}
    boosting = draw(st.sampled_from(["gbdt", "gbdt", "dart", "rf", "goss"]))
    if boosting == "rf":
        params.update(boosting_type="rf", bagging_freq=1,
                      bagging_fraction=draw(st.sampled_from([0.5, 0.8])))
    elif boosting == "goss":
        params["data_sample_strategy"] = "goss"
    elif boosting == "dart":
        params["boosting_type"] = "dart"
    missing = draw(st.sampled_from(["default", "zero_as_missing", "no_missing"]))
    params["use_missing"] = missing != "no_missing"
    params["zero_as_missing"] = missing == "zero_as_missing"
    if linear and missing != "zero_as_missing" and objective != "regression_l1" \
            and draw(st.booleans()):
        params["linear_tree"] = True
    if draw(st.booleans()):
        params["extra_trees"] = True
    return params


def _int_codes(draw, X):
    """Feature 0 as integer category codes (NaN kept) for categorical_feature=[0]: its
    sextiles mapped to codes drawn from 0..39 (a bitset can need two 32-bit words)."""
    X = np.array(X, dtype=float)
    codes = np.array(draw(st.lists(st.integers(0, 39), min_size=6, max_size=6, unique=True)))
    x = X[:, 0]
    edges = np.nanquantile(x, [1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6]) if np.isfinite(x).any() \
        else np.zeros(5)
    X[:, 0] = np.where(np.isnan(x), np.nan, codes[np.searchsorted(edges, x)].astype(float))
    return X


def _pipeline(draw, est, X, y, fit_name: str, **fit_params):
    """`est` alone, in a pipeline, behind a scaler / imputer, or behind a ColumnTransformer
    that one-hot encodes text (dense or CSR: LightGBM keeps a CSR row's tiny values) or
    ordinal-encodes it into a categorical feature (unknown text -1: a negative category)."""
    num, txt = _split(X)
    how = draw(st.sampled_from(["bare", "pipeline", "scaled", "imputed", "codes"]
                               + (["one-hot", "ordinal"] if txt else [])))
    if txt and how not in ("one-hot", "ordinal"):
        how = "one-hot"
    prefixed = {f"{fit_name}__{k}": v for k, v in fit_params.items()}
    if how == "bare":
        return _fit(est, _safe_names(X), y, **fit_params)
    if how == "pipeline":
        return _fit(make_pipeline(est), _safe_names(X), y, **prefixed)
    if how == "scaled":
        return _fit(make_pipeline(StandardScaler(), est), X, y, **prefixed)
    if how == "imputed":
        return _fit(make_pipeline(SimpleImputer(), est), X, y, **prefixed)
    if how == "codes":
        return _fit(est, _int_codes(draw, X), y, categorical_feature=[0], **fit_params)
    if how == "one-hot":
        steps = [("txt", make_pipeline(SimpleImputer(strategy="most_frequent",
                                                     missing_values=None),
                                       OneHotEncoder(handle_unknown="ignore")), txt)]
        ct = ColumnTransformer(steps, remainder="passthrough",
                               sparse_threshold=draw(st.sampled_from([0.0, 1.0])))
        return _fit(make_pipeline(ct, est), X, y, **prefixed)
    enc = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                         encoded_missing_value=draw(st.sampled_from([-1, np.nan])))
    ct = ColumnTransformer([("txt", enc, txt)], remainder="passthrough")
    prefixed[f"{fit_name}__categorical_feature"] = list(range(len(txt)))
    return _fit(make_pipeline(ct, est), X, y, **prefixed)


def _early_stopping(draw, X, y, params: dict) -> dict:
    """Fit arguments for early stopping (best_iteration) on the last third of the rows."""
    if params.get("boosting_type") in ("dart", "rf") or not draw(st.booleans()) \
            or isinstance(X, pd.DataFrame) or X.dtype == object:
        return {}
    lgb = _lightgbm()
    params["n_estimators"] = 30
    m = 2 * len(y) // 3
    return {"eval_X": X[m:], "eval_y": y[m:],
            "callbacks": [lgb.early_stopping(draw(st.integers(1, 3)), verbose=False)]}


@st.composite
def lgbm_classifier(draw):
    lgb = _lightgbm()
    X, y = draw(dataset(n_num=(1, 4), n_str=(0, 1), task="classification"))
    X = _zeros(draw, X)
    params = _params(draw)
    n_classes = len(set(y.tolist()))
    if n_classes > 2 and draw(st.booleans()):
        params["objective"] = "multiclassova"
    if n_classes == 2 or params.get("objective") == "multiclassova":
        params["sigmoid"] = draw(st.sampled_from([1.0, 0.5, 2.0]))
    fit_params = _early_stopping(draw, X, y, params)
    return _pipeline(draw, lgb.LGBMClassifier(**params), X, y, "lgbmclassifier", **fit_params)


def _regression_target(objective: str, y: np.ndarray) -> np.ndarray:
    """Labels each objective accepts: counts, positives, probabilities."""
    if objective in ("poisson", "tweedie"):
        return np.round(np.abs(y))
    if objective == "gamma":
        return np.abs(y) + 0.1
    if objective.startswith("cross_entropy"):
        return 1.0 / (1.0 + np.exp(-np.clip(y, -50.0, 50.0)))
    return y


@st.composite
def lgbm_regressor(draw):
    lgb = _lightgbm()
    X, y = draw(dataset(n_num=(1, 4), n_str=(0, 1), task="regression"))
    X = _zeros(draw, X)
    objective = draw(st.sampled_from(REGRESSION_OBJECTIVES))
    params = _params(draw, objective=objective)
    params["objective"] = objective
    if objective in ("regression", "regression_l1", "fair", "quantile", "mape"):
        params["reg_sqrt"] = draw(st.booleans())
    if objective in ("huber", "quantile"):
        params["alpha"] = draw(st.sampled_from([0.3, 0.9]))
    if objective == "tweedie":
        params["tweedie_variance_power"] = draw(st.sampled_from([1.2, 1.8]))
    y = _regression_target(objective, y)
    fit_params = _early_stopping(draw, X, y, params)
    return _pipeline(draw, lgb.LGBMRegressor(**params), X, y, "lgbmregressor", **fit_params)


@st.composite
def lgbm_ranker(draw):
    lgb = _lightgbm()
    X, y = draw(dataset(n_num=(1, 4), task="regression"))
    X = _zeros(draw, X)
    params = _params(draw)
    params["objective"] = draw(st.sampled_from(["lambdarank", "rank_xendcg"]))
    relevance = np.digitize(y, np.quantile(y, [0.25, 0.5, 0.75])).astype(int)
    sizes = [10] * (len(y) // 10)
    sizes[-1] += len(y) % 10
    est = lgb.LGBMRanker(**params)
    if draw(st.booleans()):
        return _fit(est, _safe_names(X), relevance, group=sizes)
    return _fit(make_pipeline(StandardScaler(), est), X, relevance, lgbmranker__group=sizes)


@st.composite
def lightgbm_model_file(draw):
    """A model trained with lightgbm.train, then saved as a text file and read back, or
    kept as the raw Booster (with its best_iteration after early stopping). Text columns
    and integer columns become pandas categoricals."""
    lgb = _lightgbm()
    task = draw(st.sampled_from(["binary", "multiclass", "multiclassova", "regression"]))
    X, y = draw(dataset(n_num=(1, 4), n_str=(0, 2), task="regression" if task == "regression"
                        else "classification", frame=True))
    X = _safe_names(_zeros(draw, X))
    num, txt = _split(X)
    for c in txt:
        X[c] = pd.Categorical(X[c].tolist())
    if num and draw(st.booleans()):  # categories that are numbers
        c = num[0]
        X[c] = pd.Categorical(np.where(np.isnan(X[c]), np.nan, np.round(np.abs(X[c])) % 5))
    objective = draw(st.sampled_from(REGRESSION_OBJECTIVES + ("lambdarank",))) \
        if task == "regression" else task
    params = _params(draw, objective=objective)
    rounds = params.pop("n_estimators")
    for old, new in (("n_jobs", "num_threads"), ("random_state", "seed"),
                     ("min_child_samples", "min_data_in_leaf")):
        params[new] = params.pop(old)
    params["objective"] = objective
    if task == "regression":
        label = _regression_target(objective, y.astype(float))
        if objective == "lambdarank":
            label = np.digitize(label, np.quantile(label, [0.5])).astype(int)
    else:
        classes = sorted(set(y.tolist()), key=str)
        label = np.array([classes.index(v) for v in y.tolist()])
        if task == "binary":
            label = (label > 0).astype(int)
        else:
            assume(len(classes) > 2)
            params["num_class"] = len(classes)
        params["sigmoid"] = draw(st.sampled_from([1.0, 0.5, 2.0]))
    group = [len(label)] if objective == "lambdarank" else None
    train = lgb.Dataset(X, label, group=group, params={"verbose": -1})
    kwargs = {}
    if params.get("boosting_type") not in ("dart", "rf") and objective != "lambdarank" \
            and draw(st.booleans()):
        kwargs = {"valid_sets": [lgb.Dataset(X.iloc[::2], label[::2], reference=train)],
                  "callbacks": [lgb.early_stopping(1, verbose=False)]}
        rounds = 20
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            booster = lgb.train(params, train, num_boost_round=rounds, **kwargs)
        except (ValueError, lgb.basic.LightGBMError):
            assume(False)
    if draw(st.booleans()):
        return from_booster(booster, "booster")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.txt"
        booster.save_model(path)
        return read(path)


BUILDERS = {
    "LGBMClassifier": lgbm_classifier,
    "LGBMRegressor": lgbm_regressor,
    "LGBMRanker": lgbm_ranker,
    "LightGBM model file": lightgbm_model_file,
}
