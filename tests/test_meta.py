"""Meta-estimators: what the property tests cannot reach (refusals with their reasons, a
parallel Bagging's summation order, weighted-median ties, HistGradientBoosting members)."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import build_scorer
from joblib import parallel_backend
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import (
    AdaBoostRegressor,
    BaggingRegressor,
    HistGradientBoostingClassifier,
    StackingRegressor,
    VotingClassifier,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import QuantileTransformer
from sklearn.tree import DecisionTreeRegressor

from scorec.compiler.lower import lower_model
from scorec.compiler.registry import UnsupportedError
from scorec.runtime.verify import compare, generate_rows


def _data(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X[:, 0] * 2.0 + rng.normal(size=n)


def _agrees(model: object, rows: int = 200, target: str = "python") -> None:
    program = lower_model(model)
    with tempfile.TemporaryDirectory() as tmp:
        scorer, manifest = build_scorer(program, target, Path(tmp))
        report = compare(model, program, [scorer], manifest["outputs"],
                         generate_rows(program, rows, seed=1))
    assert report.ok, report.format(program.features)


def test_unknown_inverse_func_is_refused_by_name():
    X, y = _data()
    model = TransformedTargetRegressor(Ridge(), func=np.cbrt, inverse_func=np.cbrt,
                                       check_inverse=False).fit(X, y)
    with pytest.raises(UnsupportedError, match="inverse_func='cbrt'"):
        lower_model(model)


def test_transformer_without_arithmetic_inverse_is_refused():
    X, y = _data()
    model = TransformedTargetRegressor(Ridge(), transformer=QuantileTransformer(
        n_quantiles=10)).fit(X, y)
    with pytest.raises(UnsupportedError, match="QuantileTransformer is not supported"):
        lower_model(model)


def test_parallel_bagging_sums_each_job_then_the_jobs():
    """n_jobs=2 splits 5 estimators 3 + 2: sum(part sums), not one running sum."""
    X, y = _data()
    model = BaggingRegressor(Ridge(), n_estimators=5, max_features=2, random_state=0,
                             n_jobs=2).fit(X, y)
    program = lower_model(model)
    value = program.outputs["predict"].values[0]
    assert [len(part.terms) for part in value.a.terms] == [3, 2]
    with parallel_backend("threading"):
        _agrees(model)


def test_weighted_median_ties_and_exact_half():
    """Members predicting the same values (pure leaves on a coarse target) and weights
    whose running sum hits half the total exactly: the first position that reaches it."""
    X, y = _data()
    model = AdaBoostRegressor(DecisionTreeRegressor(max_depth=2), n_estimators=4,
                              random_state=0).fit(X, np.round(y))
    model.estimator_weights_[:4] = [1.0, 1.0, 1.0, 1.0]
    _agrees(model)
    model.estimator_weights_[:4] = [0.5, 1.5, 1.0, 1.0]
    _agrees(model)


def test_hist_gradient_boosting_members():
    """HistGradientBoosting (NaN routed as learned) inside a soft vote."""
    X, _ = _data()
    X[::7, 1] = np.nan
    y = np.where(np.nan_to_num(X[:, 0]) > 0, "yes", "no")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = VotingClassifier([
            ("hgb", HistGradientBoostingClassifier(max_iter=2, max_leaf_nodes=4)),
            ("hgb2", HistGradientBoostingClassifier(max_iter=3, max_depth=2)),
        ], voting="soft", weights=[2, 1]).fit(X, y)
    _agrees(model)


def test_soft_voting_needs_every_class():
    X, _ = _data()
    y = np.arange(len(X)) % 3
    model = VotingClassifier([("a", LogisticRegression()), ("b", LogisticRegression())],
                             voting="soft").fit(X, y)
    model.estimators_[1] = LogisticRegression().fit(X[y < 2], y[y < 2])
    with pytest.raises(Exception, match="saw 2 of the 3 classes"):
        lower_model(model)


@pytest.mark.parametrize("target", ["python", "sql", "c"])
def test_tree_over_trees(target: str):
    """A tree reading other trees' outputs (a stacked final estimator)."""
    X, y = _data()
    # the C batch walks blocks of 16 rows and more: the stacked tree reads the block's leaves
    model = StackingRegressor([("a", DecisionTreeRegressor(max_depth=2)),
                               ("b", DecisionTreeRegressor(max_depth=3))],
                              final_estimator=DecisionTreeRegressor(max_depth=2), cv=2).fit(X, y)
    _agrees(model, target=target)
