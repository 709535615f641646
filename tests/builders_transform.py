"""Builders for the transform family (see builders.py): one per supported component.

Each component is fitted in one of a few hosts (`_hosted`): alone in front of the
estimator (on a DataFrame or an array, NaN kept where the component accepts it), behind
an imputer, or behind a sparse ColumnTransformer (one-hot text beside numbers scaled
without centring), so both of sklearn's dense and sparse branches are drawn.
"""

from __future__ import annotations

import numpy as np
from builders import _encode_text, _fit, _split, dataset
from hypothesis import assume
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.feature_selection import (
    RFE,
    RFECV,
    GenericUnivariateSelect,
    SelectFdr,
    SelectFpr,
    SelectFromModel,
    SelectFwe,
    SelectKBest,
    SelectPercentile,
    SequentialFeatureSelector,
    VarianceThreshold,
    chi2,
    f_classif,
    f_regression,
    r_regression,
)
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.linear_model import (
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
    RidgeClassifier,
)
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import (
    Binarizer,
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    PolynomialFeatures,
    RobustScaler,
    StandardScaler,
)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

TASKS = ["classification", "regression"]


def _linear_estimator(draw, task: str):
    """An estimator whose score moves smoothly with its inputs (no split to flip); scaled
    first, so that lbfgs converges fast on any magnitude."""
    if task == "classification":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))
    return draw(st.sampled_from([Ridge(), LinearRegression()]))


def _tree_estimator(task: str):
    """A tree: it scores NaN and makes every ulp of its inputs count at a split."""
    if task == "classification":
        return DecisionTreeClassifier(max_depth=4, random_state=0)
    return DecisionTreeRegressor(max_depth=4, random_state=0)


def _estimator(draw, task: str):
    return draw(st.sampled_from([_tree_estimator(task), _linear_estimator(draw, task)]))


def _sparse_prep(X, max_categories=None):
    """A sparse ColumnTransformer: one-hot text beside numbers scaled without centring."""
    num, txt = _split(X)
    enc = _encode_text()
    if max_categories:
        enc.steps[-1][1].set_params(max_categories=max_categories)
    return ColumnTransformer([("txt", enc, txt), ("num", StandardScaler(with_mean=False), num)],
                             sparse_threshold=1.0)


def _hosted(draw, step, task: str, *, hosts=("bare", "imputed", "sparse"), nan=True,
            estimator=None, n_num=(1, 4), ints=False):
    """`step` fitted in front of an estimator, behind one of `hosts`."""
    host = draw(st.sampled_from(hosts))
    est = estimator if estimator is not None else _estimator(draw, task)
    if host == "sparse":
        X, y = draw(dataset(task=task, n_num=(1, 2), n_str=(1, 1), missing=False, ints=ints))
        model = make_pipeline(_sparse_prep(X), step, est)
    elif host == "imputed":
        X, y = draw(dataset(task=task, n_num=n_num, ints=ints))
        model = make_pipeline(SimpleImputer(), step, est)
    else:
        X, y = draw(dataset(task=task, n_num=n_num, missing=nan and draw(st.booleans()),
                            ints=ints))
        model = make_pipeline(step, est)
    return _fit(model, X, y)


# ---- scale.py ---------------------------------------------------------------------------

@st.composite
def robust_scaler(draw):
    task = draw(st.sampled_from(TASKS))
    lo = draw(st.sampled_from([25.0, 10.0, 0.0, 40.0]))
    hi = draw(st.sampled_from([75.0, 90.0, 100.0, 60.0]))
    host = draw(st.sampled_from(["bare", "imputed", "sparse"]))
    sc = RobustScaler(with_centering=host != "sparse" and draw(st.booleans()),
                      with_scaling=draw(st.booleans()), quantile_range=(lo, hi),
                      unit_variance=draw(st.booleans()))
    return _hosted(draw, sc, task, hosts=(host,))


@st.composite
def max_abs_scaler(draw):
    task = draw(st.sampled_from(TASKS))
    return _hosted(draw, MaxAbsScaler(clip=draw(st.booleans())), task)


@st.composite
def normalizer(draw):
    """Normalizer feeds a linear model: sklearn's row-norm order follows X's memory layout,
    which a few ulps may show, and a tree split would turn an ulp into a label."""
    task = draw(st.sampled_from(TASKS))
    nm = Normalizer(norm=draw(st.sampled_from(["l1", "l2", "max"])))
    return _hosted(draw, nm, task, nan=False, estimator=_linear_estimator(draw, task),
                   n_num=(1, 5))


@st.composite
def binarizer(draw):
    task = draw(st.sampled_from(TASKS))
    host = draw(st.sampled_from(["bare", "imputed", "sparse"]))
    thresholds = [0.0, 0.5, 3.0] + ([] if host == "sparse" else [-1.0, -0.25])
    bz = Binarizer(threshold=draw(st.sampled_from(thresholds)))
    return _hosted(draw, bz, task, hosts=(host,), nan=False)


# ---- select.py --------------------------------------------------------------------------

def _univariate(draw, task: str, pvalues: bool):
    """A score function for the task, and whether it needs non-negative inputs (chi2).
    Selection by p-value needs a test that gives p-values (r_regression gives none);
    mutual information is left out: too slow to fit."""
    if task == "classification":
        return draw(st.sampled_from([(f_classif, False), (chi2, True)]))
    return draw(st.sampled_from([(f_regression, False)]
                                + ([] if pvalues else [(r_regression, False)])))


def _filter(make, pvalues: bool = False):
    """A builder for one univariate filter; `make(draw, score_func)` returns it."""
    @st.composite
    def build(draw):
        task = draw(st.sampled_from(TASKS))
        score, positive = _univariate(draw, task, pvalues)
        sel = make(draw, score)
        if positive:  # chi2 needs non-negative X: min-max scaled first
            return _hosted(draw, make_pipeline(MinMaxScaler(), sel), task, hosts=("imputed",),
                           n_num=(2, 4))
        return _hosted(draw, sel, task, nan=False, n_num=(2, 4))

    return build


def _select_k_best(draw, score):
    return SelectKBest(score, k=draw(st.sampled_from([1, 2, "all"])))


def _select_percentile(draw, score):
    return SelectPercentile(score, percentile=draw(st.sampled_from([10, 50, 80])))


def _select_fpr(draw, score):
    return SelectFpr(score, alpha=draw(st.sampled_from([0.05, 0.5, 1.0])))


def _select_fdr(draw, score):
    return SelectFdr(score, alpha=draw(st.sampled_from([0.05, 0.5, 1.0])))


def _select_fwe(draw, score):
    return SelectFwe(score, alpha=draw(st.sampled_from([0.05, 0.5, 1.0])))


def _generic(draw, score):
    mode, param = draw(st.sampled_from([("percentile", 50), ("k_best", 1), ("fpr", 0.5),
                                        ("fdr", 0.9), ("fwe", 1.0)]))
    return GenericUnivariateSelect(score, mode=mode, param=param)


@st.composite
def variance_threshold(draw):
    """VarianceThreshold lets NaN and infinity through (its allow_nan tag)."""
    task = draw(st.sampled_from(TASKS))
    X, y = draw(dataset(task=task, n_num=(2, 4), ints=draw(st.booleans())))
    variances = np.nanvar(np.asarray(X, dtype=float), axis=0)
    threshold = draw(st.sampled_from([0.0, float(np.nanmedian(variances))]))
    if draw(st.booleans()):  # a constant column is dropped at threshold 0
        X = X.copy()
        if hasattr(X, "iloc"):
            X.iloc[:, 0] = 1.5
        else:
            X[:, 0] = 1.5
    sel = VarianceThreshold(threshold=threshold)
    est = _tree_estimator(task) if draw(st.booleans()) else make_pipeline(
        SimpleImputer(), _estimator(draw, task))
    return _fit(make_pipeline(sel, est), X, y)


def _model_selector(draw, task: str):
    """An estimator to select with: linear (NaN refused) or a tree (NaN let through)."""
    if task == "classification":
        return draw(st.sampled_from([RidgeClassifier(),
                                     DecisionTreeClassifier(max_depth=3, random_state=0)]))
    return draw(st.sampled_from([Lasso(alpha=0.05), LinearRegression(),
                                 DecisionTreeRegressor(max_depth=3, random_state=0)]))


def _nan_ok(est) -> bool:
    return isinstance(est, (DecisionTreeClassifier, DecisionTreeRegressor))


def _by_model(make):
    """A builder for a selector wrapping an estimator; `make(draw, est)` returns it."""
    @st.composite
    def build(draw):
        task = draw(st.sampled_from(TASKS))
        inner = _model_selector(draw, task)
        sel = make(draw, inner)
        if not _nan_ok(inner):  # lbfgs and coordinate descent converge fast on scaled data
            sel = make_pipeline(StandardScaler(with_mean=False), sel)
        est = _tree_estimator(task) if _nan_ok(inner) else _estimator(draw, task)
        hosts = ("bare", "imputed") if _nan_ok(inner) else ("bare", "imputed", "sparse")
        return _hosted(draw, sel, task, hosts=hosts, nan=_nan_ok(inner), n_num=(2, 4),
                       estimator=est)

    return build


def _select_from_model(draw, est):
    return SelectFromModel(est, threshold=draw(st.sampled_from([None, "median", "0.5*mean",
                                                               -np.inf])),
                           max_features=draw(st.sampled_from([None, 1, 2])))


def _rfe(draw, est):
    return RFE(est, n_features_to_select=draw(st.sampled_from([None, 1, 0.5])),
               step=draw(st.sampled_from([1, 2])))


def _rfecv(draw, est):
    return RFECV(est, cv=3, min_features_to_select=draw(st.sampled_from([1, 2])))


def _sequential(draw, est):
    n = draw(st.sampled_from(["auto", 1]))
    return SequentialFeatureSelector(
        est, n_features_to_select=n, tol=draw(st.sampled_from([None, 0.01])) if n == "auto"
        else None, direction=draw(st.sampled_from(["forward", "backward"])), cv=2)


@st.composite
def missing_indicator(draw):
    """MissingIndicator alone, or beside an imputer in a ColumnTransformer; a NaN marker (some
    columns kept free of NaN at fit, so error_on_new has something to refuse) or a number."""
    task = draw(st.sampled_from(TASKS))
    numeric_marker = draw(st.booleans())
    X, y = draw(dataset(task=task, n_num=(1, 4), missing=not numeric_marker,
                        ints=numeric_marker))
    if not numeric_marker and draw(st.booleans()):
        X = X.copy()
        clean = np.nanmean(np.asarray(X, dtype=float)[:, 0])
        if hasattr(X, "iloc"):
            X.iloc[:, 0] = X.iloc[:, 0].fillna(clean)
        else:
            X[np.isnan(X[:, 0]), 0] = clean
    mi = MissingIndicator(missing_values=draw(st.sampled_from([0.0, 2, 4.0]))
                          if numeric_marker else np.nan,
                          features=draw(st.sampled_from(["missing-only", "all"])),
                          error_on_new=draw(st.booleans()),
                          sparse=draw(st.sampled_from(["auto", True, False])))
    if draw(st.booleans()):
        every = list(X.columns) if hasattr(X, "columns") else list(range(X.shape[1]))
        both = ColumnTransformer([("impute", SimpleImputer(), every), ("flags", mi, every)],
                                 sparse_threshold=draw(st.sampled_from([0.0, 1.0])))
        return _fit(make_pipeline(both, _estimator(draw, task)), X, y)
    return _fit(make_pipeline(mi, _tree_estimator(task)), X, y)


# ---- expand.py --------------------------------------------------------------------------

@st.composite
def polynomial_features(draw):
    task = draw(st.sampled_from(TASKS))
    sparse = draw(st.booleans())
    degree = draw(st.sampled_from([0, 1, 2, 3, (2, 2), (2, 3), (0, 2), (3, 3)]
                                  + ([4, (2, 4)] if sparse else [])))
    pf = PolynomialFeatures(degree=degree, interaction_only=draw(st.booleans()),
                            include_bias=draw(st.booleans()))
    est = _estimator(draw, task)
    if sparse:
        X, y = draw(dataset(task=task, n_num=(1, 2), n_str=(1, 1), missing=False))
        deep = degree in (4, (2, 4))
        return _fit(make_pipeline(_sparse_prep(X, max_categories=2 if deep else None), pf,
                                  est), X, y)
    X, y = draw(dataset(task=task, n_num=(1, 4), missing=False))
    if draw(st.booleans()):
        return _fit(make_pipeline(pf, est), X, y)
    return _fit(make_pipeline(SimpleImputer(), pf, est), X, y)


# ---- compose.py -------------------------------------------------------------------------

# functions whose numpy result every target's libm rounds the same way (IEEE-exact ones) ...
EXACT_FUNCS = [None, np.sqrt, np.abs, np.absolute, np.square, np.negative, np.reciprocal,
               np.sign, np.floor, np.ceil, np.trunc, np.rint, np.clip]
# ... and those numpy computes with its own SIMD code (SVML on AVX-512), which may differ from
# a libm in the last bit: a tree split or a class boundary right behind them would turn that
# ulp into a different leaf, so they feed a linear regressor (the tolerance covers an ulp)
LIBM_FUNCS = [np.log, np.log1p, np.exp, np.expm1, np.tanh, np.sin, np.cos, np.tan, np.arctan,
              np.arcsinh, np.sinh, np.cosh, np.log2, np.log10, np.exp2]
CLIPS = [{"a_min": -1.0, "a_max": 2.0}, {"a_min": 0.5, "a_max": None}, {"max": 0.0},
         {"a_min": 3.0, "a_max": -3.0}, {"min": -2.0, "max": 1e3}, {"min": 1.0},
         {"a_min": np.nan, "a_max": 1.0}]


@st.composite
def function_transformer(draw):
    """A numpy function (or the identity): an exact one in front of a tree, which scores
    what the function makes of NaN and infinity, a libm one in front of a linear
    regressor; np.clip with scalar or per-column bounds."""
    exact = draw(st.booleans())
    func = draw(st.sampled_from(EXACT_FUNCS if exact else LIBM_FUNCS))
    task = draw(st.sampled_from(TASKS)) if exact else "regression"
    validate = draw(st.booleans())
    X, y = draw(dataset(task=task, n_num=(1, 4), missing=not validate))
    kw = draw(st.sampled_from(CLIPS)) if func is np.clip else None
    if func is np.clip and not hasattr(X, "columns") and draw(st.booleans()):
        kw = {"min": [draw(st.sampled_from([-1.0, 0.0, 0.5])) for _ in range(X.shape[1])]}
    ft = FunctionTransformer(func=func, validate=validate, kw_args=kw)
    est = _tree_estimator(task) if exact else _linear_estimator(draw, task)
    if func is None and draw(st.booleans()):  # the identity ColumnTransformer stores
        num, _ = _split(X)
        ct = ColumnTransformer([("scaled", StandardScaler(), num[:1])], remainder="passthrough")
        return _fit(make_pipeline(ct, ft, est), X, y)
    steps = [ft, est]
    if draw(st.booleans()):  # NaN-free training data; rows still bring NaN and infinity
        steps.insert(0, SimpleImputer())
    return _fit(make_pipeline(*steps), X, y)


@st.composite
def feature_union(draw):
    task = draw(st.sampled_from(TASKS))
    X, y = draw(dataset(task=task, n_num=(1, 4), missing=draw(st.booleans())))
    pool = [("scaled", StandardScaler()), ("minmax", MinMaxScaler()), ("same", "passthrough"),
            ("gone", "drop"), ("poly", PolynomialFeatures(2, include_bias=False)),
            ("bins", Binarizer(threshold=0.1)),
            ("flags", MissingIndicator(features="all")),
            ("best", SelectKBest(f_regression if task == "regression" else f_classif, k=1))]
    chosen = draw(st.lists(st.sampled_from(range(len(pool))), min_size=1, max_size=3,
                           unique=True))
    parts = [pool[i] for i in chosen]
    # sklearn's FeatureUnion.n_features_in_ asks the first transformer: it cannot be 'drop'
    assume(parts[0][1] != "drop")
    weights = draw(st.sampled_from([None, {parts[0][0]: 2.5}, {parts[-1][0]: -0.5}]))
    union = FeatureUnion(parts, transformer_weights=weights)
    if draw(st.booleans()):  # a sparse block makes the union sparse
        union.transformer_list.append(("sparse", MissingIndicator(features="all",
                                                                  sparse=True)))
    return _fit(make_pipeline(union, _estimator(draw, task)), X, y)


BUILDERS = {
    "RobustScaler": robust_scaler,
    "MaxAbsScaler": max_abs_scaler,
    "Normalizer": normalizer,
    "Binarizer": binarizer,
    "VarianceThreshold": variance_threshold,
    "SelectKBest": _filter(_select_k_best),
    "SelectPercentile": _filter(_select_percentile),
    "SelectFpr": _filter(_select_fpr, pvalues=True),
    "SelectFdr": _filter(_select_fdr, pvalues=True),
    "SelectFwe": _filter(_select_fwe, pvalues=True),
    "GenericUnivariateSelect": _filter(_generic, pvalues=True),
    "SelectFromModel": _by_model(_select_from_model),
    "RFE": _by_model(_rfe),
    "RFECV": _by_model(_rfecv),
    "SequentialFeatureSelector": _by_model(_sequential),
    "MissingIndicator": missing_indicator,
    "PolynomialFeatures": polynomial_features,
    "FunctionTransformer": function_transformer,
    "FeatureUnion": feature_union,
}
