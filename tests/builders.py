"""Random fitted pipelines, one builder per supported component, for the property tests.

Each builder draws the component's hyper-parameters and a random data set with
hypothesis, fits a small pipeline in which the component under test is essential, and
returns the fitted model. Data are drawn from a seed (numpy) so fits stay fast.
"""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import assume
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder, StandardScaler
from sklearn.tree import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    ExtraTreeClassifier,
    ExtraTreeRegressor,
)

CATEGORIES = ("CA", "NY", "TX", "o'hare", 'say "hi"', "back\\slash", "new\nline", "*/",
              "select", "Zürich", "東京", "")
LABEL_SETS = (
    (0, 1), (3, 7, 11), ("yes", "no"), ("a'b", 'c"d', "e\\f", "g\nh"), (True, False),
    (-1.0, 2.0),
)


def _numbers(rng: np.random.Generator, n: int, missing: float) -> np.ndarray:
    scale = 10.0 ** rng.integers(-3, 5)
    x = rng.normal(rng.normal() * scale, scale, n)
    if rng.random() < 0.3:  # values on a coarse grid make ties and exact thresholds
        x = np.round(x, int(rng.integers(0, 3)))
    if rng.random() < 0.2:  # float32-adjacent pairs: split thresholds fall between them
        base = np.float32(rng.normal())
        x[: n // 2] = base
        x[n // 2:] = np.nextafter(base, np.float32(np.inf))
    x[rng.random(n) < missing] = np.nan
    return x


def _texts(rng: np.random.Generator, n: int, missing: float, k: int) -> np.ndarray:
    cats = list(rng.choice(CATEGORIES, size=k, replace=False))
    col = np.empty(n, dtype=object)
    col[:] = rng.choice(cats, n, p=rng.dirichlet(np.ones(k)))
    col[rng.random(n) < missing] = None
    return col


@st.composite
def dataset(draw, n_num=(1, 4), n_str=(0, 0), missing=True, frame=None, task="classification",
            ints=False):
    """(X, y): a DataFrame (or an ndarray) of numbers and text columns and labels."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(30, 120))
    n_numbers = draw(st.integers(*n_num))
    n_texts = draw(st.integers(*n_str))
    miss = draw(st.sampled_from([0.0, 0.1, 0.3])) if missing else 0.0
    cols: dict[str, np.ndarray] = {}
    names = draw(st.sampled_from([("plain",), ("hostile",)]))[0]
    for j in range(n_numbers):
        key = f"num {j}" if names == "plain" else ["age", "select", 'in"come', "x y", "Größe"][j]
        values = _numbers(rng, n, miss)
        if ints:
            values = np.where(np.isnan(values), np.nan, np.round(values) % 5)
        cols[key] = values
    for j in range(n_texts):
        key = f"cat {j}" if names == "plain" else ["state", "order", "it's"][j]
        cols[key] = _texts(rng, n, miss, int(rng.integers(2, 6)))
    if task == "classification":
        labels = draw(st.sampled_from(LABEL_SETS))
        y = np.array([labels[i] for i in rng.integers(0, len(labels), n)], dtype=object)
        first_num = next(iter(cols.values()))
        signal = np.nan_to_num(first_num) > np.nanmedian(first_num) if n_numbers else None
        if signal is not None:  # learnable, so models are not constant
            y[signal] = labels[0]
        assume(len(set(y.tolist())) >= 2)
        y = np.array(y.tolist())
    else:
        y = rng.normal(size=n)
        for v in cols.values():
            if v.dtype.kind == "f":
                y = y + np.nan_to_num(v) * rng.normal()
    use_frame = draw(st.booleans()) if frame is None else frame
    if use_frame:
        X = pd.DataFrame({k: pd.Series(v, dtype=object if v.dtype == object else float)
                          for k, v in cols.items()})
    else:
        X = np.empty((n, len(cols)), dtype=object if n_texts else float)
        for j, v in enumerate(cols.values()):
            X[:, j] = v
    return X, y


def _fit(model, X, y, errors: tuple[type, ...] = (), **fit_params):
    """Fit quietly; a configuration the library itself cannot fit (sklearn's errors, or
    `errors`, e.g. XGBoost's or LightGBM's own) is not drawn again."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return model.fit(X, y, **fit_params)
        except (ValueError, ZeroDivisionError, *errors):
            assume(False)


def _numeric_estimator(draw, task: str):
    if task == "classification":
        return draw(st.sampled_from([
            LogisticRegression(max_iter=300),
            DecisionTreeClassifier(max_depth=4, random_state=0),
        ]))
    return draw(st.sampled_from([Ridge(), DecisionTreeRegressor(max_depth=4, random_state=0)]))


def _split(X) -> tuple[list, list]:
    if isinstance(X, pd.DataFrame):
        text = [c for c in X.columns if X[c].dtype == object]
        return [c for c in X.columns if c not in text], text
    if X.dtype != object:
        return list(range(X.shape[1])), []
    text = [j for j in range(X.shape[1]) if any(isinstance(v, str) for v in X[:, j])]
    return [j for j in range(X.shape[1]) if j not in text], text


def _encode_text():
    # missing_values=None: the data's missing text is None (a NaN-marker imputer would
    # leave None in place, and might fill NaN with it, which scorec refuses)
    return make_pipeline(SimpleImputer(strategy="most_frequent", missing_values=None),
                         OneHotEncoder(handle_unknown="ignore"))


# ---- one builder per component: draw(st.data) -> fitted model -------------------------

@st.composite
def simple_imputer(draw):
    text = draw(st.booleans())
    task = draw(st.sampled_from(["classification", "regression"]))
    if not text:
        X, y = draw(dataset(task=task, ints=draw(st.booleans())))
        strategy = draw(st.sampled_from(["mean", "median", "most_frequent", "constant"]))
        fill = draw(st.sampled_from([0.0, -1.5, 1e6]))
        imp = SimpleImputer(strategy=strategy, fill_value=fill if strategy == "constant" else None,
                            add_indicator=draw(st.booleans()),
                            keep_empty_features=draw(st.booleans()))
        return _fit(make_pipeline(imp, _numeric_estimator(draw, task)), X, y)
    X, y = draw(dataset(n_num=(0, 1), n_str=(1, 2), task=task, frame=True))
    num, txt = _split(X)
    missing_none = draw(st.booleans())
    strategy = draw(st.sampled_from(["most_frequent", "constant"]))
    imp = SimpleImputer(strategy=strategy, missing_values=None if missing_none else np.nan,
                        fill_value="MISSING 'x'" if strategy == "constant" else None)
    if not missing_none:
        X = X.copy()
        for c in txt:
            X[c] = X[c].map(lambda v: np.nan if v is None else v).astype(object)
    steps = [("txt", make_pipeline(imp, OneHotEncoder(handle_unknown="ignore")), txt)]
    if num:
        steps.append(("num", SimpleImputer(), num))
    return _fit(make_pipeline(ColumnTransformer(steps), _numeric_estimator(draw, task)), X, y)


@st.composite
def standard_scaler(draw):
    task = draw(st.sampled_from(["classification", "regression"]))
    X, y = draw(dataset(task=task, missing=False))
    sc = StandardScaler(with_mean=draw(st.booleans()), with_std=draw(st.booleans()))
    return _fit(make_pipeline(sc, _numeric_estimator(draw, task)), X, y)


@st.composite
def min_max_scaler(draw):
    task = draw(st.sampled_from(["classification", "regression"]))
    X, y = draw(dataset(task=task, missing=draw(st.booleans())))
    lo = draw(st.sampled_from([0.0, -1.0, 2.5]))
    sc = MinMaxScaler(feature_range=(lo, lo + draw(st.sampled_from([1.0, 0.5, 10.0]))),
                      clip=draw(st.booleans()))
    est = DecisionTreeClassifier(max_depth=5, random_state=0) if task == "classification" \
        else DecisionTreeRegressor(max_depth=5, random_state=0)
    if draw(st.booleans()):
        est = make_pipeline(SimpleImputer(), _numeric_estimator(draw, task))
        return _fit(make_pipeline(sc, *[s for _, s in est.steps]), X, y)
    return _fit(make_pipeline(sc, est), X, y)


@st.composite
def one_hot_encoder(draw):
    task = draw(st.sampled_from(["classification", "regression"]))
    integer = draw(st.booleans())
    if integer:
        X, y = draw(dataset(n_num=(1, 3), task=task, ints=True, missing=draw(st.booleans())))
    else:
        X, y = draw(dataset(n_num=(0, 1), n_str=(1, 3), task=task, frame=draw(st.booleans())))
    num, txt = _split(X)
    cat_cols = num if integer else txt
    handle = draw(st.sampled_from(["error", "ignore", "infrequent_if_exist"]))
    drop = draw(st.sampled_from([None, "first", "if_binary"]))
    enc = OneHotEncoder(handle_unknown=handle, drop=drop,
                        min_frequency=draw(st.sampled_from([None, 3, 0.2])),
                        max_categories=draw(st.sampled_from([None, 2, 3])),
                        sparse_output=draw(st.booleans()))
    steps = [("cat", enc, cat_cols)]
    if not integer and num:
        steps.append(("num", SimpleImputer(), num))
    est = _numeric_estimator(draw, task)
    return _fit(make_pipeline(ColumnTransformer(steps, sparse_threshold=draw(
        st.sampled_from([0.0, 0.3, 1.0]))), est), X, y)


@st.composite
def column_transformer(draw):
    task = draw(st.sampled_from(["classification", "regression"]))
    X, y = draw(dataset(n_num=(2, 4), n_str=(0, 2), task=task))
    num, txt = _split(X)
    how = draw(st.sampled_from(["names", "index", "mask", "selector"]))
    if isinstance(X, pd.DataFrame) and how == "selector":
        sel_num = make_column_selector(dtype_include=np.number)
        sel_txt = make_column_selector(dtype_include=object)
    elif how in ("index", "selector") or not isinstance(X, pd.DataFrame):
        cols = list(X.columns) if isinstance(X, pd.DataFrame) else None
        sel_num = [cols.index(c) if cols else c for c in num]
        sel_txt = [cols.index(c) if cols else c for c in txt]
        if how == "mask":
            width = X.shape[1]
            sel_num = [i in sel_num for i in range(width)]
            sel_txt = [i in sel_txt for i in range(width)]
    else:
        sel_num, sel_txt = num, txt
    first, rest = (sel_num[:1], sel_num[1:]) if isinstance(sel_num, list) and how != "mask" \
        else (sel_num, [])
    steps = [("scaled", make_pipeline(SimpleImputer(), StandardScaler()), first)]
    if txt:
        steps.append(("text", _encode_text(), sel_txt))
    if rest and draw(st.booleans()):
        steps.append(("dropped", "drop", rest[:1]))
        rest = rest[1:]
    remainder = draw(st.sampled_from(["drop", "passthrough"]))
    ct = ColumnTransformer(steps, remainder=remainder,
                           verbose_feature_names_out=draw(st.booleans()),
                           transformer_weights=draw(st.sampled_from([None, {"scaled": 2.5}])))
    est = DecisionTreeClassifier(max_depth=5, random_state=0) if task == "classification" \
        else DecisionTreeRegressor(max_depth=5, random_state=0)
    if remainder == "passthrough" and draw(st.booleans()):
        return _fit(make_pipeline(ct, est), X, y)
    return _fit(Pipeline([("ct", ct), ("impute", SimpleImputer(keep_empty_features=True)),
                          ("est", _numeric_estimator(draw, task))]), X, y)


def _preprocessed(draw, X, estimator):
    num, txt = _split(X)
    steps = [("num", make_pipeline(SimpleImputer(), StandardScaler()), num)]
    if txt:
        steps.append(("txt", _encode_text(), txt))
    return make_pipeline(ColumnTransformer(steps), estimator)


def _linear(cls, **params):
    @st.composite
    def build(draw):
        X, y = draw(dataset(task="regression", n_str=(0, 1)))
        alpha = draw(st.sampled_from([0.01, 0.1, 1.0]))
        est = cls(**{k: (alpha if v == "alpha" else v) for k, v in params.items()})
        return _fit(_preprocessed(draw, X, est), X, y)

    return build


@st.composite
def logistic_regression(draw):
    X, y = draw(dataset(task="classification", n_str=(0, 1)))
    est = LogisticRegression(C=draw(st.sampled_from([0.1, 1.0, 100.0])), max_iter=500,
                             fit_intercept=draw(st.booleans()))
    return _fit(_preprocessed(draw, X, est), X, y)


def _tree(cls, forest: bool, classifier: bool):
    @st.composite
    def build(draw):
        task = "classification" if classifier else "regression"
        X, y = draw(dataset(task=task, n_num=(1, 4), n_str=(0, 1)))
        params = {"max_depth": draw(st.sampled_from([2, 4, 8, None])), "random_state": 0,
                  "min_samples_leaf": draw(st.sampled_from([1, 3]))}
        if forest:
            params["n_estimators"] = draw(st.integers(2, 8))
        est = cls(**params)
        num, txt = _split(X)
        if txt:  # text must be encoded; numbers keep their NaN for native missing support
            ct = ColumnTransformer([("txt", _encode_text(), txt)], remainder="passthrough",
                                   sparse_threshold=0)
            return _fit(make_pipeline(ct, est), X, y)
        return _fit(est if draw(st.booleans()) else make_pipeline(est), X, y)

    return build


def _gradient_boosting(classifier: bool):
    """GradientBoosting*: small (1-6 stages, depth 1-3). It refuses NaN, so numbers are
    imputed, or the data have none and NaN rows are refused; text is one-hot encoded,
    sometimes into a sparse matrix (GB scores CSR input)."""
    @st.composite
    def build(draw):
        task = "classification" if classifier else "regression"
        impute = draw(st.booleans())
        X, y = draw(dataset(task=task, n_num=(1, 4), n_str=(0, 1), missing=impute))
        params = {"n_estimators": draw(st.integers(1, 6)),
                  "max_depth": draw(st.sampled_from([1, 2, 3])),
                  "learning_rate": draw(st.sampled_from([0.1, 0.3, 1.0])),
                  "subsample": draw(st.sampled_from([1.0, 0.7])),
                  "init": draw(st.sampled_from([None, None, "zero"])),
                  "random_state": 0}
        if classifier:
            binary = len(set(y.tolist())) == 2
            params["loss"] = draw(st.sampled_from(["log_loss", "exponential"])) if binary \
                else "log_loss"
            est = GradientBoostingClassifier(**params)
        else:
            params["loss"] = draw(st.sampled_from(
                ["squared_error", "absolute_error", "huber", "quantile"]))
            est = GradientBoostingRegressor(**params)
        num, txt = _split(X)
        if txt:
            steps = [("txt", _encode_text(), txt)]
            if num:
                steps.append(("num", SimpleImputer(), num))
            ct = ColumnTransformer(steps, sparse_threshold=draw(st.sampled_from([0.0, 1.0])))
            return _fit(make_pipeline(ct, est), X, y)
        if impute:
            return _fit(make_pipeline(SimpleImputer(), est), X, y)
        return _fit(est if draw(st.booleans()) else make_pipeline(est), X, y)

    return build


def _hist_gradient_boosting(classifier: bool):
    """HistGradientBoosting*: small (1-6 iterations, few leaves), native NaN support (the
    numbers keep their NaN), text one-hot encoded into a dense array."""
    @st.composite
    def build(draw):
        task = "classification" if classifier else "regression"
        X, y = draw(dataset(task=task, n_num=(1, 4), n_str=(0, 1)))
        params = {"max_iter": draw(st.integers(1, 6)),
                  "max_leaf_nodes": draw(st.sampled_from([3, 8, 31])),
                  "max_depth": draw(st.sampled_from([2, 4, None])),
                  "min_samples_leaf": draw(st.sampled_from([1, 5, 20])),
                  "learning_rate": draw(st.sampled_from([0.1, 0.5, 1.0])),
                  "max_bins": draw(st.sampled_from([255, 8])),
                  "early_stopping": False, "random_state": 0}
        if classifier:
            est = HistGradientBoostingClassifier(**params)
        else:
            loss = draw(st.sampled_from(
                ["squared_error", "absolute_error", "quantile", "poisson", "gamma"]))
            if loss in ("poisson", "gamma"):
                y = np.abs(y) + (0.1 if loss == "gamma" else 0.0)
            est = HistGradientBoostingRegressor(
                loss=loss, quantile=0.3 if loss == "quantile" else None, **params)
        num, txt = _split(X)
        how = draw(st.sampled_from(["one-hot", "categorical", "categorical"]))
        if txt and how == "categorical" and isinstance(X, pd.DataFrame):
            # categories split by bitsets: pandas categoricals (from_dtype), or text
            # columns named, indexed or masked (HGB ordinal-encodes them itself)
            X = X.copy()
            spec = draw(st.sampled_from(["from_dtype", "names", "indices", "mask"]))
            if spec == "from_dtype":
                for c in txt:
                    X[c] = X[c].astype("category")
                est.set_params(categorical_features="from_dtype")
            else:
                cols = list(X.columns)
                est.set_params(categorical_features={
                    "names": txt, "indices": [cols.index(c) for c in txt],
                    "mask": [c in txt for c in cols]}[spec])
            return _fit(est, X, y)
        if num and how == "categorical" and not txt:  # small integer codes as categories
            X = np.array(X, dtype=float)
            X[:, 0] = np.where(np.isnan(X[:, 0]), np.nan, np.floor(np.abs(X[:, 0])) % 5)
            est.set_params(categorical_features=[0])
            return _fit(est, X, y)
        if txt:
            ct = ColumnTransformer([("txt", _encode_text(), txt)], remainder="passthrough",
                                   sparse_threshold=0)
            return _fit(make_pipeline(ct, est), X, y)
        return _fit(est if draw(st.booleans()) else make_pipeline(est), X, y)

    return build


@st.composite
def function_transformer(draw):
    """Identity FunctionTransformers: explicit ones, and the one remainder='passthrough' makes."""
    task = draw(st.sampled_from(["classification", "regression"]))
    X, y = draw(dataset(n_num=(2, 4), task=task))
    ident = FunctionTransformer(validate=draw(st.booleans()))
    ct = ColumnTransformer([("scaled", StandardScaler(), [0])], remainder="passthrough")
    est = DecisionTreeClassifier(max_depth=4, random_state=0) if task == "classification" \
        else DecisionTreeRegressor(max_depth=4, random_state=0)
    if isinstance(X, pd.DataFrame):
        ct = ColumnTransformer([("scaled", StandardScaler(), [X.columns[0]])],
                               remainder="passthrough")
    return _fit(make_pipeline(ident, ct, est) if not ident.validate else
                make_pipeline(ct, ident, est), X, y)


@st.composite
def pipeline(draw):
    """Nested pipelines with 'passthrough' and None steps."""
    task = draw(st.sampled_from(["classification", "regression"]))
    X, y = draw(dataset(task=task))
    inner = Pipeline([("impute", SimpleImputer()), ("skip", draw(st.sampled_from(
        ["passthrough", None]))), ("scale", StandardScaler())])
    return _fit(Pipeline([("prep", inner), ("est", _numeric_estimator(draw, task))]), X, y)


BUILDERS = {
    "Pipeline": pipeline,
    "FunctionTransformer": function_transformer,
    "SimpleImputer": simple_imputer,
    "StandardScaler": standard_scaler,
    "MinMaxScaler": min_max_scaler,
    "OneHotEncoder": one_hot_encoder,
    "ColumnTransformer": column_transformer,
    "LinearRegression": _linear(LinearRegression),
    "Ridge": _linear(Ridge, alpha="alpha"),
    "Lasso": _linear(Lasso, alpha="alpha"),
    "ElasticNet": _linear(ElasticNet, alpha="alpha", l1_ratio=0.5),
    "LogisticRegression": logistic_regression,
    "DecisionTreeClassifier": _tree(DecisionTreeClassifier, False, True),
    "DecisionTreeRegressor": _tree(DecisionTreeRegressor, False, False),
    "RandomForestClassifier": _tree(RandomForestClassifier, True, True),
    "RandomForestRegressor": _tree(RandomForestRegressor, True, False),
    "ExtraTreesClassifier": _tree(ExtraTreesClassifier, True, True),
    "ExtraTreesRegressor": _tree(ExtraTreesRegressor, True, False),
    "ExtraTreeClassifier": _tree(ExtraTreeClassifier, False, True),
    "ExtraTreeRegressor": _tree(ExtraTreeRegressor, False, False),
    "GradientBoostingClassifier": _gradient_boosting(classifier=True),
    "GradientBoostingRegressor": _gradient_boosting(classifier=False),
    "HistGradientBoostingClassifier": _hist_gradient_boosting(classifier=True),
    "HistGradientBoostingRegressor": _hist_gradient_boosting(classifier=False),
}

# every tests/builders_<family>.py adds its components' builders (imported last: they use
# the helpers above)
for _path in sorted(Path(__file__).parent.glob("builders_*.py")):
    BUILDERS.update(importlib.import_module(_path.stem).BUILDERS)
