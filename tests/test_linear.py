"""Linear models: what the property test cannot reach (rows on the exact edges of the
classifier heads, float32 fits, sparse input with and without sklearn's checks) and the
refusals (multi-output and multilabel fits, a coef_ sklearn cannot predict with, a
RANSAC around a classifier)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from conftest import build_scorer
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import (
    ElasticNet,
    Lars,
    LassoCV,
    LinearRegression,
    LogisticRegression,
    OrthogonalMatchingPursuit,
    PoissonRegressor,
    RANSACRegressor,
    Ridge,
    RidgeClassifier,
    RidgeCV,
    SGDClassifier,
    SGDOneClassSVM,
    SGDRegressor,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from scorec.compiler.lower import lower_model
from scorec.compiler.registry import UnsupportedError
from scorec.runtime.verify import compare

LOSSES = ["hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron",
          "squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"]


def _data(n: int = 60, classes: int = 3, seed: int = 0, dtype=float):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).astype(dtype)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5) * (classes - 2)
    return X, y, (X @ [1.0, -2.0, 0.5] + rng.normal(size=n)).astype(dtype)


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


def _assert_equal(model, rows: list[list], targets=("python", "sql"), tmp_path=None) -> None:
    """Every output of `model` on `rows`, compiled for `targets`, equals sklearn's."""
    program = lower_model(model)
    for target in targets:
        workdir = tmp_path / target
        workdir.mkdir(parents=True)
        scorer, manifest = build_scorer(program, target, workdir)
        report = compare(model, program, [scorer], manifest["outputs"], rows)
        assert report.ok, report.format(program.features)


@pytest.mark.parametrize("loss", ["log_loss", "modified_huber"])
def test_proba_rows_summing_to_zero_are_uniform(loss, tmp_path):
    """`_predict_proba_lr` and modified_huber set a row whose OvR probabilities are all 0
    to 1 / n_classes: scores below -745 (expit underflows) or at most -1 (the clip)."""
    X, y, _ = _data()
    model = _fit(SGDClassifier(loss=loss, random_state=0, max_iter=20), X, y)
    model.coef_ = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.25]])
    model.intercept_ = np.array([-800.0, -900.0, -1000.0]) if loss == "log_loss" \
        else np.array([-1.0, -1.0, -3.0])
    rows = [[0.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 1e-300, 0.0], [1.0, 1.0, 1.0],
            [0.0, 4.0, 8.0], [790.0, -2.0, 1e3], [1e15, 0.0, 0.0], [math.nan, 0.0, 0.0]]
    proba = model.predict_proba(np.array(rows[:3]))
    assert (proba == 1.0 / 3).all()  # the rule is reached
    _assert_equal(model, rows, tmp_path=tmp_path)


def test_binary_ties_at_zero_follow_sklearn(tmp_path):
    """A zero score: classifiers take classes_[0] (`scores > 0`), SGDOneClassSVM says
    inlier (`decision >= 0`)."""
    X, y, _ = _data(classes=2)
    clf = _fit(SGDClassifier(loss="modified_huber", random_state=0, max_iter=20), X, y)
    clf.coef_[:] = 0.0
    clf.intercept_[:] = 0.0
    oc = _fit(SGDOneClassSVM(random_state=0, max_iter=20), X, None)
    oc.coef_[:] = 0.0
    oc.offset_[:] = 0.0
    row = [[0.5, -1.0, 2.0]]
    assert clf.predict(np.array(row))[0] == clf.classes_[0]
    assert oc.predict(np.array(row))[0] == 1
    rows = [*row, [math.nan, 0.0, 0.0], [0.0, -math.inf, 0.0]]  # still refused: no term reads x
    _assert_equal(clf, rows, tmp_path=tmp_path / "clf")
    _assert_equal(oc, rows, tmp_path=tmp_path / "oc")


@pytest.mark.parametrize("classes", [2, 3])
def test_predict_proba_exists_exactly_where_sklearn_has_it(classes):
    X, y, _ = _data(classes=classes)
    for loss in LOSSES:
        model = _fit(SGDClassifier(loss=loss, random_state=0, max_iter=5), X, y)
        outputs = lower_model(model).outputs
        assert ("predict_proba" in outputs) == hasattr(model, "predict_proba"), loss
        assert {"predict", "decision_function"} <= set(outputs)


@pytest.mark.parametrize("make", [
    lambda X, y, yr: _fit(Ridge(), X, np.column_stack([yr, -yr])),
    lambda X, y, yr: _fit(RidgeCV(), X, np.column_stack([yr, -yr])),
    lambda X, y, yr: _fit(Lars(), X, np.column_stack([yr, yr * 2])),
    lambda X, y, yr: _fit(LinearRegression(), X, yr.reshape(-1, 1)),  # predicts (n, 1)
    lambda X, y, yr: _fit(RidgeClassifier(), X, np.column_stack([y == 1, y == 2]).astype(int)),
    lambda X, y, yr: _fit(RANSACRegressor(random_state=0), X, np.column_stack([yr, yr])),
], ids=["ridge", "ridgecv", "lars", "one column", "multilabel", "ransac"])
def test_multi_output_predicts_a_list_per_row(make, tmp_path):
    """Several outputs (or one column of a 2-D y): predict is a list per row, as sklearn's
    (n, k) array, on every target."""
    X, y, yr = _data()
    model = make(X, y, yr)
    assert lower_model(model).outputs["predict"].shape == "vector"
    rows = [list(r) for r in X[:20]] + [[0.0] * X.shape[1], [1e300] * X.shape[1]]
    _assert_equal(model, rows, targets=("python", "c", "sql"), tmp_path=tmp_path)


def test_a_coef_sklearn_cannot_predict_with_is_refused():
    """OMP squeezes coef_ to 0-d for one feature without intercept; predict raises."""
    X, _, yr = _data()
    model = _fit(OrthogonalMatchingPursuit(fit_intercept=False), X[:, :1], yr)
    with pytest.raises(ValueError):
        model.predict(X[:2, :1])
    with pytest.raises(UnsupportedError, match="0-d"):
        lower_model(model)


def test_ransac_around_a_classifier_is_refused():
    X, y, _ = _data(classes=2)
    model = _fit(RANSACRegressor(LogisticRegression(), min_samples=30, random_state=0), X, y)
    with pytest.raises(UnsupportedError, match="not a regressor"):
        lower_model(model)


@pytest.mark.parametrize("est", [SGDClassifier(loss="log_loss", max_iter=20, random_state=0),
                                 RidgeClassifier(), SGDRegressor(max_iter=20, random_state=0),
                                 Ridge(), PoissonRegressor(), SGDOneClassSVM(random_state=0)],
                         ids=lambda e: type(e).__name__)
def test_float32_fits_score_in_double(est, tmp_path):
    """Fitted on float32, coef_ is float32 but X stays float64 at predict time: numpy
    widens coef_ and the arithmetic is double, which the compiled model reproduces."""
    X, y, yr = _data(dtype=np.float32)
    target = y if "Classifier" in type(est).__name__ else np.abs(yr)
    model = _fit(est, X, target)
    assert np.asarray(model.coef_).dtype == np.float32
    rng = np.random.default_rng(1)
    rows = (rng.normal(size=(20, 3)) * 10.0 ** rng.integers(-3, 4, size=(20, 3))).tolist()
    _assert_equal(model, rows, targets=("python",), tmp_path=tmp_path)


@pytest.mark.parametrize("est,refused", [(ElasticNet(alpha=0.1), False),
                                         (LassoCV(cv=3), True),
                                         (SGDRegressor(max_iter=20, random_state=0), True)],
                         ids=["elasticnet", "lassocv", "sgd"])
def test_sparse_input_is_checked_as_sklearn_checks_it(est, refused, tmp_path):
    """ElasticNet/Lasso score sparse X unvalidated (NaN flows into the score); the other
    linear models validate sparse X as dense X and refuse NaN."""
    rng = np.random.default_rng(0)
    X = np.empty((60, 2), dtype=object)
    X[:, 0] = rng.normal(size=60)
    X[:, 1] = rng.choice(["a", "b", "c"], 60)
    ct = ColumnTransformer([("num", StandardScaler(), [0]),
                            ("txt", OneHotEncoder(handle_unknown="ignore"), [1])],
                           sparse_threshold=1.0)
    model = _fit(make_pipeline(ct, est), X, X[:, 0].astype(float) * 2.0 + 1.0)
    rows = [[0.5, "a"], [math.nan, "b"], [-1.0, "zzz"], [math.inf, "c"]]
    _assert_equal(model, rows, tmp_path=tmp_path)
    nan_row = model.named_steps["columntransformer"].transform(
        np.array([[math.nan, "a"]], dtype=object))
    if refused:
        with pytest.raises(ValueError, match="NaN"):
            est.predict(nan_row)
    else:
        assert math.isnan(est.predict(nan_row)[0])
