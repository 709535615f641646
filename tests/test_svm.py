"""Kernel SVM specifics the property test cannot reach: refusals, rows whose decision
values overflow (the equivalence checker skips those), and the bound on libsvm's
multiclass_probability sweeps that the unrolled IR relies on."""

from __future__ import annotations

import itertools
import math
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import TARGETS, build_scorer
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC, NuSVC

from scorec.compiler.lower import lower_model
from scorec.compiler.lowering.svm import MIN_PROB, PROBABILITY_SWEEPS
from scorec.compiler.registry import UnsupportedError
from scorec.runtime.reference import reference
from scorec.runtime.verify import same


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # probability=True is deprecated in sklearn 1.9
        return model.fit(X, y)


def _blobs(classes: int, n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    return rng.normal(size=(n, 2)) + y[:, None], y


@pytest.mark.parametrize("kernel", ["precomputed", "callable"])
def test_kernels_computed_outside_the_model_are_refused(kernel):
    X, y = _blobs(2)
    if kernel == "precomputed":
        model = _fit(SVC(kernel="precomputed"), X @ X.T, y)
    else:
        model = _fit(make_pipeline(StandardScaler(), SVC(kernel=lambda a, b: a @ b.T)), X, y)
    with pytest.raises(UnsupportedError, match="computed outside the model"):
        lower_model(model)


def test_break_ties_with_ovo_is_refused():
    X, y = _blobs(3)
    model = _fit(SVC(break_ties=True, decision_function_shape="ovo"), X, y)
    with pytest.raises(ValueError):
        model.predict(X[:1])  # sklearn raises for every row
    with pytest.raises(UnsupportedError, match="break_ties"):
        lower_model(model)


def test_predict_proba_beyond_the_unrolled_classes_is_refused():
    k = max(PROBABILITY_SWEEPS) + 1
    X, y = _blobs(k, n=20 * k)
    model = _fit(NuSVC(nu=0.3, probability=True, random_state=0), X, y)
    with pytest.raises(UnsupportedError, match="loop node"):
        lower_model(model)
    lower_model(_fit(NuSVC(nu=0.3), X, y))  # without probabilities it compiles


def test_sparse_input_into_a_dense_fitted_svm_is_refused():
    X, y = _blobs(2)
    svm = _fit(SVC(), X, y)
    with pytest.raises(ValueError, match="sparse input"):
        svm.predict(sp.csr_array(X[:1]))
    texts = np.array(["a", "b"] * 30, dtype=object)[:, None]
    onehot = _fit(OneHotEncoder(), texts, None)
    model = make_pipeline(onehot, svm)  # the encoder's CSR output reaches the dense SVM
    with pytest.raises(UnsupportedError, match="fitted on dense data"):
        lower_model(model)


def _extreme_model():
    """3 classes where feature 0 is zero for every sample of classes 1 and 2: a row with
    x0 = 1e300 overflows the poly kernel of class 0's support vectors only, so the pairs
    with class 0 are NaN while the pair (1, 2) stays finite and still votes."""
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    X = np.c_[np.where(y == 0, rng.normal(2.0, 0.5, 60), 0.0), rng.normal(size=60) + 2 * y]
    model = SVC(kernel="poly", degree=3, gamma=1.0, coef0=1.0, probability=True,
                random_state=0, decision_function_shape="ovo")
    return _fit(model, X, y)


@pytest.mark.parametrize("target", TARGETS)
def test_overflowing_kernels_reach_only_their_own_pairs(target):
    model = _extreme_model()
    rows = [[1e300, 0.5], [1e300, 4.0], [-1e300, 1.0], [1e200, 2.0], [1e100, 2.0],
            [1.7976931348623157e308, -3.0], [0.0, 0.0]]
    decisions = model.decision_function(np.array(rows))
    assert np.isnan(decisions[0, 0]) and np.isfinite(decisions[0, 2])  # the case at hand
    program = lower_model(model)
    with tempfile.TemporaryDirectory() as tmp:
        scorer, manifest = build_scorer(program, target, Path(tmp))
        for output in manifest["outputs"]:
            expected = reference(model, program.features, output, rows)
            actual = scorer.score(output, rows)
            for row, e, a in zip(rows, expected, actual):
                assert same(e, a), (output, row, e, a)


def _multiclass_probability(k: int, r: list[list[float]]) -> int:
    """libsvm's multiclass_probability (svm.cpp), transcribed: the sweeps it runs before
    its stopping test passes."""
    p = [1.0 / k] * k
    q = [[0.0] * k for _ in range(k)]
    for t in range(k):
        for j in range(k):
            if j != t:
                q[t][t] += r[j][t] * r[j][t]
            if j > t:
                q[t][j] = q[j][t] = -r[j][t] * r[t][j]
    for sweep in range(max(100, k)):
        qp = [sum(q[t][j] * p[j] for j in range(k)) for t in range(k)]
        pqp = sum(p[t] * qp[t] for t in range(k))
        if max(abs(qp[t] - pqp) for t in range(k)) < 0.005 / k:
            return sweep
        for t in range(k):
            diff = (-qp[t] + pqp) / q[t][t]
            p[t] += diff
            pqp = (pqp + diff * (diff * q[t][t] + 2 * qp[t])) / (1 + diff) / (1 + diff)
            for j in range(k):
                qp[j] = (qp[j] + diff * q[t][j]) / (1 + diff)
                p[j] /= 1 + diff
    return max(100, k)


GRIDS = {  # pairwise probabilities: libsvm's clamps, halves, and values between
    2: np.concatenate([np.linspace(MIN_PROB, 1 - MIN_PROB, 4001),
                       np.geomspace(MIN_PROB, 0.5, 2000), 1 - np.geomspace(MIN_PROB, 0.5, 2000)]),
    3: [MIN_PROB, 1e-3, 0.1, 0.3, 0.5, 0.7, 0.9, 1 - 1e-3, 1 - MIN_PROB],
    4: [MIN_PROB, 0.2, 0.5, 0.8, 1 - MIN_PROB],
}


@pytest.mark.parametrize("k", sorted(PROBABILITY_SWEEPS))
def test_unrolled_sweeps_cover_libsvm_iterations(k):
    """The IR runs PROBABILITY_SWEEPS[k] sweeps of multiclass_probability; libsvm must
    have stopped by then, with room to spare, for pairwise inputs at and between its
    clamps (the slowest cases found need 2 sweeps for k=2, 4 for k=3 and 4)."""
    pairs = k * (k - 1) // 2
    grid = GRIDS[k] if k == 2 else list(itertools.product(GRIDS[k], repeat=pairs))
    worst = 0
    for values in grid:
        values = np.atleast_1d(values).tolist()
        r = [[0.0] * k for _ in range(k)]
        for (i, j), v in zip(itertools.combinations(range(k), 2), values):
            r[i][j], r[j][i] = v, 1 - v
        worst = max(worst, _multiclass_probability(k, r))
    assert worst < PROBABILITY_SWEEPS[k]
    assert not math.isnan(worst)


def test_sparse_fitted_svm_scores_like_sklearn():
    """An SVC fitted on CSR scores through libsvm's sparse build: same values."""
    rng = np.random.default_rng(1)
    texts = rng.choice(["a", "b", "c"], 80).astype(object)[:, None]
    y = (texts[:, 0] == "a").astype(int) + (rng.random(80) < 0.2)
    nums = rng.normal(size=(80, 1)) + y[:, None]
    X = np.concatenate([texts, nums], axis=1)
    ct = ColumnTransformer([("t", OneHotEncoder(), [0]),
                            ("n", StandardScaler(with_mean=False), [1])], sparse_threshold=1.0)
    model = _fit(make_pipeline(ct, SVC(kernel="rbf", gamma=0.7)), X, y)
    assert model[-1]._sparse
    program = lower_model(model)
    rows = [["a", 0.3], ["b", -2.0], ["c", 1e300], ["a", 0.0]]
    with tempfile.TemporaryDirectory() as tmp:
        scorer, _ = build_scorer(program, "python", Path(tmp))
        for output in ("predict", "decision_function"):
            expected = reference(model, program.features, output, rows)
            assert all(same(e, a) for e, a in zip(expected, scorer.score(output, rows)))
