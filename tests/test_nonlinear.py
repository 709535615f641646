"""Nonlinear transformers: the arithmetic the property test rarely reaches (numpy.interp's
special slopes, ndtri's branches, an exact fmod), sklearn's quirks reproduced, and the
configurations refused because sklearn's answer is not a function of the row."""

from __future__ import annotations

import math
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import build_scorer
from ir_eval import Evaluator
from scipy.special import ndtri
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PowerTransformer, QuantileTransformer, SplineTransformer

from scorec.compiler.ir import Feature
from scorec.compiler.lower import lower_model
from scorec.compiler.lowering.nonlinear import _ndtri, _remainder
from scorec.compiler.passes import _postorder
from scorec.compiler.registry import UnsupportedError
from scorec.runtime.verify import compare, refusal_kind


def _same_bits(a: float, b: float) -> bool:
    return (a != a and b != b) or (a == b and math.copysign(1, a) == math.copysign(1, b))


def _value(expr, x: float) -> float:
    """The expression at feature 0 = x, evaluated leaves first (long chains stay shallow)."""
    ev = Evaluator([x])
    for node in _postorder([expr]):
        ev(node)
    return float(ev(expr))


def _agree(model, rows: list[list]) -> None:
    """The compiled Python module returns what the model returns on every row."""
    program = lower_model(model)
    with tempfile.TemporaryDirectory() as tmp:
        scorer, manifest = build_scorer(program, "python", Path(tmp))
        report = compare(model, program, [scorer], manifest["outputs"], rows)
    assert report.ok, report.format(program.features)


def test_ndtri_is_scipys_on_every_branch():
    rng = np.random.default_rng(0)
    ys = np.concatenate([rng.random(150), np.exp(rng.uniform(-740, -2, 150)),
                         1 - np.exp(rng.uniform(-36, -2, 100)),
                         [0.0, 1.0, 0.5, -1e-300, 1 + 2**-52, 5e-324, math.nan, 1e-7 - 2**-52,
                          0.13533528323661269189, 1 - 0.13533528323661269189,
                          math.exp(-32), math.exp(-32) * (1 + 2**-52)]])
    expr = _ndtri(Feature(0))
    for y in ys:
        got, want = _value(expr, float(y)), float(ndtri(y))
        assert got == want or (got != got and want != want) or \
            abs(got - want) <= 4e-16 * abs(want), (y, got, want)


def test_remainder_is_numpys_exactly():
    """fmod by long division: exact for every double, huge quotients included."""
    rng = np.random.default_rng(1)
    for b in (1.0, 0.1, 123456.789, 1e-300, 5e-324, 1.7e308, math.pi):
        expr = _remainder(Feature(0), b)
        for a in np.concatenate([rng.normal(size=12) * 10.0 ** rng.integers(-300, 300, 12),
                                 [0.0, -0.0, b, -b, 1.7976931348623157e308, -5e-324, math.inf,
                                  math.nan, b * 2**26, -np.nextafter(b, 0)]]):
            with np.errstate(all="ignore"):
                want = float(np.remainder(a, b))
            assert _same_bits(_value(expr, float(a)), want), (a, b)


@pytest.mark.parametrize("distribution", ["uniform", "normal"])
def test_interp_with_zero_infinite_and_repeated_slopes(distribution):
    """Quantiles spanning the double range (a slope of 0), a subnormal gap (an infinite
    slope) and repeats: numpy.interp's equality and NaN fallbacks decide the result."""
    q = np.array([-1.7e308, -1e-320, 0.0, 1e-320, 1.0, 1.0, 1.0, 1.7e308])
    X = np.arange(len(q), dtype=float)[:, None]
    model = make_pipeline(QuantileTransformer(n_quantiles=len(q),
                                              output_distribution=distribution), Ridge())
    model.fit(X, X[:, 0])
    model[0].quantiles_ = q[:, None]
    values = [*q, *np.nextafter(q, math.inf), *np.nextafter(q, -math.inf), 0.5, -0.5, 1e300,
              -1e300, 2.5e-320, -5e-321, 1.6e308, math.nan]
    _agree(model, [[float(v)] for v in values])


@pytest.mark.parametrize("degree", [0, 1])
def test_linear_extrapolation_degree_carries_over_features(degree):
    """sklearn's linear branch raises `degree` (<= 1) inside its feature loop, so later
    features extrapolate from t[1] or t[2] instead of the first knot."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 3)) * 10
    model = make_pipeline(SplineTransformer(n_knots=4, degree=degree, extrapolation="linear"),
                          Ridge()).fit(X, X[:, 0])
    knots = model[0].bsplines_[1].t
    values = [*knots, *np.nextafter(knots, math.inf), -100.0, 100.0, 0.0]
    _agree(model, [[float(v)] * 3 for v in values] + [[0.0, float(v), 0.0] for v in values])


@pytest.mark.parametrize("params, width, reason", [
    ({"degree": 0, "extrapolation": "periodic", "sparse_output": True}, 1, "inconsistent shapes"),
    ({"degree": 0, "extrapolation": "constant", "n_knots": 4}, 1, "broadcast"),
    ({"degree": 0, "extrapolation": "linear", "n_knots": 2}, 2, "IndexError"),
    ({"extrapolation": "continue", "sparse_output": True, "handle_missing": "zeros"}, 2,
     "batch's minimum"),
    ({"extrapolation": "error", "sparse_output": True, "handle_missing": "zeros"}, 1,
     "outside the knots"),
])
def test_spline_configurations_sklearn_cannot_score_row_by_row(params, width, reason):
    X = np.random.default_rng(3).normal(size=(30, width)) + 5.0  # 0.0 is outside the knots
    spline = SplineTransformer(**params).fit(X)
    ridge = Ridge().fit(np.zeros((3, spline.n_features_out_)), np.zeros(3))
    with pytest.raises(UnsupportedError, match=reason):
        lower_model(make_pipeline(spline, ridge))


def test_quantiles_out_of_order_are_refused():
    X = np.arange(10.0)[:, None]
    model = make_pipeline(QuantileTransformer(n_quantiles=5), Ridge()).fit(X, X[:, 0])
    model[0].quantiles_ = np.array([[0.0], [2.0], [1.0], [3.0], [4.0]])
    with pytest.raises(UnsupportedError, match="not ascending"):
        lower_model(model)


def _refusal(model, row: list[float]) -> tuple[str, str]:
    """(the kind verify reads from sklearn's message, the kind scorec's check reports)."""
    with warnings.catch_warnings(), pytest.raises(ValueError) as raised:
        warnings.simplefilter("ignore")
        model.predict(np.array([row]))
    program = lower_model(model)
    failing = [c for c in program.checks if Evaluator(row)(c.fails)]
    return refusal_kind(str(raised.value)), failing[0].reason.name


def test_refusal_kinds_read_from_sklearns_messages():
    X = np.random.default_rng(4).random((30, 1)) + 0.5
    box_cox = make_pipeline(PowerTransformer(method="box-cox"), Ridge()).fit(X, X[:, 0])
    dense = make_pipeline(SplineTransformer(extrapolation="error"), Ridge()).fit(X, X[:, 0])
    sparse = make_pipeline(SplineTransformer(extrapolation="error", sparse_output=True),
                           Ridge()).fit(X, X[:, 0])
    for model, row in ((box_cox, [0.0]), (dense, [9.0]), (sparse, [-9.0])):
        sklearn_kind, ours = _refusal(model, row)
        assert sklearn_kind == ours
