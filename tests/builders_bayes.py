"""Builders for the bayes family (naive Bayes classifiers) and for the linear projections
and kernel feature maps (compiler/lowering/project.py): one per supported component.

Naive Bayes models are fitted binary and multiclass (the label sets of `dataset`) on the
inputs they are made for: any numbers (GaussianNB), counts, [0, 1] values or one-hot text,
dense or sparse (the discrete models), small integer categories (CategoricalNB), with
random priors. Projections sit between the usual preprocessing (an imputer or a scaler,
one-hot text) and a supported estimator (LogisticRegression, Ridge, a small tree).
"""

from __future__ import annotations

import numpy as np
from builders import _encode_text, _fit, _numeric_estimator, _preprocessed, _split, dataset
from hypothesis import assume
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA, FastICA, IncrementalPCA, KernelPCA, TruncatedSVD
from sklearn.impute import SimpleImputer
from sklearn.kernel_approximation import Nystroem, RBFSampler
from sklearn.naive_bayes import BernoulliNB, CategoricalNB, ComplementNB, GaussianNB, MultinomialNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import KBinsDiscretizer, MinMaxScaler, OrdinalEncoder, StandardScaler
from sklearn.random_projection import GaussianRandomProjection, SparseRandomProjection

from scorec.compiler.lowering.project import (
    MAX_AMPLIFICATION,
    SPREAD_NOISE,
    kernel_amplification,
    whitening_spread,
)

TASKS = ["classification", "regression"]


def _priors(draw, y) -> np.ndarray | None:
    """None, or class probabilities summing to 1: uniform, skewed, or one class at 0."""
    k = len(np.unique(y))
    kind = draw(st.sampled_from([None, "uniform", "skewed", "zero"]))
    if kind is None:
        return None
    w = {"uniform": np.ones(k), "skewed": np.arange(1.0, k + 1) ** 2,
         "zero": np.r_[0.0, np.ones(k - 1)]}[kind]
    return w / w.sum()


# ---- naive Bayes ------------------------------------------------------------------------------

@st.composite
def gaussian_nb(draw):
    """Bare (NaN rows refused), imputed, or behind one-hot text and scaled numbers."""
    front = draw(st.sampled_from(["bare", "imputed", "preprocessed"]))
    X, y = draw(dataset(n_str=(0, 1) if front == "preprocessed" else (0, 0),
                        missing=front != "bare"))
    est = GaussianNB(priors=_priors(draw, y),
                     var_smoothing=draw(st.sampled_from([1e-9, 1e-4, 1e-1])))
    if front == "preprocessed":
        model = _preprocessed(draw, X, est)
        model[0].set_params(sparse_threshold=0.0)  # GaussianNB needs dense input
    elif front == "imputed":
        model = make_pipeline(SimpleImputer(strategy=draw(st.sampled_from(
            ["mean", "median"]))), est)
    else:
        model = est if draw(st.booleans()) else make_pipeline(est)
    return _fit(model, X, y)


def _discrete_input(draw, est, *, fronts=("counts", "scaled", "text")):
    """A discrete naive Bayes model fitted on non-negative data: counts (small integers,
    bare), numbers min-max scaled to [0, 1], or one-hot text beside imputed, scaled numbers
    (sparse or dense). At predict time values may leave that range (no check refuses it)."""
    front = draw(st.sampled_from(fronts))
    if front == "counts":
        X, y = draw(dataset(ints=True, missing=False))
        model = est if draw(st.booleans()) else make_pipeline(est)
    elif front == "scaled":
        X, y = draw(dataset(missing=False))
        model = make_pipeline(MinMaxScaler(), est)
    else:
        X, y = draw(dataset(n_num=(0, 2), n_str=(1, 2)))
        num, txt = _split(X)
        steps = [("txt", _encode_text(), txt)]
        if num:
            steps.append(("num", make_pipeline(SimpleImputer(), MinMaxScaler()), num))
        model = make_pipeline(ColumnTransformer(steps, sparse_threshold=draw(
            st.sampled_from([0.0, 1.0]))), est)
    return model, X, y


def _discrete_params(draw, y) -> dict:
    prior = draw(st.sampled_from(["fit", "uniform", "given"]))
    return {"alpha": draw(st.sampled_from([1e-3, 0.5, 1.0, 3.0])),
            "fit_prior": prior == "fit",
            "class_prior": _priors(draw, y) if prior == "given" else None}


@st.composite
def multinomial_nb(draw):
    est = MultinomialNB()
    model, X, y = _discrete_input(draw, est)
    est.set_params(**_discrete_params(draw, y))
    return _fit(model, X, y)


@st.composite
def complement_nb(draw):
    """norm on or off; sometimes a single class (ComplementNB then adds the prior)."""
    est = ComplementNB(norm=draw(st.booleans()))
    model, X, y = _discrete_input(draw, est)
    est.set_params(**_discrete_params(draw, y))
    if draw(st.integers(0, 5)) == 0:
        y = np.full(len(y), y[0])
        est.set_params(class_prior=None)
    return _fit(model, X, y)


@st.composite
def bernoulli_nb(draw):
    """binarize at a drawn threshold, or None on [0, 1] inputs (and on counts, whose
    probabilities above 1 give NaN weights: sklearn's NaN everywhere, dense only)."""
    binarize = draw(st.sampled_from([None, 0.0, 0.5, 1.0]))
    est = BernoulliNB(binarize=binarize)
    model, X, y = _discrete_input(draw, est)
    est.set_params(**_discrete_params(draw, y))
    if binarize is None and isinstance(getattr(model, "steps", [[None]])[0][-1],
                                       ColumnTransformer):
        model[0].set_params(sparse_threshold=0.0)
    return _fit(model, X, y)


@st.composite
def categorical_nb(draw):
    """Small integer categories (bare: NaN, negative, fractional and unseen values reach
    the model's own checks), or text through an OrdinalEncoder whose unknown value is -1
    (refused as negative) beside numbers binned by KBinsDiscretizer."""
    X, y = draw(dataset(ints=True, missing=False))
    min_categories = draw(st.sampled_from([None, 6, "per-feature"]))
    if min_categories == "per-feature":
        min_categories = np.arange(1, X.shape[1] + 1) + 2
    est = CategoricalNB(alpha=draw(st.sampled_from([1e-3, 0.5, 1.0])),
                        fit_prior=draw(st.booleans()), min_categories=min_categories)
    if draw(st.booleans()):
        return _fit(est if draw(st.booleans()) else make_pipeline(est), X, y)
    X, y = draw(dataset(n_num=(0, 2), n_str=(1, 2)))
    num, txt = _split(X)
    est.set_params(min_categories=None)
    text = make_pipeline(SimpleImputer(strategy="most_frequent", missing_values=None),
                         OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1))
    steps = [("txt", text, txt)]
    if num:
        steps.append(("num", make_pipeline(SimpleImputer(), KBinsDiscretizer(
            n_bins=3, encode="ordinal", quantile_method="averaged_inverted_cdf")), num))
    return _fit(make_pipeline(ColumnTransformer(steps), est), X, y)


# ---- projections ------------------------------------------------------------------------------

def _projected(draw, step, *, sparse: bool = False, n_num=(1, 4), bounded: bool = False):
    """`step` between a front (scaled, imputed and scaled, or one-hot text beside imputed,
    scaled numbers; sparse when `sparse`) and a supported estimator. `bounded`: the numbers
    are min-max scaled with clip, so whatever a row holds, the step sees values in [0, 1]."""
    task = draw(st.sampled_from(TASKS))
    front = draw(st.sampled_from(["scaled", "imputed", "text"]))
    est = _numeric_estimator(draw, task)
    scaler = MinMaxScaler(clip=True) if bounded else StandardScaler()
    if front == "text":
        X, y = draw(dataset(task=task, n_num=(1, 2), n_str=(1, 1)))
        num, txt = _split(X)
        prep = ColumnTransformer([("num", make_pipeline(SimpleImputer(), scaler), num),
                                  ("txt", _encode_text(), txt)],
                                 sparse_threshold=1.0 if sparse else 0.0)
        model = make_pipeline(prep, step, est)
    elif front == "imputed":
        X, y = draw(dataset(task=task, n_num=n_num))
        model = make_pipeline(SimpleImputer(), scaler, step, est)
    else:
        X, y = draw(dataset(task=task, n_num=n_num, missing=False))
        model = make_pipeline(scaler, step, est)
    return _fit(model, X, y)


@st.composite
def pca(draw):
    solver = draw(st.sampled_from(["auto", "full", "covariance_eigh", "randomized",
                                   "arpack"]))
    n = draw(st.sampled_from([None, 1, 2, 0.8])) if solver != "arpack" else 1
    step = PCA(n_components=n, whiten=draw(st.booleans()), svd_solver=solver,
               random_state=0)
    return _projected(draw, step, n_num=(2, 4) if solver == "arpack" else (1, 4))


@st.composite
def incremental_pca(draw):
    step = IncrementalPCA(n_components=draw(st.sampled_from([None, 1])),
                          whiten=draw(st.booleans()),
                          batch_size=draw(st.sampled_from([None, 40])))
    return _projected(draw, step, sparse=draw(st.booleans()))


@st.composite
def truncated_svd(draw):
    step = TruncatedSVD(n_components=1, algorithm=draw(st.sampled_from(
        ["randomized", "arpack"])), random_state=0)
    return _projected(draw, step, sparse=draw(st.booleans()), n_num=(2, 4))


@st.composite
def fast_ica(draw):
    """Whitened fits on rank-deficient data (all one-hot columns of a feature, equal
    columns) are refused by the compiler (see test_bayes.py): such draws are left out."""
    whiten = draw(st.sampled_from(["unit-variance", "arbitrary-variance", False]))
    step = FastICA(n_components=draw(st.sampled_from([None, 1])) if whiten else None,
                   whiten=whiten, max_iter=50, tol=1e-2, random_state=0,
                   algorithm=draw(st.sampled_from(["parallel", "deflation"])),
                   fun=draw(st.sampled_from(["logcosh", "exp", "cube"])))
    model = _projected(draw, step)
    assume(not whiten or whitening_spread(step) >= SPREAD_NOISE)
    return model


@st.composite
def gaussian_random_projection(draw):
    step = GaussianRandomProjection(n_components=draw(st.integers(1, 4)),
                                    random_state=draw(st.integers(0, 100)))
    return _projected(draw, step, sparse=draw(st.booleans()))


@st.composite
def sparse_random_projection(draw):
    step = SparseRandomProjection(n_components=draw(st.integers(1, 5)),
                                  density=draw(st.sampled_from(["auto", 0.3, 1.0])),
                                  dense_output=draw(st.booleans()),
                                  random_state=draw(st.integers(0, 100)))
    return _projected(draw, step, sparse=draw(st.booleans()))


@st.composite
def rbf_sampler(draw):
    """On bounded inputs (min-max scaled with clip): cos(X @ W + b) turns the last-bit
    differences of BLAS's sum into differences of the same absolute size, beyond the
    tolerance once |X @ W| passes about 1e4 (at 1e15 one ulp is 0.125)."""
    step = RBFSampler(gamma=draw(st.sampled_from([0.1, 1.0, "scale"])),
                      n_components=draw(st.integers(1, 8)),
                      random_state=draw(st.integers(0, 100)))
    return _projected(draw, step, sparse=draw(st.booleans()), bounded=True)


def _kernel_params(draw) -> dict:
    return {"kernel": draw(st.sampled_from(["linear", "poly", "rbf", "sigmoid", "laplacian"])),
            "gamma": draw(st.sampled_from([None, 0.1, 1.0])),
            "degree": draw(st.sampled_from([1, 2, 3])),
            "coef0": draw(st.sampled_from([0.0, 1.0, -0.5]))}


@st.composite
def kernel_pca(draw):
    """Every kernel; fits that divide by eigenvalues at the level of rounding noise are
    refused by the compiler (see test_bayes.py) and left out here."""
    step = KernelPCA(n_components=draw(st.sampled_from([1, 2, None])),
                     eigen_solver=draw(st.sampled_from(["auto", "dense"])), **_kernel_params(draw))
    model = _projected(draw, step, sparse=draw(st.booleans()))
    assume(kernel_amplification(step) <= MAX_AMPLIFICATION)
    return model


@st.composite
def nystroem(draw):
    """Every kernel, parameters given directly or through kernel_params; fits whose basis
    kernel is rank-deficient are refused by the compiler and left out here."""
    params = _kernel_params(draw)
    if draw(st.booleans()):  # the same gamma given through kernel_params instead
        params["kernel_params"] = {"gamma": params.pop("gamma") or 0.5}
        params["degree"] = params["coef0"] = None
    step = Nystroem(n_components=draw(st.integers(1, 20)), random_state=0, **params)
    model = _projected(draw, step, sparse=draw(st.booleans()))
    assume(kernel_amplification(step) <= MAX_AMPLIFICATION)
    return model


BUILDERS = {
    "GaussianNB": gaussian_nb,
    "MultinomialNB": multinomial_nb,
    "ComplementNB": complement_nb,
    "BernoulliNB": bernoulli_nb,
    "CategoricalNB": categorical_nb,
    "PCA": pca,
    "IncrementalPCA": incremental_pca,
    "TruncatedSVD": truncated_svd,
    "FastICA": fast_ica,
    "GaussianRandomProjection": gaussian_random_projection,
    "SparseRandomProjection": sparse_random_projection,
    "RBFSampler": rbf_sampler,
    "KernelPCA": kernel_pca,
    "Nystroem": nystroem,
}
