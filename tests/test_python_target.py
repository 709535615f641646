"""Python-target specifics: row shapes and value types, refusals, trees as code or tables,
checks left out or guarded."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import build_scorer
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import scorec.targets.python as python_target
from scorec.compiler import ir
from scorec.compiler.lower import lower_model
from scorec.compiler.passes import collect_trees
from scorec.runtime.verify import compare, generate_rows


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"size": rng.normal(size=60),
                      "colour": pd.Series(rng.choice(["red", "blue"], 60), dtype=object)})
    y = np.where(X["size"] > 0, "big", "small")
    ct = ColumnTransformer([("c", OneHotEncoder(), ["colour"])], remainder="passthrough")
    return make_pipeline(ct, LogisticRegression()).fit(X, y)


def _module(model, tmp: Path):
    scorer, _ = build_scorer(lower_model(model), "python", tmp)
    return scorer.module


def test_rows_as_sequence_or_mapping(model, tmp_path):
    mod = _module(model, tmp_path)
    assert mod.FEATURES == ("size", "colour")
    assert mod.CLASSES == ("big", "small")
    seq = mod.predict_proba([1.5, "red"])
    assert seq == mod.predict_proba({"colour": "red", "size": 1.5})
    expected = model.predict_proba(pd.DataFrame({"size": [1.5], "colour": ["red"]}))[0]
    assert np.allclose(seq, expected, rtol=1e-9, atol=1e-12)
    assert isinstance(mod.decision_function([1.5, "red"]), float)
    assert mod.predict([1.5, "red"]) == model.predict(
        pd.DataFrame({"size": [1.5], "colour": ["red"]}))[0]


def test_refusals_raise_value_error(model, tmp_path):
    mod = _module(model, tmp_path)
    with pytest.raises(ValueError, match="unknown categor"):
        mod.predict([1.0, "green"])
    with pytest.raises(ValueError, match="NaN"):
        mod.predict([math.nan, "red"])
    with pytest.raises(ValueError, match="NaN"):
        mod.predict({"size": None, "colour": "red"})
    with pytest.raises(ValueError, match="no feature"):
        mod.predict({"size": 1.0})
    with pytest.raises(ValueError, match="1 values, expected 2"):
        mod.predict([1.0])


def _imports(source: str) -> set[str]:
    return {line.split()[1] for line in source.splitlines()
            if line.startswith(("import ", "from "))}


def test_generated_module_imports_only_the_standard_library(model, tmp_path, monkeypatch):
    _module(model, tmp_path)
    assert _imports((tmp_path / "model.py").read_text()) == {"math", "collections.abc"}
    monkeypatch.setattr(python_target, "TREE_CODE_MAX_NODES", 0)
    _module(_forest(), tmp_path)  # trees as tables: decoded with the standard library too
    assert _imports((tmp_path / "model.py").read_text()) == {
        "math", "collections.abc", "sys", "array", "base64"}


def _forest(regressor: bool = False, n_estimators: int = 3, max_depth: int | None = None):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 3))
    X[rng.random(X.shape) < 0.1] = np.nan
    y = (np.nan_to_num(X[:, 0]) + rng.normal(size=300) > 0).astype(int)
    cls = RandomForestRegressor if regressor else RandomForestClassifier
    return cls(n_estimators=n_estimators, max_depth=max_depth, random_state=0).fit(X, y)


def _check_equal(estimator, tmp: Path, source_has: str = "", n_rows: int = 300) -> str:
    program = lower_model(estimator)
    scorer, manifest = build_scorer(program, "python", tmp)
    source = (tmp / "model.py").read_text()
    assert source_has in source
    report = compare(estimator, program, [scorer], manifest["outputs"],
                     generate_rows(program, n_rows))
    assert report.ok, report.format(program.features)
    return source


def test_deep_trees_walk_tables(monkeypatch, tmp_path):
    """Trees deeper than Python's nesting limit allows are walked from tables instead."""
    monkeypatch.setattr(python_target, "TREE_CODE_MAX_DEPTH", 2)
    _check_equal(_forest(), tmp_path, "_walk(")


@pytest.mark.parametrize("regressor", [False, True])
def test_big_forests_are_tables(monkeypatch, tmp_path, regressor):
    """A forest too big to compile quickly as code is data, with NaN routed as learned."""
    monkeypatch.setattr(python_target, "TREE_CODE_MAX_NODES", 100)
    source = _check_equal(_forest(regressor), tmp_path, "_TABLE0 = _table(")
    assert " if f0 <= " not in source


def test_big_code_is_shared_by_the_scoring_functions(monkeypatch, tmp_path):
    monkeypatch.setattr(python_target, "SHARED_MIN_NODES", 0)
    source = _check_equal(_forest(), tmp_path, "def _score(row):")
    assert source.count("if f0 <= ") + source.count("if f0 > ") > 0
    assert "    return _score(row)[1]" in source


def _exotic(v: float) -> list:
    """Values of other types that sklearn (and `float()`) turn into exactly `v`, or into
    a double next to it: they must score as that double."""
    out = [np.float64(v), np.float32(v), Fraction(v) + Fraction(1, 10**30),
           Fraction(v) - Fraction(1, 10**30), Decimal(repr(v)), repr(v)]
    if v.is_integer() and abs(v) < 2**53:
        out += [int(v), np.int64(int(v))]
    return out


def test_values_of_other_types_score_as_their_float(tmp_path):
    """Rows of ints, numpy scalars, Fractions, Decimals or numeric text score exactly as
    the row of their float() values, on every path (list, tuple, mapping)."""
    forest = _forest(max_depth=6)
    mod = _module(forest, tmp_path)
    program = lower_model(forest)
    bounds = sorted({b for t in collect_trees(program) for b, left in zip(t.bound, t.left)
                     if left != -1})
    rng = np.random.default_rng(0)
    checked = 0
    for b in bounds[::3]:
        for v in _exotic(b):
            row = [v if rng.random() < 0.6 else float(b) for _ in range(3)]
            want = mod.predict_proba([float(x) for x in row])
            assert mod.predict_proba(row) == want
            assert mod.predict_proba(tuple(row)) == want
            assert mod.predict_proba(dict(zip(mod.FEATURES, row))) == want
            checked += 1
    assert checked > 50
    assert mod.predict_proba([True, 0, None]) == mod.predict_proba([1.0, 0.0, math.nan])
    with pytest.raises(ValueError, match="could not convert"):
        mod.predict_proba([1.0, "one", 2.0])


def test_linear_models_take_other_types_and_refuse_in_sklearn_order(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    lr = LogisticRegression().fit(X, y)
    mod = _module(lr, tmp_path)
    row = [Fraction(1, 3), np.float32(0.1), 2, Decimal("0.7")]
    got = mod.predict_proba(row)
    assert got == mod.predict_proba([float(v) for v in row])
    assert all(type(p) is float for p in got)
    assert type(mod.decision_function([np.float64(0.5), 1.0, 2.0, 3.0])) is float
    # NaN is reported before infinity, whichever column comes first
    with pytest.raises(ValueError, match="NaN"):
        mod.predict([math.inf, 1.0, math.nan, 0.0])
    with pytest.raises(ValueError, match="infinity"):
        mod.predict([1.0, -math.inf, 1e308, 0.0])
    assert mod.predict([1e308, 1e308, 1e308, 1e308]) in (0, 1)  # overflow is no refusal


def test_checks_that_cannot_fail_are_left_out(tmp_path):
    """An imputed, scaled column is never NaN: the estimator's NaN check is left out."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 3))
    X[rng.random(X.shape) < 0.2] = np.nan
    y = (np.nan_to_num(X[:, 0]) > 0).astype(int)
    pipe = make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression()).fit(X, y)
    source = _check_equal(pipe, tmp_path)
    assert "does not accept missing values" not in source
    assert "Input X contains infinity" in source


def test_two_way_argmax_is_numpys(tmp_path):
    """The inline argmax of two values: the first NaN wins, then the first maximum."""
    a, b = ir.Feature(0), ir.Feature(1)
    program = ir.Program(
        features=(ir.FeatureSpec("a", "number"), ir.FeatureSpec("b", "number")),
        task="classification", classes=("first", "second"),
        outputs={"predict": ir.Output("predict", "label", (ir.Argmax((a, b)),))})
    scorer, _ = build_scorer(program, "python", tmp_path)
    values = [-1.0, 0.0, -0.0, 2.5, math.inf, -math.inf, math.nan]
    for x in values:
        for y in values:
            want = ("first", "second")[int(np.argmax([x, y]))]
            assert scorer.module.predict([x, y]) == want, (x, y)


@pytest.mark.parametrize("tables", [False, True])
def test_long_sums_compile(monkeypatch, tmp_path, tables):
    """A sum of thousands of trees is still the left fold, in statements Python compiles
    (one `a + b + ...` expression of 3,000 terms exceeds its compiler's recursion limit)."""
    if tables:
        monkeypatch.setattr(python_target, "TREE_CODE_MAX_NODES", 0)
    x = ir.Feature(0)
    rng = np.random.default_rng(3)
    cuts, lows, highs = rng.normal(size=3000), rng.normal(size=3000), rng.normal(size=3000)
    stumps = [ir.Tree((x,), (0, 0, 0), (float(c), 0.0, 0.0), (bool(i % 2), False, False),
                      (1, -1, -1), (2, -1, -1), ((), (float(lo),), (float(hi),)))
              for i, (c, lo, hi) in enumerate(zip(cuts, lows, highs))]
    total = ir.Sum((ir.Const(0.5), *(ir.Item(t, 0) for t in stumps)))
    program = ir.Program(features=(ir.FeatureSpec("x", "number"),), task="regression",
                         outputs={"predict": ir.Output("predict", "scalar", (total,))})
    scorer, _ = build_scorer(program, "python", tmp_path)
    for v in (-1.0, 0.0, 0.3, 2.0, math.nan):
        want = 0.5
        for i, (c, lo, hi) in enumerate(zip(cuts, lows, highs)):
            want += lo if (v <= c or (v != v and i % 2)) else hi
        assert scorer.module.predict([v]) == want


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's, on the fast path's way
def test_unconverted_numbers_fall_back_to_the_converted_row(tmp_path):
    """Where numbers reach only arithmetic (imputer, scaler, linear model), the module does
    not convert them up front: any value that would score differently (None, numpy
    scalars, text, Decimal) must still give what the converted row gives."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 3)) * 100
    X[rng.random(X.shape) < 0.2] = np.nan
    y = (np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) > 0).astype(int)
    pipe = make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression()).fit(X, y)
    mod = _module(pipe, tmp_path)
    source = (tmp_path / "model.py").read_text()
    assert "def _predict_proba_strict(row):" in source  # the fast path exists
    values = [0.5, -3.0, 1e30, math.nan, None, 7, True, np.float32(0.1), np.float64(2.5),
              np.float16(65504), np.int64(-4), Fraction(1, 3), Decimal("1.5"), Decimal("NaN"),
              "1.5", math.inf, -math.inf, 10**400]

    def outcome(fn, row):
        try:
            result = fn(row)
        except Exception as exc:  # the type and message must match too
            return type(exc), str(exc)
        return result, [type(v) for v in np.ravel(result)]

    for a in values:
        for b in values[:8]:
            row = [a, b, 1.0]
            converted = [math.nan if v is None else
                         v if isinstance(v, (str, Decimal)) or type(v) is int and v > 2**1000
                         else float(v) for v in row]
            for name in ("predict", "predict_proba", "decision_function"):
                fn = getattr(mod, name)
                want = outcome(fn, converted)
                assert outcome(fn, row) == want, (name, row)
                assert outcome(getattr(mod, f"_{name}_strict"), row) == want, (name, row)
