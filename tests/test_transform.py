"""Transform-family specifics the property test cannot reach: bit-exact products and norms
(dense and sparse), refusals with sklearn's messages, unsupported functions, and pipelines
whose steps hand DataFrames to each other (set_output(transform="pandas"))."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from builders import _fit, _split, dataset
from conftest import TARGETS, build_scorer, rows_for
from hypothesis import given
from hypothesis import strategies as st
from ir_eval import Evaluator
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.feature_selection import SelectKBest, VarianceThreshold, f_classif, f_regression
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import (
    Binarizer,
    FunctionTransformer,
    MaxAbsScaler,
    Normalizer,
    OneHotEncoder,
    PolynomialFeatures,
    RobustScaler,
    StandardScaler,
)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from scorec.compiler.ir import FeatureSpec
from scorec.compiler.lower import lower_model
from scorec.compiler.lowering.compose import lower_step
from scorec.compiler.registry import Context, Frame, UnsupportedError
from scorec.runtime.reference import reference
from scorec.runtime.scorer import Refused
from scorec.runtime.verify import compare, refusal_kind

# magnitudes that overflow, underflow and cancel in products and sums of squares
EXTREMES = (0.0, -0.0, 1.0, -3.5, 1e-300, 5e-324, 1e-160, 1e154, -1e200, 1e300, 7.25, 0.1)


def _rows(n_cols: int, n: int = 300, seed: int = 0) -> np.ndarray:
    """Rows mixing ordinary numbers, exact zeros and extreme magnitudes."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_cols)) * 10.0 ** rng.integers(-3, 4, size=(n, n_cols))
    pick = rng.random((n, n_cols)) < 0.35
    X[pick] = rng.choice(EXTREMES, size=int(pick.sum()))
    return X


def _lowered(step, n_cols: int, sparse: bool = False) -> tuple[Frame, Context]:
    """The step's output columns, lowered on raw inputs x0 .. x{n-1}."""
    ctx = Context([FeatureSpec(f"x{i}", "number") for i in range(n_cols)])
    frame = lower_step(step, Frame([ctx.feature(i) for i in range(n_cols)], sparse), ctx, "t")
    return frame, ctx


def _assert_bit_exact(frame: Frame, X: np.ndarray, expected: np.ndarray) -> None:
    """Every lowered column equals sklearn's output exactly (NaN where it is NaN)."""
    got = np.array([[float(Evaluator(list(row))(c)) for c in frame.columns] for row in X])
    assert got.shape == expected.shape
    same = (got == expected) | (np.isnan(got) & np.isnan(expected))
    bad = np.argwhere(~same)
    assert not bad.size, (f"row {X[bad[0][0]].tolist()} column {bad[0][1]}: "
                          f"{got[tuple(bad[0])]!r} != {expected[tuple(bad[0])]!r}")


# ---- bit-exact arithmetic ---------------------------------------------------------------

@pytest.mark.parametrize("degree", [2, 3, (2, 3), (0, 3), 4])
@pytest.mark.parametrize("interaction_only", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
def test_polynomial_products_are_sklearns_bit_for_bit(degree, interaction_only, sparse):
    """Dense: each degree is the previous block times one column ((x2 * x1) * x0); sparse:
    ascending factors, and (up to degree 3) an implicit zero stays zero where dense gives
    inf * 0 = NaN."""
    X = _rows(3)
    pf = PolynomialFeatures(degree, interaction_only=interaction_only).fit(X)
    frame, _ = _lowered(pf, 3, sparse)
    with np.errstate(all="ignore"):
        expected = pf.transform(sp.csr_matrix(X)).toarray() if sparse else pf.transform(X)
    _assert_bit_exact(frame, X, expected)


def test_dense_and_sparse_polynomials_differ_where_sklearn_does():
    """(1e200 * 1e200) * 0 is NaN in the dense branch and an implicit zero in the sparse."""
    X = np.array([[0.0, 1e200, 1e200]])
    pf = PolynomialFeatures(3).fit(X)
    dense, _ = _lowered(pf, 3)
    sparse, _ = _lowered(pf, 3, sparse=True)
    j = [tuple(p) for p in pf.powers_].index((1, 1, 1))
    assert np.isnan(float(Evaluator([0.0, 1e200, 1e200])(dense.columns[j])))
    assert float(Evaluator([0.0, 1e200, 1e200])(sparse.columns[j])) == 0.0


@pytest.mark.parametrize("norm", ["l1", "l2", "max"])
@pytest.mark.parametrize("n_cols", [1, 3, 9, 18])
def test_normalizer_norms_are_sklearns_bit_for_bit(norm, n_cols):
    """C-ordered arrays (einsum's two lanes, numpy's pairwise sum), DataFrames (F-ordered
    by check_array: left to right), CSR (the Cython loops), and both zero-norm rules."""
    X = _rows(n_cols)
    X[:5] = 0.0
    X[5:10] = 1e-16  # below 10 * eps: dense divides by 1, sparse by the norm
    nm = Normalizer(norm=norm).fit(X)
    _assert_bit_exact(_lowered(nm, n_cols)[0], X, nm.transform(X))
    _assert_bit_exact(_lowered(nm, n_cols, sparse=True)[0], X,
                      nm.transform(sp.csr_matrix(X)).toarray())
    df = pd.DataFrame(X, columns=[f"c{i}" for i in range(n_cols)])
    on_frame = Normalizer(norm=norm).fit(df)
    _assert_bit_exact(_lowered(on_frame, n_cols)[0], X, on_frame.transform(df))


@pytest.mark.parametrize("scaler", [RobustScaler(with_centering=False), MaxAbsScaler(clip=True),
                                    RobustScaler(quantile_range=(10, 60), unit_variance=True)])
def test_sparse_scalers_multiply_by_the_reciprocal(scaler):
    """inplace_column_scale multiplies by 1 / scale (never centres): not x / scale."""
    X = _rows(3)
    scaler.fit(X)
    with np.errstate(all="ignore"):
        _assert_bit_exact(_lowered(scaler, 3, sparse=True)[0], X,
                          scaler.transform(sp.csr_matrix(X)).toarray())
        _assert_bit_exact(_lowered(scaler, 3)[0], X, scaler.transform(X))


@pytest.mark.parametrize("func", [np.log, np.sqrt, np.reciprocal, np.square, np.sign, np.rint,
                                  np.negative, np.exp2, np.arcsinh])
def test_numpy_functions_are_numpys(func):
    X = _rows(2)
    X[:3] = [[np.nan, np.inf], [-np.inf, -1.0], [2.5, -2.5]]
    ft = FunctionTransformer(func).fit(X)
    with np.errstate(all="ignore"):
        _assert_bit_exact(_lowered(ft, 2)[0], X, ft.transform(X))


@pytest.mark.parametrize("kw", [{"a_min": 3.0, "a_max": -3.0}, {"min": 0.5},
                                {"a_min": np.nan, "a_max": 1.0}, {"max": [0.0, 2.0]}])
@pytest.mark.parametrize("frame_input", [False, True])
def test_clip_follows_numpy_or_pandas(kw, frame_input):
    """np.clip on an array lets the upper bound win and a NaN bound makes NaN;
    DataFrame.clip (validate=False on a frame) swaps the bounds and ignores NaN."""
    X = _rows(2)
    X[:2] = [[np.nan, 1.0], [-1e300, 1e300]]
    data = pd.DataFrame(X, columns=["a", "b"]) if frame_input else X
    ft = FunctionTransformer(np.clip, kw_args=kw).fit(data)
    if frame_input and "max" in kw:
        with pytest.raises(UnsupportedError, match="per-column bounds on a DataFrame"):
            _lowered(ft, 2)
        return
    _assert_bit_exact(_lowered(ft, 2)[0], X, np.asarray(ft.transform(data)))


# ---- refusals and unsupported configurations ---------------------------------------------

def _square(x):
    return x * x


@pytest.mark.parametrize("func, name", [(lambda x: x + 1, "<lambda>"), (_square, "_square"),
                                        (np.arccos, "arccos")])
def test_other_functions_are_refused_by_name(func, name):
    X = np.abs(_rows(2)) % 1
    model = make_pipeline(FunctionTransformer(func), Ridge()).fit(X, X[:, 0])
    with pytest.raises(UnsupportedError, match=rf"FunctionTransformer with func=\S*{name}"):
        lower_model(model)


def test_clip_arguments_numpy_rejects_are_refused():
    ft = FunctionTransformer(np.clip, kw_args={"a_min": 0.0}).fit(_rows(2))  # needs a_max
    with pytest.raises(UnsupportedError, match="raises for every row"):
        _lowered(ft, 2)


def test_sparse_input_with_a_function_is_refused():
    ft = FunctionTransformer(np.square).fit(_rows(2))
    with pytest.raises(UnsupportedError, match="sparse matrix"):
        _lowered(ft, 2, sparse=True)


def test_binarizer_with_negative_threshold_on_sparse_input_is_refused():
    bz = Binarizer(threshold=-0.5).fit(_rows(2))
    with pytest.raises(UnsupportedError, match="threshold < 0"):
        _lowered(bz, 2, sparse=True)


def _python_predict(program, rows) -> list[object]:
    with tempfile.TemporaryDirectory() as tmp:
        scorer, _ = build_scorer(program, "python", Path(tmp))
        return scorer.score("predict", rows)


def test_missing_indicator_error_on_new_refuses_like_sklearn():
    """A NaN in a column that had none at fit: sklearn's ValueError, kind MISSING_VALUE."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    X[::7, 1] = np.nan
    y = (X[:, 0] > 0).astype(int)
    model = make_pipeline(MissingIndicator(error_on_new=True, features="missing-only"),
                          DecisionTreeClassifier()).fit(X, y)
    program = lower_model(model)
    rows = [[np.nan, 0.0, 1.0], [0.0, np.nan, 1.0], [0.0, 0.0, np.nan], [1.0, 1.0, 1.0]]
    got = _python_predict(program, rows)
    want = reference(model, program.features, "predict", rows)
    assert [isinstance(g, Refused) for g in got] == [True, False, True, False]
    for g, w in zip(got, want):
        if isinstance(w, Refused):
            assert isinstance(g, Refused) and refusal_kind(g.reason) == "MISSING_VALUE"
            assert refusal_kind(w.reason) == "MISSING_VALUE"
    assert "The features [0] have missing values in transform" in want[0].reason
    assert any(c.message == want[0].reason for c in program.checks)


@pytest.mark.parametrize("allows_nan", [False, True])
def test_selectors_check_what_their_allow_nan_tag_says(allows_nan):
    X = _rows(3)
    y = X[:, 0] > 0
    sel = VarianceThreshold() if allows_nan else SelectKBest(f_classif, k=2)
    _, ctx = _lowered(sel.fit(X, y), 3)
    assert [c.reason.name for c in ctx.checks] == (
        [] if allows_nan else ["MISSING_VALUE", "INFINITE_VALUE"])


# ---- set_output(transform="pandas") -------------------------------------------------------

def _names_then_select(draw, X, y, task):
    """A first ColumnTransformer with DataFrame output; the second selects, by the names the
    first produced (a list, or a regex selector), the columns its transformers get."""
    num, txt = _split(X)
    verbose = draw(st.booleans())
    first = [("scaled", make_pipeline(SimpleImputer(), StandardScaler()), num)]
    if txt:
        # the data mark missing text with None (not NaN): impute exactly that
        first.append(("text", make_pipeline(SimpleImputer(strategy="most_frequent",
                                                          missing_values=None),
                                            OneHotEncoder(sparse_output=False,
                                                          handle_unknown="ignore")), txt))
    ct1 = ColumnTransformer(first, verbose_feature_names_out=verbose)
    names = list(_fit(ct1, X, y).get_feature_names_out())
    numbers = names[:len(num)]
    step = draw(st.sampled_from([PolynomialFeatures(2), RobustScaler(), Binarizer(threshold=0.2),
                                 MaxAbsScaler(), Normalizer()]))
    second = [("picked", step, numbers[:draw(st.integers(1, len(numbers)))])]
    if txt:
        pattern = "^text__" if verbose else "_"
        second.append(("onehot", "passthrough", make_column_selector(pattern=pattern)))
    ct2 = ColumnTransformer(second, remainder=draw(st.sampled_from(["drop", "passthrough"])),
                            verbose_feature_names_out=draw(st.booleans()))
    est = LogisticRegression(max_iter=300) if task == "classification" else Ridge()
    return Pipeline([("first", ct1.set_output(transform="pandas")), ("second", ct2),
                     ("est", est)])


def _pandas_pipeline(draw, X, y, task):
    """A whole pipeline set to DataFrame output: a selector then skips its input check (NaN
    reaches the tree), np.clip goes to DataFrame.clip, a FeatureUnion concatenates frames."""
    func = draw(st.sampled_from([
        FunctionTransformer(np.clip, kw_args={"a_min": 1.0, "a_max": -1.0}),
        FunctionTransformer(np.sqrt), FunctionTransformer(np.abs, validate=True),
        FunctionTransformer()]))
    if draw(st.booleans()):
        score = f_classif if task == "classification" else f_regression
        selector = draw(st.sampled_from([VarianceThreshold(), SelectKBest(score, k=1)]))
        steps = [("select", selector), ("func", func)]
    else:
        union = FeatureUnion([("same", "passthrough"),
                              ("flags", MissingIndicator(features="all")),
                              ("poly", make_pipeline(SimpleImputer(), PolynomialFeatures(2)))])
        steps = [("union", union), ("impute", SimpleImputer(keep_empty_features=True)),
                 ("func", func)]
    est = DecisionTreeClassifier(max_depth=4, random_state=0) if task == "classification" \
        else DecisionTreeRegressor(max_depth=4, random_state=0)
    return Pipeline([*steps, ("est", est)]).set_output(transform="pandas")


@st.composite
def pandas_output_model(draw):
    task = draw(st.sampled_from(["classification", "regression"]))
    if draw(st.booleans()):
        X, y = draw(dataset(n_num=(1, 3), n_str=(0, 1), task=task, frame=True))
        return _fit(_names_then_select(draw, X, y, task), X, y)
    X, y = draw(dataset(n_num=(2, 4), task=task, frame=True, missing=draw(st.booleans())))
    return _fit(_pandas_pipeline(draw, X, y, task), X, y)


@pytest.mark.parametrize("target", TARGETS)
@given(data=st.data())
def test_pandas_output_pipelines_equal_model(target: str, data: st.DataObject) -> None:
    model = data.draw(pandas_output_model(), label="model")
    program = lower_model(model)
    rows = data.draw(rows_for(program), label="rows")
    with tempfile.TemporaryDirectory() as tmp:
        scorer, manifest = build_scorer(program, target, Path(tmp))
        report = compare(model, program, [scorer], manifest["outputs"], rows)
    assert report.ok, report.format(program.features)


@pytest.mark.parametrize("target", TARGETS)
@given(data=st.data())
def test_a_selector_that_predicts_ends_a_model(target: str, data: st.DataObject) -> None:
    """RFE / RFECV at the end of a model: their predict is estimator_.predict of the
    selected columns (and likewise predict_proba, decision_function)."""
    from sklearn.feature_selection import RFE, RFECV

    task = data.draw(st.sampled_from(["classification", "regression"]))
    X, y = data.draw(dataset(n_num=(2, 4), task=task, missing=False))
    inner = LogisticRegression(max_iter=300) if task == "classification" else Ridge()
    selector = data.draw(st.sampled_from([RFE(inner, n_features_to_select=1),
                                          RFECV(inner, cv=2)]))
    model = _fit(selector if data.draw(st.booleans()) else
                 make_pipeline(StandardScaler(), selector), X, y)
    program = lower_model(model)
    rows = data.draw(rows_for(program), label="rows")
    with tempfile.TemporaryDirectory() as tmp:
        scorer, manifest = build_scorer(program, target, Path(tmp))
        report = compare(model, program, [scorer], manifest["outputs"], rows)
    assert report.ok, report.format(program.features)
