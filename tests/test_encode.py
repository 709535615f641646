"""Encode family specifics the property test cannot reach: KBinsDiscretizer's bin edges
probed one double at a time next to every edge (float32 and float64), encoders with
hundreds of categories (a flat table, not a chain nested as deep as the categories), and
the configurations refused at compile time."""

from __future__ import annotations

import math
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import TARGETS, build_scorer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder, OrdinalEncoder, TargetEncoder
from sklearn.tree import DecisionTreeRegressor

from scorec.compiler import ir
from scorec.compiler.lower import lower_model
from scorec.compiler.lowering.common import F32_OVERFLOW
from scorec.compiler.lowering.discretize import kbins_discretizer
from scorec.compiler.passes import all_roots, nodes
from scorec.compiler.registry import Context, Frame, UnsupportedError
from scorec.runtime.verify import compare

FLT_MAX = float(np.finfo(np.float32).max)

# edges where float32 rounding is hardest: exact float32 values, ties between two float32
# (1 + 2**-24 rounds to even, 1 + 3 * 2**-24 up), subnormals, signed zeros, the ends of the
# float32 range and beyond it, and numbers that are no float32
HOSTILE_EDGES = sorted({
    -3.5e38, -FLT_MAX, -1e30, -1.0, -0.1, -1e-40, -2.0**-150, 0.0, 2.0**-150, 1.5 * 2.0**-149,
    1e-45, 1e-38, 0.1, 1.0, 1.0 + 2.0**-24, 1.0 + 3 * 2.0**-24, 16777217.0, 1e30,
    float(np.nextafter(FLT_MAX, 0.0)), FLT_MAX, F32_OVERFLOW - 2.0**100, 3.5e38,
})


def _steps(x: float, n: int = 3) -> list[float]:
    """x and its n nearest doubles on either side."""
    out, up, down = [x], x, x
    for _ in range(n):
        up, down = math.nextafter(up, math.inf), math.nextafter(down, -math.inf)
        out += [up, down]
    return out


def _probes(edges: list[float]) -> np.ndarray:
    """Doubles next to each edge, next to the float32 values around it, and next to the
    midpoints between those float32 values (where the cast changes its result)."""
    found: set[float] = set()
    for e in edges:
        found.update(_steps(e))
        with np.errstate(over="ignore"):
            f = np.float32(e)
            around = [f, np.nextafter(f, np.float32(np.inf)), np.nextafter(f, np.float32(-np.inf))]
        for a, b in zip(around, around[1:] + around[:1]):
            if np.isfinite(a) and np.isfinite(b):
                found.update(_steps(float(a)))
                found.update(_steps((float(a) + float(b)) / 2.0))
    return np.array(sorted(v for v in found if math.isfinite(v)))


def _fitted_discretizer(edges: list[float], dtype) -> KBinsDiscretizer:
    """An ordinal discretizer whose one feature has the given inner edges."""
    kb = KBinsDiscretizer(n_bins=2, encode="ordinal", strategy="uniform", dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kb.fit(np.array([[0.0], [1.0]]))
    bin_edges = np.empty(1, dtype=object)
    bin_edges[0] = np.array([-1e308, *edges, 1e308])
    kb.bin_edges_, kb.n_bins_ = bin_edges, np.array([len(edges) + 1])
    return kb


def _lowered_bucket(kb: KBinsDiscretizer) -> ir.Bucket:
    ctx = Context([ir.FeatureSpec("x0", "number")])
    out = kbins_discretizer(kb, Frame([ctx.feature(0)]), ctx)
    lookup = out.columns[0]
    assert isinstance(lookup, ir.Lookup) and isinstance(lookup.index, ir.Bucket)
    assert lookup.table == tuple(float(k) for k in range(len(kb.bin_edges_[0]) - 1))
    return lookup.index


@pytest.mark.parametrize("dtype", [np.float32, np.float64, None])
def test_bin_edges_give_sklearns_bin_for_every_double_next_to_an_edge(dtype):
    """Bucket(x, E, right) = searchsorted(E, x, 'right') must equal sklearn's transform for
    every probe sklearn accepts; with dtype=float32 sklearn bins float32(x), so E differs
    from the edges, and the probes sit next to both."""
    kb = _fitted_discretizer(HOSTILE_EDGES, dtype)
    bucket = _lowered_bucket(kb)
    assert bucket.right and list(bucket.edges) == sorted(bucket.edges)
    if dtype is not np.float32:
        assert bucket.edges == tuple(HOSTILE_EDGES)
    x = _probes(HOSTILE_EDGES + list(bucket.edges))
    if dtype is np.float32:  # beyond float32's range sklearn refuses the row (infinity)
        x = x[np.abs(x) < F32_OVERFLOW]
    got = np.searchsorted(np.array(bucket.edges), x, side="right")
    want = kb.transform(x[:, None])[:, 0]
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, [(x[i], want[i], got[i]) for i in bad[:5]]
    assert x.size > 20 * len(HOSTILE_EDGES)


def test_float32_edges_are_exact_on_fitted_data():
    """Edges fitted on float32-adjacent data (the cast decides every row's bin)."""
    base = np.float32(0.3)
    col = np.array([np.nextafter(base, np.float32(k)) for k in (-1, 1)] * 20 + [base] * 20,
                   dtype=float) + np.repeat([0.0, 1e-9, -1e-9], 20)
    for strategy in ("uniform", "quantile", "kmeans"):
        kb = KBinsDiscretizer(n_bins=4, encode="ordinal", strategy=strategy,
                              dtype=np.float32, subsample=None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kb.fit(col[:, None])
        inner = kb.bin_edges_[0][1:-1].tolist()
        if not inner:
            continue
        bucket = _lowered_bucket(kb)
        x = _probes(inner + list(bucket.edges) + col.tolist())
        got = np.searchsorted(np.array(bucket.edges), x, side="right")
        assert (got == kb.transform(x[:, None])[:, 0]).all(), strategy


def _many_categories(n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    cats = np.array([f"c{i:03d}'\"" for i in range(n)], dtype=object)
    X = np.empty((3 * n, 1), dtype=object)
    X[:, 0] = np.concatenate([cats, rng.choice(cats, 2 * n)])
    codes = np.array([int(v[1:4]) for v in X[:, 0]])
    return X, codes * 0.5 + rng.normal(size=len(codes))


@pytest.mark.parametrize("target", TARGETS)
def test_hundreds_of_categories_compile_flat_and_match(target):
    """300 categories mapped to 300 outputs: a table read at the matching position, so no
    target nests 300 deep (Python's parser stops at 200 parentheses, clang at 256)."""
    X, y = _many_categories()
    models = [
        make_pipeline(OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                      LinearRegression()),
        make_pipeline(TargetEncoder(smooth=2.0), LinearRegression()),
    ]
    rows = [[v] for v in sorted(set(X[:, 0]))] + [[None], ["unseen"], [""]]
    for model in models:
        model.fit(X, y)
        program = lower_model(model)
        assert any(isinstance(n, ir.Lookup) and isinstance(n.index, ir.Argmax)
                   and len(n.table) == 301 for n in nodes(all_roots(program)))
        with tempfile.TemporaryDirectory() as tmp:
            scorer, manifest = build_scorer(program, target, Path(tmp))
            report = compare(model, program, [scorer], manifest["outputs"], rows)
        assert report.ok, report.format(program.features)


def test_refused_unknown_category_is_the_first_column_sklearn_names():
    """handle_unknown='error': one check per input, in column order, after the numbers'."""
    X = np.array([[0.0, 1.0], [1.0, 2.0], [np.nan, 1.0]] * 10)
    model = make_pipeline(OrdinalEncoder(encoded_missing_value=-1),
                          DecisionTreeRegressor(random_state=0)).fit(X, np.arange(30.0))
    program = lower_model(model)
    kinds = [c.reason for c in program.checks][:3]  # then the tree's own
    assert kinds == [ir.Refusal.INFINITE_VALUE, ir.Refusal.UNKNOWN_CATEGORY,
                     ir.Refusal.UNKNOWN_CATEGORY]
    assert [c.message[-25:] for c in program.checks[1:3]] == [
        "column 0 during transform", "column 1 during transform"]
    with pytest.raises(ValueError, match="unknown categories"):
        model.predict(np.array([[0.0, np.nan]]))  # NaN is no category of column 1


def test_kbins_edges_that_are_not_ascending_are_refused():
    kb = _fitted_discretizer([0.0, 1.0], None)
    kb.bin_edges_[0] = np.array([-1.0, np.nan, 1.0, 2.0])
    with pytest.raises(UnsupportedError, match="not ascending numbers"):
        _lowered_bucket(kb)


def test_kbins_after_a_sparse_step_is_refused():
    """sklearn's transform refuses a sparse matrix for every row; so does the compiler."""
    X = np.array([[0.0], [1.0], [2.0], [1.0]])
    onehot = OneHotEncoder().fit(X)
    kb = KBinsDiscretizer(n_bins=2, strategy="uniform").fit(onehot.transform(X).toarray())
    est = LogisticRegression().fit(kb.transform(onehot.transform(X).toarray()), [0, 1, 0, 1])
    with pytest.raises(UnsupportedError, match="sparse"):
        lower_model(Pipeline([("oh", onehot), ("kb", kb), ("est", est)]))
