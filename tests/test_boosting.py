"""Gradient boosting specifics: the IR shape the emitters rely on, bit-exact raw scores,
sklearn's two different binary thresholds, category-set splits, and the refusals (inits
that depend on X)."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import build_scorer
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from scorec.compiler.ir import Const, Item, Sum, Tree
from scorec.compiler.lower import lower_model
from scorec.compiler.passes import collect_trees
from scorec.compiler.registry import UnsupportedError
from scorec.runtime.adversarial import SPECIAL_NUMBERS, critical_values
from scorec.runtime.verify import compare


def _data(seed: int = 0, n: int = 150, classes: int = 2, nan: bool = False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 10.0, 0.01]
    if nan:
        X[rng.random(X.shape) < 0.15] = np.nan
    y = (np.nan_to_num(X[:, 0]) * 3 + rng.normal(size=n)).round().astype(int) % classes
    return X, y, rng.normal(size=n) + np.nan_to_num(X[:, 1])


def _models():
    X, y2, yr = _data()
    Xn, y3, yrn = _data(seed=1, classes=3, nan=True)
    return {
        "gb binary": (GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0)
                      .fit(X, y2), X),
        "gb exponential": (GradientBoostingClassifier(loss="exponential", n_estimators=4,
                                                      random_state=0).fit(X, y2), X),
        "gb multiclass": (GradientBoostingClassifier(n_estimators=4, max_depth=2,
                                                     learning_rate=0.3, random_state=0)
                          .fit(X, y2 + (X[:, 1] > 0)), X),
        "gb regressor": (GradientBoostingRegressor(n_estimators=6, loss="huber",
                                                   random_state=0).fit(X, yr), X),
        "hgb binary": (HistGradientBoostingClassifier(max_iter=5, max_leaf_nodes=6)
                       .fit(Xn, y3 % 2), Xn),
        "hgb multiclass": (HistGradientBoostingClassifier(max_iter=4, max_leaf_nodes=5)
                           .fit(Xn, y3), Xn),
        "hgb regressor": (HistGradientBoostingRegressor(max_iter=6, loss="absolute_error")
                          .fit(Xn, yrn), Xn),
        "hgb poisson": (HistGradientBoostingRegressor(max_iter=4, loss="poisson")
                        .fit(Xn, np.abs(yrn)), Xn),
    }


MODELS = _models()


def _rows(model, X: np.ndarray, program) -> list[list]:
    """Training rows, rows on and beside every split bound, and special values."""
    crit = critical_values(program)
    rng = np.random.default_rng(7)
    rows = [list(map(float, r)) for r in X[:40]]
    for j in range(X.shape[1]):
        for v in [*crit.get(j, []), *SPECIAL_NUMBERS]:
            row = [float(x) for x in X[rng.integers(len(X))]]
            row[j] = float(v)
            rows.append(row)
    return rows


def _sklearn(model, output: str, rows: list[list]):
    """sklearn's answer per row, None where it raises."""
    out = []
    for r in rows:
        try:
            out.append(getattr(model, output)(np.array([r], dtype=float))[0])
        except ValueError:
            out.append(None)
    return out


@pytest.mark.parametrize("key", sorted(MODELS))
def test_ir_is_constant_then_trees_in_order(key):
    model, _ = MODELS[key]
    program = lower_model(model)
    score = "decision_function" if "decision_function" in program.outputs else "predict"
    raws = program.outputs[score].values
    if key == "hgb poisson":
        raws = tuple(v.a for v in raws)  # Exp(raw)
    for k, raw in enumerate(raws):
        assert isinstance(raw, Sum)
        head, *terms = raw.terms
        assert isinstance(head, Const)
        assert all(isinstance(t, Item) and isinstance(t.vec, Tree) and t.k == 0 for t in terms)
        if key.startswith("gb"):
            assert head.value == float(model._raw_predict_init(np.zeros((1, 3)))[0, k])
            stages = model.estimators_[:, k]
            assert len(terms) == len(stages)
            for t, reg in zip(terms, stages):  # learning_rate folded into the leaves
                leaves = [v[0] for v in t.vec.values if v]
                value = reg.tree_.value[:, 0, 0]
                expect = [model.learning_rate * value[i]
                          for i in range(len(value)) if reg.tree_.children_left[i] == -1]
                assert leaves == expect
        else:
            assert head.value == float(model._baseline_prediction[0, k])
            assert len(terms) == len(model._predictors)


@pytest.mark.parametrize("key", sorted(MODELS))
def test_raw_scores_and_labels_are_bit_exact(key, tmp_path):
    model, X = MODELS[key]
    program = lower_model(model)
    scorer, manifest = build_scorer(program, "python", tmp_path)
    rows = _rows(model, X, program)
    exact = ["predict"]
    if "decision_function" in manifest["outputs"]:
        exact.append("decision_function")
    if key in ("gb binary", "gb exponential", "hgb binary"):
        exact.append("predict_proba")  # scipy's expit is 1 / (1 + exp(-x)) with libm's exp
    refused = 0
    for output in exact:
        expected = _sklearn(model, output, rows)
        actual = scorer.score(output, rows)
        for row, e, a in zip(rows, expected, actual):
            if e is None:
                refused += 1
                assert type(a).__name__ == "Refused", (output, row, a)
                continue
            e = e.tolist() if isinstance(e, np.ndarray) else e.item()
            if key == "hgb poisson":  # np.exp (SIMD) and libm exp may differ by an ulp
                assert math.isclose(e, a, rel_tol=1e-15), (output, row, e, a)
            else:
                assert e == a and type(e) is type(a), (output, row, e, a)
    assert (refused > 0) == key.startswith("gb")  # GB refuses NaN/inf, HGB scores them


def test_binary_tie_at_zero_follows_each_model():
    """GB predicts classes_[1] when the raw score is exactly 0 (>= 0); HGB classes_[0] (> 0)."""
    X, y, _ = _data()
    gb = GradientBoostingClassifier(n_estimators=2, init="zero", random_state=0).fit(X, y)
    for reg in gb.estimators_.ravel():
        reg.tree_.value[:] = 0.0
    hgb = HistGradientBoostingClassifier(max_iter=2).fit(X, y)
    hgb._baseline_prediction = np.zeros_like(hgb._baseline_prediction)
    for (p,) in hgb._predictors:
        p.nodes["value"] = 0.0
    row = [float(v) for v in X[0]]
    assert gb.predict([row])[0] == 1 and hgb.predict([row])[0] == 0
    for model in (gb, hgb):
        program = lower_model(model)
        for target in ("python", "sql"):
            with tempfile.TemporaryDirectory() as tmp:
                scorer, _ = build_scorer(program, target, Path(tmp))
                assert scorer.score("predict", [row]) == [model.predict([row])[0].item()]


def test_hgb_scores_nan_and_infinity_without_refusing(tmp_path):
    model, X = MODELS["hgb regressor"]
    scorer, _ = build_scorer(lower_model(model), "python", tmp_path)
    rows = [[math.nan, math.inf, -math.inf], [1e308, -1e308, math.nan], [math.inf] * 3]
    assert scorer.score("predict", rows) == [float(v) for v in model.predict(np.array(rows))]


def test_gb_refuses_nan_and_float32_overflow_like_sklearn(tmp_path):
    model, X = MODELS["gb regressor"]
    mod, _ = build_scorer(lower_model(model), "python", tmp_path)
    for bad, reason in (([math.nan, 0.0, 0.0], "NaN"), ([0.0, 1e39, 0.0], "too large"),
                        ([0.0, 0.0, -math.inf], "infinity")):
        with pytest.raises(ValueError, match=reason):
            model.predict(np.array([bad]))
        with pytest.raises(ValueError, match=reason):
            mod.module.predict(bad)
    ok = [3.4028234663852886e38, 0.0, 0.0]  # FLT_MAX itself is finite in float32
    assert mod.module.predict(ok) == model.predict(np.array([ok]))[0]


@pytest.mark.parametrize("target", ["python", "c", "sql"])
@pytest.mark.parametrize("frame", [False, True])
def test_hgb_categorical_splits_route_unknown_and_missing_categories(frame, target):
    """Category-set splits: known categories by the bitset, an unseen or missing one the
    way the split sends missing values; codes from HGB's own OrdinalEncoder."""
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 6, 300)
    X = np.column_stack([codes, rng.normal(size=300)]).astype(float)
    X[rng.random(300) < 0.1, 0] = np.nan
    y = np.isin(codes, [1, 4]).astype(int) + (X[:, 1] > 0.5)
    if frame:
        names = np.array(["a", "b'", "c", "d e", "ü", "f"], dtype=object)
        col = pd.Series([None if c != c else names[int(c)] for c in X[:, 0]], dtype=object)
        X = pd.DataFrame({"cat": col.astype("category"), "num": X[:, 1]})
        model = HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(X, y)
        rows = [[v, x] for v in [*names, "unseen", None] for x in (-1.0, 0.6, math.nan)]
    else:
        model = HistGradientBoostingClassifier(max_iter=5, categorical_features=[0],
                                               random_state=0).fit(X, y)
        rows = [[v, x] for v in [0.0, 1.0, 4.0, 5.0, 7.0, 2.5, -1.0, 1e300, math.nan]
                for x in (-1.0, 0.6, math.nan)]
    program = lower_model(model)
    assert any(t.categories for t in collect_trees(program))
    with tempfile.TemporaryDirectory() as tmp:
        scorer, manifest = build_scorer(program, target, Path(tmp))
        report = compare(model, program, [scorer], manifest["outputs"], rows)
    assert report.ok, report.format(program.features)


def test_gb_with_an_init_estimator_that_reads_x_is_refused():
    X, _, yr = _data()
    model = make_pipeline(StandardScaler(), GradientBoostingRegressor(
        n_estimators=2, init=LinearRegression())).fit(X, yr)
    with pytest.raises(UnsupportedError, match="init=LinearRegression"):
        lower_model(model)
