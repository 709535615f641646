"""Nearest-neighbour specifics the property test cannot reach: exact ties at the k-th
place (which sklearn's heap resolves neither by lowest nor by latest index), the fma in
brute-force euclidean distances, extreme queries, and every refusal.

Compiled programs are evaluated with the reference evaluator (tests/ir_eval.py), which
states each node's meaning; the property test proves the targets print the nodes so."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import build_scorer
from ir_eval import evaluate
from sklearn.impute import KNNImputer
from sklearn.linear_model import Ridge
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor, NearestCentroid
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from scorec.compiler.lower import lower_model
from scorec.compiler.registry import UnsupportedError
from scorec.runtime.adversarial import SPECIAL_NUMBERS
from scorec.runtime.reference import reference
from scorec.runtime.verify import same

ALGORITHMS = ["brute", "kd_tree", "ball_tree"]


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y)


def _mismatches(model, queries: np.ndarray, output: str = "predict") -> list:
    """The queries whose compiled result (Python target) differs from sklearn's."""
    program = lower_model(model)
    rows = [list(map(float, q)) for q in queries]
    with tempfile.TemporaryDirectory() as tmp:
        scorer, _ = build_scorer(program, "python", Path(tmp))
        actual = scorer.score(output, rows)
    expected = reference(model, program.features, output, rows)
    return [(r, e, a) for r, e, a in zip(rows, expected, actual) if not same(e, a)]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_tie_at_the_kth_place_keeps_the_row_sklearns_heap_keeps(algorithm):
    # distances 5, 5, 3, 4 from the query 0: with k = 3 the heap keeps the *second* 5
    X = np.array([[5.0], [-5.0], [3.0], [4.0]])
    y = np.array([100.0, 200.0, 1.0, 2.0])
    model = _fit(KNeighborsRegressor(3, algorithm=algorithm), X, y)
    assert model.predict([[0.0]])[0] == pytest.approx((200 + 1 + 2) / 3)
    assert evaluate(lower_model(model), "predict", [0.0]) == model.predict([[0.0]])[0]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("k", [1, 3, 6])
def test_integer_grids_match_on_every_tie(algorithm, k):
    """Integer data queried on the integer grid: most queries have several rows at the
    k-th distance; small leaves make the trees visit them in a query-dependent order."""
    rng = np.random.default_rng(k)
    X = rng.integers(0, 5, (40, 2)).astype(float)
    y = rng.normal(size=40)
    grid = np.array([[a, b] for a in range(-1, 6) for b in range(-1, 6)], dtype=float)
    for metric in ["euclidean", "manhattan", "chebyshev"]:
        for weights in ["uniform", "distance"]:
            model = _fit(KNeighborsRegressor(k, weights=weights, algorithm=algorithm,
                                             metric=metric, leaf_size=4), X, y)
            assert _mismatches(model, grid) == [], (metric, weights)
    labels = rng.integers(0, 3, 40)
    model = _fit(KNeighborsClassifier(k, algorithm=algorithm, leaf_size=4), X, labels)
    assert _mismatches(model, grid) == []
    assert _mismatches(model, grid, "predict_proba") == []


def test_scaled_integer_data_need_the_fma_of_the_gemm():
    """After scaling, rows equidistant in the raw data are an ulp apart, and brute force's
    dgemm (an fma chain) decides the order; plain products would differ on ~2% of these
    queries."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 5, (50, 3)).astype(float)
    y = rng.normal(size=50)
    grid = np.array([[a, b, c] for a in range(5) for b in range(5) for c in range(5)],
                    dtype=float)
    for k in (3, 6):
        model = _fit(make_pipeline(StandardScaler(), KNeighborsRegressor(k, algorithm="brute")),
                     X, y)
        assert _mismatches(model, grid) == []


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_extreme_queries(algorithm):
    """Overflowing distances: brute force's heap starts at DBL_MAX (unfilled slots are row 0
    at sqrt(DBL_MAX)) and its inf - inf is clamped to 0; a tree's heap starts at inf."""
    X = np.array([[1.0, 2.0], [2.0, -1.0], [-3.0, 0.5], [0.0, 0.0], [4.0, 4.0]])
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    extremes = [v for v in SPECIAL_NUMBERS if np.isfinite(v)]
    queries = np.array([[a, b] for a in extremes for b in (0.0, 1.0, -1e300, 1.5e154)])
    for weights in ["uniform", "distance"]:
        model = _fit(KNeighborsRegressor(3, weights=weights, algorithm=algorithm), X, y)
        assert _mismatches(model, queries) == []
    model = _fit(KNeighborsClassifier(3, algorithm=algorithm), X, [0, 1, 1, 0, 2])
    assert _mismatches(model, queries, "predict_proba") == []


def test_brute_force_never_refuses_where_distance_weights_vanish():
    X = np.array([[1.0], [2.0], [-3.0], [0.0]])
    model = _fit(KNeighborsClassifier(2, weights="distance", algorithm="brute"), X, [0, 1, 0, 1])
    rows = np.array([[1e300], [1.7976931348623157e308], [-1e200]])
    assert _mismatches(model, rows) == []
    assert _mismatches(model, rows, "predict_proba") == []


@pytest.mark.parametrize("algorithm", ["kd_tree", "ball_tree"])
def test_distance_weights_on_a_tree_are_refused_for_classifiers(algorithm):
    X = np.array([[1.0], [2.0], [-3.0], [0.0]])
    model = _fit(KNeighborsClassifier(2, weights="distance", algorithm=algorithm), X,
                 [0, 1, 0, 1])
    with pytest.raises(ValueError, match="zero weights"):
        model.predict([[1e300]])  # every stored row at an infinite distance
    with pytest.raises(UnsupportedError, match="zero weights"):
        lower_model(model)
    # a regressor returns 0 / 0 = NaN there, which is compiled
    reg = _fit(KNeighborsRegressor(2, weights="distance", algorithm=algorithm), X,
               [1.0, 2.0, 3.0, 4.0])
    assert _mismatches(reg, np.array([[1e300], [0.5]])) == []


@pytest.mark.parametrize("make, fit_y, match", [
    (lambda: KNeighborsClassifier(2, metric="precomputed"), "distances", "precomputed"),
    (lambda: KNeighborsRegressor(2, metric=lambda a, b: abs(a - b).sum()), "plain", "callable"),
    (lambda: KNeighborsRegressor(2, weights=lambda d: d), "plain", "callable"),
    (lambda: KNeighborsRegressor(2, metric="canberra", algorithm="brute"), "plain", "canberra"),
    (lambda: KNeighborsRegressor(9), "plain", "n_neighbors=9"),
    (lambda: KNeighborsRegressor(2), "column", "2-D y of one column"),
    (lambda: KNeighborsClassifier(2), "multi", "multi-output classification"),
])
def test_refusals(make, fit_y, match):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 2))
    y = {"plain": rng.normal(size=6), "column": rng.normal(size=(6, 1)),
         "multi": np.stack([np.arange(6) % 2, np.arange(6) % 3], axis=1),
         "distances": np.arange(6) % 2}[fit_y]
    if fit_y == "distances":
        X = np.abs(X[:, :1] - X[:, 0])
    model = _fit(make(), X, y)
    with pytest.raises(UnsupportedError, match=match):
        lower_model(model)


def test_sparse_input_is_refused():
    X = sp.csr_matrix(np.eye(4))
    model = _fit(KNeighborsRegressor(2, algorithm="brute"), X, [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(UnsupportedError, match="sparse"):
        lower_model(model)


def test_nearest_centroid_with_nan_centroids_is_refused():
    X = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    model = _fit(NearestCentroid(shrink_threshold=0.5), X, [0, 0, 1, 1])
    assert np.isnan(model.centroids_).any()  # no deviation within classes: 0 * inf
    with pytest.raises(ValueError):
        model.predict(X[:1])
    with pytest.raises(UnsupportedError, match="NaN"):
        lower_model(model)


def test_nearest_centroid_scores_where_a_column_can_overflow():
    """Dividing by a deviation below 1 overflows near DBL_MAX: the scores raise there and a
    predict through the priors raises too, while uniform priors' predict does not."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2)) * 0.1
    y = np.arange(40) % 2
    huge = np.array([[1.7976931348623157e308, 0.0], [0.5, -0.5]])
    uniform = _fit(NearestCentroid(), X, y)
    assert set(lower_model(uniform).outputs) == {"predict"}
    assert _mismatches(uniform, huge) == []
    with pytest.raises(ValueError, match="infinity"):
        uniform.predict_proba(huge[:1])
    empirical = _fit(NearestCentroid(priors=[0.3, 0.7]), X, y)
    program = lower_model(empirical)
    assert set(program.outputs) == {"predict", "predict_proba", "decision_function"}
    assert _mismatches(empirical, huge) == []
    assert evaluate(program, "predict", list(huge[0])).name == "INFINITE_VALUE"
    assert _mismatches(empirical, huge[1:], "predict_proba") == []
    wide = _fit(NearestCentroid(), X * 100.0, y)  # every deviation above 1: all outputs
    assert set(lower_model(wide).outputs) == {"predict", "predict_proba", "decision_function"}


def test_knn_imputer_with_a_donor_selection_is_refused():
    X = np.array([[1.0, np.nan], [2.0, 3.0], [3.0, 4.0], [np.nan, 5.0]])
    model = _fit(make_pipeline(KNNImputer(n_neighbors=1), Ridge()), X, [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(UnsupportedError, match="argpartition"):
        lower_model(model)


def test_knn_imputer_masked_average_keeps_the_numerator():
    """Every donor at an infinite distance: np.ma.average's 0 / 0 is masked and its data is
    the numerator, 0."""
    X = np.array([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0], [np.nan, 6.0, 7.0], [5.0, np.nan, 1.0]])
    imp = _fit(KNNImputer(n_neighbors=4, weights="distance"), X, None)
    row = [np.nan, 1.3e154, -1.3e154]
    assert imp.transform([row])[0, 0] == 0.0
    model = _fit(make_pipeline(KNNImputer(n_neighbors=4, weights="distance"), Ridge()), X,
                 [1.0, 2.0, 3.0, 4.0])
    assert _mismatches(model, np.array([row, [np.nan, 1e300, 0.0], [2.0, np.nan, 1.0]])) == []
