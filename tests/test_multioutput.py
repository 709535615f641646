"""Multi-output and multilabel models: predict returns a list per row, as sklearn's (n, k)
array does (floats for several regression targets, 0/1 per label for an indicator target),
a list of one where sklearn keeps an (n, 1) y two-dimensional.

The property tests fit the already registered families on a 2-D y (the registered
multi-output components have builders in builders_multioutput.py) and check every target
against the model, plus the manifest's shape (`n_outputs`, `multi_output`) against the
shape of sklearn's own predict; the rest are the refusals and the CLI round trip."""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
from builders import _encode_text, _fit, _preprocessed, _split
from builders_multioutput import multi_dataset
from conftest import TARGETS, build_scorer, rows_for
from hypothesis import assume, given
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import (
    ElasticNet,
    Lars,
    Lasso,
    LassoLars,
    LinearRegression,
    LogisticRegression,
    OrthogonalMatchingPursuit,
    RANSACRegressor,
    Ridge,
    RidgeClassifier,
    RidgeClassifierCV,
    RidgeCV,
)
from sklearn.multioutput import MultiOutputClassifier
from sklearn.neighbors import KNeighborsRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    ExtraTreeClassifier,
    ExtraTreeRegressor,
)

from scorec.compiler.cli import main
from scorec.compiler.lower import lower_model
from scorec.compiler.registry import UnsupportedError
from scorec.runtime.python_runtime import import_module
from scorec.runtime.scorer import Refused
from scorec.runtime.verify import compare

# ---- the multi-output cases of registered families: (model, X it was fitted on) ----------


def _front(draw, X, Y, est):
    """`est` behind imputation, scaling and one-hot text, or bare (NaN rows then refused)."""
    if not _split(X)[1] and not _has_nan(X) and draw(st.booleans()):
        return _fit(est, X, Y)
    return _fit(_preprocessed(draw, X, est), X, Y)


def _has_nan(X) -> bool:
    return bool(np.isnan(np.asarray(X, dtype=float)).any())


LINEAR = (LinearRegression, Ridge, RidgeCV, Lasso, ElasticNet, Lars, LassoLars,
          OrthogonalMatchingPursuit)


@st.composite
def linear_regressor(draw):
    """Every linear regressor that fits a 2-D y (coef_ of one row per output), and
    RANSAC around LinearRegression; an (n, 1) y too (LinearRegression keeps it 2-D)."""
    X, Y = draw(multi_dataset(missing=draw(st.booleans())))
    cls = draw(st.sampled_from(LINEAR + (RANSACRegressor,)))
    if cls is RANSACRegressor:
        est = RANSACRegressor(LinearRegression(), random_state=0)
    elif cls in (Ridge, Lasso, ElasticNet):
        est = cls(alpha=draw(st.sampled_from([0.01, 0.1, 1.0])),
                  fit_intercept=draw(st.booleans()))
    else:
        est = cls(fit_intercept=draw(st.booleans()))
    model = _front(draw, X, Y, est)
    # OrthogonalMatchingPursuit squeezes coef_ when one feature reaches it (to 0-d, or 1-D
    # across outputs): sklearn's own predict raises, and scorec refuses it
    assume(_predicts(model, X))
    return model, X


def _predicts(model, X) -> bool:
    try:
        model.predict(X[:2])
    except ValueError:
        return False
    return True


@st.composite
def ridge_classifier(draw):
    """RidgeClassifier(CV) on an indicator matrix of 2-4 labels."""
    X, Y = draw(multi_dataset(task="classification", n_outputs=(2, 4),
                              missing=draw(st.booleans())))
    cls = draw(st.sampled_from([RidgeClassifier, RidgeClassifierCV]))
    est = cls(alpha=draw(st.sampled_from([0.1, 1.0]))) if cls is RidgeClassifier else cls()
    return _front(draw, X, Y, est), X


def _network(draw) -> dict:
    return {"hidden_layer_sizes": tuple(draw(st.lists(st.integers(1, 5), min_size=1,
                                                      max_size=2))),
            "activation": draw(st.sampled_from(["identity", "logistic", "tanh", "relu"])),
            "solver": draw(st.sampled_from(["lbfgs", "adam"])),
            "max_iter": draw(st.integers(2, 20)), "random_state": draw(st.integers(0, 99))}


@st.composite
def mlp_classifier(draw):
    """A logistic output per label of a 2-4 label indicator target."""
    X, Y = draw(multi_dataset(task="classification", n_outputs=(2, 4),
                              missing=draw(st.booleans())))
    return _front(draw, X, Y, MLPClassifier(**_network(draw))), X


@st.composite
def mlp_regressor(draw):
    """Several outputs (one column ravels); squared_error, or poisson on |y|."""
    X, Y = draw(multi_dataset(missing=draw(st.booleans())))
    loss = draw(st.sampled_from(["squared_error", "poisson"]))
    if loss == "poisson":
        Y = np.abs(Y) / (np.abs(Y).max() or 1.0)
    return _front(draw, X, Y, MLPRegressor(loss=loss, **_network(draw))), X


def _tree_model(draw, X, Y, est):
    """Trees take NaN as it is; text is one-hot encoded beside the passed-through numbers."""
    txt = _split(X)[1]
    if txt:
        ct = ColumnTransformer([("txt", _encode_text(), txt)], remainder="passthrough",
                               sparse_threshold=0)
        return _fit(make_pipeline(ct, est), X, Y)
    return _fit(est, X, Y)


def _tree_params(draw, cls) -> dict:
    params = {"max_depth": draw(st.sampled_from([2, 4, None])), "random_state": 0,
              "min_samples_leaf": draw(st.sampled_from([1, 3]))}
    if cls in (RandomForestRegressor, ExtraTreesRegressor, RandomForestClassifier,
               ExtraTreesClassifier):
        params["n_estimators"] = draw(st.integers(2, 5))
    return params


@st.composite
def tree_regressor(draw):
    """A leaf value per output; forests average them per output in tree order."""
    X, Y = draw(multi_dataset())
    cls = draw(st.sampled_from([DecisionTreeRegressor, ExtraTreeRegressor,
                                RandomForestRegressor, ExtraTreesRegressor]))
    return _tree_model(draw, X, Y, cls(**_tree_params(draw, cls))), X


@st.composite
def tree_classifier(draw):
    """Several outputs, each with the classes [0, 1]: predict is an indicator matrix."""
    X, Y = draw(multi_dataset(task="classification", n_outputs=(2, 4)))
    cls = draw(st.sampled_from([DecisionTreeClassifier, ExtraTreeClassifier,
                                RandomForestClassifier, ExtraTreesClassifier]))
    return _tree_model(draw, X, Y, cls(**_tree_params(draw, cls))), X


@st.composite
def k_neighbors_regressor(draw):
    """2-4 outputs (neighbors.py's own convention: a vector predict)."""
    X, Y = draw(multi_dataset(n_outputs=(2, 4), missing=False, n_str=(0, 0)))
    est = KNeighborsRegressor(n_neighbors=draw(st.integers(1, 5)),
                              weights=draw(st.sampled_from(["uniform", "distance"])))
    return _front(draw, X[:40], Y[:40], est), X[:40]


CASES = {
    "linear_regressor": linear_regressor,
    "ridge_classifier": ridge_classifier,
    "MLPClassifier": mlp_classifier,
    "MLPRegressor": mlp_regressor,
    "tree_regressor": tree_regressor,
    "tree_classifier": tree_classifier,
    "KNeighborsRegressor": k_neighbors_regressor,
}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case", sorted(CASES))
@given(data=st.data())
def test_multi_output_equals_model(case: str, target: str, data: st.DataObject) -> None:
    model, X = data.draw(CASES[case](), label="model")
    program = lower_model(model)
    rows = data.draw(rows_for(program), label="rows")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = np.asarray(model.predict(X[:3]))
    with tempfile.TemporaryDirectory() as tmp:
        scorer, manifest = build_scorer(program, target, Path(tmp))
        assert manifest["multi_output"] == (sk.ndim == 2)
        assert manifest["n_outputs"] == (sk.shape[1] if sk.ndim == 2 else 1)
        report = compare(model, program, [scorer], manifest["outputs"], rows)
        assert report.ok, report.format(program.features)
        if program.task == "classification" and sk.ndim == 2:  # 0/1 as ints, per label
            assert manifest["classes"] == list(range(sk.shape[1]))
            for got in scorer.score("predict", rows):
                assert isinstance(got, Refused) or (
                    len(got) == sk.shape[1] and all(type(v) is int and v in (0, 1)
                                                    for v in got)), got


# ---- refusals --------------------------------------------------------------------------------


def _xy(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, np.column_stack([X[:, 0] > 0, X[:, 1] > 0.5]).astype(int)


@pytest.mark.parametrize("labels", [
    lambda Y: np.where(Y == 1, "yes", "no"),  # text labels
    lambda Y: Y * 2,  # integers, but not 0 and 1
    lambda Y: np.column_stack([Y[:, 0], Y[:, 0] + Y[:, 1]]),  # a third class in one output
    lambda Y: Y.astype(float),  # 0.0 / 1.0: sklearn predicts floats
], ids=["text", "0-2", "three", "float"])
@pytest.mark.parametrize("cls", [DecisionTreeClassifier, RandomForestClassifier])
def test_multi_output_trees_need_0_1_outputs(cls, labels):
    X, Y = _xy()
    model = cls(max_depth=3, random_state=0, **(
        {"n_estimators": 2} if cls is RandomForestClassifier else {})).fit(X, labels(Y))
    with pytest.raises(UnsupportedError, match=r"multi-output .*classes.*\[0, 1\]"):
        lower_model(model)


@pytest.mark.parametrize("labels", [
    lambda Y: np.where(Y == 1, "yes", "no"),
    lambda Y: np.column_stack([Y[:, 0], Y[:, 0] + Y[:, 1]]),
    lambda Y: Y.astype(bool),  # True / False: sklearn predicts booleans
], ids=["text", "three", "bool"])
def test_multi_output_classifier_needs_0_1_estimators(labels):
    X, Y = _xy()
    model = MultiOutputClassifier(LogisticRegression()).fit(X, labels(Y))
    with pytest.raises(UnsupportedError, match=r"estimators_\[\d\].*labels 0 and 1"):
        lower_model(model)


def test_multilabel_outputs_are_sklearns():
    """Multilabel MLPClassifier has predict_proba (the logistic units), RidgeClassifier a
    decision_function per label; the multi-output tree classifier and MultiOutputClassifier
    only predict (sklearn's predict_proba is a list of arrays, one per output)."""
    X, Y = _xy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp = MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0).fit(X, Y)
    assert set(lower_model(mlp).outputs) == {"predict", "predict_proba"}
    ridge = RidgeClassifier().fit(X, Y)
    assert set(lower_model(ridge).outputs) == {"predict", "decision_function"}
    assert set(lower_model(DecisionTreeClassifier().fit(X, Y)).outputs) == {"predict"}
    assert set(lower_model(MultiOutputClassifier(LogisticRegression()).fit(X, Y)).outputs) \
        == {"predict"}


# ---- the CLI round trip ----------------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda X, Y: make_pipeline(StandardScaler(), RandomForestRegressor(
        n_estimators=3, max_depth=4, random_state=0)).fit(X, Y),
    lambda X, Y: LinearRegression().fit(X, Y[:, :1]),  # predicts an (n, 1) array
], ids=["forest", "one column"])
def test_cli_compiles_and_verifies_a_multi_output_regressor(make, tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 3))
    model = make(X, np.column_stack([X @ [1.0, -2.0, 0.5], X[:, 0] ** 2, -X[:, 2]]))
    path = tmp_path / "multi.joblib"
    joblib.dump(model, path)
    out = tmp_path / "out"
    targets = [arg for t in TARGETS for arg in ("--target", t)]
    assert main(["compile", str(path), "-o", str(out), *targets]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    width = np.asarray(model.predict(X[:1])).shape[1]
    assert (manifest["n_outputs"], manifest["multi_output"]) == (width, True)
    scorer = import_module(out / "multi.py")
    got = scorer.predict(list(X[0]))
    assert isinstance(got, list) and len(got) == width
    capsys.readouterr()
    assert main(["verify", str(path), str(out), "--examples", "200"]) == 0
    report = capsys.readouterr().out
    assert "OK: every artifact equals the model" in report
    assert all(f"{t:>6}: " in report for t in TARGETS)
