"""Naive Bayes classifiers: each class's joint log likelihood as sklearn/naive_bayes.py
computes it, then `_BaseNB`'s outputs.

Where sklearn scores (sklearn 1.9.1, naive_bayes.py):
- `_BaseNB.predict`: `classes_[argmax(jll, axis=1)]` (the first maximum; a NaN first).
  `predict_proba` is `exp(predict_log_proba)`, i.e. `exp(jll - _logsumexp(jll))` with
  sklearn's own `utils/_array_api._logsumexp` (a simplified copy of scipy's: see
  `logsumexp`).
- `GaussianNB._joint_log_likelihood`, per class i: `log(class_prior_[i])` plus
  `-0.5 * sum(log(2. * pi * var_[i]))` (both constants, computed here by numpy with the
  same operations) minus `0.5 * sum((X - theta_[i]) ** 2 / var_[i], axis=1)` (a numpy
  reduction: `numpy_sum`). `validate_data` refuses NaN, then infinity; no sparse input.
- `_BaseDiscreteNB` (Multinomial, Complement, Bernoulli): `validate_data(accept_sparse=
  "csr")` only. Negative values are refused by `_count` at fit time, never at predict.
  MultinomialNB: `X @ feature_log_prob_.T + class_log_prior_`; ComplementNB: `X @
  feature_log_prob_.T`, plus `class_log_prior_` for a single class; BernoulliNB:
  `binarize(X, threshold)` (`x > threshold`) unless binarize is None, then `X @ (flp -
  neg_prob).T + (class_log_prior_ + neg_prob.sum(axis=1))` with `neg_prob = log(1 -
  exp(flp))`, the constants computed by numpy as sklearn does. The products are BLAS: one
  `MatVec` (any order is sklearn's).
- `CategoricalNB._check_X`: `validate_data(dtype="int")` refuses NaN, then infinity, then
  casts to int64 (truncation; |x| >= 2**63 becomes INT64_MIN on x86), then
  `check_non_negative` refuses a negative int; `_joint_log_likelihood` indexes
  `feature_log_prob_[i][:, x_i]`, which raises IndexError for a category at or beyond
  `n_categories_[i]` (an unknown category); the sum is `0 + t_0 + t_1 + ... +
  class_log_prior_`, left to right.
"""

from __future__ import annotations

import numpy as np
from sklearn.naive_bayes import BernoulliNB, CategoricalNB, ComplementNB, GaussianNB, MultinomialNB

from ..ir import (
    Argmax,
    Arith,
    Bucket,
    Compare,
    Const,
    Expr,
    Func,
    Item,
    Lookup,
    MatVec,
    Max,
    Not,
    Or,
    Output,
    Pack,
    Refusal,
    Select,
    Sum,
)
from ..registry import CompileError, Context, Frame, Head, UnsupportedError, rule
from .common import as_label, check_numbers, numpy_sum

# float64 -> int64 is undefined beyond the int64 range; numpy on x86 gives INT64_MIN there
INT64_LIMIT = 2.0 ** 63


# ---- the outputs every naive Bayes model shares ------------------------------------------

def logsumexp(jll: list[Expr]) -> Expr:
    """sklearn.utils._array_api._logsumexp of one row, step by step:
    `M = max(a)`; the maxima (`a == M`) become -inf and are counted (m); `shift = M` if it
    is finite, else 0; `s = sum(exp(a - shift))`; `s = s if s == 0 else s / m`;
    `log1p(s) + log(m) + M`.

    `a == M` is written `not (M - a > 0)`: M is the maximum, so that is a == M for finite
    values and also for two equal infinities (whose difference is NaN). When M is NaN the
    result is NaN whatever m and s are, as in sklearn."""
    top = jll[0] if len(jll) == 1 else Max(tuple(jll))
    is_max = [Not(Compare(">", Arith("-", top, a), 0.0)) for a in jll]
    shift = Select(Compare("<", Func("abs", top), float("inf")), top, Const(0.0))
    shifted = [Func("exp", Arith("-", Select(c, Const(float("-inf")), a), shift))
               for c, a in zip(is_max, jll)]
    count = numpy_sum([Select(c, Const(1.0), Const(0.0)) for c in is_max])
    total = numpy_sum(shifted)
    total = Select(Compare("==", total, 0.0), total, Arith("/", total, count))
    return Arith("+", Arith("+", Func("log1p", total), Func("log", count)), top)


def nb_head(est: object, jll: list[Expr], ctx: Context) -> Head:
    """`_BaseNB.predict` (argmax of jll into classes_) and `predict_proba` (exp(jll -
    logsumexp(jll)))."""
    classes = tuple(as_label(c) for c in est.classes_)
    if len(jll) != len(classes):
        raise CompileError(f"{ctx.where()}: {len(jll)} log likelihoods per row for "
                           f"{len(classes)} classes")
    norm = logsumexp(jll)
    label = Argmax(tuple(jll))
    return Head("classification", classes, {
        "predict": Output("predict", "label", (label,)),
        "predict_proba": Output("predict_proba", "vector",
                                tuple(Func("exp", Arith("-", a, norm)) for a in jll)),
    })


def _floats(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


# ---- GaussianNB --------------------------------------------------------------------------

@rule(GaussianNB, "estimator", notes="priors, var_smoothing; binary and multiclass; "
      "NaN/inf inputs refused as in sklearn; float64 fits only")
def gaussian_nb(est: GaussianNB, frame: Frame, ctx: Context) -> Head:
    if frame.sparse:
        raise UnsupportedError(f"{ctx.where()}: GaussianNB receives a sparse matrix, which "
                               "sklearn refuses for every row (it needs dense data)")
    theta, var = np.asarray(est.theta_), np.asarray(est.var_)
    if theta.dtype != np.float64 or var.dtype != np.float64:
        raise UnsupportedError(
            f"{ctx.where()}: GaussianNB was fitted on {theta.dtype} data, so sklearn computes "
            f"in {theta.dtype} for such input, which double arithmetic cannot reproduce; "
            "refit it on float64 data")
    check_numbers(ctx, frame.columns, allow_nan=False, who="GaussianNB")
    if theta.shape[1] != len(frame.columns):
        raise CompileError(f"{ctx.where()}: theta_ has {theta.shape[1]} columns, the step "
                           f"receives {len(frame.columns)}")
    jll = []
    for i in range(len(est.classes_)):
        with np.errstate(divide="ignore"):  # a prior of 0 is log 0 = -inf, as in sklearn
            joint = float(np.log(est.class_prior_[i]))
        n_ij = float(-0.5 * np.sum(np.log(2.0 * np.pi * var[i, :])))
        terms: list[Expr] = []
        for x, mu, v in zip(frame.columns, theta[i], var[i]):
            d = Arith("-", x, Const(float(mu)))
            terms.append(Arith("/", Arith("*", d, d), Const(float(v))))
        spread = Arith("*", Const(0.5), numpy_sum(terms))
        jll.append(Arith("+", Const(joint), Arith("-", Const(n_ij), spread)))
    return nb_head(est, jll, ctx)


# ---- MultinomialNB, ComplementNB, BernoulliNB: X @ W.T + b -------------------------------

def _linear_jll(est: object, frame: Frame, cols: list[Expr], weights: np.ndarray,
                bias: np.ndarray | None, ctx: Context) -> list[Expr]:
    """`safe_sparse_dot(X, weights.T) (+ bias)`: one MatVec, read class by class.

    A non-finite weight (BernoulliNB's neg_prob is NaN where a feature's probability
    exceeds 1, binarize=None on counts; -inf or inf at probability 0 or 1) meets every
    x in a dense product (0 * inf is NaN), as in the MatVec; scipy's sparse product skips
    the zeros instead, which a dense MatVec does not reproduce: refused."""
    weights = np.asarray(weights, dtype=float)
    if weights.shape[1] != len(cols):
        raise CompileError(f"{ctx.where()}: feature_log_prob_ has {weights.shape[1]} columns, "
                           f"the step receives {len(cols)}")
    if frame.sparse and not np.isfinite(weights).all():
        raise UnsupportedError(
            f"{ctx.where()}: {type(est).__name__} has a non-finite weight (a feature "
            "probability of 0 or 1, or above 1 with binarize=None) and receives a sparse "
            "matrix, whose product skips the zeros that would make it NaN; not supported")
    mat = MatVec(Pack(tuple(cols)), tuple(_floats(row) for row in weights),
                 bias=None if bias is None else _floats(bias))
    return [Item(mat, k) for k in range(weights.shape[0])]


def _discrete_input(est: object, frame: Frame, ctx: Context) -> None:
    """`_BaseDiscreteNB._check_X`: validate_data(accept_sparse="csr"): NaN, then infinity."""
    check_numbers(ctx, frame.columns, allow_nan=False, who=type(est).__name__)


@rule(MultinomialNB, "estimator", notes="alpha, fit_prior, class_prior; dense or sparse; "
      "negative inputs scored as sklearn does at predict time")
def multinomial_nb(est: MultinomialNB, frame: Frame, ctx: Context) -> Head:
    _discrete_input(est, frame, ctx)
    jll = _linear_jll(est, frame, frame.columns, est.feature_log_prob_,
                      np.asarray(est.class_log_prior_, dtype=float), ctx)
    return nb_head(est, jll, ctx)


@rule(ComplementNB, "estimator", notes="norm, alpha, fit_prior, class_prior; a single "
      "class; dense or sparse")
def complement_nb(est: ComplementNB, frame: Frame, ctx: Context) -> Head:
    _discrete_input(est, frame, ctx)
    prior = np.asarray(est.class_log_prior_, dtype=float) if len(est.classes_) == 1 else None
    return nb_head(est, _linear_jll(est, frame, frame.columns, est.feature_log_prob_, prior, ctx),
                   ctx)


@rule(BernoulliNB, "estimator", notes="binarize threshold (x > t) or None; alpha, fit_prior, "
      "class_prior; dense or sparse")
def bernoulli_nb(est: BernoulliNB, frame: Frame, ctx: Context) -> Head:
    _discrete_input(est, frame, ctx)
    cols = frame.columns
    if est.binarize is not None:  # sklearn.preprocessing.binarize: 1 where x > t, else 0
        t = float(est.binarize)
        cols = [Select(Compare(">", c, t), Const(1.0), Const(0.0)) for c in cols]
    flp = np.asarray(est.feature_log_prob_)
    with np.errstate(divide="ignore", invalid="ignore"):
        neg_prob = np.log(1 - np.exp(flp))
        bias = est.class_log_prior_ + neg_prob.sum(axis=1)
    return nb_head(est, _linear_jll(est, frame, cols, flp - neg_prob, bias, ctx), ctx)


# ---- CategoricalNB: a table per feature and class -----------------------------------------

@rule(CategoricalNB, "estimator", notes="alpha, min_categories, fit_prior, class_prior; "
      "inputs truncated to int as sklearn; NaN, inf, negative and unknown categories refused")
def categorical_nb(est: CategoricalNB, frame: Frame, ctx: Context) -> Head:
    if frame.sparse:
        raise UnsupportedError(f"{ctx.where()}: CategoricalNB receives a sparse matrix, which "
                               "sklearn refuses for every row (accept_sparse=False)")
    cols = frame.columns
    if len(est.feature_log_prob_) != len(cols):
        raise CompileError(f"{ctx.where()}: CategoricalNB has {len(est.feature_log_prob_)} "
                           f"features, the step receives {len(cols)}")
    # check_array(dtype="int"): NaN, then infinity, then the cast and check_non_negative
    check_numbers(ctx, cols, allow_nan=False, dtype="int64", who="CategoricalNB")
    negative = [Or((Compare("<=", c, -1.0), Compare(">=", c, INT64_LIMIT))) for c in cols]
    ctx.refuse_if(negative[0] if len(negative) == 1 else Or(tuple(negative)),
                  Refusal.NEGATIVE_VALUE,
                  "Negative values in data passed to CategoricalNB (input X).")
    lookups: list[list[Expr]] = [[] for _ in est.classes_]
    for j, (col, table) in enumerate(zip(cols, est.feature_log_prob_)):
        table = np.asarray(table, dtype=float)
        n = table.shape[1]
        ctx.refuse_if(Compare(">=", col, float(n)), Refusal.OUT_OF_RANGE,
                      f"index out of bounds: a category beyond those fitted in column {j} "
                      f"of CategoricalNB's input (it knows categories 0 to {n - 1})")
        # int64(x) for x in (-1, n): the number of integers 1 .. n-1 at or below x
        index = Bucket(col, tuple(float(k) for k in range(1, n)), right=True) if n > 1 \
            else None
        for c, row in enumerate(table):
            lookups[c].append(Lookup(index, _floats(row)) if index is not None
                              else Const(float(row[0])))
    prior = np.asarray(est.class_log_prior_, dtype=float)
    jll: list[Expr] = [Sum((*terms, Const(float(p)))) for terms, p in zip(lookups, prior)]
    return nb_head(est, jll, ctx)
