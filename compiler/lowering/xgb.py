"""XGBoost in XGBoost's own float32 arithmetic: the sklearn wrappers (XGBClassifier,
XGBRegressor, XGBRFClassifier, XGBRFRegressor) and XGBoost's model files or raw Boosters
(`XGBoostModel`, see compiler/native/xgboost_file.py), one lowering for all. Rules are
keyed by dotted class names: scorec never imports xgboost to compile.

What is reproduced (xgboost 3.2 sources; the same in 2.x where not said):

- inputs (src/predictor/cpu_predictor.cc `AdapterView::DoFill`): each value is cast to
  float32; NaN, or a value whose float32 equals the `missing` parameter's, is missing;
  infinities are scored (`inplace_predict` never checks them); from a sparse (CSR) matrix
  XGBoost reads only the stored entries, so there an absent entry, i.e. a zero (sklearn's
  matrices store none), is missing (`_stored_entries`);
- splits (src/predictor/predict_fn.h `GetNextNode`): a missing value takes the default
  child, else `float32(x) < split` (float32 threshold) goes left. `float32(x) < s` is
  `float32(x) <= s'` for s' the float32 below s, so the bound folded into the IR's double
  `x <= B` is `f32_split_bound(s')`;
- categorical splits (src/common/categorical.h `Decision`): a code goes RIGHT when it is a
  valid category (0 <= c < 2^24, truncated to an int) in the node's set, and left
  otherwise (negative, too large, not in the set); NaN takes the default child. The IR's
  category sets go left, so the children are swapped. A pandas categorical column is a
  text input whose codes are the positions of its values among the training categories
  (`cats` in the model), other values missing;
- sums (cpu_predictor.cc `PredValueByOneTree`, src/predictor/predictor.cc
  `InitOutPredictions`): each output starts at its intercept and adds the float32 leaf of
  every tree of `tree_info` that output in tree order, in float32 (`Func("float32")` after
  each addition: a double sum of two float32 rounded to float32 is float32 addition). The
  intercept is the stored `base_score` through the objective's `ProbToMargin` (src/
  objective/regression_loss.h: logit for logistic objectives, `logf` for the log-link
  ones), computed with the platform's `logf` as XGBoost computes it. Trees are the rounds
  `iteration_indptr[begin:end]` (the wrapper's `best_iteration`, else every round);
  `num_parallel_tree` trees are a round's trees, summed like any;
- dart (src/gbm/gbtree.cc `Dart::InplacePredict`): tree t adds
  `((intercept + leaf) - intercept) * weight_drop[t]`, each step in float32;
- gblinear (src/gbm/gblinear.cc `Pred`, predicted through a DMatrix as the wrapper does):
  `bias + intercept[0]`, then `+ float32(x) * weight` for each present feature in order,
  all float32; the DMatrix refuses a row with an infinity or a float32 overflow;
- output transforms, in float32 (src/common/math.h `Sigmoid`, `Softmax`,
  src/objective/*): sigmoid `1 / (expf(min(-x, 88.7f)) + 1)`, softmax (`expf(x - max)`,
  summed in double, divided in float32), `expf` for count:poisson, reg:gamma, reg:tweedie,
  survival:cox and survival:aft, hinge `x > 0`, identity for the rest. `expf` is glibc's
  (sysdeps/ieee754/flt-32/e_expf.c, glibc >= 2.27): a 32-entry table and a cubic in
  double, rounded once to float32, reproduced operation by operation (`expf` below). Its
  result is not always the correctly rounded float32 (170,635 inputs differ from it), so
  `float32(exp(x))` would differ from XGBoost by one ulp on about 6e-4 of the inputs;
  the emulation differs from glibc's FMA build on 2 float32 inputs of 2.24e9 (the FMA
  rounds the cubic's steps once) and from its plain build on none;
- the wrappers' rules (python-package/xgboost/sklearn.py): classes 0 .. k-1; binary
  `predict` is `p > 0.5` on the float32 prediction and `predict_proba` the float32
  `[1 - p, p]`; multiclass `predict` is numpy's argmax of the probabilities (softprob) or
  the booster's argmax of the margins (softmax, XGBoost's `FindMaxIndex`: the first
  maximum); a regressor predicts the float32 value.

Every output is a float32 value held in a double, as XGBoost returns it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import struct
from functools import cache

import numpy as np

from ..ir import (
    Argmax,
    Arith,
    BoolIndex,
    Bucket,
    Compare,
    Const,
    Expr,
    Func,
    InSet,
    IsMissing,
    Item,
    Lookup,
    Max,
    Neg,
    Or,
    Output,
    Pack,
    Refusal,
    Select,
    Sum,
    Tree,
)
from ..native.xgboost_file import XGBoostModel, XGBTree, from_booster
from ..registry import CompileError, Context, Frame, Head, UnsupportedError, rule
from .common import F32_OVERFLOW, f32_split_bound

NAN = float("nan")
INF = float("inf")
# categorical.h OutOfRangeCat: codes at or above 2^24 are invalid (go left)
MAX_CATEGORY = 16777216.0

# ---- float32 arithmetic --------------------------------------------------------------------


def f32(x: Expr) -> Expr:
    return Func("float32", x)


def _named(x: Expr) -> Expr:
    """x computed once into a name: a running float32 sum is one short expression per step
    (nested, 1,000 trees would nest 1,000 deep, and a target that guards its float32 cast
    repeats the operand)."""
    return Item(Pack((x,)), 0)


def _c(v: float) -> float:
    """A float32 constant as the double holding it."""
    return float(np.float32(v))


# glibc's expf (sysdeps/ieee754/flt-32/e_expf.c, e_exp2f_data.c; EXP2F_TABLE_BITS = 5)
_EXP2F_TAB = (
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
    0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
    0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
    0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
)
# tab[i] + (i << 47) is 2^(i/32) as a double: s = that * 2^floor(k/32) for k % 32 = i
_EXP2_I32 = tuple(struct.unpack("<d", struct.pack("<Q", t + (i << 47)))[0]
                  for i, t in enumerate(_EXP2F_TAB))
_INV_LN2_N = float.fromhex("0x1.71547652b82fep+0") * 32
_POLY = (float.fromhex("0x1.c6af84b912394p-5") / 32 / 32 / 32,
         float.fromhex("0x1.ebfce50fac4f3p-3") / 32 / 32,
         float.fromhex("0x1.62e42ff0c52d6p-1") / 32)
_EXPF_OVERFLOW = float.fromhex("0x1.62e42ep6")  # x above: +inf
_EXPF_UNDERFLOW = -float.fromhex("0x1.9fe368p6")  # x below: 0
_INDEX_EDGES = tuple(i + 0.5 for i in range(31))


def expf(x: Expr) -> Expr:
    """glibc's expf of a float32 value, operation by operation: z = x * 32/ln2, k its
    nearest integer (ties to even: the `+ 0x1.8p52` trick), r = z - k; s = 2^(k/32) from
    the table and 2^floor(k/32); y = (C0 r + C1) r^2 + (C2 r + 1); float32(y s). Outside
    [-103.97, 88.72] the result is 0 or +inf (x = -inf gives 0); NaN stays NaN."""
    z = Arith("*", Const(_INV_LN2_N), x)
    k = Func("rint", z)
    r = Arith("-", z, k)
    high = Func("floor", Arith("*", k, Const(1.0 / 32)))
    low = Arith("-", k, Arith("*", high, Const(32.0)))
    s = Arith("*", Lookup(Bucket(low, _INDEX_EDGES), _EXP2_I32), Func("exp2", high))
    c0, c1, c2 = (Const(c) for c in _POLY)
    poly = Arith("+", Arith("*", Arith("+", Arith("*", c0, r), c1), Arith("*", r, r)),
                 Arith("+", Arith("*", c2, r), Const(1.0)))
    value = f32(Arith("*", poly, s))
    return Select(Compare("<", x, _EXPF_UNDERFLOW), Const(0.0),
                  Select(Compare(">", x, _EXPF_OVERFLOW), Const(INF), value))


_F88_7 = _c(88.7)


def sigmoid(m: Expr) -> Expr:
    """common::Sigmoid(float): `x = std::min(-x, 88.7f); 1.0f / (expf(x) + 1.0f + kEps)`.
    kEps (1e-16f) is below half an ulp of the sum, which is at least 1: adding it
    changes nothing, so it is left out."""
    neg = Neg(m)
    t = Select(Compare(">", neg, _F88_7), Const(_F88_7), neg)  # (88.7f < -x) ? 88.7f : -x
    return f32(Arith("/", Const(1.0), f32(Arith("+", expf(t), Const(1.0)))))


def softmax(margins: list[Expr]) -> list[Expr]:
    """common::Softmax: `expf(x - fmaxf over x)`, summed in double from 0, each divided in
    float32 by the float32 sum. (fmaxf skips NaN where numpy's max does not; a NaN margin
    makes every probability NaN either way.)"""
    top = Max(tuple(margins))
    exps = [expf(f32(Arith("-", m, top))) for m in margins]
    total = f32(Sum(tuple(exps)))
    return [f32(Arith("/", e, total)) for e in exps]


@cache
def _libm_logf() -> object | None:
    """The platform's logf, which XGBoost calls (through ctypes, at compile time only)."""
    name = ctypes.util.find_library("m") or ctypes.util.find_library("c")
    try:
        fn = ctypes.CDLL(name).logf if name else None
    except (OSError, AttributeError):
        return None
    if fn is not None:
        fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
    return fn


def logf(v: float) -> float:
    """logf of a float32 value: the platform's own (XGBoost's), else the nearest float32 of
    the double log (which differs from glibc's logf on rare inputs)."""
    fn = _libm_logf()
    if fn is not None:
        return _c(fn(v))
    return _c(math.log(v)) if v > 0 else (-INF if v == 0 else NAN)


_RT_EPS = _c(1e-6)  # kRtEps

LOGISTIC = ("reg:logistic", "binary:logistic")
LOG_LINK = ("count:poisson", "reg:gamma", "reg:tweedie", "survival:cox", "survival:aft")


def intercept_margin(objective: str, base: float) -> float:
    """ObjFunction::ProbToMargin of one stored base_score value, in float32."""
    if objective in LOGISTIC:  # LogisticRegression::ProbToMargin: clamp, then Logit
        x = min(max(base, _RT_EPS), _c(1.0 - _RT_EPS))
        return -logf(_c(_c(1.0 / x) - 1.0))
    if objective in LOG_LINK:
        return logf(base)
    return base


# ---- inputs and trees --------------------------------------------------------------------


class _Inputs:
    """The trees' input slots: one per feature (its number, or its category code), shared
    by every tree (one forest)."""

    def __init__(self, model: XGBoostModel, frame: Frame, ctx: Context, missing: float):
        if len(frame.columns) != model.num_feature:
            raise CompileError(f"{ctx.where()}: the model expects {model.num_feature} "
                               f"columns and receives {len(frame.columns)}")
        m32 = None if math.isnan(missing) else _c(missing)
        slots = []
        for j, col in enumerate(frame.columns):
            if model.is_categorical(j):
                slots.append(_category_code(model, j, col, ctx, m32))
                continue
            if col.type == "string":
                raise CompileError(f"{ctx.where()}: a text column reaches numeric feature {j} "
                                   "of the XGBoost model; encode it first (e.g. "
                                   "OneHotEncoder), or make it a pandas categorical")
            slots.append(_missing_as_nan(col, m32))
        self.slots = tuple(slots)


def _missing_as_nan(x: Expr, m32: float | None) -> Expr:
    """x, NaN where its float32 equals the `missing` value (AdapterView: missing_ !=
    e.value on floats)."""
    if m32 is None:
        return x
    return Select(Compare("==", f32(x), m32), Const(NAN), x)


def _code_of(x: Expr, categories: tuple) -> Expr:
    """The position of x among the categories (NaN when it is none of them): the code of
    `pandas.Categorical(x, categories)`."""
    terms = [Select(InSet(x, (c,)), Const(1.0), Const(0.0)) for c in categories]
    return Lookup(Argmax((Const(0.5), *terms)), (NAN, *(float(i) for i in range(len(terms)))))


def _category_code(model: XGBoostModel, j: int, col: Expr, ctx: Context,
                   m32: float | None) -> Expr:
    """A categorical feature's code as `Decision` reads it: codes of the training
    categories for a pandas column; else the number itself through float32, truncated to
    an int, -1 (never in a set: left) where it is negative or at least 2^24."""
    cats = model.categories[j]
    if cats is not None and isinstance(cats[0], str):
        ctx.want_string(col, "nan")
        if col.type != "string":
            return Const(NAN)  # lowering runs again with the column as text
        return _code_of(col, cats)
    if col.type == "string":
        raise CompileError(f"{ctx.where()}: a text column reaches categorical feature {j}, "
                           "whose categories are numbers (or unknown)")
    if cats is not None:
        return _code_of(_missing_as_nan(col, m32), tuple(float(c) for c in cats))
    c = f32(_missing_as_nan(col, m32))
    invalid = Or((Compare("<", c, 0.0), Compare(">=", c, MAX_CATEGORY)))
    return Select(invalid, Const(-1.0), Func("trunc", c))


def split_bound(threshold: float, where: str) -> float:
    """The double B with `x <= B` <=> `float32(x) < threshold` (threshold a float32)."""
    if math.isnan(threshold) or threshold == -INF:
        raise CompileError(f"{where}: a tree split has threshold {threshold}")
    below = float(np.nextafter(np.float32(threshold), np.float32(-INF)))
    return f32_split_bound(below)


def lower_tree(tree: XGBTree, inputs: tuple[Expr, ...], where: str) -> Expr:
    """One XGBoost tree as an IR Tree (its reachable nodes, breadth first) read at its one
    value; a lone leaf is its value."""
    if tree.left[0] == -1:
        return Const(tree.value[0])
    order, index = [0], {0: 0}
    for node in order:  # grows while iterating
        if tree.left[node] != -1:
            for child in (tree.left[node], tree.right[node]):
                if not 0 < child < len(tree.left) or child in index:
                    raise CompileError(f"{where}: a tree node points outside the tree")
                index[child] = len(order)
                order.append(child)
    n = len(order)
    feature, bound, missing_left = [0] * n, [0.0] * n, [False] * n
    left, right = [-1] * n, [-1] * n
    values: list[tuple[float, ...]] = [()] * n
    sets: list[tuple[float, ...] | None] = [None] * n
    for i, node in enumerate(order):
        if tree.left[node] == -1:
            values[i] = (tree.value[node],)
            continue
        f = tree.feature[node]
        if not 0 <= f < len(inputs):
            raise CompileError(f"{where}: a split reads feature {f} of {len(inputs)}")
        feature[i] = f
        lo, hi = index[tree.left[node]], index[tree.right[node]]
        if node in tree.categories:  # in the set goes right: the IR's set goes left
            sets[i] = tuple(float(c) for c in tree.categories[node])
            left[i], right[i] = hi, lo
            missing_left[i] = not tree.default_left[node]
        else:
            bound[i] = split_bound(tree.value[node], where)
            left[i], right[i] = lo, hi
            missing_left[i] = tree.default_left[node]
    return Item(Tree(inputs=inputs, feature=tuple(feature), bound=tuple(bound),
                     missing_left=tuple(missing_left), left=tuple(left), right=tuple(right),
                     values=tuple(values),
                     categories=tuple(sets) if any(s is not None for s in sets) else None), 0)


# ---- margins -----------------------------------------------------------------------------


def margins(model: XGBoostModel, frame: Frame, ctx: Context, missing: float,
            rounds: tuple[int, int]) -> list[Expr]:
    """Each output's float32 margin, as the booster computes it for these rounds."""
    frame = _stored_entries(frame)
    base = [intercept_margin(model.objective, b) for b in model.base_score]
    if model.booster == "gblinear":
        return _linear_margins(model, frame, ctx, missing, base)
    inputs = _Inputs(model, frame, ctx, missing).slots
    begin, end = rounds
    first, last = model.iteration_indptr[begin], model.iteration_indptr[end]
    if model.weight_drop is not None and first == last:
        raise UnsupportedError(f"{ctx.where()}: a dart model with no tree to predict with")
    sums: list[Expr] = [Const(b) for b in base]
    for t in range(first, last):
        g = model.tree_info[t]
        leaf = lower_tree(model.trees[t], inputs, f"{ctx.where()} tree {t}")
        if model.weight_drop is not None:  # ((intercept + leaf) - intercept) * weight
            alone = f32(Arith("-", f32(Arith("+", Const(base[g]), leaf)), Const(base[g])))
            leaf = f32(Arith("*", alone, Const(model.weight_drop[t])))
        sums[g] = _named(f32(Arith("+", sums[g], leaf)))
    return sums


def _stored_entries(frame: Frame) -> Frame:
    """The frame as XGBoost reads it: from a sparse (CSR) matrix only the stored entries,
    an absent one being missing (CSRArrayAdapter, SparsePage); the matrices sklearn builds
    (ColumnTransformer's hstack, OneHotEncoder) store no zeros, so a zero is missing."""
    if not frame.sparse:
        return frame
    columns = [c if c.type == "string" else Select(Compare("==", c, 0.0), Const(NAN), c)
               for c in frame.columns]
    return Frame(columns, frame.sparse, frame.dtype)


def _linear_margins(model: XGBoostModel, frame: Frame, ctx: Context, missing: float,
                    base: list[float]) -> list[Expr]:
    if model.feature_types is not None and "c" in model.feature_types:
        raise UnsupportedError(f"{ctx.where()}: gblinear with categorical features is not "
                               "supported")
    cols = frame.columns
    if len(cols) != model.num_feature:
        raise CompileError(f"{ctx.where()}: the model expects {model.num_feature} columns "
                           f"and receives {len(cols)}")
    if any(c.type == "string" for c in cols):
        raise CompileError(f"{ctx.where()}: a text column reaches the XGBoost model; encode "
                           "it first (e.g. OneHotEncoder)")
    m32 = None if math.isnan(missing) else _c(missing)
    absent = [IsMissing(c) if m32 is None else Or((IsMissing(c), Compare("==", f32(c), m32)))
              for c in cols]
    if not math.isinf(missing):  # SparsePage::Push: an infinite float32 fails the DMatrix
        over = [Or((Compare(">=", c, F32_OVERFLOW), Compare("<=", c, -F32_OVERFLOW)))
                for c in cols]
        ctx.refuse_if(over[0] if len(over) == 1 else Or(tuple(over)), Refusal.INFINITE_VALUE,
                      "Input data contains `inf` or a value too large, while `missing` is "
                      "not set to `inf`")
    weights = model.linear_weights
    out = []
    for g in range(model.n_groups):
        # `Bias()[gid] + base_score(0)`: the first output's intercept for every output
        acc: Expr = Const(float(np.float32(weights[-1, g]) + np.float32(base[0])))
        for j, col in enumerate(cols):
            step = f32(Arith("+", acc, f32(Arith("*", f32(col), Const(float(weights[j, g]))))))
            acc = Select(absent[j], acc, step)
        out.append(acc)
    return out


# ---- outputs -----------------------------------------------------------------------------


def transform(objective: str, raw: list[Expr], where: str) -> list[Expr]:
    """The objective's PredTransform of the margins, in float32."""
    if objective in LOGISTIC:
        return [sigmoid(m) for m in raw]
    if objective in LOG_LINK:
        return [expf(m) for m in raw]
    if objective == "binary:hinge":
        return [Select(Compare(">", m, 0.0), Const(1.0), Const(0.0)) for m in raw]
    if objective == "multi:softprob":
        return softmax(raw)
    if objective == "multi:softmax":
        return raw  # the class is the argmax, taken by the label rule
    if objective in IDENTITY:
        return raw
    raise UnsupportedError(f"{where}: XGBoost objective {objective!r} is not supported")


IDENTITY = ("reg:squarederror", "reg:linear", "reg:squaredlogerror", "reg:pseudohubererror",
            "reg:absoluteerror", "reg:quantileerror", "binary:logitraw", "rank:pairwise",
            "rank:ndcg", "rank:map")


def classifier_outputs(objective: str, values: list[Expr], raw: list[Expr],
                       n_classes: int, where: str) -> dict[str, Output]:
    """XGBClassifier's predict / predict_proba on the booster's prediction."""
    if n_classes == 2:
        if len(values) != 1:
            raise UnsupportedError(f"{where}: a binary classifier with {len(values)} outputs "
                                   "per row (multi-label) is not supported")
        (p,) = values
        return {"predict": Output("predict", "label", (BoolIndex(Compare(">", p, 0.5)),)),
                "predict_proba": Output("predict_proba", "vector",
                                        (f32(Arith("-", Const(1.0), p)), p))}
    if len(values) != n_classes:
        raise CompileError(f"{where}: {len(values)} outputs per row for {n_classes} classes")
    if objective == "multi:softmax":  # FindMaxIndex over the margins: the first maximum
        return {"predict": Output("predict", "label", (Argmax(tuple(raw)),))}
    if objective != "multi:softprob":
        raise UnsupportedError(f"{where}: a {n_classes}-class classifier with objective "
                               f"{objective!r} is not supported (multi:softprob, "
                               "multi:softmax)")
    proba = tuple(values)
    return {"predict": Output("predict", "label", (Argmax(proba),)),
            "predict_proba": Output("predict_proba", "vector", proba)}


def _shape(values: list[Expr]) -> str:
    return "scalar" if len(values) == 1 else "vector"


def _check_objective(model: XGBoostModel, ctx: Context) -> None:
    if model.objective not in IDENTITY + LOGISTIC + LOG_LINK + (
            "binary:hinge", "multi:softprob", "multi:softmax"):
        raise UnsupportedError(f"{ctx.where()}: XGBoost objective {model.objective!r} is not "
                               "supported")


@rule("scorec.compiler.native.xgboost_file.XGBoostModel", "estimator",
      title="XGBoost model file",
      notes="XGBoost's JSON / UBJSON model (.json, .ubj) or a raw xgboost.Booster, read "
            "without xgboost; gbtree, dart, gblinear; every round; classes 0..k-1 for "
            "binary:* / multi:*; decision_function is the margin")
def xgboost_model(model: XGBoostModel, frame: Frame, ctx: Context) -> Head:
    _check_objective(model, ctx)
    raw = margins(model, frame, ctx, NAN, (0, model.rounds))
    values = transform(model.objective, raw, ctx.where())
    decision = Output("decision_function", _shape(raw), tuple(raw))
    if model.is_classifier:
        classes = tuple(int(c) for c in model.classes_)
        outputs = classifier_outputs(model.objective, values, raw, len(classes), ctx.where())
        return Head("classification", classes, {**outputs, "decision_function": decision})
    return Head("regression", (), {"predict": Output("predict", _shape(values), tuple(values)),
                                   "decision_function": decision})


# ---- the sklearn wrappers ----------------------------------------------------------------


def _wrapped(est: object, ctx: Context) -> tuple[XGBoostModel, tuple[int, int], float]:
    """The wrapper's booster, the rounds its predict uses (`_get_iteration_range`: the
    booster's best_iteration + 1 when early stopping set one, every round otherwise;
    gblinear has no rounds to choose) and its `missing` value."""
    name = type(est).__name__
    if callable(getattr(est, "objective", None)):
        raise UnsupportedError(f"{ctx.where()}: {name} with a custom objective function is "
                               "not supported (its predict returns raw scores)")
    try:
        booster = est.get_booster()
    except Exception as exc:  # noqa: BLE001 - xgboost's NotFittedError and the like
        raise CompileError(f"{ctx.where()}: {name} is not fitted: {exc}") from exc
    model = from_booster(booster)
    _check_objective(model, ctx)
    missing = getattr(est, "missing", NAN)
    missing = NAN if missing is None else float(missing)
    end = model.rounds
    if model.booster != "gblinear" and model.best_iteration is not None:
        end = model.best_iteration + 1
        if not 0 < end <= model.rounds:
            raise CompileError(f"{ctx.where()}: best_iteration {model.best_iteration} is "
                               f"outside the model's {model.rounds} rounds")
    return model, (0, end), missing


def xgb_classifier(est, frame: Frame, ctx: Context) -> Head:
    model, rounds, missing = _wrapped(est, ctx)
    n_classes = int(est.n_classes_)
    if not np.array_equal(np.asarray(est.classes_), np.arange(n_classes)):
        raise CompileError(f"{ctx.where()}: classes_ {est.classes_!r} are not 0..k-1")
    raw = margins(model, frame, ctx, missing, rounds)
    values = transform(model.objective, raw, ctx.where())
    outputs = classifier_outputs(model.objective, values, raw, n_classes, ctx.where())
    return Head("classification", tuple(range(n_classes)), outputs)


def xgb_regressor(est, frame: Frame, ctx: Context) -> Head:
    model, rounds, missing = _wrapped(est, ctx)
    values = transform(model.objective, margins(model, frame, ctx, missing, rounds),
                       ctx.where())
    return Head("regression", (), {"predict": Output("predict", _shape(values),
                                                     tuple(values))})


_CLASSIFIER_NOTES = ("gbtree, dart, gblinear; binary (p > 0.5) and multi:softprob; "
                     "multi:softmax (predict only); categorical features; missing; "
                     "best_iteration; float32 as XGBoost")
_REGRESSOR_NOTES = ("every reg:*, count:poisson, survival:*, rank:* objective; gbtree, dart, "
                    "gblinear; multi-target; categorical features; missing; best_iteration")
rule("xgboost.sklearn.XGBClassifier", "estimator", notes=_CLASSIFIER_NOTES)(xgb_classifier)
rule("xgboost.sklearn.XGBRFClassifier", "estimator",
     notes="random forest: num_parallel_tree trees, summed; as XGBClassifier")(xgb_classifier)
rule("xgboost.sklearn.XGBRegressor", "estimator", notes=_REGRESSOR_NOTES)(xgb_regressor)
rule("xgboost.sklearn.XGBRFRegressor", "estimator",
     notes="random forest: num_parallel_tree trees, summed; as XGBRegressor")(xgb_regressor)
