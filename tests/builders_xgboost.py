"""Builders for XGBoost (see builders.py): the sklearn wrappers alone or at the end of a
pipeline, and XGBoost's own model files (.json, .ubj) and raw Boosters (read by
scorec.compiler.native.xgboost_file, asked through xgboost for reference outputs).

Models are small (1-8 rounds, depth 1-4, small min_child_weight and bins so that 30-120
rows give many splits, early stopping over up to 30 rounds) and draw every option that
changes prediction: objective, booster (gbtree, dart with its drop options, gblinear),
num_parallel_tree with row / column sampling, a given or a learned base_score, the
`missing` value (NaN or a number present in the data), categorical features (integer codes
through `feature_types`, an OrdinalEncoder's codes with unknown -1, pandas categoricals of
text), and one-hot text in a dense or a CSR matrix (where XGBoost reads an absent entry as
missing). Training data hold NaN, so splits learn a default direction.
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

from scorec.compiler.native.xgboost_file import from_booster, read

CLASSIFIER_OBJECTIVES = ("binary:logistic", "binary:logitraw", "binary:hinge")
MULTICLASS_OBJECTIVES = ("multi:softprob", "multi:softmax")
REGRESSION_OBJECTIVES = ("reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror",
                         "reg:logistic", "reg:squaredlogerror", "reg:quantileerror",
                         "count:poisson", "reg:gamma", "reg:tweedie")
# XGBoost stores pandas category names as bytes cut by character counts: non-ASCII names
# cannot be read back (xgboost_file refuses them), so the builders keep text ASCII
_ASCII = {"Zürich": "Zurich", "東京": "Tokyo"}


def _xgboost():
    import xgboost

    return xgboost


def _fit(model, X, y, **fit_params):
    """builders._fit, where XGBoost's own error is a configuration it refuses too."""
    xgb = _xgboost()
    return _fit_quietly(model, X, y, (xgb.core.XGBoostError,), **fit_params)


def _ascii(X):
    """Text made ASCII (see _ASCII); feature names without XGBoost's forbidden [ ] <."""
    X = X.copy()
    _, txt = _split(X)
    for c in txt:
        col = X[c] if isinstance(X, pd.DataFrame) else X[:, c]
        fixed = np.array([_ASCII.get(v, v) if isinstance(v, str) else v for v in col],
                         dtype=object)
        if isinstance(X, pd.DataFrame):
            X[c] = pd.Series(fixed, dtype=object, index=X.index)
        else:
            X[:, c] = fixed
    return X


def _missing_value(draw, X):
    """The `missing` parameter and X with that value planted in its numbers: NaN (only),
    or a number that then also means missing (NaN stays missing too)."""
    missing = draw(st.sampled_from([np.nan, np.nan, 0.0, -1.5]))
    if np.isnan(missing) or not draw(st.booleans()):
        return missing, X
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = X.copy()
    num, _ = _split(X)
    for c in num:
        col = np.array(X[c] if isinstance(X, pd.DataFrame) else X[:, c], dtype=float)
        col[rng.random(len(col)) < 0.15] = missing
        if isinstance(X, pd.DataFrame):
            X[c] = col
        else:
            X[:, c] = col
    return missing, X


def _params(draw, *, linear: bool = True, forest: bool = False) -> dict:
    """Tree shape, booster, sampling and intercept options for a small fast model."""
    params = {"n_estimators": draw(st.integers(1, 8)),
              "max_depth": draw(st.integers(1, 4)),
              "learning_rate": draw(st.sampled_from([0.3, 0.7, 1.0])),
              "min_child_weight": draw(st.sampled_from([0.0, 0.5, 1.0])),
              "tree_method": draw(st.sampled_from(["hist", "hist", "exact", "approx"])),
              "max_bin": draw(st.sampled_from([256, 16])),
              "n_jobs": 1, "random_state": 0, "verbosity": 0}
    booster = "gbtree" if forest else draw(st.sampled_from(
        ["gbtree", "gbtree", "dart"] + (["gblinear"] if linear else [])))
    if booster == "dart":
        params.update(booster="dart", rate_drop=draw(st.sampled_from([0.0, 0.3, 0.7])),
                      one_drop=draw(st.booleans()),
                      normalize_type=draw(st.sampled_from(["tree", "forest"])),
                      sample_type=draw(st.sampled_from(["uniform", "weighted"])))
    elif booster == "gblinear":
        for key in ("max_depth", "min_child_weight", "tree_method", "max_bin"):
            del params[key]
        params.update(booster="gblinear",
                      updater=draw(st.sampled_from(["shotgun", "coord_descent"])))
    if booster != "gblinear" and (forest or draw(st.booleans())):
        if not forest:  # XGBRF* grow n_estimators trees in their one round
            params["num_parallel_tree"] = draw(st.integers(2, 4))
        params["subsample"] = draw(st.sampled_from([0.5, 0.8, 1.0]))
        # the exact method samples columns per tree only
        by = "colsample_bytree" if params["tree_method"] == "exact" else "colsample_bynode"
        params[by] = draw(st.sampled_from([0.5, 1.0]))
    return params


def _int_codes(draw, X):
    """Feature 0 as integer category codes (NaN kept): its quintiles mapped to codes drawn
    from 0..20."""
    X = np.array(X, dtype=float)
    codes = np.array(draw(st.lists(st.integers(0, 20), min_size=5, max_size=5, unique=True)))
    x = X[:, 0]
    edges = np.nanquantile(x, [0.2, 0.4, 0.6, 0.8]) if np.isfinite(x).any() else np.zeros(4)
    X[:, 0] = np.where(np.isnan(x), np.nan, codes[np.searchsorted(edges, x)].astype(float))
    return X


def _pipeline(draw, est, X, y, fit_name: str, **fit_params):
    """`est` alone, in a pipeline, behind a scaler / imputer, on category codes
    (`feature_types`), or behind a ColumnTransformer that one-hot encodes text (dense or
    CSR) or ordinal-encodes it into a categorical feature (unknown text -1)."""
    num, txt = _split(X)
    categorical = est.get_params()["booster"] != "gblinear"
    how = draw(st.sampled_from(["bare", "pipeline", "scaled", "imputed"]
                               + (["codes"] if categorical else [])
                               + (["one-hot", "ordinal"] if txt else [])))
    if txt and how not in ("one-hot", "ordinal"):
        how = "one-hot"
    if how == "ordinal" and not categorical:
        how = "one-hot"
    prefixed = {f"{fit_name}__{k}": v for k, v in fit_params.items()}
    if how == "bare":
        return _fit(est, X, y, **fit_params)
    if how == "pipeline":
        return _fit(make_pipeline(est), X, y, **prefixed)
    if how == "scaled":
        return _fit(make_pipeline(StandardScaler(), est), X, y, **prefixed)
    if how == "imputed":
        return _fit(make_pipeline(SimpleImputer(), est), X, y, **prefixed)
    if how == "codes":
        X = _int_codes(draw, X)
        if "eval_set" in fit_params:  # the validation rows as codes too
            fit_params["eval_set"] = [(X[2 * len(y) // 3:], y[2 * len(y) // 3:])]
        est.set_params(enable_categorical=True,
                       feature_types=["c"] + ["q"] * (X.shape[1] - 1),
                       max_cat_to_onehot=draw(st.sampled_from([1, 8])))
        return _fit(est, X, y, **fit_params)
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
    est.set_params(enable_categorical=True,
                   feature_types=["c"] * len(txt) + ["q"] * len(num))
    return _fit(make_pipeline(ct, est), X, y, **prefixed)


def _early_stopping(draw, X, y, params: dict) -> dict:
    """Fit arguments for early stopping (best_iteration) on the last third of the rows."""
    if params.get("booster") == "gblinear" or not draw(st.booleans()) \
            or isinstance(X, pd.DataFrame) or X.dtype == object:
        return {}
    params["n_estimators"] = 30
    params["early_stopping_rounds"] = draw(st.integers(1, 3))
    m = 2 * len(y) // 3
    return {"eval_set": [(X[m:], y[m:])], "verbose": False}


def _base_score(draw, objective: str, y: np.ndarray) -> dict:
    """A given base_score (in the objective's range) or none (XGBoost learns one)."""
    if not draw(st.booleans()):
        return {}
    if objective in ("reg:logistic", "binary:logistic"):
        return {"base_score": draw(st.sampled_from([0.2, 0.5, 0.73]))}
    if objective in ("count:poisson", "reg:gamma", "reg:tweedie"):
        return {"base_score": draw(st.sampled_from([0.5, 1.0, 3.25]))}
    if objective.startswith("multi:"):
        return {}
    return {"base_score": draw(st.sampled_from([-0.4, 0.0, 0.5, 1.7]))}


def _label_codes(y: np.ndarray) -> np.ndarray:
    """Labels as 0..k-1, which XGBClassifier requires."""
    return np.unique(y.astype(str), return_inverse=True)[1]


def _classifier(forest: bool):
    @st.composite
    def build(draw):
        xgb = _xgboost()
        X, y = draw(dataset(n_num=(1, 4), n_str=(0, 1), task="classification"))
        X = _ascii(X)
        y = _label_codes(y)
        missing, X = _missing_value(draw, X)
        params = _params(draw, forest=forest)
        multi = len(set(y.tolist())) > 2
        objective = draw(st.sampled_from(MULTICLASS_OBJECTIVES if multi
                                         else CLASSIFIER_OBJECTIVES))
        params.update(objective=objective, missing=missing, **_base_score(draw, objective, y))
        fit_params = {} if forest else _early_stopping(draw, X, y, params)
        cls = xgb.XGBRFClassifier if forest else xgb.XGBClassifier
        name = cls.__name__.lower()
        return _pipeline(draw, cls(**params), X, y, name, **fit_params)

    return build


def _regression_target(objective: str, y: np.ndarray) -> np.ndarray:
    """Labels each objective accepts: counts, positives, probabilities."""
    if objective in ("count:poisson", "reg:tweedie"):
        return np.round(np.abs(y))
    if objective == "reg:gamma":
        return np.abs(y) + 0.1
    if objective == "reg:squaredlogerror":
        return np.abs(y)
    if objective == "reg:logistic":
        return 1.0 / (1.0 + np.exp(-np.clip(y, -50.0, 50.0)))
    return y


def _objective_options(draw, objective: str) -> dict:
    if objective == "reg:quantileerror":
        return {"quantile_alpha": draw(st.sampled_from([0.3, 0.9, [0.2, 0.8]]))}
    if objective == "reg:pseudohubererror":
        return {"huber_slope": draw(st.sampled_from([1.0, 0.3]))}
    if objective == "reg:tweedie":
        return {"tweedie_variance_power": draw(st.sampled_from([1.2, 1.8]))}
    return {}


def _regressor(forest: bool):
    @st.composite
    def build(draw):
        xgb = _xgboost()
        X, y = draw(dataset(n_num=(1, 4), n_str=(0, 1), task="regression"))
        X = _ascii(X)
        missing, X = _missing_value(draw, X)
        objective = draw(st.sampled_from(REGRESSION_OBJECTIVES))
        params = _params(draw, forest=forest)
        y = _regression_target(objective, y)
        params.update(objective=objective, missing=missing, **_objective_options(draw, objective),
                      **_base_score(draw, objective, y))
        if objective == "reg:squarederror" and draw(st.integers(0, 3)) == 0:
            y = np.column_stack([y, np.roll(y, 7)])  # multi-target: one tree per target
        fit_params = {} if forest else _early_stopping(draw, X, y, params)
        cls = xgb.XGBRFRegressor if forest else xgb.XGBRegressor
        return _pipeline(draw, cls(**params), X, y, cls.__name__.lower(), **fit_params)

    return build


@st.composite
def xgboost_model_file(draw):
    """A model trained with xgboost.train on a DMatrix (text columns as pandas
    categoricals), then saved by Booster.save_model as .json or .ubj and read back, or kept
    as the raw Booster (which predicts with every round, even after early stopping)."""
    xgb = _xgboost()
    task = draw(st.sampled_from(["binary", "multiclass", "regression"]))
    X, y = draw(dataset(n_num=(1, 4), n_str=(0, 2), task="regression" if task == "regression"
                        else "classification", frame=True))
    X = _ascii(X)
    num, txt = _split(X)
    for c in txt:
        X[c] = pd.Categorical(X[c].tolist())
    params = _params(draw, linear=not txt)
    rounds = params.pop("n_estimators")
    for old, new in (("n_jobs", "nthread"), ("random_state", "seed"), ("learning_rate", "eta")):
        params[new] = params.pop(old)
    if task == "regression":
        objective = draw(st.sampled_from(REGRESSION_OBJECTIVES))
        label = _regression_target(objective, y.astype(float))
        params.update(_objective_options(draw, objective))
    else:
        label = _label_codes(y)
        if task == "binary":
            label = (label > 0).astype(int)
            objective = draw(st.sampled_from(CLASSIFIER_OBJECTIVES))
        else:
            assume(label.max() > 1)
            objective = draw(st.sampled_from(MULTICLASS_OBJECTIVES))
            params["num_class"] = int(label.max()) + 1
    params.update(objective=objective, **_base_score(draw, objective, label))
    if txt:
        params["max_cat_to_onehot"] = draw(st.sampled_from([1, 8]))
    train = xgb.DMatrix(X, label, enable_categorical=True)
    kwargs = {}
    if draw(st.booleans()):
        kwargs = {"evals": [(xgb.DMatrix(X.iloc[::2], label[::2], enable_categorical=True),
                             "valid")],
                  "early_stopping_rounds": 1, "verbose_eval": False}
        rounds = 20
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            booster = xgb.train(params, train, num_boost_round=rounds, **kwargs)
        except (ValueError, xgb.core.XGBoostError):
            assume(False)
    form = draw(st.sampled_from(["booster", ".json", ".ubj"]))
    if form == "booster":
        return from_booster(booster, "booster")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"model{form}"
        booster.save_model(path)
        model = read(path)
        model.library_booster()  # loaded now: the file is gone after this block
        return model


BUILDERS = {
    "XGBClassifier": _classifier(forest=False),
    "XGBRegressor": _regressor(forest=False),
    "XGBRFClassifier": _classifier(forest=True),
    "XGBRFRegressor": _regressor(forest=True),
    "XGBoost model file": xgboost_model_file,
}
