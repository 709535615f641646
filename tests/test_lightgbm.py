"""LightGBM specifics the shared property test cannot reach: rows probing every split of
the model itself (LightGBM's zero region, missing types, category codes beyond int range,
which the generic boundary search does not follow through its input forms), hand-written
model files for each decision rule, CSR input, pandas categorical columns into a bare
wrapper, the objective's parameters as LightGBM parses them, the CLI on native files
(without lightgbm importable), and the refusals."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import builders  # noqa: F401 -- first: builders.py imports every family, this one too
import joblib
import numpy as np
import pandas as pd
import pytest
from booster_checks import CategoryColumns, check_model
from builders_lightgbm import BUILDERS
from conftest import build_scorer
from hypothesis import given
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from scorec.compiler.cli import main
from scorec.compiler.ir import Const, Item, Sum, Tree
from scorec.compiler.load import load_model
from scorec.compiler.lower import lower_model
from scorec.compiler.native.lightgbm_file import (
    ZERO_THRESHOLD,
    LightGBMModel,
    atof,
    from_booster,
    read,
)
from scorec.compiler.registry import CompileError, UnsupportedError
from scorec.runtime.adversarial import SPECIAL_NUMBERS

lgb = pytest.importorskip("lightgbm")

K = ZERO_THRESHOLD
ZERO_REGION = (0.0, -0.0, 1e-36, -1e-36, K, -K, math.nextafter(K, 0.0), math.nextafter(-K, 0.0),
               math.nextafter(K, 1.0), math.nextafter(-K, -1.0), 2e-35, -2e-35, 5e-324)
HUGE = (2.0**31, -(2.0**31), 2.0**31 - 0.5, -(2.0**31) - 1.0, 1e300, -1e300, math.inf, -math.inf,
        math.nan, 0.5, -0.5, -0.999, -1.0, 0.999)


def _parsed(model: object) -> LightGBMModel:
    """The LightGBM model at the end of `model` (a wrapper, a pipeline or a native model)."""
    last = model.steps[-1][1] if hasattr(model, "steps") else model
    return last if isinstance(last, LightGBMModel) else from_booster(last.booster_, "model")


def _probes(model: LightGBMModel) -> dict[int, list]:
    """Per feature of the LightGBM model: every threshold and two doubles either side,
    every category code of a split and the values next to it, the zero region, and huge,
    infinite and missing values; text categories and unseen text for pandas categoricals."""
    probes: dict[int, set] = {j: set(ZERO_REGION + HUGE) for j in range(model.n_features_in_)}
    for tree in model.trees:
        for node, (f, t, dt) in enumerate(zip(tree.split_feature, tree.threshold,
                                              tree.decision_type)):
            if dt & 1:
                for c in tree.category_set(node):
                    probes[f].update((float(c), c + 0.5, c - 0.5, -c - 0.5))
                continue
            for step in (t, math.nextafter(t, math.inf), math.nextafter(t, -math.inf)):
                probes[f].update((step, math.nextafter(step, math.inf),
                                  math.nextafter(step, -math.inf)))
    out: dict[int, list] = {j: sorted(v, key=repr) for j, v in probes.items()}
    for j, cats in model.pandas_categories().items():
        out[j] = ([*cats, "unseen", "", None] if isinstance(cats[0], str)
                  else [*map(float, cats), *HUGE, 99.0])
    return out


def _input_probes(model: object, program) -> dict[int, list]:
    """Probes per compiled input: the LightGBM model's own when it reads the raw inputs,
    else numbers around zero and the specials (a pipeline transforms them first)."""
    inner = _parsed(model)
    if len(program.features) == inner.n_features_in_ and not hasattr(model, "steps"):
        return _probes(inner)
    probes: dict[int, list] = {}
    for j, f in enumerate(program.features):
        probes[j] = [None, "unseen", "CA"] if f.kind == "string" else \
            list(ZERO_REGION + HUGE + SPECIAL_NUMBERS)
    return probes


def _check(model: object, **options) -> None:
    check_model(model, _input_probes, **options)


@pytest.mark.parametrize("component", sorted(BUILDERS))
@given(data=st.data())
def test_rows_at_every_split_of_the_model(component: str, data: st.DataObject) -> None:
    """Every builder's models on rows at and one and two doubles around every threshold,
    at every category code and beside it, in LightGBM's zero region, beyond int range."""
    model = data.draw(BUILDERS[component](), label="model")
    _check(model, seed=data.draw(st.integers(0, 100)))


# ---- hand-written model files: one decision rule each --------------------------------

HEADER = """tree
version=v4
num_class={num_class}
num_tree_per_iteration={per_iteration}
label_index=0
max_feature_idx={max_feature}
objective={objective}
feature_names={names}
feature_infos={infos}

"""


def _tree(splits: list[tuple], leaves: list[float], extra: str = "") -> str:
    """A chain of splits: split i sends left to leaf i, right to split i + 1 (the last
    split's right child is the last leaf). A split is (feature, threshold, decision_type)."""
    n = len(splits)
    left = " ".join(str(~i) for i in range(n))
    right = " ".join([str(i + 1) for i in range(n - 1)] + [str(~n)])
    return (f"num_leaves={n + 1}\nnum_cat={extra.count('cat_boundaries') and 1}\n"
            f"split_feature={' '.join(str(s[0]) for s in splits)}\n"
            f"threshold={' '.join(repr(float(s[1])) for s in splits)}\n"
            f"decision_type={' '.join(str(s[2]) for s in splits)}\n"
            f"left_child={left}\nright_child={right}\n"
            f"leaf_value={' '.join(repr(float(v)) for v in leaves)}\n{extra}"
            "shrinkage=1\n")


def _model_file(trees: list[str], objective: str = "regression", features: int = 1,
                num_class: int = 1, tmp: Path | None = None) -> LightGBMModel:
    names = " ".join(f"f{j}" for j in range(features))
    text = HEADER.format(num_class=num_class, per_iteration=num_class, max_feature=features - 1,
                         objective=objective, names=names, infos=" ".join(["[-1:1]"] * features))
    text += "".join(f"Tree={i}\n{t}\n\n" for i, t in enumerate(trees)) + "end of trees\n"
    with tempfile.TemporaryDirectory() as d:
        path = Path(tmp or d) / "model.txt"
        path.write_text(text)
        return read(path)


def _decision_type(missing: int, default_left: bool) -> int:
    return (missing << 2) | (2 if default_left else 0)


@pytest.mark.parametrize("threshold", [-K, 0.0, -1e-36, 5e-36, K, -2e-35, 1.5, -0.0])
def test_numerical_splits_in_the_zero_region(threshold: float) -> None:
    """Each missing type (None, Zero, NaN) and default side, with thresholds LightGBM's
    dropping of |x| <= 1e-35 moves (dense rows)."""
    splits = [(0, threshold, _decision_type(m, d)) for m in (0, 1, 2) for d in (False, True)]
    # leaves 2**i / -2**-i: the sum tells every tree's decision apart
    trees = [_tree([s], [2.0**i, -(2.0**-i)]) for i, s in enumerate(splits)]
    model = _model_file(trees)
    _check(model, rows=[[v] for v in ZERO_REGION + HUGE + (threshold, math.nextafter(
        threshold, 1.0), math.nextafter(threshold, -1.0))])


def test_categorical_split_truncates_like_x86() -> None:
    """A bitset over two words (codes 0, 3, 33): the value truncated to int, negative, NaN,
    infinite and beyond-int values go right (cvttsd2si gives INT_MIN)."""
    cats = "cat_boundaries=0 2\ncat_threshold=9 2\n"  # words 0b1001 (0, 3), 0b10 (33)
    model = _model_file([_tree([(0, 0, 1)], [1.0, -1.0], cats)])
    values = [0.0, -0.0, 0.7, -0.7, 3.0, 3.9999, 33.5, 32.0, 34.0, 1.0, 2.0, 4.0, -3.0, 64.0,
              2.0**31 + 33, 2.0**32 + 3, -(2.0**32) + 3, *HUGE, *SPECIAL_NUMBERS]
    _check(model, rows=[[v] for v in values])


def test_linear_leaves_and_their_nan_rule() -> None:
    """Linear leaves: const + coeff * x in the leaf's order over different features per
    leaf, a zero coefficient (times inf is NaN, not the fallback), and a NaN in a used
    feature making the leaf return its plain value."""
    extra = ("is_linear=1\nleaf_const=0.5 -2 7\nnum_features=2 1 0\n"
             "leaf_features=0 1  1  \nleaf_coeff=1.5 -0.25  0  \n")
    tree = _tree([(0, 0.3, _decision_type(2, True)), (1, -1.0, _decision_type(0, False))],
                 [10.0, 20.0, 30.0], extra)
    model = _model_file([tree, tree.replace("leaf_const=0.5", "leaf_const=1e300")],
                        features=2)
    values = [0.0, 0.3, 0.31, -1.0, -1.5, 1e-36, 2.0, *HUGE]
    _check(model, rows=[[a, b] for a in values for b in values])


def test_multiclass_trees_go_to_their_class_in_iteration_order() -> None:
    """Tree t adds to class t % num_tree_per_iteration; softmax as LightGBM computes it;
    the raw score is 0.0 then every tree of the class in order."""
    trees = [_tree([(t % 2, 0.1 * t, _decision_type(2, t % 2 == 0))], [t - 2.5, 1.0 / (t + 1)])
             for t in range(9)]
    model = _model_file(trees, "multiclass num_class:3", features=2, num_class=3)
    program = lower_model(model)
    raws = program.outputs["decision_function"].values
    for k, raw in enumerate(raws):
        assert isinstance(raw, Sum) and isinstance(raw.terms[0], Const)
        assert raw.terms[0].value == 0.0
        leaves = [t.vec.values[t.vec.left.index(-1)][0] for t in raw.terms[1:]]
        assert all(isinstance(t, Item) and isinstance(t.vec, Tree) for t in raw.terms[1:])
        assert len(leaves) == 3 and leaves[0] == float(k - 2.5)
    values = [0.0, 0.1, 0.2, 0.5, 0.8, math.nan, -1.0, 1e300]
    _check(model, rows=[[a, b] for a in values for b in values])


@pytest.mark.parametrize("sigmoid", ["1.53676", "2.3873", "0.5", "1"])
def test_sigmoid_is_parsed_as_lightgbm_parses_it(sigmoid: str) -> None:
    """`sigmoid:` goes through LightGBM's Common::Atof, which is not correctly rounded for
    1.53676: the Python artifact (the same libm exp) returns LightGBM's bits exactly."""
    leaves = [-3.1, 0.3, -400.3]
    model = _model_file([_tree([(0, 0.5, 2), (0, 1.5, 2)], leaves)],
                        f"binary sigmoid:{sigmoid}")
    program = lower_model(model)
    rows = [[0.0], [1.0], [2.0]]
    with tempfile.TemporaryDirectory() as tmp:
        scorer, _ = build_scorer(program, "python", Path(tmp))
        ours = scorer.score("predict_proba", rows)
    theirs = model.predict_proba(pd.DataFrame({"f0": [r[0] for r in rows]}))
    assert [p[1] for p in ours] == theirs[:, 1].tolist()
    if sigmoid == "1.53676":
        assert atof(sigmoid) != float(sigmoid)


def test_sparse_rows_keep_tiny_values() -> None:
    """A CSR matrix reaches LightGBM unchanged (no zero dropping), unlike a dense row:
    the same splits near zero decide differently."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"t": rng.choice(["u", "v", "w"], 60).astype(object),
                      "a": rng.normal(size=60)})
    ct = ColumnTransformer([("t", OneHotEncoder(handle_unknown="ignore"), ["t"])],
                           remainder="passthrough", sparse_threshold=1.0)
    reg = lgb.LGBMRegressor(n_estimators=1, verbose=-1)
    pipe = make_pipeline(ct, reg).fit(X, X["a"])
    splits = [(3, t, _decision_type(m, d)) for t in (-K, 0.0, -1e-36, 5e-36)
              for m in (0, 1, 2) for d in (False, True)]
    trees = [_tree([s], [2.0**i, -(2.0**-i)]) for i, s in enumerate(splits)]
    reg._Booster = lgb.Booster(model_str=_model_file(trees, features=4).text)
    assert pipe[0].transform(X[:1]).format == "csr"
    rows = [[t, v] for t in ("u", "w", "zz") for v in ZERO_REGION + HUGE]
    _check(pipe, rows=rows)


@pytest.mark.parametrize("cls", ["LGBMClassifier", "LGBMRegressor"])
def test_bare_wrapper_on_pandas_categoricals(cls: str) -> None:
    """Text categories become a string input; unseen text and None go right, as the
    code -1 (missing) does in lightgbm."""
    rng = np.random.default_rng(3)
    n = 120
    X = pd.DataFrame({"a": rng.normal(size=n),
                      "c": pd.Categorical(rng.choice(["x", "y'z", "w", "東京"], n)),
                      "n": pd.Categorical(rng.choice([3, 10, 7], n))})
    X.loc[rng.random(n) < 0.1, "c"] = np.nan
    y = (X["c"].isin(["x", "w"]).to_numpy() ^ (X["n"] == 10).to_numpy()).astype(int)
    est = getattr(lgb, cls)(n_estimators=5, num_leaves=6, min_child_samples=2,
                            min_data_per_group=2, cat_smooth=1.0, verbose=-1).fit(X, y)
    assert "cat_boundaries" in est.booster_.model_to_string()
    program = lower_model(est)
    assert [f.kind for f in program.features] == ["number", "string", "number"]
    rows = [[a, c, n] for a in (-1.0, 0.0, math.nan, 1.0)
            for c in ("x", "y'z", "w", "東京", "unseen", "", None)
            for n in (3.0, 7.0, 10.0, 5.0, math.nan)]
    _check(est, rows=rows, reference=CategoryColumns(
        est, from_booster(est.booster_, "wrapper").with_training_categories))


def test_raw_booster_in_joblib_uses_its_best_iteration(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 3))
    y = X[:, 0] + rng.normal(size=150)
    train = lgb.Dataset(X[:100], y[:100])
    booster = lgb.train({"verbose": -1, "learning_rate": 0.8, "num_leaves": 4}, train, 50,
                        valid_sets=[lgb.Dataset(X[100:], y[100:], reference=train)],
                        callbacks=[lgb.early_stopping(3, verbose=False)],
                        keep_training_booster=True)  # else saved cut at best_iteration
    assert 0 < booster.best_iteration < booster.num_trees()
    joblib.dump(booster, tmp_path / "b.joblib")
    model = load_model(tmp_path / "b.joblib")
    assert isinstance(model, LightGBMModel) and model.num_iteration == booster.best_iteration
    assert len(lower_model(model).outputs["predict"].values[0].terms) == \
        booster.best_iteration + 1
    _check(model)


def test_cli_compiles_and_verifies_a_model_file(tmp_path: Path, capsys) -> None:
    model = _model_file([_tree([(0, 0.5, 10), (1, K, 6)], [1.0, 2.0, 3.0])], features=2,
                        objective="binary sigmoid:1", tmp=tmp_path)
    path = tmp_path / "model.txt"
    assert main(["compile", str(path), "-o", str(tmp_path / "out"), "--target", "python",
                 "--target", "c", "--target", "sql"]) == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["classes"] == [0, 1] and [f["name"] for f in manifest["features"]] == \
        list(model.feature_names)
    assert main(["verify", str(path), str(tmp_path / "out"), "--examples", "200"]) == 0
    assert "OK: every artifact equals the model" in capsys.readouterr().out


def test_a_model_file_compiles_without_lightgbm(tmp_path: Path) -> None:
    """Compiling needs no lightgbm; verifying (asking the model) says it needs it."""
    _model_file([_tree([(0, 0.5, 2)], [1.0, 2.0])], tmp=tmp_path)
    code = ("import sys; sys.modules['lightgbm'] = None\n"
            "from scorec.compiler.cli import main\n"
            "rc = main(['compile', sys.argv[1], '-o', sys.argv[2], '--target', 'python'])\n"
            "assert rc == 0, rc\n"
            "sys.exit(main(['verify', sys.argv[1], sys.argv[2], '--examples', '5']))\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "model.txt"),
                           str(tmp_path / "out")], capture_output=True, text=True)
    assert (tmp_path / "out" / "model.py").exists(), done.stderr
    assert done.returncode == 2 and "needs lightgbm" in done.stderr


def test_unsupported_options_are_refused() -> None:
    X = np.random.default_rng(0).normal(size=(40, 2))
    y = (X[:, 0] > 0).astype(int)

    def objective(y_true, y_pred):
        return y_pred - y_true, np.ones_like(y_pred)

    custom = lgb.LGBMRegressor(objective=objective, n_estimators=2, verbose=-1).fit(X, y)
    with pytest.raises(UnsupportedError, match="custom objective"):
        lower_model(custom)
    early = lgb.LGBMClassifier(n_estimators=2, verbose=-1, pred_early_stop=True).fit(X, y)
    with pytest.raises(UnsupportedError, match="pred_early_stop"):
        lower_model(early)
    ordered = pd.DataFrame({"a": X[:, 0], "o": pd.Categorical(np.where(X[:, 1] > 0, "p", "q"),
                                                              ordered=True),
                            "c": pd.Categorical(np.where(X[:, 0] > 0, "x", "y"))})
    with pytest.raises(CompileError, match="ordered pandas categorical"):
        lower_model(lgb.LGBMClassifier(n_estimators=2, verbose=-1).fit(ordered, y))


@pytest.mark.parametrize("damage, message", [
    (lambda t: t.replace("end of trees\n", ""), "truncated"),
    (lambda t: t.replace("objective=regression", "objective=mse sqrt"), "unknown objective"),
    (lambda t: t.replace("left_child=-1", "left_child=5"), "beyond the tree"),
    (lambda t: t.replace("split_feature=0", "split_feature=3"), "beyond max_feature_idx"),
    (lambda t: t.replace("threshold=0.5", "threshold=nan"), "NaN threshold"),
    (lambda t: "not a model\n" + t, "not a LightGBM text model"),
])
def test_damaged_files_are_refused(tmp_path: Path, damage, message: str) -> None:
    good = _model_file([_tree([(0, 0.5, 2)], [1.0, 2.0])], tmp=tmp_path)
    (tmp_path / "model.txt").write_text(damage(good.text))
    with pytest.raises(CompileError, match=message):
        read(tmp_path / "model.txt")
