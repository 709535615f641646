"""XGBoost specifics the shared property test cannot reach: rows probing every split of the
model itself (float32 thresholds and the doubles that round onto them, category codes and
their truncation, the `missing` value and the doubles that round to it), hand-edited model
files for the refusals, pandas categorical columns into a bare wrapper, the margins, raw
Boosters in joblib, the CLI on native files (without xgboost importable), and glibc's
`expf` as emulated in the IR, measured against XGBoost, glibc and numpy."""

from __future__ import annotations

import ctypes
import ctypes.util
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
from builders_xgboost import BUILDERS
from conftest import TARGETS, build_scorer
from hypothesis import given
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from scorec.compiler.cli import main
from scorec.compiler.ir import Feature, FeatureSpec, Output, Program
from scorec.compiler.load import load_model
from scorec.compiler.lower import lower_model
from scorec.compiler.lowering.xgb import expf
from scorec.compiler.native.xgboost_file import XGBoostModel, from_booster, read
from scorec.compiler.registry import CompileError, UnsupportedError
from scorec.runtime.adversarial import SPECIAL_NUMBERS
from scorec.runtime.verify import compare

xgb = pytest.importorskip("xgboost")

F32 = np.float32
# float32 edges: the largest float32, beyond it (inf in float32), 2^24 (the largest valid
# category code + 1), the smallest subnormal and below it (0 in float32)
EDGES = (0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 0.999, -1.5, 2.0**24, 2.0**24 - 1.0, 2.0**24 + 2.0,
         -(2.0**24), float(np.finfo(F32).max), 3.5e38, -3.5e38, 1e-45, 7e-46, -7e-46, 1e300,
         -1e300, math.inf, -math.inf, math.nan)


def _parsed(model: object) -> tuple[XGBoostModel, float]:
    """The XGBoost model at the end of `model` (a wrapper, a pipeline or a native model)
    and the `missing` value it is asked with."""
    last = model.steps[-1][1] if hasattr(model, "steps") else model
    if isinstance(last, XGBoostModel):
        return last, math.nan
    missing = last.get_params()["missing"]
    return from_booster(last.get_booster()), math.nan if missing is None else float(missing)


def _f32_neighbours(v: float) -> list[float]:
    """v, the float32 values either side, the doubles halfway to them (where rounding to
    float32 changes) and the doubles either side of those halfway points."""
    f = F32(v)
    out = [v]
    for side in (F32(np.inf), F32(-np.inf)):
        n = np.nextafter(f, side)
        half = (float(f) + float(n)) / 2.0
        out += [float(n), half, math.nextafter(half, math.inf), math.nextafter(half, -math.inf)]
    return [x for x in out if not math.isnan(x)]


def _probes(model: XGBoostModel, missing: float) -> dict[int, list]:
    """Per feature of the XGBoost model: every threshold and the doubles around it that
    round to it or its float32 neighbours, every category code of a split and the values
    that truncate to it, the `missing` value and doubles that round to it, and the float32
    edges; text categories and unseen text for pandas categoricals."""
    probes: dict[int, set] = {j: set(EDGES) for j in range(model.num_feature)}
    extra = _f32_neighbours(missing) if not math.isnan(missing) else []
    for tree in model.trees:
        for node, (f, left) in enumerate(zip(tree.feature, tree.left)):
            if left == -1:
                continue
            if node in tree.categories:
                for c in tree.categories[node]:
                    probes[f].update((float(c), c + 0.5, c - 0.5, c + 0.999, -c - 0.5))
            else:
                probes[f].update(_f32_neighbours(tree.value[node]))
    out: dict[int, list] = {j: sorted(v | set(extra), key=repr) for j, v in probes.items()}
    for j, cats in enumerate(model.categories):
        if cats is not None and isinstance(cats[0], str):
            out[j] = [*cats, "unseen", "", None]
        elif cats is not None:
            out[j] = [*map(float, cats), *EDGES, 99.0]
    return out


def _input_probes(model: object, program: Program) -> dict[int, list]:
    """Probes per compiled input: the XGBoost model's own when it reads the raw inputs,
    else the specials (a pipeline transforms them first)."""
    inner, missing = _parsed(model)
    if len(program.features) == inner.num_feature and not hasattr(model, "steps"):
        return _probes(inner, missing)
    probes: dict[int, list] = {}
    for j, f in enumerate(program.features):
        probes[j] = [None, "unseen", "CA", "NY", ""] if f.kind == "string" else \
            sorted(set(EDGES + SPECIAL_NUMBERS + tuple(_f32_neighbours(missing))), key=repr)
    return probes


def _check(model: object, **options) -> None:
    check_model(model, _input_probes, **options)


@pytest.mark.parametrize("component", sorted(BUILDERS))
@given(data=st.data())
def test_rows_at_every_split_of_the_model(component: str, data: st.DataObject) -> None:
    """Every builder's models on rows at and one float32 step and one double around every
    threshold, at every category code and beside it, at the `missing` value, at the float32
    edges (overflow, subnormals, 2^24), infinities and NaN."""
    model = data.draw(BUILDERS[component](), label="model")
    _check(model, seed=data.draw(st.integers(0, 100)))


# ---- margins and early stopping ---------------------------------------------------------


class _Margin:
    """A wrapper asked for its margin (`predict(output_margin=True)`) as its predict."""

    def __init__(self, est: object) -> None:
        self.est = est

    def predict(self, X: object) -> np.ndarray:
        return self.est.predict(X, output_margin=True)


@pytest.mark.parametrize("objective", ["binary:logistic", "multi:softprob", "count:poisson",
                                       "reg:gamma"])
def test_wrapper_margins_after_early_stopping(objective: str) -> None:
    """The wrapper's margin with its best_iteration: the IR's float32 sum of the intercept
    (through the objective's link, with the platform's logf) and every tree up to the best
    round, equal to XGBoost's bits on every target."""
    from scorec.compiler.lowering.xgb import _wrapped, margins
    from scorec.compiler.registry import Context, Frame

    rng = np.random.default_rng(4)
    X = rng.normal(size=(120, 2)) * [1.0, 100.0]
    X[rng.random(X.shape) < 0.1] = np.nan
    y = {"binary:logistic": np.nan_to_num(X[:, 0]) > 0,
         "multi:softprob": np.digitize(np.nan_to_num(X[:, 0]), [-0.5, 0.5])}.get(
        objective, np.round(np.exp(np.nan_to_num(X[:, 0]))) + 0.5).astype(float)
    cls = xgb.XGBClassifier if objective.startswith(("binary", "multi")) else xgb.XGBRegressor
    est = cls(n_estimators=40, max_depth=3, learning_rate=0.9, objective=objective, n_jobs=1,
              early_stopping_rounds=1, base_score=0.3 if objective != "multi:softprob"
              else None).fit(X[:80], y[:80], eval_set=[(X[80:], y[80:])], verbose=False)
    assert 0 <= est.best_iteration < 39
    ctx = Context(features=[FeatureSpec(f"x{j}", "number") for j in range(2)])
    model, rounds, missing = _wrapped(est, ctx)
    assert rounds == (0, est.best_iteration + 1)
    frame = Frame([Feature(0), Feature(1)])
    raw = margins(model, frame, ctx, missing, rounds)
    program = Program(tuple(ctx.features), "regression",
                      outputs={"predict": Output("predict", "scalar" if len(raw) == 1
                                                 else "vector", tuple(raw))})
    values = sorted({v for tree in model.trees for v in tree.value} | set(EDGES), key=repr)
    rows = [[a, b] for a in values[::3] for b in (math.nan, 0.0, 150.0, -1e300)]
    for target in TARGETS:
        with tempfile.TemporaryDirectory() as tmp:
            scorer, manifest = build_scorer(program, target, Path(tmp))
            report = compare(_Margin(est), program, [scorer], ["predict"], rows)
        assert report.ok, f"[{target}]\n" + report.format(program.features)


def test_raw_booster_in_joblib_predicts_with_every_round(tmp_path: Path) -> None:
    """A raw Booster's predict ignores best_iteration (only the wrapper applies it)."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 3))
    y = X[:, 0] + rng.normal(size=150)
    train = xgb.DMatrix(X[:100], y[:100])
    booster = xgb.train({"eta": 0.9, "max_depth": 2, "nthread": 1}, train, 50,
                        evals=[(xgb.DMatrix(X[100:], y[100:]), "valid")],
                        early_stopping_rounds=1, verbose_eval=False)
    assert booster.best_iteration < booster.num_boosted_rounds() - 1
    joblib.dump(booster, tmp_path / "b.joblib")
    model = load_model(tmp_path / "b.joblib")
    assert isinstance(model, XGBoostModel)
    assert model.best_iteration == booster.best_iteration
    assert model.rounds == booster.num_boosted_rounds()
    _check(model)


# ---- pandas categoricals and CSR input -----------------------------------------------------


@pytest.mark.parametrize("cls", ["XGBClassifier", "XGBRegressor"])
def test_bare_wrapper_on_pandas_categoricals(cls: str) -> None:
    """Text categories become a string input; unseen text and None are missing (the
    default child), as for xgboost a category outside the training ones is."""
    rng = np.random.default_rng(3)
    n = 120
    X = pd.DataFrame({"a": rng.normal(size=n),
                      "c": pd.Categorical(rng.choice(["x", "y'z", "w", "", "v w"], n)),
                      "d": pd.Categorical(rng.choice(["p", "q"], n))})
    X.loc[rng.random(n) < 0.1, "c"] = np.nan
    y = (X["c"].isin(["x", "w"]).to_numpy() ^ (X["d"] == "q").to_numpy()).astype(int)
    est = getattr(xgb, cls)(n_estimators=5, max_depth=3, enable_categorical=True,
                            max_cat_to_onehot=1, n_jobs=1).fit(X, y)
    model = from_booster(est.get_booster())
    assert any(t.categories for t in model.trees)
    program = lower_model(est)
    assert [f.kind for f in program.features] == ["number", "string", "string"]
    rows = [[a, c, d] for a in (-1.0, 0.0, math.nan, 1.0, math.inf)
            for c in ("x", "y'z", "w", "", "v w", "unseen", None)
            for d in ("p", "q", "P", None)]
    _check(est, rows=rows, reference=CategoryColumns(
        est, from_booster(est.get_booster()).library_input))


def test_sparse_rows_read_absent_entries_as_missing() -> None:
    """From a CSR matrix XGBoost reads only the stored entries: a zero (never stored) is
    missing and takes the default child, while the same zero in a dense row is a value."""
    rng = np.random.default_rng(0)
    n = 100
    X = pd.DataFrame({"t": rng.choice(["u", "v", "w"], n).astype(object),
                      "a": np.where(rng.random(n) < 0.3, 0.0, rng.normal(size=n))})
    y = (X["a"] > 0.2).to_numpy() + (X["t"] == "u").to_numpy() * 0.5
    for threshold in (0.0, 1.0):
        ct = ColumnTransformer([("t", OneHotEncoder(handle_unknown="ignore"), ["t"])],
                               remainder="passthrough", sparse_threshold=threshold)
        pipe = make_pipeline(ct, xgb.XGBRegressor(n_estimators=3, max_depth=3, n_jobs=1))
        pipe.fit(X, y)
        rows = [[t, v] for t in ("u", "w", "zz") for v in (0.0, -0.0, 1e-300, 0.5, -1.0,
                                                           math.nan, math.inf)]
        _check(pipe, rows=rows)


# ---- refusals ----------------------------------------------------------------------------


def _small_model(tmp_path: Path, suffix: str = ".json", **params) -> Path:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    booster = xgb.train({"max_depth": 2, "nthread": 1, **params},
                        xgb.DMatrix(X, X[:, 0] > 0), 2)
    path = tmp_path / f"model{suffix}"
    booster.save_model(path)
    return path


def test_unsupported_options_are_refused(tmp_path: Path) -> None:
    X = np.random.default_rng(0).normal(size=(40, 2))
    y = (X[:, 0] > 0).astype(int)

    def objective(y_true, y_pred):
        return y_pred - y_true, np.ones_like(y_pred)

    custom = xgb.XGBRegressor(objective=objective, n_estimators=2, n_jobs=1).fit(X, y)
    with pytest.raises(UnsupportedError, match="custom objective"):
        lower_model(custom)
    vector = xgb.XGBRegressor(n_estimators=2, multi_strategy="multi_output_tree",
                              tree_method="hist", n_jobs=1).fit(X, np.column_stack([y, -y]))
    with pytest.raises(CompileError, match="vector leaves"):
        lower_model(vector)
    multilabel = xgb.XGBClassifier(n_estimators=2, n_jobs=1).fit(X, np.column_stack([y, 1 - y]))
    with pytest.raises(UnsupportedError, match="multi-label"):
        lower_model(multilabel)
    path = _small_model(tmp_path)
    doc = json.loads(path.read_text())
    doc["learner"]["objective"]["name"] = "reg:expectileerror"
    path.write_text(json.dumps(doc))
    with pytest.raises(UnsupportedError, match="objective 'reg:expectileerror'"):
        lower_model(read(path))


def test_non_ascii_categories_are_refused(tmp_path: Path) -> None:
    """xgboost stores the names cut at character counts over UTF-8 bytes: unreadable."""
    X = pd.DataFrame({"c": pd.Categorical(["Zürich", "Bern", "東京", "Bern"] * 10)})
    booster = xgb.train({"nthread": 1}, xgb.DMatrix(X, np.arange(40) % 3,
                                                    enable_categorical=True), 1)
    booster.save_model(tmp_path / "m.json")
    with pytest.raises(CompileError, match="not ASCII"):
        read(tmp_path / "m.json")


def _edit(key: str, change):
    def damage(doc: dict) -> dict:
        model = doc["learner"]["gradient_booster"]["model"]
        target = model["trees"][0] if key in model["trees"][0] else model
        target[key] = change(target[key])
        return doc

    return damage


@pytest.mark.parametrize("damage, message", [
    (lambda t: t[: len(t) // 2], "not a readable XGBoost model"),
    (lambda t: '{"version": [3, 2, 0]}', "no 'learner' object"),
    (lambda t: json.dumps(_edit("tree_info", lambda v: [*v, 0])(json.loads(t))),
     "tree_info does not map"),
    (lambda t: json.dumps(_edit("left_children", lambda v: v[:-1])(json.loads(t))),
     "different lengths"),
    (lambda t: json.dumps(_edit("iteration_indptr", lambda v: [0, 5])(json.loads(t))),
     "iteration_indptr does not cover"),
    (lambda t: t.replace('"gbtree"', '"gbforest"', 1), "booster 'gbforest' is not supported"),
    (lambda t: json.dumps(_edit("split_indices", lambda v: [7] + v[1:])(json.loads(t))),
     "reads feature 7 of 2"),
    (lambda t: json.dumps(_edit("left_children", lambda v: [99] + v[1:])(json.loads(t))),
     "points outside the tree"),
])
def test_damaged_json_files_are_refused(tmp_path: Path, damage, message: str) -> None:
    path = _small_model(tmp_path)
    path.write_text(damage(path.read_text()))
    with pytest.raises(CompileError, match=message):
        lower_model(read(path))


def test_damaged_ubj_files_are_refused(tmp_path: Path) -> None:
    path = _small_model(tmp_path, ".ubj")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])
    with pytest.raises(CompileError, match="not a readable XGBoost model"):
        read(path)
    path.write_bytes(b"\x00\x01 not a model")
    with pytest.raises(CompileError, match="XGBoost model"):
        read(path)


# ---- the CLI, without xgboost ----------------------------------------------------------------


def test_cli_compiles_and_verifies_a_model_file(tmp_path: Path, capsys) -> None:
    path = _small_model(tmp_path, objective="binary:logistic")
    assert main(["compile", str(path), "-o", str(tmp_path / "out"), "--target", "python",
                 "--target", "c", "--target", "sql"]) == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["classes"] == [0, 1]
    assert set(manifest["outputs"]) == {"predict", "predict_proba", "decision_function"}
    assert main(["verify", str(path), str(tmp_path / "out"), "--examples", "200"]) == 0
    assert "OK: every artifact equals the model" in capsys.readouterr().out


@pytest.mark.parametrize("suffix", [".json", ".ubj"])
def test_a_model_file_compiles_without_xgboost(tmp_path: Path, suffix: str) -> None:
    """Compiling needs no xgboost; verifying (asking the model) says it needs it."""
    path = _small_model(tmp_path, suffix, objective="multi:softprob", num_class=3)
    code = ("import sys; sys.modules['xgboost'] = None\n"
            "from scorec.compiler.cli import main\n"
            "rc = main(['compile', sys.argv[1], '-o', sys.argv[2], '--target', 'python'])\n"
            "assert rc == 0, rc\n"
            "sys.exit(main(['verify', sys.argv[1], sys.argv[2], '--examples', '5']))\n")
    done = subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "out")],
                          capture_output=True, text=True)
    assert (tmp_path / "out" / "model.py").exists(), done.stderr
    assert done.returncode == 2 and "needs xgboost" in done.stderr


# ---- expf --------------------------------------------------------------------------------------


def _expf_sample() -> np.ndarray:
    """float32 inputs over expf's whole range (uniform, and every float32 near 0, the
    table's steps and the overflow / underflow edges) plus the specials."""
    rng = np.random.default_rng(0)
    lo, hi = float(F32(-104.0)), float(F32(89.0))
    uniform = rng.uniform(lo, hi, 40_000).astype(F32)
    steps = np.array([k * math.log(2) / 32 for k in range(-4800, 4100, 37)], dtype=F32)
    near = np.concatenate([np.nextafter(steps, F32(np.inf)), np.nextafter(steps, F32(-np.inf))])
    tiny = (rng.uniform(-1e-3, 1e-3, 2_000)).astype(F32)
    edges = np.array([88.72283, 88.72284, 88.7, -103.97207, -103.97208, -87.33655, 0.0, -0.0,
                      np.inf, -np.inf, np.nan, 1e-45, -1e-45], dtype=F32)
    return np.concatenate([uniform, steps, near, tiny, edges])


def _ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance in float32 steps between two float32 arrays of the same sign."""
    return np.abs(a.view(np.int32).astype(np.int64) - b.view(np.int32).astype(np.int64))


def test_expf_emulation_against_glibc_and_numpy() -> None:
    """The IR's expf (glibc's algorithm) on every target against glibc's own expf, which
    XGBoost calls: equal on all 42,681 sample inputs (the docstring of xgb.expf allows the
    FMA build's two known one-ulp differences). Measured against the correctly rounded
    float32 of exp: one ulp off on about 7e-4 of the inputs (glibc's documented error).
    numpy's float32 exp is another algorithm (SIMD, chosen by the CPU): on this sample and
    an AVX-512 machine it differs from glibc's by one or two ulps on about 36% of the
    inputs, which is why the IR cannot use `float32(exp(x))` nor numpy as its reference."""
    x = _expf_sample()
    program = Program((FeatureSpec("x", "number"),), "regression",
                      outputs={"predict": Output("predict", "scalar", (expf(Feature(0)),))})
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    libm.expf.restype, libm.expf.argtypes = ctypes.c_float, [ctypes.c_float]
    glibc = np.array([libm.expf(float(v)) for v in x], dtype=F32)
    with np.errstate(over="ignore"):
        numpy_exp = np.exp(x)
        rounded = np.exp(x.astype(np.float64)).astype(F32)
    finite = np.isfinite(glibc)
    rows = [[float(v)] for v in x]
    for target in TARGETS:
        with tempfile.TemporaryDirectory() as tmp:
            scorer, _ = build_scorer(program, target, Path(tmp))
            ours64 = np.array(scorer.score("predict", rows), dtype=np.float64)
        ours = ours64.astype(F32)
        assert np.array_equal(ours.astype(np.float64), ours64, equal_nan=True), target
        assert np.array_equal(ours[~finite], glibc[~finite], equal_nan=True), target
        off_glibc = _ulps(ours[finite], glibc[finite])
        assert off_glibc.max() <= 1 and (off_glibc > 0).sum() <= 2, target
        off_rounded = _ulps(ours[finite], rounded[finite])
        assert off_rounded.max() <= 1 and 0 < (off_rounded > 0).mean() < 2e-3, target
        off_numpy = _ulps(ours[finite], numpy_exp[finite])
        assert off_numpy.max() <= 4, target
