"""C-target specifics: literals that round-trip through a real C compiler, hostile names
and labels, the header contract as a C host sees it, and a large forest."""

from __future__ import annotations

import ctypes
import math
import re
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn
from conftest import build_scorer
from hypothesis import given
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeRegressor

from scorec.compiler.build import compile_program
from scorec.compiler.ir import (
    Argmax,
    Arith,
    BoolIndex,
    Check,
    Compare,
    Const,
    Feature,
    FeatureSpec,
    Func,
    InSet,
    IsMissing,
    Item,
    Max,
    Neg,
    Not,
    Or,
    Output,
    Program,
    Refusal,
    Select,
    Sum,
    Text,
    Tree,
)
from scorec.compiler.lower import lower_model
from scorec.compiler.lowering.common import f32_split_bound
from scorec.compiler.passes import collect_trees, tree_depth
from scorec.runtime.c_runtime import CFLAGS, CScorer, build_library
from scorec.runtime.python_runtime import PythonScorer
from scorec.runtime.scorer import Refused
from scorec.runtime.verify import compare, generate_rows, same
from scorec.targets.c import comment, number, string

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")

STRICT = ["cc", *CFLAGS[:-2]]  # the user's flags, without -shared -fPIC
HOSTILE = ['say "hi"', "back\\", "*/ int evil; /*", "??=", "??/", "DROP TABLE t; --",
           "naïve ☃", "line\nbreak", "東京", "tab\t7", "\x01" + "7", "it's", ""]


def _run_c(tmp: Path, source: str, *extra: str) -> str:
    """Compile `source` (plus extra files) with the strict flags, run it, return stdout."""
    (tmp / "main.c").write_text(source, encoding="utf-8")
    exe = tmp / "main"
    subprocess.run([*STRICT, str(tmp / "main.c"), *extra, "-o", str(exe), "-lm"],
                   check=True, capture_output=True, text=True)
    return subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout


def test_literals_round_trip_through_the_compiler(tmp_path: Path) -> None:
    numbers = [0.1, -0.1, 0.0, -0.0, 1.0, -7.0, 2.0**53, 2.0**53 + 2, 1e16, 5e-324, -5e-324,
               1.7976931348623157e308, -1e300, 1e-300, float(np.float32(0.1)),
               math.nextafter(1.0, 2.0), math.inf, -math.inf]
    doubles = ", ".join(number(v) for v in numbers)
    texts = ", ".join(string(s) for s in HOSTILE)
    source = f"""#include <stdio.h>
#include <string.h>
#include <math.h>
/* {comment(" ".join(HOSTILE))} */
static const double d[] = {{{doubles}, NAN}};
static const char *const s[] = {{{texts}}};
int main(void)
{{
    size_t i, j;
    for (i = 0; i < sizeof d / sizeof d[0]; ++i) {{
        unsigned long long bits;
        memcpy(&bits, &d[i], sizeof bits);
        printf("%016llx\\n", bits);
    }}
    for (i = 0; i < sizeof s / sizeof s[0]; ++i) {{
        for (j = 0; s[i][j]; ++j) printf("%02x", (unsigned char)s[i][j]);
        printf("\\n");
    }}
    return 0;
}}
"""
    lines = _run_c(tmp_path, source).split("\n")
    for v, line in zip(numbers, lines):
        assert line == struct.pack(">d", v).hex(), v
    assert math.isnan(struct.unpack(">d", bytes.fromhex(lines[len(numbers)]))[0])
    for s, line in zip(HOSTILE, lines[len(numbers) + 1:]):
        assert line == s.encode().hex(), s


def _hostile_frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    numbers = ['a"b', "back\\slash", "new\nline", "??=trigraph", "select", "Größe ☃",
               "x y", "x_y", "X-Y", "int"]
    df = pd.DataFrame({name: rng.normal(size=n) for name in numbers})
    df.loc[rng.random(n) < 0.1, "x y"] = np.nan
    cats = HOSTILE[:10]  # more than SET_TABLE_MIN: the unknown check uses a sorted table
    df["*/ cat /*"] = pd.Series(rng.choice(cats, n), dtype=object)
    df.loc[rng.random(n) < 0.1, "*/ cat /*"] = None
    labels = np.array(['say "hi"', "*/ #include <stdio.h>", "line\nbreak", "naïve ☃"])
    y = labels[(df["a\"b"] > 0).to_numpy() * 2 + (df["*/ cat /*"] == cats[0]).to_numpy()]
    return df, y


@pytest.mark.parametrize("estimator", [LogisticRegression(max_iter=2000),
                                       RandomForestClassifier(n_estimators=5, random_state=0)])
def test_hostile_names_and_labels(estimator, tmp_path: Path) -> None:
    X, y = _hostile_frame(300, 1)
    numbers = [c for c in X.columns if c != "*/ cat /*"]
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), numbers),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="error")), ["*/ cat /*"]),
    ])
    model = make_pipeline(pre, estimator).fit(X, y)
    program = lower_model(model)
    scorer, manifest = build_scorer(program, "c", tmp_path)  # builds with -Werror
    c_names = [f["c_name"] for f in manifest["features"]]
    assert len(set(c_names)) == len(c_names)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", c) for c in c_names)
    rows = generate_rows(program, 400, seed=2) + [
        [*([0.5] * len(numbers)), v] for v in [*HOSTILE, None, "unseen", "say \"hi", "back"]]
    report = compare(model, program, [scorer], manifest["outputs"], rows)
    assert report.ok, report.format(program.features)
    train = X.astype(object).where(X.notna(), None).to_numpy().tolist()
    train = [[math.nan if v is None and i < len(numbers) else v for i, v in enumerate(r)]
             for r in train]
    assert scorer.score("predict", train) == list(model.predict(X))


def _binary_model() -> tuple[object, pd.DataFrame]:
    rng = np.random.default_rng(5)
    X = pd.DataFrame({"age": rng.normal(40, 10, 80),
                      "state": pd.Series(rng.choice(["CA", "NY", "TX"], 80), dtype=object)})
    y = np.where(X["age"] + (X["state"] == "NY") * 10 > 42, "yes", "no")
    ct = ColumnTransformer([("num", StandardScaler(), ["age"]),
                            ("cat", OneHotEncoder(handle_unknown="error"), ["state"])])
    return make_pipeline(ct, LogisticRegression()).fit(X, y), X


def test_header_declares_the_contract(tmp_path: Path) -> None:
    model, _ = _binary_model()
    _, files = compile_program(lower_model(model), "m", "0" * 64, sklearn.__version__,
                               targets=("c",))
    h, c = files["m.h"], files["m.c"]
    for line in ["#ifndef m_H", "#define m_H", "#include <stddef.h>", 'extern "C" {',
                 "#define m_N_FEATURES 2", "#define m_N_CLASSES 2", "#define m_N_DECISION 1",
                 "#define m_E_UNKNOWN_CATEGORY (-1)", "#define m_E_MISSING_VALUE (-2)",
                 "#define m_E_INFINITE_VALUE (-3)",
                 "int m_predict(const m_input *in, int *out);",
                 "int m_predict_proba(const m_input *in, double out[m_N_CLASSES]);",
                 "int m_decision_function(const m_input *in, double out[m_N_DECISION]);",
                 "int m_predict_batch(const m_input *rows, size_t n, int *out);",
                 "int m_predict_proba_batch(const m_input *rows, size_t n, double *out);",
                 "int m_decision_function_batch(const m_input *rows, size_t n, double *out);"]:
        assert line in h.splitlines(), line
    assert re.search(r"typedef struct \{\s*double age;.*\n\s*const char \*state;.*\n\} m_input;",
                     h)
    assert set(re.findall(r"#include (\S+)", c)) == {"<math.h>", "<stddef.h>", "<string.h>",
                                                      '"m.h"'}
    reg = make_pipeline(StandardScaler(), LinearRegression()).fit([[0.0], [1.0], [3.0]],
                                                                  [1.0, 2.0, 0.5])
    _, files = compile_program(lower_model(reg), "r", "0" * 64, sklearn.__version__,
                               targets=("c",))
    assert "int r_predict(const r_input *in, double *out);" in files["r.h"]
    assert "r_N_CLASSES" not in files["r.h"] and "<string.h>" not in files["r.c"]
    if shutil.which("c++"):  # the header is usable from C++ hosts
        (tmp_path / "m.h").write_text(h, encoding="utf-8")
        (tmp_path / "host.cpp").write_text('#include "m.h"\nint main() { return 0; }\n')
        subprocess.run(["c++", "-Wall", "-Wextra", "-pedantic", "-Werror", "-fsyntax-only",
                        str(tmp_path / "host.cpp")], check=True)


HOST = r"""#include <stdio.h>
#include <math.h>
#include "m.h"
int main(void)
{
    const m_input rows[6] = {{1.0, "CA"}, {1.0, "ZZ"}, {NAN, "NY"}, {INFINITY, "TX"},
                             {2.5, NULL}, {44.0, "NY"}};
    int labels[6], i;
    double proba[6 * m_N_CLASSES], d[m_N_DECISION];
    printf("%d %d\n", m_predict_batch(rows, 6, labels),
           m_predict_proba_batch(rows, 6, proba));
    for (i = 0; i < 6; ++i) {
        const int s = m_decision_function(&rows[i], d);
        printf("%d %d %.17g %.17g %.17g\n", s, labels[i], proba[2 * i], proba[2 * i + 1], d[0]);
    }
    return 0;
}
"""


def test_c_host_program_statuses_and_batches(tmp_path: Path) -> None:
    model, _ = _binary_model()
    _, files = compile_program(lower_model(model), "m", "0" * 64, sklearn.__version__,
                               targets=("c",))
    for fn, text in files.items():
        (tmp_path / fn).write_text(text, encoding="utf-8")
    first, *lines = _run_c(tmp_path, HOST, str(tmp_path / "m.c")).splitlines()
    assert first == "-1 -1"  # the first refused row's status; later rows still scored
    got = [line.split() for line in lines]
    assert [int(g[0]) for g in got] == [0, -1, -2, -3, -1, 0]
    for i in (1, 2, 3, 4):  # refused rows: -1 for the class index, NAN for numbers
        assert int(got[i][1]) == -1 and all(math.isnan(float(v)) for v in got[i][2:])
    ok = pd.DataFrame({"age": [1.0, 44.0], "state": ["CA", "NY"]})
    for i, proba, dec, label in zip((0, 5), model.predict_proba(ok),
                                    model.decision_function(ok), model.predict(ok)):
        assert model.classes_[int(got[i][1])] == label
        assert np.allclose([float(v) for v in got[i][2:4]], proba, rtol=1e-9, atol=1e-12)
        assert math.isclose(float(got[i][4]), dec, rel_tol=1e-9, abs_tol=1e-12)


def _mixed_frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"age": rng.normal(40, 10, n), "income": rng.lognormal(10, 1, n),
                      "state": pd.Series(rng.choice(["CA", "NY", "TX"], n), dtype=object)})
    X.loc[rng.random(n) < 0.1, "age"] = np.nan
    X.loc[rng.random(n) < 0.1, "state"] = None
    y_cls = rng.choice(["a", "b", "c"], n)
    y_reg = X["income"].to_numpy() * 1e-3 + rng.normal(0, 1, n)
    return X, y_cls, y_reg


@pytest.mark.parametrize("estimator", [
    LogisticRegression(max_iter=2000), LinearRegression(),
    DecisionTreeRegressor(max_depth=8, random_state=0),
    ExtraTreesClassifier(n_estimators=10, random_state=0),
])
def test_pipelines_equal_sklearn_at_the_edges(estimator, tmp_path: Path) -> None:
    """NaN, +-inf, +-1e300, split bounds and one ulp / one float32 step around them,
    unseen and missing text: generate_rows draws all of them."""
    X, y_cls, y_reg = _mixed_frame(300, 7)
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "income"]),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="error")), ["state"]),
    ])
    y = y_reg if isinstance(estimator, (LinearRegression, DecisionTreeRegressor)) else y_cls
    model = make_pipeline(pre, estimator).fit(X, y)
    program = lower_model(model)
    scorer, manifest = build_scorer(program, "c", tmp_path)
    report = compare(model, program, [scorer], manifest["outputs"],
                     generate_rows(program, 1500, seed=11))
    assert report.ok, report.format(program.features)


def _rows_at_bounds(program: Program, base: np.ndarray, n: int, seed: int) -> list[list]:
    """Rows of `base` with features set to split bounds, one ulp or one float32 step
    around them, NaN, infinities and huge magnitudes (a cheap generate_rows for a big
    forest, whose inputs are the raw features)."""
    rng = np.random.default_rng(seed)
    bounds: dict[int, list[float]] = {}
    for tree in collect_trees(program):
        for f, b, left in zip(tree.feature, tree.bound, tree.left):
            if left != -1:
                bounds.setdefault(f, []).append(b)
    specials = [math.nan, math.inf, -math.inf, 1e300, -1e300, 3.5e38, -3.5e38, 0.0, -0.0]
    rows = []
    for i in range(n):
        row = base[i % len(base)].tolist()
        for f in rng.choice(len(row), size=int(rng.integers(1, 4)), replace=False):
            b = float(rng.choice(bounds[f])) if f in bounds else 0.0
            f32 = np.float32(b)
            row[f] = float(rng.choice([b, math.nextafter(b, math.inf), math.nextafter(b, -math.inf),
                                       float(np.nextafter(f32, np.float32(np.inf))),
                                       float(np.nextafter(f32, np.float32(-np.inf))),
                                       *specials]))
        rows.append(row)
    return rows


def test_large_forest_compiles_and_is_exact(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 8))
    X[rng.random(X.shape) < 0.05] = np.nan  # so missing values learn their own direction
    y = (np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1] * X[:, 2]) > 0).astype(int)
    y += np.nan_to_num(X[:, 3]) > 1
    model = RandomForestClassifier(n_estimators=300, max_depth=14, random_state=0,
                                   n_jobs=2).fit(X, y)
    program = lower_model(model)
    assert max(tree_depth(t) for t in collect_trees(program)) == 14
    scorer, manifest = build_scorer(program, "c", tmp_path)
    rows = _rows_at_bounds(program, X, 1500, seed=5)
    report = compare(model, program, [scorer], manifest["outputs"], rows)
    assert report.ok, report.format(program.features)


def test_tree_too_big_for_byte_offsets_is_exact(tmp_path: Path) -> None:
    """A compact tree of more than 8,192 nodes stores its children as node indices (a
    byte offset would overflow 16 bits); its walks must still match sklearn."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(6000, 5))
    model = DecisionTreeRegressor(random_state=0).fit(X, rng.normal(size=6000))
    program = lower_model(model)
    assert max(len(t.left) for t in collect_trees(program)) > 8192
    scorer, manifest = build_scorer(program, "c", tmp_path)
    assert "_node32" in (tmp_path / "model.c").read_text() and "_in8(" in \
        (tmp_path / "model.c").read_text()
    rows = _rows_at_bounds(program, X, 1000, seed=6)
    report = compare(model, program, [scorer], manifest["outputs"], rows)
    assert report.ok, report.format(program.features)


def test_build_errors_carry_the_compiler_output(tmp_path: Path) -> None:
    model, _ = _binary_model()
    manifest, files = compile_program(lower_model(model), "m", "0" * 64, sklearn.__version__,
                                      targets=("c",))
    for fn, text in files.items():
        (tmp_path / fn).write_text(text, encoding="utf-8")
    CScorer(tmp_path, manifest)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.c", "m.h"]  # built elsewhere
    (tmp_path / "m.c").write_text(files["m.c"] + "\nstatic int unused_thing;\n")
    with pytest.raises(RuntimeError, match="unused_thing"):
        build_library(tmp_path, manifest)


def _every_node_program(task: str) -> Program:
    """A hand-made program using every IR node, refusal and output shape."""
    f0, f1, f2 = Feature(0), Feature(1), Feature(2, "string")
    text = Select(IsMissing(f2), Text("fill ☃"), f2)
    hostile = InSet(text, tuple(HOSTILE[:9]))  # a sorted table and a binary search
    digits = InSet(f0, tuple(float(i) for i in range(-4, 6)), missing=True)
    scores = (Arith("-", f0, Const(0.1)),
              Select(Or((hostile, Not(InSet(f1, (1.5, -2.0))))), Const(1.0),
                     Func("exp", Neg(Arith("*", f0, Const(0.5))))),
              Sum((f0, f1, Const(1e-3), Select(digits, Const(-0.0), Const(2.5)),
                   Select(InSet(f2, (*HOSTILE, "a\0b", "ab", "a")), Const(7.0), Const(0.0)))))
    tree = Tree(inputs=(f0, f1), feature=(0, 1, 0, 0, 0), bound=(0.5, -1.0, 0.0, 0.0, 0.0),
                missing_left=(True, False, False, False, False), left=(1, 3, -1, -1, -1),
                right=(2, 4, -1, -1, -1), values=((), (), (1.0, -2.0), (3.0, 0.25), (-1.0, 0.5)))
    top = Max(scores)
    both_missing = Not(Or((Not(IsMissing(f1)), Not(IsMissing(f2)))))
    checks = (Check(Compare(">=", f1, math.inf), Refusal.INFINITE_VALUE,
                    "Input X contains infinity"),
              Check(InSet(f2, ("refuse me", "??=")), Refusal.UNKNOWN_CATEGORY,
                    "Found unknown categories"),
              Check(both_missing, Refusal.MISSING_VALUE, "Input X contains NaN"))
    if task == "anomaly":
        classes = (-1, 1)
        outputs = {"predict": Output("predict", "label",
                                     (BoolIndex(Compare(">", Item(tree, 0), 0.0)),)),
                   "score_samples": Output("score_samples", "scalar", (Sum((top, Item(tree, 1))),)),
                   "decision_function": Output("decision_function", "scalar", (top,))}
    else:
        classes = ("x", 'y"', "z\n")
        outputs = {"predict": Output("predict", "label", (Argmax(scores),)),
                   "predict_proba": Output("predict_proba", "vector",
                                           (top, Item(tree, 0), Item(tree, 1))),
                   "decision_function": Output("decision_function", "vector", scores)}
    features = (FeatureSpec("f0", "number"), FeatureSpec("f 1", "number"),
                FeatureSpec("f2", "string", "none"))
    return Program(features, task, classes, checks, outputs)


@pytest.mark.parametrize("task", ["classification", "anomaly"])
def test_every_ir_node_matches_the_python_target(task: str, tmp_path: Path) -> None:
    program = _every_node_program(task)
    manifest, files = compile_program(program, "nodes", "0" * 64, sklearn.__version__,
                                      targets=("python", "c"))
    for fn, text in files.items():
        (tmp_path / fn).write_text(text, encoding="utf-8")
    c, py = CScorer(tmp_path, manifest), PythonScorer(tmp_path, manifest)
    numbers = [math.nan, math.inf, -math.inf, 0.5, math.nextafter(0.5, 0.0),
               math.nextafter(0.5, 1.0), -1.0, 1.5, -2.0, 3.0, -4.0, 0.0, -0.0, 1e300,
               -1e300, -1500.0, 1500.0, 5e-324]
    texts = [None, *HOSTILE, "a", "b", "ab", "a\0b", "refuse me", "fill ☃", "naïve"]
    rng = np.random.default_rng(0)
    rows = [[float(rng.choice(numbers)), float(rng.choice(numbers)),
             texts[rng.integers(len(texts))]] for _ in range(3000)]
    for output in manifest["outputs"]:
        expected, actual = py.score(output, rows), c.score(output, rows)
        bad = [(r, e, a) for r, e, a in zip(rows, expected, actual) if not same(e, a)]
        assert not bad, (output, bad[:5])
    refused = [r for r in c.score("predict", rows) if isinstance(r, Refused)]
    assert {r.reason for r in refused} == {"INFINITE_VALUE", "UNKNOWN_CATEGORY", "MISSING_VALUE"}


def _ir_walk(tree: Tree, x: list[float]) -> tuple[float, ...]:
    """The IR's meaning of a tree, read off its docstring, for one row."""
    i = 0
    while tree.left[i] != -1:
        v = x[tree.feature[i]]
        go_left = tree.missing_left[i] if math.isnan(v) else v <= tree.bound[i]
        i = tree.left[i] if go_left else tree.right[i]
    return tree.values[i]


@st.composite
def _tree(draw: st.DrawFn, inputs: tuple, bounds: st.SearchStrategy) -> Tree:
    """A random tree, numbered as sklearn numbers its nodes (children after parents)."""
    feature, bound, missing, left, right, values = [], [], [], [], [], []
    todo = [0]  # depths of nodes to create, breadth-first
    while todo:
        depth = todo.pop(0)
        i = len(feature)
        split = depth < 2 or (depth < 6 and draw(st.booleans()))
        feature.append(draw(st.integers(0, len(inputs) - 1)) if split else 0)
        bound.append(draw(bounds) if split else 0.0)
        missing.append(draw(st.booleans()) and split)
        left.append(-1)
        right.append(-1)
        values.append(() if split else (draw(st.floats(-9, 9)),))
        if split:
            left[i] = i + 1 + len(todo)
            right[i] = left[i] + 1
            todo += [depth + 1, depth + 1]
    return Tree(inputs, tuple(feature), tuple(bound), tuple(missing), tuple(left),
                tuple(right), tuple(values))


SPECIAL_BOUNDS = [math.inf, -math.inf, 0.0, -0.0, 1.0, -1.0, 5e-324, 3.5e38, -3.5e38]


@given(data=st.data())
def test_forest_walks_match_the_ir_per_row_and_in_batch(data: st.DataObject,
                                                        tmp_path_factory) -> None:
    """Both tree layouts (float32 split bounds: compact; any double: wide), bounds of
    +-inf, NaN routing both ways, more rows than a batch block (and blocks that do not
    fill the lanes), more trees than a group of lanes, and the per-row entry point
    against the batch one."""
    n_inputs = data.draw(st.integers(1, 4))
    inputs = tuple(Feature(i) for i in range(n_inputs))
    float32_tops = st.floats(-1e6, 1e6).map(f32_split_bound)
    doubles = st.one_of(st.floats(-10, 10), st.sampled_from(SPECIAL_BOUNDS))
    bounds = data.draw(st.sampled_from([float32_tops, doubles]))
    trees = data.draw(st.lists(_tree(inputs, bounds), min_size=1, max_size=40))
    start = data.draw(st.sampled_from([(Const(0.25),), ()]))  # a fold from a leaf too
    value = Sum((*start, *(Item(t, 0) for t in trees))) if start or len(trees) > 1 else \
        Item(trees[0], 0)
    program = Program(tuple(FeatureSpec(f"x{i}", "number") for i in range(n_inputs)),
                      "regression", outputs={"predict": Output("predict", "scalar", (value,))})
    scorer, _ = build_scorer(program, "c", tmp_path_factory.mktemp("walk"))
    cuts = sorted({b for t in trees for b, lf in zip(t.bound, t.left) if lf != -1})
    near = [v for b in cuts for v in (b, math.nextafter(b, -math.inf),
                                      math.nextafter(b, math.inf))]
    pool = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e300, *near]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    rows = rng.choice(pool, size=(data.draw(st.integers(1, 300)), n_inputs)).tolist()
    expected = []
    for row in rows:
        total = 0.25 if start else _ir_walk(trees[0], row)[0]
        for t in trees if start else trees[1:]:
            total += _ir_walk(t, row)[0]
        expected.append(total)
    assert scorer.score("predict", rows) == expected  # the batch entry point
    one, _, ctype = scorer.fns["predict"]
    structs, _keep = scorer._rows(rows)
    got = ctype()
    for i, want in enumerate(expected):
        assert one(structs[i:i + 1].ctypes.data, ctypes.byref(got)) == 0
        assert got.value == want
