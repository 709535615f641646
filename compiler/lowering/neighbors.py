"""Nearest neighbours: KNeighborsClassifier, KNeighborsRegressor and NearestCentroid, with
sklearn's own distance arithmetic, neighbour heap and tie rules (sklearn 1.9.1).

Where sklearn finds the neighbours (`neighbors/_base.py` `KNeighborsMixin.kneighbors`,
validated with `ensure_all_finite=True`: NaN, then infinity, refused; `_fit` picks
`_fit_method` and `effective_metric_`):

- brute force, metric "euclidean" / "sqeuclidean" (`EuclideanArgKmin`,
  `metrics/_pairwise_distances_reduction/_argkmin.pyx.tp`): the squared distance is
  `max(0., (||x||^2 + (-2 x.y)) + ||y||^2)` (Cython's `max(0., s)` is `s > 0 ? s : 0`,
  so a NaN from `inf - inf` becomes 0). `||x||^2` is BLAS `ddot`, a plain left fold for
  the few columns of these models; `||y||^2` are computed at compile time by the same
  function; `x.y` is `dgemm` (alpha = -2), whose kernel accumulates `fma(x_j, y_j, acc)`
  in column order and then scales by -2 (measured: 0 of 14,400 distances differ). The IR has
  no fused multiply-add, so each step is emulated exactly (`_fma`: Dekker's product,
  Knuth's sum; 0 of 300,000 random and adversarial fmas differ); plain products would pick
  other neighbours on 2% of queries of scaled integer data.
- brute force, other metrics (`ArgKmin` on `DatasetsPair.surrogate_dist`, i.e.
  `DistanceMetric.rdist`, `metrics/_dist_metrics.pyx.tp`): euclidean/l2 sums
  `(x_j - y_j)^2`, manhattan sums `|x_j - y_j|`, chebyshev takes `fmax` from 0, minkowski
  sums `w_j * pow(|x_j - y_j|, p)`, each from 0 in column order.
- kd_tree / ball_tree (`_binary_tree.pxi.tp` `_query_single_depthfirst`): the same `rdist`,
  pushed leaf by leaf in `idx_array` order, the nearer child (`min_rdist` of the kd box or
  of the ball) first at each split (`tree_order`).

The k nearest are kept by `utils/_heap.pyx` `heap_push` on a max-heap of k slots that
starts as (DBL_MAX, 0) for brute force and (inf, 0) for the trees: a value `>=` the root
is skipped, else it replaces the root and sifts down past strictly larger children. Among
equal distances at the k-th place this keeps neither the earliest nor the latest row in
general (rows at distances 5, 5, 3, 4 with k = 3 keep the second 5), so the heap is
simulated push by push (`_Heap`); `KSmallest`'s lower-position rule alone would differ
from sklearn on 6% (k = 3) to 14% (k = 5) of queries on integer data (for k <= 2 it is the
heap's rule, and is used). Slots never filled keep their initial entry: neighbour 0 at
distance sqrt(DBL_MAX) (brute) or inf (trees). The heap is then sorted by
`simultaneous_sort`, an insertion sort (stable) for k <= 15: `KSmallest` over the heap's
values in slot order is that order exactly. The generated code is one step per stored row
(a DuckDB macro of 40 rows and k = 7 takes about a second to plan).

Outputs (`_classification.py`, `_regression.py`, `_get_weights`): uniform votes count the
neighbours' classes (predict: the first class with most votes, as `_mode` and
`ArgKminClassMode` + argmax do); 'distance' weights are `1 / dist`, a row with any
infinite weight (a distance of 0) weighting those neighbours 1 and the others 0.
`weighted_mode` sums each class's weights over the k slots with numpy's pairwise order
(zeros included) and keeps the first strictly largest; predict_proba adds the weights in
neighbour order and divides by numpy's sum over classes. Regression: `np.mean` over the
neighbours (pairwise; a left fold per output for 2-D y), or `sum(y * w) / sum(w)`
(pairwise), 0 / 0 = NaN as numpy. A classifier with distance weights on a tree is refused:
a row at an infinite distance from every stored row leaves the tree's heap at inf, every
weight 0, and sklearn raises a ValueError scorec has no refusal kind for.

What is not reproduced exactly (the IR cannot know it):
- brute force with more than `pairwise_dist_chunk_size` (256) stored rows, scored by
  `ArgKmin` with `parallel_on_Y` (a batch smaller than the training set) on several
  threads: each thread keeps its own heap over its chunks of rows and the heaps are merged,
  so which of several equidistant rows at the k-th place is kept depends on the thread
  count. The single-thread / `parallel_on_X` order is compiled.
- `||x||^2` for 16 or more columns and the GEMM for models whose BLAS kernel does not use
  FMA (or splits the column loop): last-bit differences in distances, which matter only
  for distinct rows within an ulp of each other.
- ball_tree: a ball's bound `dist(x, centroid) - radius` can exceed a member's distance by
  an ulp; a row then within that ulp of the heap's largest value is trimmed by sklearn and
  pushed here.
- k > 15: introsort's order among equidistant neighbours (a rounding difference in sums).
- NearestCentroid: see `nearest_centroid`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.sparse import issparse
from sklearn.metrics._pairwise_distances_reduction._dispatcher import sqeuclidean_row_norms
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor, NearestCentroid
from sklearn.utils.extmath import row_norms

from ..ir import (
    Argmax,
    Arith,
    At,
    BoolIndex,
    Compare,
    Const,
    Expr,
    Func,
    IsMissing,
    Item,
    KSmallest,
    Lookup,
    Map,
    MatVec,
    Max,
    Neg,
    Not,
    Or,
    Output,
    Pack,
    Pow,
    Reduce,
    Refusal,
    Select,
    Sum,
    Var,
)
from ..registry import CompileError, Context, Frame, Head, UnsupportedError, rule
from .common import as_label, check_numbers, is_inf, numpy_sum
from .scale import einsum_squares

DBL_MAX = float(np.finfo(np.float64).max)
INF = float("inf")
VELTKAMP = 134217729.0  # 2**27 + 1: splits a double into two 26-bit halves
ZERO = Const(0.0)


# ---- comparisons of two computed numbers -------------------------------------------------

def _lt(a: Expr, b: Expr) -> Expr:
    """a < b for numbers that are never NaN: `a - b < 0` (exact in sign; inf - inf is NaN,
    false, as inf < inf)."""
    return Compare("<", Arith("-", a, b), 0.0)


def _and(*conds: Expr) -> Expr:
    return Not(Or(tuple(Not(c) for c in conds)))


def _equals(a: Expr, b: Expr) -> Expr:
    return Compare("==", Arith("-", a, b), 0.0)


# ---- distances to the stored rows ------------------------------------------------------

@dataclass(frozen=True)
class Metric:
    """How sklearn measures a distance: the reduced distance the heap compares (`rdist`)
    and the conversion of a kept one to the distance the weights use."""

    name: str  # "gemm", "sqgemm", "euclidean", "manhattan", "chebyshev", "minkowski"
    p: float = 2.0
    w: tuple[float, ...] | None = None

    def to_distance(self, rdist: Expr) -> Expr:
        """`_rdist_to_dist(max(rdist, 0.))` (rdist is never negative here)."""
        if self.name in ("gemm", "euclidean"):
            return Func("sqrt", rdist)
        if self.name == "minkowski":
            return Pow(rdist, Const(1.0 / self.p))
        return rdist


def _metric(est: object, ctx: Context) -> Metric:
    """The metric sklearn's fitted `effective_metric_` / `_params_` compute, or refusal."""
    name = est.effective_metric_
    params = dict(est.effective_metric_params_ or {})
    if callable(name) or not isinstance(name, str):
        raise UnsupportedError(f"{ctx.where()}: a callable metric is Python code scorec "
                               "cannot compile")
    brute = est._fit_method == "brute"
    if name == "euclidean":
        return Metric("gemm") if brute else Metric("euclidean")
    if name == "sqeuclidean":
        return Metric("sqgemm")
    if name == "l2":
        return Metric("euclidean")
    if name in ("manhattan", "cityblock", "l1"):
        return Metric("manhattan", 1.0)
    if name in ("chebyshev", "infinity"):
        return Metric("chebyshev", INF)
    if name in ("minkowski", "p"):
        p = float(params.get("p", 2))
        w = params.get("w")
        if w is None and p in (1.0, 2.0, INF):  # DistanceMetric.get_metric's special cases
            return Metric({1.0: "manhattan", 2.0: "euclidean", INF: "chebyshev"}[p], p)
        weights = None if w is None else tuple(float(v) for v in np.asarray(w, dtype=float))
        return Metric("minkowski", p, weights)
    raise UnsupportedError(
        f"{ctx.where()}: metric={name!r} is not supported (euclidean, sqeuclidean, l2, "
        "manhattan/cityblock/l1, chebyshev/infinity and minkowski with p and w are)"
        + ("; 'precomputed' scores a distance matrix, not rows" if name == "precomputed"
           else ""))


def _split(v: Expr) -> tuple[Expr, Expr]:
    """Veltkamp's split v = hi + lo, each half 26 bits (NaN once |v| > DBL_MAX / 2**27)."""
    t = Arith("*", Const(VELTKAMP), v)
    hi = Arith("-", t, Arith("-", t, v))
    return hi, Arith("-", v, hi)


def _split_constants(col: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    with np.errstate(all="ignore"):
        t = VELTKAMP * col
        hi = t - (t - col)
        return tuple(float(v) for v in hi), tuple(float(v) for v in col - hi)


def _fma(a: Expr, a_parts: tuple[Expr, Expr], b: Expr, b_hi: Expr, b_lo: Expr,
         c: Expr) -> Expr:
    """fma(a, b, c), correctly rounded: a*b = p + e exactly (Dekker), c + p = s + t exactly
    (Knuth), then s + (t + e). Where the split overflows or a product is infinite the
    emulation is NaN and `c + a*b` is what fma gives (up to the last bit of a number that
    only matters by being infinite or not)."""
    a_hi, a_lo = a_parts
    p = Arith("*", a, b)
    e = Arith("+", Sum((Arith("-", Arith("*", a_hi, b_hi), p), Arith("*", a_hi, b_lo),
                        Arith("*", a_lo, b_hi))), Arith("*", a_lo, b_lo))
    s = Arith("+", c, p)
    bb = Arith("-", s, c)
    t = Arith("+", Arith("-", c, Arith("-", s, bb)), Arith("-", p, bb))
    r = Arith("+", s, Arith("+", t, e))
    return Select(IsMissing(r), s, r)


def _column(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def _padded(fit_X: np.ndarray) -> np.ndarray:
    """The stored rows and one row of zeros, at position n: the heap's initial entry."""
    return np.vstack([fit_X, np.zeros((1, fit_X.shape[1]))])


def gemm_sq_distances(x: list[Expr], fit_X: np.ndarray) -> Expr:
    """EuclideanArgKmin's squared distances before the clamp, width n + 1:
    `(ddot(x, x) + -2 * dgemm(x, y)) + ||y||^2`, the dgemm an fma chain over the columns."""
    padded = _padded(fit_X)
    norms = np.append(sqeuclidean_row_norms(np.ascontiguousarray(fit_X), 1), 0.0)
    x_norm = Sum(tuple(Arith("*", v, v) for v in x)) if len(x) > 1 else Arith("*", x[0], x[0])
    acc: Expr = Map(Arith("*", x[0], Var(0)), (_column(padded[:, 0]),))
    for j in range(1, len(x)):
        hi, lo = _split_constants(padded[:, j])
        acc = Map(_fma(x[j], _split(x[j]), Var(0), Var(1), Var(2), Var(3)),
                  (_column(padded[:, j]), hi, lo, acc))
    return Map(Arith("+", Arith("+", x_norm, Arith("*", Const(-2.0), Var(0))), Var(1)),
               (acc, _column(norms)))


def _per_column_sum(x: list[Expr], padded: np.ndarray, term: Callable[[Expr, int], Expr]
                    ) -> Expr:
    """sum over columns j (from 0, in order) of term(element, j), one Map per column."""
    total: Expr | None = None
    for j, v in enumerate(x):
        t = Map(term(v, j), (_column(padded[:, j]),))
        total = t if total is None else Map(Arith("+", Var(0), Var(1)), (total, t))
    return total


def metric_rdist(x: list[Expr], fit_X: np.ndarray, metric: Metric) -> Expr:
    """DistanceMetric.rdist(x, y) to every stored row (and the zero row at n)."""
    padded = _padded(fit_X)
    matrix = tuple(tuple(float(v) for v in row) for row in padded)
    vec = Pack(tuple(x))
    if metric.name == "euclidean":
        return MatVec(vec, matrix, "sqdiff", "sum")
    if metric.name == "manhattan":
        return MatVec(vec, matrix, "absdiff", "sum")
    if metric.name == "chebyshev":
        return MatVec(vec, matrix, "absdiff", "max")
    p = Const(metric.p)

    def term(v: Expr, j: int) -> Expr:
        powered = Pow(Func("abs", Arith("-", v, Var(0))), p)
        return powered if metric.w is None else Arith("*", Const(metric.w[j]), powered)

    return _per_column_sum(x, padded, term)


def _closed(raw: Expr, n: int, init: float, clamp: bool) -> Expr:
    """Position n becomes the heap's initial value; `clamp`: Cython's `max(0., s)`."""
    flag = tuple(0.0 if i < n else 1.0 for i in range(n + 1))
    value: Expr = Select(Compare(">", Var(0), 0.0), Var(0), ZERO) if clamp else Var(0)
    return Map(Select(Compare(">", Var(1), 0.5), Const(init), value), (raw, flag))


# ---- sklearn's bounded max-heap, push by push --------------------------------------------

class _Heap:
    """`heap_push` of every stored row, in push order, on k slots: the heap array is k
    scalar positions into `dist` (position n: the initial entry), each push one step of
    comparisons of the slots' values (`At`) and one Select per slot."""

    def __init__(self, dist: Expr, n: int, k: int, init: float):
        self.dist, self.n, self.k, self.init = dist, n, k, init
        # position n (the initial entry) as an index node: Python indexes lists by int
        self.empty = Lookup(BoolIndex(Compare(">", Item(dist, n), -1.0)), (n, n))

    def run(self, order: list[int | Expr]) -> list[Expr]:
        slots: list[Expr] = [self.empty] * self.k
        for position in order:
            slots = self.push(slots, position)
        return slots

    def push(self, slots: list[Expr], position: int | Expr) -> list[Expr]:
        """The heap array (positions into dist) after `heap_push(val=dist[position],
        val_idx=position)`: the sift decisions, then each slot from them. `position` is a
        constant, or an index node (a tree's query-dependent visit order)."""
        static = isinstance(position, int)
        k = self.k
        v = Item(self.dist, position) if static else At(self.dist, position)

        def value(s: int) -> Expr:
            return At(self.dist, slots[s])

        go: dict[tuple[int, int], Expr] = {}  # (slot a, side): the path moves to 2a+1+side
        for a in range(k):
            left, right = 2 * a + 1, 2 * a + 2
            if right < k:
                right_larger = _lt(value(left), value(right))
                go[a, 0] = _and(Not(right_larger), _lt(v, value(left)))
                go[a, 1] = _and(right_larger, _lt(v, value(right)))
            elif left < k:  # `values[left] > val`
                go[a, 0] = _lt(v, value(left))
        pushed = _lt(v, value(0))
        arrived = Lookup(BoolIndex(pushed), (position, position)) if static else position
        out = []
        for s in range(k):
            conds, c = [pushed], s
            while c > 0:
                conds.append(go[(c - 1) // 2, (c - 1) % 2])
                c = (c - 1) // 2
            arriving: Expr = arrived
            for side in (1, 0):
                if (s, side) in go:
                    arriving = Select(go[s, side], slots[2 * s + 1 + side], arriving)
            out.append(Select(_and(*conds) if len(conds) > 1 else pushed, arriving, slots[s]))
        return out

    def sorted_positions(self, positions: list[Expr]) -> Expr:
        """The kept positions by increasing distance: simultaneous_sort's insertion sort is
        stable in slot order, as KSmallest; slots whose value is inf (a tree heap's unfilled
        slots) are never taken, and the fill k reads position n."""
        k = self.k
        values = tuple(At(self.dist, p) for p in positions)
        slots = KSmallest(Pack(values + (Const(INF),)), k, k)
        table = Pack(tuple(positions) + (self.empty,))
        return Pack(tuple(At(table, Item(slots, i)) for i in range(k)))


# ---- the neighbours of one row -------------------------------------------------------------

@dataclass(frozen=True)
class Neighbours:
    """The k neighbours sklearn's kneighbors returns for the row, nearest first."""

    positions: Expr  # width k: stored-row positions; n is the heap's initial entry (row 0)
    rdist: Expr  # width n + 1: the reduced distance at each position
    metric: Metric
    n: int
    k: int

    def table(self, per_row: tuple) -> Expr:
        """A per-stored-row table read at each neighbour (the initial entry is row 0)."""
        return Map(Lookup(Var(0), tuple(per_row) + (per_row[0],)), (self.positions,))

    def weights(self) -> Expr:
        """_get_weights(dist, 'distance'): 1 / dist, or, where some weight is infinite (a
        distance of 0), 1 for those neighbours and 0 for the others. (Scalars, not maps: a
        map body's captures are walked recursively, and these hang on the whole heap.)"""
        inverse = [Arith("/", Const(1.0), self.metric.to_distance(
            At(self.rdist, Item(self.positions, i)))) for i in range(self.k)]
        infinite = [is_inf(w) for w in inverse]
        any_infinite = infinite[0] if self.k == 1 else Or(tuple(infinite))
        return Pack(tuple(Select(any_infinite, Select(f, Const(1.0), ZERO), w)
                          for w, f in zip(inverse, infinite)))


def _fmax(a: Expr, b: Expr) -> Expr:
    """C's fmax for a that is never NaN: b when b > a, else a (a NaN b is ignored)."""
    return Select(_lt(a, b), b, a)


def _le(a: Expr, b: Expr) -> Expr:
    """a <= b, false when either is NaN, true for inf <= inf."""
    return Or((_lt(a, b), _equals(a, b), _and(Compare(">=", a, INF), Compare(">=", b, INF))))


def _kd_lower_bound(x: list[Expr], lower: np.ndarray, upper: np.ndarray, p: float) -> Expr:
    """_kd_tree.pyx.tp min_rdist: per column d = (d_lo + |d_lo|) + (d_hi + |d_hi|) with
    d_lo = lo - x, d_hi = x - hi; fmax of 0.5 d from 0 (p = inf), else the sum of
    pow(0.5 d, p) from 0."""
    out: Expr = ZERO
    for j, v in enumerate(x):
        d_lo = Arith("-", Const(float(lower[j])), v)
        d_hi = Arith("-", v, Const(float(upper[j])))
        d = Arith("+", Arith("+", d_lo, Func("abs", d_lo)), Arith("+", d_hi, Func("abs", d_hi)))
        half = Arith("*", Const(0.5), d)
        if p == INF:
            out = _fmax(out, half)
        else:
            term = Pow(half, Const(p))
            out = term if j == 0 else Arith("+", out, term)
    return out


def _ball_lower_bound(x: list[Expr], centroid: np.ndarray, radius: float,
                      metric: Metric) -> Expr:
    """_ball_tree.pyx.tp min_rdist: dist_to_rdist(fmax(0, dist(x, centroid) - radius))."""
    row = centroid[None, :]
    if metric.name == "euclidean":
        dist = Func("sqrt", Item(metric_rdist(x, row, metric), 0))
    elif metric.name == "minkowski":
        dist = Pow(Item(metric_rdist(x, row, metric), 0), Const(1.0 / metric.p))
    else:
        dist = Item(metric_rdist(x, row, metric), 0)
    gap = Arith("-", dist, Const(float(radius)))
    low = Select(Compare(">", gap, 0.0), gap, ZERO)
    if metric.name == "euclidean":
        return Arith("*", low, low)
    if metric.name == "minkowski":
        return Pow(low, Const(metric.p))
    return low


def tree_order(est: object, x: list[Expr], metric: Metric) -> list[int | Expr]:
    """The order a kd/ball tree query pushes the stored rows (`_query_single_depthfirst`):
    leaf by leaf in `idx_array` order, visiting at each split the child with the smaller
    `min_rdist` first (the first child on a tie). A node the query trims (its bound above
    the heap's largest value) holds only rows the heap would skip anyway (each row's
    reduced distance is at least the bound), so every row is pushed in this order."""
    _, idx_array, node_data, bounds = est._tree.get_arrays()
    kd = est._fit_method == "kd_tree"

    def bound(node: int) -> Expr:
        if kd:
            return _kd_lower_bound(x, bounds[0, node], bounds[1, node], metric.p)
        return _ball_lower_bound(x, bounds[0, node], float(node_data[node]["radius"]), metric)

    def order(node: int) -> list[int | Expr]:
        info = node_data[node]
        if info["is_leaf"]:
            return [int(i) for i in idx_array[info["idx_start"]:info["idx_end"]]]
        left, right = order(2 * node + 1), order(2 * node + 2)
        if len(left) + len(right) == 0:
            return []
        first_left = _le(bound(2 * node + 1), bound(2 * node + 2))
        source = BoolIndex(first_left)

        def node_of(item: int | Expr) -> Expr:
            return Lookup(source, (item, item)) if isinstance(item, int) else item

        lr, rl = left + right, right + left
        return [Select(first_left, node_of(a), node_of(b)) for a, b in zip(lr, rl)]

    return order(0)


def kneighbors(est: object, frame: Frame, ctx: Context) -> Neighbours:
    """KNeighborsMixin.kneighbors(X) for the row: validation, distances, heap, sort."""
    who = type(est).__name__
    if frame.sparse or issparse(est._fit_X):
        raise UnsupportedError(f"{ctx.where()}: {who} receives (or was fitted on) a sparse "
                               "matrix, whose distances sklearn computes by other loops; "
                               "scorec compiles neighbours of dense input (use "
                               "sparse_output=False or sparse_threshold=0)")
    check_numbers(ctx, frame.columns, allow_nan=False, who=who)
    if est.metric == "precomputed":
        raise UnsupportedError(f"{ctx.where()}: metric='precomputed' scores a distance "
                               "matrix, not rows")
    metric = _metric(est, ctx)
    fit_X = np.asarray(est._fit_X)
    if fit_X.dtype != np.float64:
        raise UnsupportedError(f"{ctx.where()}: {who} was fitted on {fit_X.dtype} data; "
                               "sklearn then computes distances in another precision")
    n, k = int(est.n_samples_fit_), int(est.n_neighbors)
    if k > n:
        raise UnsupportedError(f"{ctx.where()}: n_neighbors={k} > n_samples_fit={n}: "
                               "sklearn raises for every row")
    if fit_X.shape[1] != len(frame.columns):
        raise CompileError(f"{ctx.where()}: fitted on {fit_X.shape[1]} columns, receives "
                           f"{len(frame.columns)}")
    brute = est._fit_method == "brute"
    init = DBL_MAX if brute else INF
    x = list(frame.columns)
    order = list(range(n)) if brute else tree_order(est, x, metric)
    if metric.name in ("gemm", "sqgemm"):
        rdist = _closed(gemm_sq_distances(x, fit_X), n, init, clamp=True)
    else:
        rdist = _closed(metric_rdist(x, fit_X, metric), n, init, clamp=False)
    if k <= 2 and order == list(range(n)):
        # a heap of one or two slots keeps the earliest of equal values below its initial
        # value, nearest first (an equal pair's order changes no sum of two): KSmallest
        kept = rdist if init == INF else Map(
            Select(Compare(">=", Var(0), init), Const(INF), Var(0)), (rdist,))
        return Neighbours(KSmallest(kept, k, n), rdist, metric, n, k)
    heap = _Heap(rdist, n, k, init)
    return Neighbours(heap.sorted_positions(heap.run(order)), rdist, metric, n, k)


def _weights_option(est: object, ctx: Context) -> str:
    if est.weights not in ("uniform", "distance") and est.weights is not None:
        raise UnsupportedError(f"{ctx.where()}: weights={est.weights!r} (a callable) is "
                               "Python code scorec cannot compile")
    return "distance" if est.weights == "distance" else "uniform"


def _class_sums(labels: Expr, values: Expr | None, n_classes: int, k: int,
                pairwise: bool) -> list[Expr]:
    """Per class, the neighbours' votes (values None: 1 each) summed over the k slots with
    zeros elsewhere: numpy's pairwise order (weighted_mode) or a left fold (predict_proba's
    `proba[rows, idx] += w`, which adds each class's weights in neighbour order)."""
    out = []
    for c in range(n_classes):
        mine = _equals(Var(0), Const(float(c)))
        vote = Map(Select(mine, Const(1.0) if values is None else Var(1), ZERO),
                   (labels,) if values is None else (labels, values))
        out.append(numpy_sum([Item(vote, i) for i in range(k)]) if pairwise
                   else Reduce("sum", vote))
    return out


@rule(KNeighborsClassifier, "estimator",
      notes="weights uniform/distance (distance: brute force only); euclidean, sqeuclidean, "
            "manhattan, chebyshev, minkowski (p, w); brute, kd_tree, ball_tree; sklearn's "
            "heap ties; dense input")
def k_neighbors_classifier(est: KNeighborsClassifier, frame: Frame, ctx: Context) -> Head:
    if est.outputs_2d_:
        raise UnsupportedError(f"{ctx.where()}: multi-output classification (fitted on a "
                               "2-D y) is not supported")
    weights = _weights_option(est, ctx)
    if weights == "distance" and est._fit_method != "brute":
        raise UnsupportedError(
            f"{ctx.where()}: weights='distance' with algorithm={est._fit_method!r}: sklearn "
            "raises 'All neighbors of some sample is getting zero weights' for a row whose "
            "every stored row is at an infinite distance (a tree's heap starts at inf), a "
            "refusal scorec has no kind for yet; use algorithm='brute'")
    if weights == "distance" and est.effective_metric_ == "minkowski" \
            and est.effective_metric_params_["p"] < 1:
        raise UnsupportedError(
            f"{ctx.where()}: weights='distance' with minkowski p < 1: a distance "
            "rdist ** (1/p) overflows to inf and sklearn raises 'All neighbors of some "
            "sample is getting zero weights' for rows scorec cannot refuse by kind yet")
    nb = kneighbors(est, frame, ctx)
    classes = tuple(as_label(c) for c in est.classes_)
    labels = nb.table(tuple(int(v) for v in est._y))
    if weights == "uniform":
        votes = _class_sums(labels, None, len(classes), nb.k, pairwise=False)
        proba = tuple(Arith("/", v, Const(float(nb.k))) for v in votes)
        label = Argmax(tuple(votes))
    else:
        w = nb.weights()
        raw = _class_sums(labels, w, len(classes), nb.k, pairwise=False)
        total = numpy_sum(raw)
        proba = tuple(Arith("/", r, total) for r in raw)
        label = Argmax(tuple(_class_sums(labels, w, len(classes), nb.k, pairwise=True)))
    return Head("classification", classes, {
        "predict": Output("predict", "label", (label,)),
        "predict_proba": Output("predict_proba", "vector", proba),
    })


@rule(KNeighborsRegressor, "estimator",
      notes="weights uniform/distance; 1-D y or 2+ outputs; euclidean, sqeuclidean, "
            "manhattan, chebyshev, minkowski (p, w); brute, kd_tree, ball_tree; sklearn's "
            "heap ties; dense input")
def k_neighbors_regressor(est: KNeighborsRegressor, frame: Frame, ctx: Context) -> Head:
    weights = _weights_option(est, ctx)
    y = np.asarray(est._y, dtype=float)
    if y.ndim == 2 and y.shape[1] == 1:
        raise UnsupportedError(
            f"{ctx.where()}: fitted on a 2-D y of one column, sklearn's predict returns one "
            "value per row in a list, which the manifest cannot yet tell from a single "
            "output (n_outputs is 1 either way); fit on y.ravel()")
    nb = kneighbors(est, frame, ctx)
    columns = [y] if y.ndim == 1 else [y[:, j] for j in range(y.shape[1])]
    # np.mean(_y[ind], axis=1): pairwise for 1-D y, a left fold across a 2-D y's rows
    pairwise = y.ndim == 1
    w = nb.weights() if weights == "distance" else None
    denom = numpy_sum([Item(w, i) for i in range(nb.k)]) if w is not None else None
    preds: list[Expr] = []
    for col in columns:
        values = nb.table(_column(col))
        if w is None:
            terms = [Item(values, i) for i in range(nb.k)]
            total = numpy_sum(terms) if pairwise or nb.k == 1 else Sum(tuple(terms))
            preds.append(Arith("/", total, Const(float(nb.k))))
        else:
            products = Map(Arith("*", Var(0), Var(1)), (values, w))
            preds.append(Arith("/", numpy_sum([Item(products, i) for i in range(nb.k)]),
                               denom))
    shape = "scalar" if y.ndim == 1 else "vector"
    return Head("regression", (), {"predict": Output("predict", shape, tuple(preds))})


# ---- NearestCentroid ---------------------------------------------------------------------

def nearest_row(x: list[Expr], rows: np.ndarray, metric: Metric) -> Expr:
    """pairwise_distances_argmin(x, rows): ArgKmin with k = 1 on C-ordered input (a heap of
    one slot keeps the first smallest value below DBL_MAX, else row 0)."""
    n = len(rows)
    if metric.name == "gemm":
        rdist = _closed(gemm_sq_distances(x, rows), n, INF, clamp=True)
    else:
        rdist = _closed(metric_rdist(x, rows, metric), n, INF, clamp=False)
    kept = Map(Select(Compare(">=", Var(0), DBL_MAX), Const(INF), Var(0)), (rdist,))
    return Item(KSmallest(kept, 1, 0), 0)


def _normalized(est: NearestCentroid, x: list[Expr]) -> list[Expr]:
    """NearestCentroid._decision_function's `X[:, mask] /= within_class_std_dev_[mask]`."""
    std = np.asarray(est.within_class_std_dev_, dtype=float)
    return [Arith("/", v, Const(float(s))) if s != 0 else v for v, s in zip(x, std)]


def _centroid_scores(est: NearestCentroid, xn: list[Expr]) -> list[Expr]:
    """NearestCentroid._decision_function on the normalized row (the centroids divided at
    compile time): per class `-pairwise_distances(x, centroid) ** 2 + 2 log(prior)`.
    Euclidean is `sqrt(max((-2 x.c + ||x||^2) + ||c||^2, 0))` (row norms by einsum, x.c by
    BLAS, in an order BLAS picks), manhattan scipy's cdist cityblock."""
    std = np.asarray(est.within_class_std_dev_, dtype=float)
    mask = std != 0
    centroids = np.array(est.centroids_, dtype=float)
    centroids[:, mask] /= std[mask]
    with np.errstate(divide="ignore"):
        offsets = 2.0 * np.log(np.asarray(est.class_prior_, dtype=float))
    x_norm = einsum_squares(xn) if est.metric == "euclidean" else None
    scores = []
    for c, row in enumerate(centroids):
        if x_norm is not None:
            dot = numpy_sum([Arith("*", v, Const(float(w))) for v, w in zip(xn, row)])
            c_norm = float(row_norms(row[None, :], squared=True)[0])
            sq = Arith("+", Arith("+", Arith("*", Const(-2.0), dot), x_norm), Const(c_norm))
            dist = Func("sqrt", Select(Compare("<", sq, 0.0), ZERO, sq))  # NaN stays NaN
        else:
            terms = [Func("abs", Arith("-", v, Const(float(w)))) for v, w in zip(xn, row)]
            dist = Sum(tuple(terms)) if len(terms) > 1 else terms[0]
        scores.append(Arith("+", Neg(Arith("*", dist, dist)), Const(float(offsets[c]))))
    return scores


@rule(NearestCentroid, "estimator",
      notes="euclidean and manhattan; shrink_threshold; priors; predict_proba and "
            "decision_function (euclidean; with uniform priors only where no column can "
            "overflow when divided by its deviation)")
def nearest_centroid(est: NearestCentroid, frame: Frame, ctx: Context) -> Head:
    """NearestCentroid (neighbors/_nearest_centroid.py). With uniform priors predict is
    `pairwise_distances_argmin(X, centroids_)`, i.e. ArgKmin with k = 1 (the GEMM with fma
    for euclidean) on a C-ordered X; otherwise the first largest of the discriminant scores,
    which decision_function and predict_proba (euclidean only) return too.

    Not exact: a numeric DataFrame reaching the model through element-wise steps stays
    F-ordered, and sklearn then argmins `euclidean_distances` (einsum norms, BLAS product,
    `np.maximum`, sqrt) instead: the same label except where two centroids are within
    rounding of each other (the sqrt can merge them) or the distances overflow. The scores'
    `x.c` is BLAS (gemv or gemm by batch size; any order is sklearn's)."""
    if frame.sparse:
        raise UnsupportedError(f"{ctx.where()}: NearestCentroid receives a sparse matrix; "
                               "scorec compiles it for dense input")
    check_numbers(ctx, frame.columns, allow_nan=False, who="NearestCentroid")
    classes = tuple(as_label(c) for c in est.classes_)
    x = list(frame.columns)
    if np.asarray(est.centroids_).shape[1] != len(x):
        raise CompileError(f"{ctx.where()}: centroids of {np.shape(est.centroids_)[1]} "
                           f"columns, the step receives {len(x)}")
    std = np.asarray(est.within_class_std_dev_, dtype=float)
    if not (np.isfinite(est.centroids_).all() and np.isfinite(std).all()):
        raise UnsupportedError(f"{ctx.where()}: the fitted centroids (or within-class "
                               "deviations) hold NaN or infinity (a zero deviation with "
                               "shrink_threshold, or one sample per class): sklearn raises "
                               "for every row")
    xn = _normalized(est, x)
    scores = _centroid_scores(est, xn)
    # a column divided by a deviation below 1 can overflow: pairwise_distances then raises
    overflows = [is_inf(v) for v, s in zip(xn, std) if 0 < s < 1]
    uniform = np.isclose(est.class_prior_, 1 / len(classes)).all()
    if uniform:  # pairwise_distances_argmin on the row as it came: nothing to overflow
        metric = Metric("gemm") if est.metric == "euclidean" else Metric("manhattan")
        label = nearest_row(x, np.asarray(est.centroids_, dtype=float), metric)
    else:  # DiscriminantAnalysisPredictionMixin.predict: the first largest score
        label = Argmax(tuple(scores))
    outputs = {"predict": Output("predict", "label", (label,))}
    if overflows and not uniform:
        ctx.refuse_if(overflows[0] if len(overflows) == 1 else Or(tuple(overflows)),
                      Refusal.INFINITE_VALUE,
                      "Input contains infinity or a value too large for dtype('float64')")
    # with uniform priors, predict accepts the rows whose normalized columns overflow and
    # the scores refuse them; one program's checks hold for all its outputs, so the scores
    # are compiled only where no column can overflow
    if est.metric == "euclidean" and not (uniform and overflows):
        if len(classes) == 2:
            outputs["decision_function"] = Output(
                "decision_function", "scalar", (Arith("-", scores[1], scores[0]),))
        else:
            outputs["decision_function"] = Output("decision_function", "vector",
                                                  tuple(scores))
        top = Max(tuple(scores))
        shifted = [Arith("-", s, top) for s in scores]
        log_total = Func("log", numpy_sum([Func("exp", s) for s in shifted]))
        outputs["predict_proba"] = Output("predict_proba", "vector", tuple(
            Func("exp", Arith("-", s, log_total)) for s in shifted))
    return Head("classification", classes, outputs)
