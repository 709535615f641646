"""Naive Bayes and projections: what the property test cannot reach (sklearn's logsumexp on
infinities and NaN, CategoricalNB's int cast and its refusals in order, degenerate weights,
the shape of the lowered products) and the refusals (float32 fits, rank-deficient fits,
unsupported kernels)."""

from __future__ import annotations

import math
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import build_scorer
from ir_eval import evaluate
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA, FastICA, IncrementalPCA, KernelPCA, TruncatedSVD
from sklearn.kernel_approximation import Nystroem, RBFSampler
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import BernoulliNB, CategoricalNB, ComplementNB, GaussianNB, MultinomialNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.random_projection import GaussianRandomProjection
from sklearn.utils._array_api import _logsumexp

from scorec.compiler import ir
from scorec.compiler.lower import lower_model
from scorec.compiler.lowering.bayes import logsumexp
from scorec.compiler.registry import UnsupportedError
from scorec.runtime.scorer import Refused
from scorec.runtime.verify import close, refusal_kind

INF, NAN = math.inf, math.nan


def _data(n: int = 60, d: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)


def _sklearn(model, output: str, row: list) -> object:
    """sklearn's answer for one row, or the Refusal it stands for (an IndexError is a
    category beyond those fitted)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = getattr(model, output)(np.array([row], dtype=float))[0]
    except IndexError:
        return ir.Refusal.OUT_OF_RANGE
    except ValueError as exc:
        return ir.Refusal[refusal_kind(str(exc))]
    return out.tolist() if isinstance(out, np.ndarray) else out.item()


def _agree(expected: object, got: object) -> bool:
    if isinstance(got, Refused):
        return expected is ir.Refusal[refusal_kind(got.reason)]
    if isinstance(expected, list):
        return isinstance(got, list) and all(close(e, g) for e, g in zip(expected, got))
    return expected == got


def _like_sklearn(model, rows: list[list], outputs=("predict", "predict_proba")) -> None:
    """The Python target's answers (refusals by kind) equal sklearn's on every row."""
    with tempfile.TemporaryDirectory() as tmp:
        scorer, _ = build_scorer(lower_model(model), "python", Path(tmp))
        answers = {output: scorer.score(output, rows) for output in outputs}
    for output, got_rows in answers.items():
        for row, got in zip(rows, got_rows):
            expected = _sklearn(model, output, row)
            assert _agree(expected, got), (output, row, expected, got)


# ---- sklearn's _logsumexp ----------------------------------------------------------------------

@pytest.mark.parametrize("jll", [
    [0.0, 0.0], [-1.0, 3.0, 2.5], [5.0, -INF, 5.0], [-INF, -INF], [-INF, -INF, -INF],
    [INF, 1.0], [INF, INF, 0.0], [INF, 1e308, 1e308], [NAN, 1.0], [1.0, NAN, INF],
    [1e308, 1e308], [-1e308, 1e308], [-745.0, 0.0], [-800.0, 0.0, -1e-300], [3.0], [-INF],
    [INF], [0.0, -0.0], [-3.0, -3.0, -3.0, -3.0, -3.0, -3.0, -3.0, -3.0, -2.0],
])
def test_probabilities_follow_sklearns_logsumexp(jll):
    """exp(jll - _logsumexp(jll)) on maxima that are equal, infinite or NaN, as
    `_BaseNB.predict_proba` computes it (the maxima masked to -inf and counted, the shift
    0 for an infinite maximum, log1p of the scaled sum)."""
    features = tuple(ir.FeatureSpec(f"j{i}", "number") for i in range(len(jll)))
    terms = [ir.Feature(i) for i in range(len(jll))]
    norm = logsumexp(terms)
    proba = tuple(ir.Func("exp", ir.Arith("-", t, norm)) for t in terms)
    program = ir.Program(features, "regression",
                         outputs={"p": ir.Output("p", "vector", proba)})
    a = np.array([jll])
    with np.errstate(all="ignore"):
        expected = np.exp(a - _logsumexp(a, axis=1)[:, None])[0].tolist()
    got = evaluate(program, "p", list(jll))
    assert all(close(e, g) for e, g in zip(expected, got)), (expected, got)


# ---- CategoricalNB -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def categorical():
    rng = np.random.default_rng(1)
    X = np.c_[rng.integers(0, 4, 80), rng.integers(0, 3, 80)].astype(float)
    y = (X[:, 0] + rng.integers(0, 2, 80) > 2).astype(int)
    return CategoricalNB(min_categories=np.array([5, 3])).fit(X, y)


CATEGORICAL_ROWS = [
    [-0.5, 0.0], [2.9, 2.99], [-0.99, 1.0], [4.0, 0.0], [5e-324, -0.0],  # truncated in range
    [-1.0, 0.0], [1e300, 0.0], [-1e300, 1.0], [2.0**63, 0.0],  # negative once cast to int64
    [2.0**63 - 1024, 0.0], [5.0, 0.0], [0.0, 3.0], [4.5, 2.5],  # beyond the categories
    [NAN, 0.0], [INF, 0.0], [0.0, -INF], [NAN, -1.0], [-1.0, INF],  # NaN, then inf, first
    [-1.0, 7.0], [9.0, -2.0],  # a negative value anywhere before an unknown category
]


def test_categorical_nb_casts_and_refuses_as_check_array(categorical):
    """check_array(dtype="int") refuses NaN, then infinity, then casts by truncation
    (|x| >= 2**63 is INT64_MIN: negative); check_non_negative follows, then indexing
    raises IndexError for a category beyond n_categories_ (min_categories counted)."""
    _like_sklearn(categorical, CATEGORICAL_ROWS)


def test_unknown_category_is_an_index_error_in_sklearn(categorical):
    """What the reference sees for an unseen category: numpy's IndexError, whose message
    names no category; scorec reports it as an unknown category."""
    with pytest.raises(IndexError, match="out of bounds"):
        categorical.predict(np.array([[5.0, 0.0]]))
    program = lower_model(categorical)
    assert evaluate(program, "predict", [5.0, 0.0]) is ir.Refusal.OUT_OF_RANGE


# ---- the discrete models ----------------------------------------------------------------------

@pytest.mark.parametrize("cls", [MultinomialNB, ComplementNB, BernoulliNB])
def test_negative_inputs_are_scored_as_sklearn_does(cls):
    """check_non_negative runs in fit only: at predict time a negative count is scored."""
    X, y = _data()
    model = cls().fit(np.abs(X), y)
    rows = [[-1.0, 2.0, 0.5], [-1e300, 0.0, 0.0], [3.0, -0.5, -7.0], [1e300, 1e300, 0.0]]
    _like_sklearn(model, rows)


def test_complement_nb_single_class_adds_the_prior():
    X, _ = _data()
    model = ComplementNB().fit(np.abs(X), np.zeros(len(X)))
    assert model.predict_proba(np.abs(X[:1])).tolist() == [[1.0]]
    _like_sklearn(model, [[1.0, 2.0, 0.5], [1e300, 1e300, 1e300], [0.0, 0.0, 0.0]])


def test_bernoulli_probabilities_above_one_give_nan_weights():
    """binarize=None on counts: feature probabilities above 1 make neg_prob NaN, so every
    row scores NaN and predicts classes_[0], as in sklearn; in a sparse product the zeros
    would skip those weights, which is refused."""
    X, y = _data()
    counts = np.round(np.abs(X) * 3)
    model = BernoulliNB(binarize=None, alpha=1e-3).fit(counts, y)
    _like_sklearn(model, [[1.0, 0.0, 2.0], [0.0, 0.0, 0.0]])
    frame = pd.DataFrame({"n": counts[:, 0], "t": np.where(y > 0, "a", "b").astype(object)})
    ct = ColumnTransformer([("t", OneHotEncoder(), ["t"])], remainder="passthrough",
                           sparse_threshold=1.0)
    sparse_model = make_pipeline(ct, BernoulliNB(binarize=None)).fit(frame, y)
    with pytest.raises(UnsupportedError, match="non-finite weight.*sparse"):
        lower_model(sparse_model)


def test_gaussian_nb_huge_values_give_nan_probabilities():
    """(X - theta)**2 overflows for every class: jll -inf everywhere, probabilities NaN
    (-inf - -inf), predict classes_[0] (argmax of equal values)."""
    X, y = _data()
    model = GaussianNB(priors=[0.0, 0.5, 0.5]).fit(X, y)  # log(0) = -inf for class 0
    _like_sklearn(model, [[1e300, 0.0, 0.0], [1e160, 1e160, -1e160], [0.5, -1.0, 2.0]])


# ---- projections --------------------------------------------------------------------------------

def _nodes(program: ir.Program, kind: type) -> list[ir.Expr]:
    seen: dict[int, ir.Expr] = {}
    stack = [v for out in program.outputs.values() for v in out.values]
    stack += [c.fails for c in program.checks]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen[id(node)] = node
            stack.extend(node.children())
            if isinstance(node, ir.Map):
                stack.append(node.body)
    return [n for n in seen.values() if isinstance(n, kind)]


@pytest.mark.parametrize("whiten", [False, True])
def test_pca_is_one_product_with_the_centring_as_bias(whiten):
    """`X @ C.T - mean_ @ C.T`: one MatVec over the components with the precomputed
    offset as its bias (the text stays linear in the number of weights)."""
    X, y = _data(d=4)
    model = make_pipeline(PCA(n_components=3, whiten=whiten), LogisticRegression()).fit(X, y)
    pca = model[0]
    (mv,) = [m for m in _nodes(lower_model(model), ir.MatVec) if len(m.matrix) == 3]
    assert np.array_equal(np.array(mv.matrix), pca.components_)
    assert mv.bias == tuple(-(pca.mean_.reshape(1, -1) @ pca.components_.T)[0])
    _like_sklearn(model, [list(X[0]), [1e3, -1e3, 0.0, 5.0]])


@pytest.mark.parametrize("step", [
    PCA(2), TruncatedSVD(2), FastICA(2, random_state=0),
    GaussianRandomProjection(2, random_state=0), RBFSampler(n_components=3, random_state=0),
    KernelPCA(2, kernel="rbf"), Nystroem(n_components=5, random_state=0),
], ids=lambda s: type(s).__name__)
def test_float32_fits_are_refused(step):
    """Fitted on float32 data, the model computes in float32 whenever its input is float32
    (behind a float32 step), which is not visible at compile time."""
    X, y = _data(d=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make_pipeline(step, LogisticRegression()).fit(X.astype(np.float32), y)
    with pytest.raises(UnsupportedError, match="float32.*refit it on float64"):
        lower_model(model)


def test_incremental_pca_fitted_on_float32_keeps_float64_and_compiles():
    """IncrementalPCA accumulates its statistics in float64 whatever X was: float32
    input is promoted against float64 components, which double arithmetic reproduces."""
    X, y = _data(d=3)
    model = make_pipeline(IncrementalPCA(2, whiten=True), LogisticRegression()).fit(
        X.astype(np.float32), y)
    assert model[0].components_.dtype == np.float64
    _like_sklearn(model, [list(X[0]), [30.0, -2.0, 0.25]])


def test_gaussian_nb_float32_fit_is_refused():
    X, y = _data()
    with pytest.raises(UnsupportedError, match="float32.*refit it on float64"):
        lower_model(GaussianNB().fit(X.astype(np.float32), y))


def test_fast_ica_whitened_on_rank_deficient_data_is_refused():
    """Every one-hot column of a feature: the whitening divides by a singular value of
    1e-15, so sklearn's output there is magnified rounding noise."""
    rng = np.random.default_rng(0)
    X = np.c_[np.eye(3)[rng.integers(0, 3, 60)], rng.normal(size=60)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make_pipeline(FastICA(random_state=0, max_iter=50), LogisticRegression()).fit(
            X, X[:, 3] > 0)
    with pytest.raises(UnsupportedError, match="no spread.*rank-deficient"):
        lower_model(model)
    model[0].set_params(n_components=2).fit(X)  # the two largest directions are real
    model[1].fit(model[0].transform(X), X[:, 3] > 0)
    _like_sklearn(model, [list(X[0]), [0.0, 1.0, 0.0, 3.5]])


def test_kernel_maps_dividing_by_noise_eigenvalues_are_refused():
    """A linear kernel over more stored rows than features: Nystroem's basis kernel has
    eigenvalues clipped at 1e-12, KernelPCA's can be noise just above sklearn's cut."""
    X, y = _data(d=2)
    nys = make_pipeline(Nystroem(kernel="linear", n_components=6, random_state=0),
                        LogisticRegression()).fit(X, y)
    with pytest.raises(UnsupportedError, match="rounding noise"):
        lower_model(nys)
    kpca = make_pipeline(KernelPCA(2, kernel="rbf"), LogisticRegression()).fit(X, y)
    lower_model(kpca)
    kpca[0].eigenvalues_[1] = kpca[0].eigenvalues_[0] * 1e-11
    with pytest.raises(UnsupportedError, match="rounding noise"):
        lower_model(kpca)


@pytest.mark.parametrize("step", [KernelPCA(2, kernel="cosine"), Nystroem(kernel="chi2"),
                                  KernelPCA(2, kernel=lambda a, b: float(a @ b))],
                         ids=["cosine", "chi2", "callable"])
def test_unsupported_kernels_are_refused(step):
    X, y = _data()
    model = make_pipeline(step, LogisticRegression()).fit(np.abs(X), y)
    with pytest.raises(UnsupportedError, match="kernel=.*not supported"):
        lower_model(model)


def test_kernel_pca_refuses_a_kernel_row_that_overflows_or_is_nan():
    """KernelCenterer.transform validates K: a poly kernel that overflows is refused as
    infinity, one that is NaN (a negative base to a fractional power) as NaN."""
    X, y = _data(d=2)
    model = make_pipeline(KernelPCA(2, kernel="poly", degree=3), LogisticRegression()).fit(X, y)
    _like_sklearn(model, [[1e110, 1e110], [1e200, -1e200], [0.5, 0.5]])
    model = make_pipeline(StandardScaler(), KernelPCA(1, kernel="poly", degree=2.5, coef0=5.0),
                          LogisticRegression()).fit(X, y)
    _like_sklearn(model, [[-40.0, -40.0], [40.0, -40.0], [0.1, 0.2]])


def test_rbf_sampler_on_unscaled_moderate_inputs():
    """cos(X @ W + b) amplifies the rounding of BLAS's sum in absolute terms: equal within
    the tolerance while |X @ W| stays moderate (the property test bounds its inputs)."""
    X, y = _data(d=3)
    model = make_pipeline(RBFSampler(gamma=0.5, n_components=6, random_state=0),
                          LogisticRegression()).fit(X * 10, y)
    rng = np.random.default_rng(5)
    _like_sklearn(model, (rng.normal(size=(20, 3)) * 30).tolist())
