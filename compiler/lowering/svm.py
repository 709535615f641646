"""Kernel SVMs (libsvm): SVC, NuSVC, SVR, NuSVR and OneClassSVM, in libsvm's own arithmetic.

sklearn scores them in C (sklearn/svm/src/libsvm/svm.cpp, the dense build unless the model
was fitted on a sparse matrix; sklearn/svm/_libsvm.pyx and libsvm_helper.c wrap it):

- `Kernel::k_function(x, sv)`: linear `dot(x, sv)`; poly `powi(gamma*dot + coef0, degree)`
  (`powi`: square-and-multiply); rbf `exp(-gamma * sum_j (x_j - sv_j)^2)`; sigmoid
  `tanh(gamma*dot + coef0)`, with the fitted `_gamma`. The dense build's sums are BLAS
  `ddot` (a sequential loop for the few columns of these models; the order is not fixed in
  general), the sparse build's a loop over the stored entries in column order, which
  equals the dense loop in value (a skipped term is a finite x times 0).
- `svm_predict_values`: SVR, NuSVR, OneClassSVM: `sum += coef_i * k_i` over every support
  vector, then `- rho`. Classifiers: per pair (i, j) of classes, in order, the sum over the
  support vectors of class i (coefficients `sv_coef[j-1]`), then over those of class j
  (`sv_coef[i]`), then `- rho[p]`; only the pair's own support vectors take part, so a NaN
  kernel value of a third class does not reach it. `rho = -intercept_` (exactly).
- `svm_predict`: pair p votes for i when `dec_p > 0`, else for j (NaN: j); the first class
  with the most votes wins. OneClassSVM: `dec > 0` is 1, else -1.
- sklearn on top (_base.py): a binary classifier's decision_function is `-dec`;
  decision_function_shape='ovr' with more than two classes is `_ovr_decision_function(dec
  < 0, -dec, k)` and, with break_ties, predict is its numpy argmax; OneClassSVM's
  score_samples is `dec + offset_`.
- `svm_predict_probability`: per pair, `sigmoid_predict(dec_p, probA_p, probB_p)` clamped
  to [1e-7, 1 - 1e-7] (libsvm's own min / max: a NaN becomes 1e-7), then
  `multiclass_probability` for every number of classes, two included: an iterative solver
  that stops when its error falls below 0.005 / k. See `_coupled_probabilities`.
"""

from __future__ import annotations

import numpy as np
from sklearn.svm import SVC, SVR, NuSVC, NuSVR, OneClassSVM

from ..ir import (
    Argmax,
    Arith,
    BoolIndex,
    Compare,
    Const,
    Expr,
    Func,
    Item,
    Map,
    MatVec,
    Neg,
    Not,
    Output,
    Pack,
    Select,
    Sum,
    Var,
)
from ..registry import CompileError, Context, Frame, Head, UnsupportedError, rule
from .common import as_label, check_numbers

KERNEL_NOTES = "linear, poly, rbf, sigmoid kernels; dense or CSR input"

# libsvm's multiclass_probability runs up to max(100, k) sweeps and stops as soon as its
# error is below 0.005 / k. The IR has no loop, so sweeps are unrolled, each behind the
# stopping test (a converged p is a fixed point: the test keeps passing). Sweeps unrolled
# per number of classes: libsvm has always stopped well before (tests/test_svm.py
# `test_unrolled_sweeps_cover_libsvm_iterations`): k=2 after at most 2 (a dense grid of its
# one input), k=3 and 4 after at most 4 (grids at and between libsvm's clamps, and local
# optimization of the pairwise inputs for the slowest case); the error then shrinks about
# 7x per sweep, so after 8 it is thousands of times below the threshold.
PROBABILITY_SWEEPS = {2: 3, 3: 8, 4: 8}
MIN_PROB = 1e-7


def _support_vectors(est: object) -> np.ndarray:
    sv = est.support_vectors_
    return np.asarray(sv.toarray() if hasattr(sv, "toarray") else sv, dtype=float)


def _dual_coef(est: object) -> np.ndarray:
    """libsvm's sv_coef: the coefficients before sklearn's binary sign flip."""
    dc = est._dual_coef_
    return np.asarray(dc.toarray() if hasattr(dc, "toarray") else dc, dtype=float)


def _validated(est: object, frame: Frame, ctx: Context) -> Pack:
    """`_validate_for_predict`: the kernel, the container, then NaN / inf per row."""
    name = type(est).__name__
    if callable(est.kernel) or est.kernel == "precomputed":
        kernel = getattr(est.kernel, "__name__", repr(est.kernel))
        raise UnsupportedError(
            f"{ctx.where()}: {name}(kernel={kernel!r}) is not supported: its kernel matrix "
            "is computed outside the model (precomputed, or a Python callable), so there is "
            "no arithmetic to compile; use kernel='linear', 'poly', 'rbf' or 'sigmoid'")
    if frame.sparse and not est._sparse:
        raise UnsupportedError(
            f"{ctx.where()}: the {name} was fitted on dense data and receives a sparse "
            f"matrix; sklearn raises 'cannot use sparse input in {name!r} trained on dense "
            "data' for every row")
    check_numbers(ctx, frame.columns, allow_nan=False, who=name)
    width = _support_vectors(est).shape[1]
    if len(frame.columns) != est.n_features_in_ or width not in (0, len(frame.columns)):
        raise CompileError(f"{ctx.where()}: the estimator expects {est.n_features_in_} "
                           f"columns and receives {len(frame.columns)}")
    return Pack(tuple(frame.columns))


def _map(body: Expr, *operands: Expr) -> Map:
    return Map(body, tuple(operands))


def _powi(base: Expr, degree: int) -> Expr:
    """libsvm's `powi(base, degree)`: square-and-multiply from ret = 1.0 (1.0 * tmp is
    tmp exactly, so the first product is tmp itself); one element-wise map per step."""
    ret: Expr | None = None
    tmp = base
    t = degree
    while t > 0:
        if t % 2 == 1:
            ret = tmp if ret is None else _map(Arith("*", Var(0), Var(1)), ret, tmp)
        t //= 2
        if t > 0:
            tmp = _map(Arith("*", Var(0), Var(0)), tmp)
    assert ret is not None
    return ret


def _kernel_values(est: object, x: Pack, sv: np.ndarray) -> Expr:
    """The vector k(x, sv_i) over every support vector, as `Kernel::k_function`."""
    matrix = tuple(tuple(float(v) for v in row) for row in sv)
    gamma, coef0 = float(est._gamma), float(est.coef0)
    if est.kernel == "rbf":
        dist = MatVec(x, matrix, op="sqdiff")
        return _map(Func("exp", Arith("*", Const(-gamma), Var(0))), dist)
    if est.kernel == "poly" and est.degree == 0:  # powi(anything, 0) is 1.0, NaN included
        return Pack(tuple(Const(1.0) for _ in matrix))
    dot = MatVec(x, matrix, op="mul")
    if est.kernel == "linear":
        return dot
    affine = Arith("+", Arith("*", Const(gamma), Var(0)), Const(coef0))
    if est.kernel == "poly":
        return _powi(_map(affine, dot), int(est.degree))
    if est.kernel == "sigmoid":
        return _map(Func("tanh", affine), dot)
    raise UnsupportedError(f"unknown kernel {est.kernel!r}")


def _coefficient_sums(kvalues: Expr, rows: list[tuple[list[int], np.ndarray]],
                      intercepts: np.ndarray) -> list[Expr]:
    """Per decision value: sum over its support vectors (in the given order) of
    coef * k, then - rho (= + intercept). A value with no support vector is 0 - rho."""
    used = [i for i, (cols, _) in enumerate(rows) if cols]
    out: list[Expr] = [Const(float(b)) for b in intercepts]
    if not used:
        return out
    sums = MatVec(kvalues, tuple(tuple(float(v) for v in rows[i][1]) for i in used), op="mul",
                  bias=tuple(float(intercepts[i]) for i in used),
                  support=tuple(tuple(rows[i][0]) for i in used))
    for k, i in enumerate(used):
        out[i] = Item(sums, k)
    return out


def _decision_values(est: object, frame: Frame, ctx: Context) -> list[Expr]:
    """libsvm's dec_values: one for SVR / OneClassSVM, one per pair of classes for SVC."""
    x = _validated(est, frame, ctx)
    sv = _support_vectors(est)
    coef = _dual_coef(est)
    intercepts = np.asarray(est._intercept_, dtype=float)
    if len(sv) == 0:  # no support vector: libsvm's sum is 0, the value is 0 - rho
        return [Const(float(b)) for b in intercepts]
    kvalues = _kernel_values(est, x, sv)
    if not hasattr(est, "classes_"):
        return _coefficient_sums(kvalues, [(list(range(len(sv))), coef[0])], intercepts)
    counts = [int(c) for c in est._n_support]
    start = np.concatenate([[0], np.cumsum(counts)]).astype(int)
    rows = []
    k = len(counts)
    for i in range(k):
        for j in range(i + 1, k):
            row = np.zeros(len(sv))
            own_i = list(range(start[i], start[i + 1]))
            own_j = list(range(start[j], start[j + 1]))
            row[own_i] = coef[j - 1, own_i]
            row[own_j] = coef[i, own_j]
            rows.append((own_i + own_j, row))
    return _coefficient_sums(kvalues, rows, intercepts)


def _pairs(k: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(k) for j in range(i + 1, k)]


def _one(cond: Expr) -> Expr:
    return Select(cond, Const(1.0), Const(0.0))


def _votes(decs: list[Expr], k: int) -> Expr:
    """svm_predict's vote: pair (i, j) votes i when dec > 0, else j; first maximum wins."""
    votes: list[list[Expr]] = [[] for _ in range(k)]
    for p, (i, j) in enumerate(_pairs(k)):
        wins = Compare(">", decs[p], 0.0)
        votes[i].append(_one(wins))
        votes[j].append(_one(Not(wins)))
    return Argmax(tuple(Sum(tuple(v)) if len(v) > 1 else v[0] for v in votes))


def _ovr(decs: list[Expr], k: int) -> list[Expr]:
    """sklearn.utils.multiclass._ovr_decision_function(dec < 0, -dec, k): votes (pair
    (i, j) votes i unless dec < 0) plus sum_of_confidences / (3 * (|s| + 1)), where
    s starts at 0 and, pair by pair, `s_i -= -dec`, `s_j += -dec`."""
    votes: list[list[Expr]] = [[] for _ in range(k)]
    confidence: list[list[Expr]] = [[Const(0.0)] for _ in range(k)]
    for p, (i, j) in enumerate(_pairs(k)):
        below = Compare("<", decs[p], 0.0)
        votes[i].append(_one(Not(below)))
        votes[j].append(_one(below))
        confidence[i].append(decs[p])  # s - (-dec) is s + dec exactly
        confidence[j].append(Neg(decs[p]))
    out = []
    for c in range(k):
        s = Sum(tuple(confidence[c]))
        scaled = Arith("/", s, Arith("*", Const(3.0), Arith("+", Func("abs", s), Const(1.0))))
        count = Sum(tuple(votes[c])) if len(votes[c]) > 1 else votes[c][0]
        out.append(Arith("+", count, scaled))
    return out


def _sigmoid_predict(dec: Expr, a: float, b: float) -> Expr:
    """libsvm's sigmoid_predict, then clamped to [1e-7, 1 - 1e-7] with its min / max."""
    f = Arith("+", Arith("*", dec, Const(a)), Const(b))
    e_neg = Func("exp", Neg(f))
    p = Select(Compare(">=", f, 0.0),
               Arith("/", e_neg, Arith("+", Const(1.0), e_neg)),
               Arith("/", Const(1.0), Arith("+", Const(1.0), Func("exp", f))))
    p = Select(Compare(">", p, MIN_PROB), p, Const(MIN_PROB))
    return Select(Compare("<", p, 1 - MIN_PROB), p, Const(1 - MIN_PROB))


def _greater(a: Expr, b: Expr) -> Expr:
    """a > b for two non-negative numbers (errors): a - b > 0 is exact there, inf and
    NaN included (IEEE subtraction of unequal numbers is never zero)."""
    return Compare(">", Arith("-", a, b), 0.0)


def _sweep(q: list[list[Expr]], p: list[Expr], k: int) -> tuple[Expr, list[Expr]]:
    """One pass of multiclass_probability's loop body: (max_error, p after the update)."""
    qp = [Sum((Const(0.0), *(Arith("*", q[t][j], p[j]) for j in range(k)))) for t in range(k)]
    pqp: Expr = Sum((Const(0.0), *(Arith("*", p[t], qp[t]) for t in range(k))))
    max_error: Expr = Const(0.0)
    for t in range(k):
        error = Func("abs", Arith("-", qp[t], pqp))
        max_error = Select(_greater(error, max_error), error, max_error)
    p = list(p)
    for t in range(k):
        diff = Arith("/", Arith("+", Neg(qp[t]), pqp), q[t][t])
        p[t] = Arith("+", p[t], diff)
        scale = Arith("+", Const(1.0), diff)
        grown = Arith("*", diff, Arith("+", Arith("*", diff, q[t][t]),
                                       Arith("*", Const(2.0), qp[t])))
        pqp = Arith("/", Arith("/", Arith("+", pqp, grown), scale), scale)
        qp = [Arith("/", Arith("+", qp[j], Arith("*", diff, q[t][j])), scale) for j in range(k)]
        p = [Arith("/", p[j], scale) for j in range(k)]
    return max_error, p


def _coupled_probabilities(decs: list[Expr], prob_a: np.ndarray, prob_b: np.ndarray,
                           k: int) -> list[Expr]:
    """svm_predict_probability: pairwise sigmoid probabilities r, then libsvm's
    multiclass_probability (Wu, Lin and Weng's method 2), sweep by sweep: each sweep
    first tests `max_error < eps` on the current p and keeps p when it passes."""
    r: list[list[Expr | None]] = [[None] * k for _ in range(k)]
    for p, (i, j) in enumerate(_pairs(k)):
        r[i][j] = _sigmoid_predict(decs[p], float(prob_a[p]), float(prob_b[p]))
        r[j][i] = Arith("-", Const(1.0), r[i][j])
    q: list[list[Expr]] = [[Const(0.0)] * k for _ in range(k)]
    for t in range(k):
        # Q[t][t] = 0 + sum of squares: 0 + s is s for s >= 0, so the fold starts at s
        squares = [Arith("*", r[j][t], r[j][t]) for j in range(k) if j != t]
        q[t][t] = Sum(tuple(squares)) if len(squares) > 1 else squares[0]
        for j in range(t + 1, k):
            q[t][j] = Neg(Arith("*", r[j][t], r[t][j]))  # -a*b is (-a)*b exactly
            q[j][t] = q[t][j]
    eps = 0.005 / k
    p: list[Expr] = [Const(1.0 / k)] * k
    for _ in range(PROBABILITY_SWEEPS[k]):
        max_error, updated = _sweep(q, p, k)
        done = Compare("<", max_error, eps)
        p = [Select(done, old, new) for old, new in zip(p, updated)]
    return p


def _classifier(est: object, frame: Frame, ctx: Context) -> Head:
    if np.ndim(est.classes_[0]) != 0:
        raise CompileError("multi-output classifiers are not supported")
    classes = tuple(as_label(c) for c in est.classes_)
    k = len(classes)
    shape = est.decision_function_shape
    if est.break_ties and shape == "ovo":
        raise UnsupportedError(f"{ctx.where()}: break_ties=True with decision_function_shape="
                               "'ovo': sklearn's predict raises for every row")
    decs = _decision_values(est, frame, ctx)
    outputs: dict[str, Output] = {}
    if k == 2:
        (dec,) = decs
        outputs["predict"] = Output("predict", "label", (BoolIndex(Not(Compare(">", dec, 0.0))),))
        outputs["decision_function"] = Output("decision_function", "scalar", (Neg(dec),))
    else:
        ovr = _ovr(decs, k) if shape == "ovr" else None
        label = Argmax(tuple(ovr)) if ovr is not None and est.break_ties else _votes(decs, k)
        outputs["predict"] = Output("predict", "label", (label,))
        outputs["decision_function"] = Output("decision_function", "vector",
                                              tuple(ovr if ovr is not None else decs))
    # probability=True (sklearn's _check_proba), and Platt parameters fitted (else sklearn
    # raises NotFittedError: the model has no predict_proba)
    if hasattr(est, "predict_proba") and np.size(est._probA) and np.size(est._probB):
        if k not in PROBABILITY_SWEEPS:
            raise UnsupportedError(
                f"{ctx.where()}: predict_proba with {k} classes is not supported: libsvm's "
                "multiclass_probability is an iterative solver with a data-dependent stop, "
                f"unrolled here for 2 to {max(PROBABILITY_SWEEPS)} classes only (the text "
                "grows as k^2 per sweep); more classes need a loop node in the IR (a "
                "bounded while over a vector state). Refit with probability=False, or use "
                "CalibratedClassifierCV")
        proba = _coupled_probabilities(decs, np.asarray(est._probA), np.asarray(est._probB), k)
        outputs["predict_proba"] = Output("predict_proba", "vector", tuple(proba))
    return Head("classification", classes, outputs)


@rule(SVC, "estimator", notes=KERNEL_NOTES + "; ovo/ovr, break_ties; predict_proba for 2-4 "
      "classes")
def svc(est: SVC, frame: Frame, ctx: Context) -> Head:
    return _classifier(est, frame, ctx)


@rule(NuSVC, "estimator", notes="as SVC")
def nu_svc(est: NuSVC, frame: Frame, ctx: Context) -> Head:
    return _classifier(est, frame, ctx)


def _regressor(est: object, frame: Frame, ctx: Context) -> Head:
    (dec,) = _decision_values(est, frame, ctx)
    return Head("regression", (), {"predict": Output("predict", "scalar", (dec,))})


rule(SVR, "estimator", notes=KERNEL_NOTES)(_regressor)
rule(NuSVR, "estimator", notes=KERNEL_NOTES)(_regressor)


@rule(OneClassSVM, "estimator", notes=KERNEL_NOTES + "; predict, decision_function, "
      "score_samples")
def one_class_svm(est: OneClassSVM, frame: Frame, ctx: Context) -> Head:
    (dec,) = _decision_values(est, frame, ctx)
    offset = float(np.asarray(est.offset_, dtype=float).reshape(-1)[0])
    return Head("anomaly", (-1, 1), {
        "predict": Output("predict", "label", (BoolIndex(Compare(">", dec, 0.0)),)),
        "decision_function": Output("decision_function", "scalar", (dec,)),
        "score_samples": Output("score_samples", "scalar", (Arith("+", dec, Const(offset)),)),
    })
