"""LightGBM: the sklearn wrappers (LGBMClassifier, LGBMRegressor, LGBMRanker), raw Boosters
and LightGBM's own text model files, all lowered from the model's text form
(`compiler/native/lightgbm_file.py`), with LightGBM's prediction arithmetic. lightgbm is
never imported here: the wrappers' rules are registered by dotted name and read the
fitted booster's `model_to_string`.

What LightGBM computes for a dense row (src/c_api.cpp `RowPairFunctionFromDenseMatrix`,
src/application/predictor.hpp, include/LightGBM/tree.h, src/boosting/gbdt_prediction.cpp):

- the row enters as doubles; a value with |x| <= kZeroThreshold (1e-35f as a double, -0.0
  included) is dropped, i.e. becomes 0.0; NaN is kept. A sparse (CSR) row keeps its stored
  values as they are (`RowFunctionFromCSR` drops nothing);
- a numerical split (`NumericalDecision`): NaN becomes 0.0 unless the split's missing
  type is NaN; with missing type Zero a value with |x| <= kZeroThreshold, and with missing
  type NaN a NaN, goes to the default child (`default_left` bit); otherwise `x <= threshold`
  (a double compare) goes left. Dropping tiny values only moves thresholds within
  [-1e-35, 1e-35), so it is folded into the bound (`_dense_bound`); the missing-type-Zero
  region needs its own input (those values as NaN) unless the default child is where 0.0
  goes anyway;
- a categorical split (`CategoricalDecision`): NaN goes right, else the value is cast to
  int (truncated; on x86-64 `cvttsd2si` gives INT_MIN beyond the int range), a negative
  int goes right, and the code goes left when its bit is set in the split's bitset. So the
  row goes left exactly when trunc(x) is a member of the bitset (a huge or infinite value
  converts to INT_MIN, which no bitset holds): a category-set split on trunc(x). A pandas
  categorical column's value becomes its position in the training categories
  (`pandas_categorical`; unseen -> code -1 -> NaN), so the split is a set of the training
  values themselves, on the raw (text) input, NaN, None and unseen values going right;
- a linear leaf (`Tree::Predict`, `is_linear`): leaf_const + coeff_i * x_i in the leaf's
  feature order, unless one of those features is NaN: then the plain leaf_value;
- the raw score of output k: 0.0, then += tree i*K + k for each iteration i in order
  (K = num_tree_per_iteration), in double; `num_iteration` is the booster's
  best_iteration when it has one; `predict` (not `raw_score`) of an `average_output`
  model (rf) divides it by the number of iterations;
- the objective's ConvertOutput (src/objective/*.hpp), in double: binary and multiclassova
  `1.0 / (1.0 + exp(-sigmoid * x))`, multiclass softmax (Common::Softmax: std::max fold,
  exp(x - max), sum as a left fold from 0.0, divide), reg_sqrt `Sign(x) * x * x` (the
  regression family except huber), poisson / gamma / tweedie `exp(x)`, cross_entropy
  `1.0 / (1.0 + exp(-x))`, cross_entropy_lambda `log1p(exp(x))`, the rest raw.

The sklearn wrappers (lightgbm/sklearn.py): `LGBMClassifier.predict_proba` is the
booster's output (binary: `vstack(1 - p, p)`), `predict` is `argmax` of it mapped through
`classes_`, `decision_function` is the raw score; `LGBMRegressor` / `LGBMRanker.predict`
is the booster's output. LightGBM refuses no row (NaN and infinities are scored).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

import numpy as np

from ..ir import (
    Argmax,
    Arith,
    Compare,
    Const,
    Expr,
    Feature,
    Func,
    InSet,
    IsMissing,
    Item,
    Max,
    Neg,
    Or,
    Output,
    Select,
    Sum,
    Tree,
)
from ..native.lightgbm_file import (
    CATEGORICAL_MASK,
    DEFAULT_LEFT_MASK,
    MISSING_NAN,
    MISSING_ZERO,
    ZERO_THRESHOLD,
    LightGBMModel,
    LightGBMTree,
    from_booster,
)
from ..registry import CompileError, Context, Frame, Head, UnsupportedError, rule
from .common import as_label

NAN = float("nan")
# below -kZeroThreshold: where the values that become 0.0 begin
_BELOW_ZERO_REGION = math.nextafter(-ZERO_THRESHOLD, -math.inf)


def _dense_bound(threshold: float) -> float:
    """The bound B with `x <= B` <=> `z(x) <= threshold` for every non-NaN double x, where
    z(x) is 0.0 for |x| <= kZeroThreshold and x otherwise (the dense row's dropped values)."""
    if threshold >= ZERO_THRESHOLD or threshold < -ZERO_THRESHOLD:
        return threshold
    return ZERO_THRESHOLD if threshold >= 0.0 else _BELOW_ZERO_REGION


def _is_zero(x: Expr) -> Expr:
    """Tree::IsZero: -kZeroThreshold <= x <= kZeroThreshold (false for NaN)."""
    return Compare("<=", Func("abs", x), ZERO_THRESHOLD)


class _Inputs:
    """The forest's inputs, one per (feature, form) a tree reads, and each feature's value
    as LightGBM's predictor sees it (for linear leaves)."""

    def __init__(self, model: LightGBMModel, frame: Frame, ctx: Context) -> None:
        n = model.n_features_in_
        if len(frame.columns) != n:
            raise CompileError(f"{ctx.where()}: the LightGBM model has {n} features and "
                               f"receives {len(frame.columns)} columns")
        self.columns = frame.columns
        self.dense = not frame.sparse
        self.categories = _pandas_categories(model, frame, ctx)
        for j, col in enumerate(self.columns):
            if col.type == "string" and j not in self.categories:
                raise CompileError(f"{ctx.where()}: a text column reaches LightGBM as feature "
                                   f"{model.feature_names[j]!r}; encode it first, or train "
                                   "on a pandas categorical column")
        self.slots: dict[tuple[int, str], int] = {}
        self.exprs: list[Expr] = []
        self.values: dict[int, Expr] = {}

    def slot(self, feature: int, form: str | tuple) -> int:
        """The input index of `feature` as "raw" (the column), "zero" (NaN where
        |x| <= kZeroThreshold), "trunc" (the integer part, for category codes) or, for a
        text column, a tuple of categories (0.0 for one of them, else 1.0: every input
        of a forest is a number)."""
        key = (feature, form)
        if key not in self.slots:
            col = self.columns[feature]
            if isinstance(form, tuple):
                expr: Expr = Select(InSet(col, form), Const(0.0), Const(1.0))
            else:
                expr = {"raw": col, "zero": Select(_is_zero(col), Const(NAN), col),
                        "trunc": Func("trunc", col)}[form]
            self.slots[key] = len(self.exprs)
            self.exprs.append(expr)
        return self.slots[key]

    def value(self, feature: int) -> Expr:
        """The feature's value in the predictor's buffer: 0.0 for a dropped tiny value of a
        dense row, NaN kept."""
        if feature not in self.values:
            col = self.columns[feature]
            if col.type == "string":
                raise CompileError(f"feature {feature} is categorical text but a linear leaf "
                                   "multiplies it")
            self.values[feature] = Select(_is_zero(col), Const(0.0), col) if self.dense \
                else col
        return self.values[feature]


def _pandas_categories(model: LightGBMModel, frame: Frame, ctx: Context) -> dict[int, tuple]:
    """Feature index -> the training categories of a pandas categorical column, as text
    (the input becomes a string feature) or as numbers."""
    out: dict[int, tuple] = {}
    for j, cats in model.pandas_categories().items():
        col = frame.columns[j]
        if cats and all(isinstance(c, str) for c in cats):
            if not isinstance(col, Feature):
                raise CompileError(f"{ctx.where()}: feature {model.feature_names[j]!r} has "
                                   "text categories but is computed by an earlier step")
            ctx.want_string(col, "nan")
            out[j] = tuple(cats)
        elif all(isinstance(c, (int, float)) and not isinstance(c, bool) and float(c) == c
                 for c in cats):
            out[j] = tuple(float(c) for c in cats)
        else:
            raise CompileError(f"{ctx.where()}: pandas categories {cats[:5]!r} of feature "
                               f"{model.feature_names[j]!r} are neither all text nor all "
                               "finite numbers")
    return out


# ---- trees --------------------------------------------------------------------------------

def _split(tree: LightGBMTree, node: int, inputs: _Inputs) -> tuple | bool:
    """Split `node` as (input slot, bound, missing_left, categories or None), or the
    constant direction (True: left) of a categorical split no row can satisfy."""
    f, t, dt = tree.split_feature[node], tree.threshold[node], tree.decision_type[node]
    if dt & CATEGORICAL_MASK:
        members = tree.category_set(node)
        if f in inputs.categories:  # codes -> the training values they stand for
            cats = inputs.categories[f]
            values = tuple(cats[c] for c in members if c < len(cats))
            if not values:
                return False
            if isinstance(values[0], str):
                return (inputs.slot(f, values), 0.5, False, None)
            return (inputs.slot(f, "raw"), 0.0, False, values)
        values = tuple(float(c) for c in members if c < 2**31)
        return (inputs.slot(f, "trunc"), 0.0, False, values) if values else False
    if f in inputs.categories:
        raise CompileError(f"a numerical split on categorical feature {f}")
    default_left = bool(dt & DEFAULT_LEFT_MASK)
    missing = (dt >> 2) & 3
    zero_left = 0.0 <= t  # where NaN -> 0.0 goes
    if missing == MISSING_ZERO and (default_left != zero_left or not inputs.dense):
        return (inputs.slot(f, "zero"), t, default_left, None)
    bound = _dense_bound(t) if inputs.dense else t
    return (inputs.slot(f, "raw"), bound, default_left if missing == MISSING_NAN else zero_left,
            None)


def _leaf_vectors(tree: LightGBMTree) -> tuple[list[tuple[float, ...]], list[int]]:
    """Each leaf's value vector and the features of the linear parts: (leaf_value,) for a
    plain tree; (leaf_value, leaf_const, coeff per feature..., 1.0/0.0 per feature: does
    the leaf use it) for a linear one, the features in an order every leaf's own order
    agrees with (the left fold of each leaf keeps its order)."""
    if not tree.is_linear:
        return [(v,) for v in tree.leaf_value], []
    order = _common_order(tree.leaf_features)
    where = {f: i for i, f in enumerate(order)}
    vectors = []
    for leaf in range(tree.num_leaves):
        coeff = [0.0] * len(order)
        used = [0.0] * len(order)
        for f, c in zip(tree.leaf_features[leaf], tree.leaf_coeff[leaf]):
            coeff[where[f]], used[where[f]] = c, 1.0
        vectors.append((tree.leaf_value[leaf], tree.leaf_const[leaf], *coeff, *used))
    return vectors, order


def _common_order(lists: tuple[tuple[int, ...], ...]) -> list[int]:
    """One order of all features that keeps the order of every list (smallest feature
    first where free)."""
    after: dict[int, set[int]] = {}
    for features in lists:
        if len(set(features)) != len(features):
            raise UnsupportedError(f"a linear leaf lists a feature twice: {features}")
        for f in features:
            after.setdefault(f, set())
        for a, b in zip(features, features[1:]):
            after[a].add(b)
    indegree = {f: 0 for f in after}
    for succ in after.values():
        for b in succ:
            indegree[b] += 1
    ready = [f for f, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        f = heapq.heappop(ready)
        order.append(f)
        for b in after[f]:
            indegree[b] -= 1
            if indegree[b] == 0:
                heapq.heappush(ready, b)
    if len(order) != len(after):
        raise UnsupportedError("linear leaves list their features in contradicting orders")
    return order


class _Layout:
    """One tree's nodes breadth first (a child's index is above its parent's), past the
    splits no row can satisfy, with each split's (input slot, bound, missing_left,
    categories); building it registers the inputs the tree reads."""

    def __init__(self, tree: LightGBMTree, inputs: _Inputs) -> None:
        self.tree = tree
        self.vectors, self.order = _leaf_vectors(tree)
        self.root = _follow(tree, 0, inputs) if tree.num_leaves > 1 else ~0
        self.nodes: list[int] = [self.root]
        self.specs: list[tuple | None] = []
        self.left: list[int] = []
        self.right: list[int] = []
        if self.root < 0:
            return
        for node in self.nodes:  # grows while iterating
            if node < 0:
                self.specs.append(None)
                self.left.append(-1)
                self.right.append(-1)
                continue
            self.specs.append(_split(tree, node, inputs))
            for side, child in ((self.left, tree.left_child[node]),
                                (self.right, tree.right_child[node])):
                side.append(len(self.nodes))
                self.nodes.append(_follow(tree, child, inputs))

    def output(self, inputs: _Inputs, shared: tuple[Expr, ...]) -> Expr:
        """The tree's prediction (its leaf value, or its linear leaf's), reading `shared`,
        the forest's inputs tuple (one object for every tree: targets walk them as one
        forest)."""
        tree, specs = self.tree, self.specs
        if self.root < 0:  # a single leaf: its vector is constant
            leaf = self.vectors[~self.root]
            if not tree.is_linear:
                return Const(leaf[0])
            return _linear_leaf([Const(v) for v in leaf], self.order, inputs,
                                tree.leaf_features[~self.root])
        categorical = any(s is not None and s[3] is not None for s in specs)
        t = Tree(
            inputs=shared,
            feature=tuple(s[0] if s else 0 for s in specs),
            bound=tuple(s[1] if s else 0.0 for s in specs),
            missing_left=tuple(bool(s[2]) if s else False for s in specs),
            left=tuple(self.left),
            right=tuple(self.right),
            values=tuple(self.vectors[~n] if n < 0 else () for n in self.nodes),
            categories=tuple(s[3] if s else None for s in specs) if categorical else None,
        )
        if not tree.is_linear:
            return Item(t, 0)
        return _linear_leaf([Item(t, k) for k in range(t.width)], self.order, inputs, None)


def _follow(tree: LightGBMTree, node: int, inputs: _Inputs) -> int:
    """`node`, or where the row always goes from it (past splits no row can satisfy)."""
    while node >= 0:
        decided = _split(tree, node, inputs)
        if not isinstance(decided, bool):
            return node
        node = tree.left_child[node] if decided else tree.right_child[node]
    return node


def _linear_leaf(items: list[Expr], order: list[int], inputs: _Inputs,
                 known: tuple[int, ...] | None) -> Expr:
    """Tree::Predict of a linear leaf: leaf_value if a feature it uses is NaN, else
    leaf_const + coeff * x in its feature order. `items` are the leaf vector's entries;
    `known` the leaf's own features when the leaf is fixed (then no use flags are read)."""
    m = len(order)
    terms: list[Expr] = [items[1]]
    nans: list[Expr] = []
    for j, f in enumerate(order):
        x = inputs.value(f)
        if known is not None:
            if f in known:
                terms.append(Arith("*", items[2 + j], x))
                nans.append(IsMissing(x))
            continue
        used = Compare(">", items[2 + m + j], 0.5)
        terms.append(Select(used, Arith("*", items[2 + j], x), Const(0.0)))
        nans.append(IsMissing(Select(used, x, Const(0.0))))
    total = Sum(tuple(terms)) if len(terms) > 1 else terms[0]
    if not nans:
        return total
    return Select(nans[0] if len(nans) == 1 else Or(tuple(nans)), items[0], total)


# ---- the model ----------------------------------------------------------------------------

def raw_scores(model: LightGBMModel, frame: Frame, ctx: Context) -> list[Expr]:
    """GBDT::PredictRaw: one raw score per output (`raw_score=True`; never averaged)."""
    inputs = _Inputs(model, frame, ctx)
    k_out = model.num_tree_per_iteration
    n_iter = model.num_iteration
    layouts = [_Layout(tree, inputs) for tree in model.trees[:n_iter * k_out]]
    shared = tuple(inputs.exprs)
    outputs = [layout.output(inputs, shared) for layout in layouts]
    return [Sum((Const(0.0), *outputs[k::k_out])) if n_iter else Const(0.0)
            for k in range(k_out)]


def _sigmoid(s: float) -> Callable[[Expr], Expr]:
    """BinaryLogloss / MulticlassOVA ConvertOutput: 1.0 / (1.0 + exp(-sigmoid * x))."""
    return lambda x: Arith("/", Const(1.0), Arith("+", Const(1.0), Func("exp", Arith(
        "*", Const(-s), x))))


def _softmax(raws: list[Expr]) -> list[Expr]:
    """Common::Softmax: the max as std::max folds it (equal to numpy's max but for NaN,
    where every output is NaN either way), exp(x - max), a left-fold sum from 0.0."""
    top = Max(tuple(raws))
    exps = [Func("exp", Arith("-", r, top)) for r in raws]
    total = Sum((Const(0.0), *exps))
    return [Arith("/", e, total) for e in exps]


def convert_output(model: LightGBMModel, raws: list[Expr]) -> list[Expr]:
    """GBDT::Predict after PredictRaw: rf's average (`average_output`: divided by the
    number of iterations), then the objective's ConvertOutput, in LightGBM's arithmetic."""
    if model.average_output:
        raws = [Arith("/", r, Const(float(model.num_iteration))) for r in raws]
    obj, args = model.objective, model.objective_args
    if obj in ("binary", "multiclassova"):
        return [_sigmoid(model.sigmoid())(r) for r in raws]
    if obj == "multiclass":
        return _softmax(raws)
    if obj in ("regression", "regression_l1", "quantile", "fair", "mape") and "sqrt" in args:
        return [Arith("*", Arith("*", Func("sign", r), r), r) for r in raws]
    if obj in ("poisson", "gamma", "tweedie"):
        return [Func("exp", r) for r in raws]
    if obj == "cross_entropy":
        return [Arith("/", Const(1.0), Arith("+", Const(1.0), Func("exp", Neg(r))))
                for r in raws]
    if obj == "cross_entropy_lambda":
        return [Func("log1p", Func("exp", r)) for r in raws]
    return list(raws)  # huber, l1, l2, ..., ranking, custom: raw


def _classification(classes: tuple, values: list[Expr], raws: list[Expr],
                    decision: bool, where: str) -> Head:
    """predict_proba (binary: [1 - p, p]), predict = argmax of it, decision = raw."""
    proba = [Arith("-", Const(1.0), values[0]), values[0]] if len(values) == 1 else values
    if len(proba) != len(classes):
        raise CompileError(f"{where}: {len(values)} outputs per row for {len(classes)} classes")
    outputs = {"predict": Output("predict", "label", (Argmax(tuple(proba)),)),
               "predict_proba": Output("predict_proba", "vector", tuple(proba))}
    if decision:
        shape = "scalar" if len(raws) == 1 else "vector"
        outputs["decision_function"] = Output("decision_function", shape, tuple(raws))
    return Head("classification", classes, outputs)


def _regression(values: list[Expr]) -> Head:
    shape = "scalar" if len(values) == 1 else "vector"
    return Head("regression", (), {"predict": Output("predict", shape, tuple(values))})


@rule("scorec.compiler.native.lightgbm_file.LightGBMModel", "estimator",
      title="LightGBM model file",
      notes="LightGBM's text model (.txt) or a raw lightgbm.Booster, read without lightgbm; "
            "classes 0..k-1 for binary / multiclass / multiclassova")
def lightgbm_model(model: LightGBMModel, frame: Frame, ctx: Context) -> Head:
    raws = raw_scores(model, frame, ctx)
    values = convert_output(model, raws)
    if model.is_classifier:
        classes = tuple(int(c) for c in model.classes_)
        return _classification(classes, values, raws, True, ctx.where())
    return _regression(values)


# ---- the sklearn wrappers -----------------------------------------------------------------

def _wrapped(est: object, ctx: Context) -> LightGBMModel:
    """The wrapper's booster as a parsed model, after refusing what its predict would do
    beyond the booster's arithmetic."""
    name = type(est).__name__
    if callable(getattr(est, "objective", None)):
        raise UnsupportedError(f"{ctx.where()}: {name} with a custom objective function is "
                               "not supported (its predict returns raw scores that scorec "
                               "cannot tell apart)")
    params = est.get_params()
    if any(params.get(k) for k in ("pred_early_stop",)):
        raise UnsupportedError(f"{ctx.where()}: {name}(pred_early_stop=True) stops summing "
                               "trees early per row; not supported")
    return from_booster(est.booster_, ctx.where())


@rule("lightgbm.sklearn.LGBMClassifier", "estimator",
      notes="every boosting type (gbdt, dart, goss, rf), linear_tree, categorical features, "
            "NaN / zero as missing; binary, multiclass, multiclassova; best_iteration")
def lgbm_classifier(est, frame: Frame, ctx: Context) -> Head:
    model = _wrapped(est, ctx)
    if np.ndim(est.classes_[0]) != 0:
        raise CompileError("multi-output classifiers are not supported")
    raws = raw_scores(model, frame, ctx)
    classes = tuple(as_label(c) for c in est.classes_)
    return _classification(classes, convert_output(model, raws), raws,
                           hasattr(est, "decision_function"), ctx.where())


def _regressor(est, frame: Frame, ctx: Context) -> Head:
    model = _wrapped(est, ctx)
    if model.num_tree_per_iteration != 1:
        raise UnsupportedError(f"{ctx.where()}: {type(est).__name__} with "
                               f"{model.num_tree_per_iteration} trees per iteration")
    return _regression(convert_output(model, raw_scores(model, frame, ctx)))


rule("lightgbm.sklearn.LGBMRegressor", "estimator",
     notes="every objective (l2, l1, huber, fair, quantile, mape, reg_sqrt, poisson, gamma, "
           "tweedie, cross_entropy), boosting types, linear_tree, categorical features")(
    _regressor)
rule("lightgbm.sklearn.LGBMRanker", "estimator",
     notes="lambdarank / rank_xendcg: predict is the raw score")(_regressor)
