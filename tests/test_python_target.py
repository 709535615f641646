"""Python-target specifics: row shapes, refusals, deep trees walked from tables."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import build_scorer
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import OneHotEncoder

import scorec.targets.python as python_target
from scorec.compiler.lower import lower_model
from scorec.runtime.verify import compare, generate_rows


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"size": rng.normal(size=60),
                      "colour": pd.Series(rng.choice(["red", "blue"], 60), dtype=object)})
    y = np.where(X["size"] > 0, "big", "small")
    ct = ColumnTransformer([("c", OneHotEncoder(), ["colour"])], remainder="passthrough")
    from sklearn.pipeline import make_pipeline

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


def test_generated_module_imports_only_the_standard_library(model, tmp_path):
    _module(model, tmp_path)
    source = (tmp_path / "model.py").read_text()
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert imports == ["import math as _math",
                       "from collections.abc import Mapping as _Mapping"]


def test_deep_trees_walk_tables(monkeypatch):
    """Trees deeper than Python's nesting limit allows are walked from tables instead."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 3))
    X[rng.random(X.shape) < 0.1] = np.nan
    y = (np.nan_to_num(X[:, 0]) + rng.normal(size=300) > 0).astype(int)
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    monkeypatch.setattr(python_target, "TREE_CODE_MAX_DEPTH", 2)
    program = lower_model(forest)
    with tempfile.TemporaryDirectory() as tmp:
        scorer, manifest = build_scorer(program, "python", Path(tmp))
        assert "_walk((" in (Path(tmp) / "model.py").read_text()
        report = compare(forest, program, [scorer], manifest["outputs"],
                         generate_rows(program, 300))
    assert report.ok, report.format(program.features)
