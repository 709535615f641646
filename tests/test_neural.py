"""Neural networks: what the property test cannot see (signs of zero and NaN in the
activations, exact ties at the label rules, the size of the generated IR) and the
refusals (float32 fits, multilabel and multi-output models, a single class)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from conftest import build_scorer
from ir_eval import evaluate
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.neural_network._base import ACTIVATIONS

from scorec.compiler import ir
from scorec.compiler.lower import lower_model
from scorec.compiler.lowering.neural import HIDDEN
from scorec.compiler.registry import UnsupportedError

SPECIALS = [math.nan, -0.0, 0.0, math.inf, -math.inf, 1e300, -1e300, 5e-324, -5e-324, 1e-17,
            0.5, -3.0, 40.0, -750.0, 750.0]


def _data(n: int = 60, classes: int = 2, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5) * (classes - 2), X @ [1.0, -2.0, 0.5]


def _fit(cls, X, y, **params):
    """A small network, five iterations (convergence warnings are expected)."""
    est = cls(**{"hidden_layer_sizes": (3,), "max_iter": 5, "random_state": 0, **params})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


def _nodes(program: ir.Program) -> list[ir.Expr]:
    """Every node reachable from the outputs, once each."""
    seen: dict[int, ir.Expr] = {}
    stack = [v for out in program.outputs.values() for v in out.values]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen[id(node)] = node
            stack.extend(node.children())
            if isinstance(node, ir.Map):
                stack.append(node.body)
    return list(seen.values())


@pytest.mark.parametrize("name", [n for n, fn in HIDDEN.items() if fn is not None])
def test_hidden_activations_are_sklearns_on_special_values(name):
    """relu keeps NaN and turns -0.0 into +0.0 as np.maximum(X, 0) does; every activation
    agrees with sklearn's in-place function, sign of zero included."""
    features = tuple(ir.FeatureSpec(f"x{i}", "number") for i in range(len(SPECIALS)))
    mapped = ir.Map(HIDDEN[name](ir.Var(0)),
                    (ir.Pack(tuple(ir.Feature(i) for i in range(len(SPECIALS)))),))
    program = ir.Program(features, "regression", outputs={"out": ir.Output(
        "out", "vector", tuple(ir.Item(mapped, k) for k in range(len(SPECIALS))))})
    got = evaluate(program, "out", SPECIALS)
    expected = np.array(SPECIALS)
    with np.errstate(all="ignore"):
        ACTIVATIONS[name](expected)
    for x, e, g in zip(SPECIALS, expected.tolist(), got):
        assert math.isnan(e) == math.isnan(g), (x, e, g)
        if not math.isnan(e):  # scipy's expit uses libm's exp, the evaluator numpy's
            assert math.isclose(e, g, rel_tol=1e-15) and math.copysign(1, e) == math.copysign(
                1, g), (x, e, g)


@pytest.mark.parametrize("activation", list(HIDDEN))
@pytest.mark.parametrize("sizes", [(3,), (4, 2)])
def test_one_mat_vec_per_layer_and_one_map_per_hidden_activation(activation, sizes):
    X, y, _ = _data(classes=3)
    model = _fit(MLPClassifier, X, y, hidden_layer_sizes=sizes, activation=activation)
    nodes = _nodes(lower_model(model))
    maps = [n for n in nodes if isinstance(n, ir.Map)]
    assert len(maps) == (0 if activation == "identity" else len(sizes))
    items = [n for n in nodes if isinstance(n, ir.Item)]
    (last,) = {id(i.vec): i.vec for i in items}.values()  # only the output layer is read
    layers, node = [], last
    while not isinstance(node, ir.Pack):  # back from the output to the input
        if isinstance(node, ir.MatVec):
            layers.append(node)
            node = node.x
        else:
            node = node.operands[0]
    assert len(layers) == len([n for n in nodes if isinstance(n, ir.MatVec)])
    assert len(layers) == len(model.coefs_)
    for mv, coef, intercept in zip(layers[::-1], model.coefs_, model.intercepts_):
        assert np.array_equal(np.array(mv.matrix), coef.T) and mv.bias == tuple(intercept)


def _scores_like_sklearn(model, rows: list[list], tmp_path) -> None:
    program = lower_model(model)
    for target in ("python", "sql"):
        (tmp_path / target).mkdir()
        scorer, _ = build_scorer(program, target, tmp_path / target)
        assert scorer.score("predict", rows) == [v.item() for v in model.predict(np.array(rows))]
        for e, a in zip(model.predict_proba(np.array(rows)).tolist(),
                        scorer.score("predict_proba", rows)):
            assert e == pytest.approx(a, rel=1e-12)


def test_binary_probability_of_exactly_one_half_is_the_first_class(tmp_path):
    """LabelBinarizer.inverse_transform thresholds with `p > 0.5`: 0.5 itself is classes_[0]."""
    X, y, _ = _data()
    model = _fit(MLPClassifier, X, y)
    model.coefs_[-1][:] = 0.0
    model.intercepts_[-1][:] = 0.0
    rows = [[float(v) for v in X[0]], [1e300, -1e300, 0.0]]
    assert model.predict_proba(np.array(rows))[:, 1].tolist() == [0.5, 0.5]
    assert model.predict(np.array(rows)).tolist() == [0, 0]
    _scores_like_sklearn(model, rows, tmp_path)


def test_multiclass_label_is_the_argmax_of_the_probabilities(tmp_path):
    """Scores -1e-17 and 0 are distinct, their probabilities equal (exp(-1e-17) == 1):
    sklearn's argmax over the probabilities picks the first, not the larger score."""
    X, y, _ = _data(classes=3)
    model = _fit(MLPClassifier, X, y)
    model.coefs_[-1][:] = 0.0
    model.intercepts_[-1][:] = [-1e-17, 0.0, -5.0]
    rows = [[float(v) for v in X[0]], [0.0, 1.0, -2.0]]
    assert model.predict(np.array(rows)).tolist() == [model.classes_[0]] * 2
    _scores_like_sklearn(model, rows, tmp_path)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_float32_fits_are_refused(cls):
    X, y, yr = _data()
    model = _fit(cls, X.astype(np.float32), y if cls is MLPClassifier else yr)
    assert model.coefs_[0].dtype == np.float32
    with pytest.raises(UnsupportedError, match="float32.*refit it on float64"):
        lower_model(model)


@pytest.mark.parametrize("task", ["multilabel", "multi-output regression"])
def test_several_outputs_predict_a_list_per_row(task: str, tmp_path) -> None:
    """A multilabel MLPClassifier (0/1 per label, `p > 0.5`) and a multi-output
    MLPRegressor predict a list per row, sklearn's row of its (n, k) array."""
    X, y, yr = _data()
    model = _fit(MLPClassifier, X, np.c_[y, 1 - y]) if task == "multilabel" else \
        _fit(MLPRegressor, X, np.c_[yr, -yr])
    program = lower_model(model)
    assert program.outputs["predict"].shape == "vector"
    rows = [list(r) for r in X[:20]]
    scorer, _ = build_scorer(program, "python", tmp_path)
    got = scorer.score("predict", rows)
    want = model.predict(np.array(rows)).tolist()
    if task == "multilabel":
        assert got == want
    else:
        assert all(g == pytest.approx(w, rel=1e-12) for g, w in zip(got, want))


def test_a_single_class_is_refused():
    X, _, _ = _data()
    model = _fit(MLPClassifier, X, np.zeros(len(X)))
    assert model.predict_proba(X[:1]).shape == (1, 2)  # two columns for one class
    with pytest.raises(UnsupportedError, match="single class"):
        lower_model(model)
