"""Linear regressors and LogisticRegression: X @ coef.T + intercept, then the link."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge

from ..ir import Argmax, Arith, BoolIndex, Compare, Const, Expr, Output
from ..registry import CompileError, Context, Frame, Head, rule
from .common import as_label, check_numbers, expit, numpy_sum, softmax


def _scores(coef: np.ndarray, intercept: np.ndarray, cols: list[Expr],
            finite: bool = True) -> list[Expr]:
    """One `x . w + b` per row of coef. With inputs checked finite, a zero weight adds
    nothing and is left out; unchecked inputs keep every term (NaN * 0 is NaN). sklearn
    sums by BLAS, whose order depends on the CPU; this sums as numpy does (eight running
    sums, then pairwise), which is as close and lets a CPU overlap the additions."""
    out = []
    for w, b in zip(coef, intercept):
        terms: list[Expr] = [Arith("*", x, Const(float(wj))) for x, wj in zip(cols, w)
                             if wj != 0 or not finite]
        out.append(Arith("+", numpy_sum(terms), Const(float(b))) if terms else Const(float(b)))
    return out


def _unchecked(est: object, frame: Frame) -> bool:
    """ElasticNet and Lasso score sparse input without validating it (no NaN/inf check)."""
    return frame.sparse and isinstance(est, ElasticNet)


def _validated(est: object, frame: Frame, ctx: Context) -> np.ndarray:
    if _unchecked(est, frame):
        check_numbers(ctx, frame.columns, allow_nan=True, who=type(est).__name__, dtype=None)
    else:
        check_numbers(ctx, frame.columns, allow_nan=False, who=type(est).__name__)
    coef = np.atleast_2d(np.asarray(est.coef_, dtype=float))
    if coef.shape[1] != len(frame.columns):
        raise CompileError(f"{ctx.where()}: coef_ has {coef.shape[1]} columns, "
                           f"the step receives {len(frame.columns)}")
    return coef


def linear_regressor(est: object, frame: Frame, ctx: Context) -> Head:
    coef = _validated(est, frame, ctx)
    if np.ndim(est.coef_) != 1:
        raise CompileError(f"{ctx.where()}: multi-output regression is not supported")
    intercept = np.atleast_1d(np.asarray(est.intercept_, dtype=float))
    (score,) = _scores(coef, intercept, frame.columns, finite=not _unchecked(est, frame))
    return Head("regression", (), {"predict": Output("predict", "scalar", (score,))})


for _cls in (LinearRegression, Ridge, Lasso, ElasticNet):
    rule(_cls, "estimator", notes="single output; NaN/inf inputs refused as in sklearn")(
        linear_regressor)


@rule(LogisticRegression, "estimator", notes="binary and multinomial; any label type")
def logistic_regression(est: LogisticRegression, frame: Frame, ctx: Context) -> Head:
    coef = _validated(est, frame, ctx)
    intercept = np.broadcast_to(np.asarray(est.intercept_, dtype=float), (coef.shape[0],))
    classes = tuple(as_label(c) for c in est.classes_)
    scores = _scores(coef, intercept, frame.columns)
    if len(scores) == 1:
        (d,) = scores
        p1 = expit(d)
        outputs = {
            "predict": Output("predict", "label", (BoolIndex(Compare(">", d, 0.0)),)),
            "predict_proba": Output("predict_proba", "vector",
                                    (Arith("-", Const(1.0), p1), p1)),
            "decision_function": Output("decision_function", "scalar", (d,)),
        }
    else:
        outputs = {
            "predict": Output("predict", "label", (Argmax(tuple(scores)),)),
            "predict_proba": Output("predict_proba", "vector", tuple(softmax(scores))),
            "decision_function": Output("decision_function", "vector", tuple(scores)),
        }
    return Head("classification", classes, outputs)
