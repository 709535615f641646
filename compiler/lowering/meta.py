"""Meta-estimators: voting, stacking, calibration, target transforms, bagging and AdaBoost.

Every sub-estimator is lowered with `compose.lower_estimator`, so its refusal checks join the
program in the order sklearn calls the sub-estimators, and its outputs (a `Head`) are
combined with the meta-estimator's own arithmetic, in sklearn's order:

- loops over estimators that accumulate (`proba += p`, Python's `sum(...)`, `np.bincount`,
  `np.cumsum`, a reduction over the estimator axis of a batch, which numpy runs as one
  running sum per element) are left folds in estimator order;
- reductions along a row (`np.sum(proba, axis=1)`, `weights.sum()`) are numpy's pairwise
  sums (`common.numpy_sum`), or constants computed by numpy itself at compile time.

Sub-estimators of VotingClassifier, StackingClassifier and BaggingClassifier are fitted on
label-encoded targets (0 .. n_classes-1): `_codes` reads that code off each of a
sub-classifier's classes, and constant tables (`Lookup`) turn its label into votes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.calibration import (
    CalibratedClassifierCV,
    _SigmoidCalibration,
    _TemperatureScaling,
)
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    BaggingClassifier,
    BaggingRegressor,
    StackingClassifier,
    StackingRegressor,
    VotingClassifier,
    VotingRegressor,
)
from sklearn.ensemble._base import _partition_estimators
from sklearn.frozen import FrozenEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.preprocessing import (
    FunctionTransformer,
    LabelEncoder,
    MaxAbsScaler,
    MinMaxScaler,
    RobustScaler,
    StandardScaler,
)
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import _check_response_method

from ..ir import (
    Argmax,
    Arith,
    BoolIndex,
    Bucket,
    Compare,
    Const,
    Expr,
    Func,
    IsMissing,
    Lookup,
    Neg,
    Not,
    Or,
    Output,
    Select,
    Sum,
)
from ..registry import CompileError, Context, Frame, Head, UnsupportedError, rule
from .common import as_label, check_numbers, expit, numpy_sum, softmax
from .compose import lower_estimator, lower_final

# ---- shared helpers ----------------------------------------------------------------------


def _head(obj: object, frame: Frame, ctx: Context, name: str) -> Head:
    """Lower a sub-estimator, which must predict."""
    out = lower_estimator(obj, frame, ctx, name)
    if not isinstance(out, Head):
        raise CompileError(f"{ctx.where()}: {name} ({type(obj).__name__}) is a transformer "
                           "where an estimator is expected")
    return out


def _output(head: Head, name: str, ctx: Context, who: str) -> tuple[Expr, ...]:
    out = head.outputs.get(name)
    if out is None:
        raise UnsupportedError(f"{ctx.where()}: {who} calls {name} of a sub-estimator whose "
                               f"compiled form has no {name}")
    return out.values


def _fold(terms: list[Expr]) -> Expr:
    """`acc += term` in order (Python's sum, numpy's running sum over estimators)."""
    return terms[0] if len(terms) == 1 else Sum(tuple(terms))


def _named(est: object) -> list[tuple[str, object]]:
    """(name, fitted estimator) of a heterogeneous ensemble, 'drop' left out as sklearn does."""
    names = [n for n, e in est.estimators if not (isinstance(e, str) and e == "drop")]
    if len(names) != len(est.estimators_):
        raise CompileError(f"{type(est).__name__} has {len(est.estimators_)} fitted estimators "
                           f"for {len(names)} named ones")
    return list(zip(names, est.estimators_))


def _codes(head: Head, n_classes: int, ctx: Context) -> list[int]:
    """The label code (0 .. n_classes-1) of each class of a sub-classifier that was fitted
    on label-encoded targets."""
    codes = []
    for c in head.classes:
        if isinstance(c, bool) or not isinstance(c, (int, float)) or c != int(c) \
                or not 0 <= c < n_classes:
            raise CompileError(f"{ctx.where()}: a sub-estimator has class {c!r}, expected the "
                               f"label codes 0..{n_classes - 1}")
        codes.append(int(c))
    return codes


def _per_label(label: Expr, codes: list[int], value: Callable[[int], float]) -> Expr:
    """A number chosen by a sub-classifier's predicted label: value(code of that label)."""
    return Lookup(label, tuple(float(value(c)) for c in codes))


def _label_head(classes: tuple, scores: list[Expr], proba: list[Expr] | None = None) -> Head:
    outputs = {"predict": Output("predict", "label", (Argmax(tuple(scores)),))}
    if proba is not None:
        outputs["predict_proba"] = Output("predict_proba", "vector", tuple(proba))
    return Head("classification", classes, outputs)


def _classes(est: object) -> tuple:
    if np.ndim(est.classes_[0]) != 0:
        raise CompileError(f"{type(est).__name__}: multi-output classifiers are not supported")
    return tuple(as_label(c) for c in est.classes_)


def _one(head: Head, name: str, ctx: Context, who: str) -> Expr:
    """The single value of a sub-estimator's output (predict of one target)."""
    values = _output(head, name, ctx, who)
    if len(values) != 1:
        raise UnsupportedError(f"{ctx.where()}: {who} over a multi-output sub-estimator "
                               f"({len(values)} values from {name}) is not supported")
    return values[0]


def _scalar(head: Head, ctx: Context, who: str) -> Expr:
    if head.task != "regression":
        raise CompileError(f"{ctx.where()}: {who} expects a regressor")
    return _one(head, "predict", ctx, who)


def _all(items: list[Expr]) -> Expr:
    return Not(Or(tuple(Not(i) for i in items))) if len(items) > 1 else items[0]


def _any(items: list[Expr]) -> Expr:
    return Or(tuple(items)) if len(items) > 1 else items[0]


# ---- FrozenEstimator -----------------------------------------------------------------------


@rule(FrozenEstimator, "composition", notes="the wrapped fitted estimator, as it is")
def frozen_estimator(est: FrozenEstimator, frame: Frame, ctx: Context) -> Frame | Head:
    return lower_final(est.estimator, frame, ctx, "estimator")


# ---- Voting --------------------------------------------------------------------------------


def _average(terms: list[Expr], weights: object, ctx: Context) -> Expr:
    """np.average over the estimator axis of (n_estimators, n_samples, ...) predictions.

    In a batch that axis is not the contiguous one, so numpy sums it as one running sum per
    element (a left fold); without weights `mean` divides by the count, with weights it is
    `np.multiply(a, wgt).sum(axis) / scl`, scl computed here by numpy itself."""
    n = len(terms)
    if weights is None:
        return Arith("/", _fold(terms), Const(float(n)))
    wgt = np.asanyarray(weights)
    if wgt.shape != (n,):
        raise CompileError(f"{ctx.where()}: {wgt.shape[0] if wgt.ndim else 0} weights for "
                           f"{n} estimators")
    dtype = np.result_type(np.float64, wgt.dtype)
    w = wgt.astype(dtype)
    if not np.all(np.isfinite(w)):
        raise UnsupportedError(f"{ctx.where()}: weights {weights!r} are not all finite")
    try:
        _, scl = np.average(np.zeros((n, 1)), axis=0, weights=wgt, returned=True)
    except ZeroDivisionError as exc:  # sklearn raises the same for every row
        raise CompileError(f"{ctx.where()}: weights {weights!r} sum to zero") from exc
    products = [Arith("*", t, Const(float(wi))) for t, wi in zip(terms, w)]
    return Arith("/", _fold(products), Const(float(scl[0])))


@rule(VotingClassifier, "estimator",
      notes="hard (weighted np.bincount of the votes, ties to the first class; negative "
            "weights) and soft (np.average of the probabilities); weights; 'drop'")
def voting_classifier(est: VotingClassifier, frame: Frame, ctx: Context) -> Head:
    classes = _classes(est)
    k = len(classes)
    heads = [_head(sub, frame, ctx, name) for name, sub in _named(est)]
    weights = est._weights_not_none
    if est.voting == "soft":
        probas = []
        for h in heads:
            if _codes(h, k, ctx) != list(range(k)):
                raise CompileError(f"{ctx.where()}: a voter saw {len(h.classes)} of the {k} "
                                   "classes; sklearn cannot average its probabilities")
            probas.append(_output(h, "predict_proba", ctx, "soft voting"))
        avg = [_average([p[c] for p in probas], weights, ctx) for c in range(k)]
        return _label_head(classes, avg, avg)
    # hard: argmax(np.bincount(votes, weights)); bincount adds weights[i] to its bin in
    # estimator order and is only max(vote) + 1 long
    w = [1.0] * len(heads) if weights is None else [float(v) for v in np.asarray(weights,
                                                                                  dtype=float)]
    if len(w) != len(heads) or not all(np.isfinite(w)):
        raise UnsupportedError(f"{ctx.where()}: weights {weights!r} do not fit the estimators")
    votes = [(_one(h, "predict", ctx, "hard voting"), _codes(h, k, ctx)) for h in heads]
    counts = []
    for c in range(k):
        total = _fold([_per_label(lbl, codes, lambda code, c=c, we=we: we if code == c else 0.0)
                       for (lbl, codes), we in zip(votes, w)])
        if min(w) < 0 and c > 0:  # a class above every vote has no bin: it cannot win
            present = _any([Compare(">=", _per_label(lbl, codes, float), float(c))
                            for lbl, codes in votes])
            total = Select(present, total, Const(float("-inf")))
        counts.append(total)
    return _label_head(classes, counts)


@rule(VotingRegressor, "estimator",
      notes="np.average of the predictions, weights; 'drop'")
def voting_regressor(est: VotingRegressor, frame: Frame, ctx: Context) -> Head:
    preds = [_scalar(_head(sub, frame, ctx, name), ctx, "VotingRegressor")
             for name, sub in _named(est)]
    value = _average(preds, est._weights_not_none, ctx)
    return Head("regression", (), {"predict": Output("predict", "scalar", (value,))})


# ---- Stacking ------------------------------------------------------------------------------


def _stacked(est: object, frame: Frame, ctx: Context, n_classes: int | None) -> Frame:
    """`transform`: each estimator's stack_method output, in order (a classifier's predict
    is its label code; binary predict_proba drops its first column), then X if passthrough."""
    columns: list[Expr] = []
    for (name, sub), method in zip(_named(est), est.stack_method_):
        head = _head(sub, frame, ctx, name)
        values = _output(head, method, ctx, type(est).__name__)
        if method == "predict" and head.task == "classification":  # the label's value
            if not all(isinstance(c, (int, float)) for c in head.classes):
                raise CompileError(f"{ctx.where()}: {name} predicts labels that are not "
                                   "numbers")
            values = (Lookup(_one(head, method, ctx, name), tuple(float(c)
                                                                  for c in head.classes)),)
        elif method == "predict_proba" and n_classes == 2:
            values = values[1:]
        columns.extend(values)
    if est.passthrough:
        columns.extend(frame.columns)
    # np.hstack is dense; sparse.hstack keeps X's format when X is passed through
    return Frame(columns, frame.sparse and bool(est.passthrough))


@rule(StackingClassifier, "estimator",
      notes="stack_method auto/predict_proba/decision_function/predict (binary "
            "predict_proba drops column 0); passthrough; final estimator on the stacked "
            "columns")
def stacking_classifier(est: StackingClassifier, frame: Frame, ctx: Context) -> Head:
    if isinstance(est._label_encoder, list):
        raise UnsupportedError(f"{ctx.where()}: multilabel StackingClassifier is not supported")
    classes = _classes(est)
    meta = _stacked(est, frame, ctx, len(classes))
    final = _head(est.final_estimator_, meta, ctx, "final_estimator")
    if final.task != "classification":
        raise CompileError(f"{ctx.where()}: the final estimator is not a classifier")
    codes = _codes(final, len(classes), ctx)
    label = _one(final, "predict", ctx, "StackingClassifier")
    if codes != list(range(len(codes))):  # _label_encoder.inverse_transform
        label = Lookup(label, tuple(codes))
    outputs = {"predict": Output("predict", "label", (label,))}
    for name in ("predict_proba", "decision_function"):  # the final estimator's, as they are
        if name in final.outputs and hasattr(est, name):
            outputs[name] = final.outputs[name]
    return Head("classification", classes, outputs)


@rule(StackingRegressor, "estimator",
      notes="passthrough; final estimator on the stacked predictions")
def stacking_regressor(est: StackingRegressor, frame: Frame, ctx: Context) -> Head:
    meta = _stacked(est, frame, ctx, None)
    final = _head(est.final_estimator_, meta, ctx, "final_estimator")
    value = _scalar(final, ctx, "StackingRegressor")
    return Head("regression", (), {"predict": Output("predict", "scalar", (value,))})


# ---- CalibratedClassifierCV ----------------------------------------------------------------


def _response(est: object, head: Head, ctx: Context) -> tuple[str, list[Expr]]:
    """_get_response_values(est, X, ["decision_function", "predict_proba"]): the method
    used and its columns; binary keeps the positive class's (classes_[-1]) column."""
    method = _check_response_method(est, ["decision_function", "predict_proba"]).__name__
    values = list(_output(head, method, ctx, "CalibratedClassifierCV"))
    target = type_of_target(est.classes_)
    if target == "binary" and method == "predict_proba":
        values = [values[int(np.flatnonzero(est.classes_ == est.classes_[-1])[0])]]
    elif target not in ("binary", "multiclass"):
        raise UnsupportedError(f"{ctx.where()}: classes {list(est.classes_)!r} are "
                               f"{target!r}, which sklearn's calibration cannot predict")
    return method, values


def _clip(x: Expr, lo: float, hi: float) -> Expr:
    """np.clip for a non-NaN x."""
    return Select(Compare("<", x, lo), Const(lo), Select(Compare(">", x, hi), Const(hi), x))


def _isotonic(cal: IsotonicRegression, t: Expr, ctx: Context) -> Expr:
    """IsotonicRegression.predict: check_array (NaN, inf refused), np.clip to [X_min_,
    X_max_], then interp1d, which is np.interp (numpy's arr_interp) on the thresholds.

    arr_interp, for x in [xp[0], xp[-1]]: j = the last index with xp[j] <= x; x == xp[j]
    gives fp[j] (j = len-1 included); else `slope*(x - xp[j]) + fp[j]` with slope =
    (fp[j+1]-fp[j])/(xp[j+1]-xp[j]), and if that is NaN `slope*(x - xp[j+1]) + fp[j+1]`
    (the third fallback, fp[j] when fp[j] == fp[j+1], cannot be reached: then slope is 0
    and x - xp[j], x - xp[j+1] cannot both overflow)."""
    if cal.out_of_bounds != "clip":
        raise UnsupportedError(f"{ctx.where()}: IsotonicRegression(out_of_bounds="
                               f"{cal.out_of_bounds!r}) is not supported")
    check_numbers(ctx, [t], allow_nan=False, who="IsotonicRegression")
    xs = np.asarray(cal.X_thresholds_, dtype=np.float64)
    ys = np.asarray(cal.y_thresholds_, dtype=np.float64)
    if len(ys) == 1:  # _build_f: a constant prediction
        return Const(float(ys[0]))
    if not np.all(np.isfinite(xs)) or not np.all(np.diff(xs) > 0):
        raise CompileError(f"{ctx.where()}: isotonic thresholds are not finite and ascending")
    x = _clip(t, float(cal.X_min_), float(cal.X_max_))
    b = Bucket(x, tuple(float(v) for v in xs), right=True)  # j + 1, in 1 .. len(xs)
    with np.errstate(all="ignore"):
        slopes = (ys[1:] - ys[:-1]) / (xs[1:] - xs[:-1])

    def table(values: np.ndarray) -> tuple[float, ...]:  # indexed by j + 1; 0 is unused
        return tuple(float(v) for v in np.concatenate([values[:1], values]))

    x_lo, y_lo = Lookup(b, table(xs)), Lookup(b, table(ys))
    slope = Lookup(b, table(np.append(slopes, 0.0)))  # j = len-1 always takes fp[j]
    x_hi = Lookup(b, table(np.append(xs[1:], xs[-1])))
    y_hi = Lookup(b, table(np.append(ys[1:], ys[-1])))
    d = Arith("-", x, x_lo)
    first = Arith("+", Arith("*", slope, d), y_lo)
    other = Arith("+", Arith("*", slope, Arith("-", x, x_hi)), y_hi)
    return Select(Compare("==", d, 0.0), y_lo, Select(IsMissing(first), other, first))


def _calibrated_one_vs_rest(cc: object, preds: list[Expr], k: int, ctx: Context) -> list[Expr]:
    """_CalibratedClassifier.predict_proba for sigmoid / isotonic: one calibrator per
    column into its class's place (zeros elsewhere), then binary `1 - p1`, or multiclass
    division by the row's numpy sum (1/k where that sum is 0)."""
    proba: list[Expr] = [Const(0.0)] * k
    positions = LabelEncoder().fit(cc.classes).transform(cc.estimator.classes_)
    for class_idx, t, cal in zip(positions, preds, cc.calibrators):
        idx = int(class_idx) + 1 if k == 2 else int(class_idx)
        if isinstance(cal, _SigmoidCalibration):  # expit(-(a_ * T + b_))
            proba[idx] = expit(Neg(Arith("+", Arith("*", Const(float(cal.a_)), t),
                                         Const(float(cal.b_)))))
        elif isinstance(cal, IsotonicRegression):
            proba[idx] = _isotonic(cal, t, ctx)
        else:
            raise UnsupportedError(f"{ctx.where()}: calibrator {type(cal).__name__}")
    if k == 2:
        return [Arith("-", Const(1.0), proba[1]), proba[1]]
    denominator = numpy_sum(proba)
    zero = Compare("==", denominator, 0.0)  # `where=denominator != 0`: NaN divides
    return [Select(zero, Const(1 / k), Arith("/", p, denominator)) for p in proba]


def _calibrated_temperature(cc: object, method: str, preds: list[Expr], k: int,
                            ctx: Context) -> list[Expr]:
    """_TemperatureScaling.predict: logits (binary predict_proba as [1-p, p]; a single
    decision column as [-d, d]; probabilities as log(p + 1e-12)), softmax(beta_ * logits).

    `_convert_to_logits` takes the log when the whole batch looks like probabilities; it
    is decided here by the response method (decision values of sklearn's multiclass
    models, centred scores, never sum to 1)."""
    cal = cc.calibrators[0]
    if not isinstance(cal, _TemperatureScaling) or len(cc.calibrators) != 1:
        raise UnsupportedError(f"{ctx.where()}: temperature calibrators "
                               f"{[type(c).__name__ for c in cc.calibrators]}")
    if k == 2 and len(preds) == 1 and method == "predict_proba":
        preds = [Arith("-", Const(1.0), preds[0]), preds[0]]
    check_numbers(ctx, preds, allow_nan=False, who="temperature scaling")
    if len(preds) == 1:
        logits = [Neg(preds[0]), preds[0]]
    elif method == "predict_proba":
        logits = [Func("log", Arith("+", p, Const(1e-12))) for p in preds]
    else:
        logits = preds
    if len(logits) != k:
        raise CompileError(f"{ctx.where()}: {len(logits)} logits for {k} classes")
    beta = Const(float(cal.beta_))
    return softmax([Arith("*", beta, z) for z in logits])


@rule(CalibratedClassifierCV, "estimator",
      notes="sigmoid, isotonic (np.interp on the thresholds, clipped), temperature; ensemble "
            "True/False; FrozenEstimator; mean over the calibrated classifiers in order")
def calibrated_classifier_cv(est: CalibratedClassifierCV, frame: Frame, ctx: Context) -> Head:
    classes = _classes(est)
    k = len(classes)
    per_classifier = []
    for i, cc in enumerate(est.calibrated_classifiers_):
        head = _head(cc.estimator, frame, ctx, f"calibrated_classifiers_[{i}]")
        method, preds = _response(cc.estimator, head, ctx)
        if cc.method == "temperature":
            proba = _calibrated_temperature(cc, method, preds, k, ctx)
        else:
            proba = _calibrated_one_vs_rest(cc, preds, k, ctx)
        # proba[(1.0 < proba) & (proba <= 1.0 + 1e-5)] = 1.0
        per_classifier.append([
            Select(Compare(">", p, 1.0), Select(Compare("<=", p, 1.0 + 1e-5), Const(1.0), p), p)
            for p in proba])
    n = float(len(per_classifier))  # mean_proba = zeros; += each; /= n
    mean = [Arith("/", _fold([p[c] for p in per_classifier]), Const(n)) for c in range(k)]
    return _label_head(classes, mean, mean)


# ---- TransformedTargetRegressor ------------------------------------------------------------

# inverse functions whose numpy meaning is one IR node
_INVERSE_FUNCS: dict[object, Callable[[Expr], Expr]] = {
    np.exp: lambda y: Func("exp", y),
    np.expm1: lambda y: Func("expm1", y),
    np.log: lambda y: Func("log", y),
    np.log1p: lambda y: Func("log1p", y),
    np.sqrt: lambda y: Func("sqrt", y),
    np.square: lambda y: Arith("*", y, y),
}


def _inverse_function(ft: FunctionTransformer, y: Expr, ctx: Context) -> Expr:
    """FunctionTransformer.inverse_transform: check_array when validate, then inverse_func."""
    if ft.validate:
        check_numbers(ctx, [y], allow_nan=False, who="FunctionTransformer.inverse_transform")
    if ft.inverse_func is None:
        return y
    fn = _INVERSE_FUNCS.get(ft.inverse_func)
    if fn is None or ft.inv_kw_args:
        name = getattr(ft.inverse_func, "__name__", repr(ft.inverse_func))
        raise UnsupportedError(
            f"{ctx.where()}: inverse_func={name!r}"
            f"{' with inv_kw_args' if ft.inv_kw_args else ''} cannot be compiled; supported: "
            "np.exp, np.expm1, np.log, np.log1p, np.sqrt, np.square or None (identity)")
    return fn(y)


def _inverse_scaler(t: object, y: Expr, ctx: Context) -> Expr:
    """The scalers' inverse_transform on one dense column: check_array(allow-nan), then
    their in-place arithmetic in order."""
    check_numbers(ctx, [y], allow_nan=True, who=f"{type(t).__name__}.inverse_transform")

    def at0(values: object) -> Const:
        return Const(float(np.asarray(values, dtype=np.float64).reshape(-1)[0]))

    if isinstance(t, StandardScaler):  # X *= scale_; X += mean_
        if t.with_std:
            y = Arith("*", y, at0(t.scale_))
        return Arith("+", y, at0(t.mean_)) if t.with_mean else y
    if isinstance(t, MinMaxScaler):  # X -= min_; X /= scale_
        return Arith("/", Arith("-", y, at0(t.min_)), at0(t.scale_))
    if isinstance(t, MaxAbsScaler):  # X *= scale_
        return Arith("*", y, at0(t.scale_))
    if t.with_scaling:  # RobustScaler: X *= scale_; X += center_
        y = Arith("*", y, at0(t.scale_))
    return Arith("+", y, at0(t.center_)) if t.with_centering else y


@rule(TransformedTargetRegressor, "estimator",
      notes="func/inverse_func: np.log/exp, log1p/expm1, sqrt/square and back, identity; "
            "transformer: StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler, "
            "FunctionTransformer")
def transformed_target_regressor(est: TransformedTargetRegressor, frame: Frame,
                                 ctx: Context) -> Head:
    if est._training_dim != 1:
        raise UnsupportedError(f"{ctx.where()}: a 2-D target (multi-output) is not supported")
    pred = _scalar(_head(est.regressor_, frame, ctx, "regressor"), ctx,
                   "TransformedTargetRegressor")
    t = est.transformer_  # inverse_transform(pred.reshape(-1, 1)), then squeezed
    if isinstance(t, FunctionTransformer):
        value = _inverse_function(t, pred, ctx)
    elif isinstance(t, (StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler)):
        if getattr(t, "n_features_in_", 1) != 1:
            raise CompileError(f"{ctx.where()}: the target transformer saw several columns")
        value = _inverse_scaler(t, pred, ctx)
    else:
        raise UnsupportedError(
            f"{ctx.where()}: transformer={type(t).__name__} is not supported: only inverses "
            "that are plain arithmetic (StandardScaler, MinMaxScaler, MaxAbsScaler, "
            "RobustScaler, FunctionTransformer with a numpy inverse) can be compiled")
    return Head("regression", (), {"predict": Output("predict", "scalar", (value,))})


# ---- Bagging -------------------------------------------------------------------------------


def _bagged(est: object, frame: Frame, ctx: Context) -> list[tuple[object, Head]]:
    """Each estimator on its X[:, estimators_features_[i]]. Bagging's own validate_data
    (dtype=None, ensure_all_finite=False) refuses nothing."""
    if len(frame.columns) != est.n_features_in_:
        raise CompileError(f"{ctx.where()}: the estimator expects {est.n_features_in_} "
                           f"columns and receives {len(frame.columns)}")
    if len(est.estimators_) != est.n_estimators:
        raise CompileError(f"{ctx.where()}: {len(est.estimators_)} fitted estimators for "
                           f"n_estimators={est.n_estimators}")
    out = []
    for i, (sub, feats) in enumerate(zip(est.estimators_, est.estimators_features_)):
        sub_frame = Frame([frame.columns[int(f)] for f in feats], frame.sparse)
        out.append((sub, _head(sub, sub_frame, ctx, f"estimators_[{i}]")))
    return out


def _bagging_mean(est: object, terms: list[Expr | None]) -> Expr:
    """`sum(all_parts) / n_estimators`, each job's part a running sum from zeros over its
    slice of estimators (_partition_estimators; one job unless n_jobs says otherwise).
    None: that estimator adds nothing to this value."""
    n_jobs, _, starts = _partition_estimators(est.n_estimators, est.n_jobs)
    parts = []
    for j in range(n_jobs):
        job = [t for t in terms[starts[j]:starts[j + 1]] if t is not None]
        parts.append(_fold(job) if job else Const(0.0))
    return Arith("/", _fold(parts), Const(float(est.n_estimators)))


@rule(BaggingClassifier, "estimator",
      notes="estimators_features_ (max_features, bootstrap_features); probabilities summed "
            "per class (an estimator that saw fewer classes adds to its own), votes where "
            "an estimator has no predict_proba; / n_estimators; decision_function")
def bagging_classifier(est: BaggingClassifier, frame: Frame, ctx: Context) -> Head:
    classes = _classes(est)
    k = len(classes)
    per_class: list[list[Expr | None]] = [[] for _ in range(k)]
    decisions: list[tuple[Expr, ...]] = []
    for sub, head in _bagged(est, frame, ctx):
        codes = _codes(head, k, ctx)
        if hasattr(sub, "predict_proba"):  # proba[:, classes_] += proba_estimator
            proba = _output(head, "predict_proba", ctx, "BaggingClassifier")
            for c in range(k):
                per_class[c].append(proba[codes.index(c)] if c in codes else None)
        else:  # proba[i, predictions[i]] += 1
            label = _one(head, "predict", ctx, "BaggingClassifier")
            for c in range(k):
                per_class[c].append(_per_label(label, codes,
                                               lambda code, c=c: 1.0 if code == c else 0.0))
        if "decision_function" in head.outputs and codes == list(range(k)):
            decisions.append(head.outputs["decision_function"].values)
    mean = [_bagging_mean(est, terms) for terms in per_class]
    result = _label_head(classes, mean, mean)
    widths = {len(d) for d in decisions}
    if hasattr(est, "decision_function") and len(decisions) == est.n_estimators \
            and len(widths) == 1:
        values = tuple(_bagging_mean(est, [d[c] for d in decisions]) for c in range(*widths))
        result.outputs["decision_function"] = Output(
            "decision_function", "scalar" if len(values) == 1 else "vector", values)
    return result


@rule(BaggingRegressor, "estimator",
      notes="estimators_features_ (max_features, bootstrap_features); sum of the "
            "predictions / n_estimators")
def bagging_regressor(est: BaggingRegressor, frame: Frame, ctx: Context) -> Head:
    preds = [_scalar(head, ctx, "BaggingRegressor") for _, head in _bagged(est, frame, ctx)]
    value = _bagging_mean(est, preds)
    return Head("regression", (), {"predict": Output("predict", "scalar", (value,))})


# ---- AdaBoost ------------------------------------------------------------------------------


def _boosted(est: object, frame: Frame, ctx: Context) -> list[tuple[Head, float]]:
    """_check_X (validate_data with dtype=None: NaN and inf refused), then each estimator
    with its weight."""
    check_numbers(ctx, frame.columns, allow_nan=False, who=type(est).__name__)
    weights = np.asarray(est.estimator_weights_, dtype=np.float64)
    if len(est.estimators_) > len(weights) or not np.all(np.isfinite(weights)):
        raise CompileError(f"{ctx.where()}: estimator_weights_ do not fit the estimators")
    return [(_head(sub, frame, ctx, f"estimators_[{i}]"), float(w))
            for i, (sub, w) in enumerate(zip(est.estimators_, weights))]


@rule(AdaBoostClassifier, "estimator",
      notes="SAMME: decision_function, predict (binary `> 0`, else argmax), predict_proba "
            "(softmax of decision / (K-1)); NaN/inf inputs refused as in sklearn")
def ada_boost_classifier(est: AdaBoostClassifier, frame: Frame, ctx: Context) -> Head:
    classes = _classes(est)
    k = len(classes)
    if k < 2:
        raise UnsupportedError(f"{ctx.where()}: AdaBoostClassifier with a single class")
    boosted = _boosted(est, frame, ctx)
    total = float(np.asarray(est.estimator_weights_, dtype=np.float64).sum())
    # pred = sum(np.where(estimator.predict(X) == classes, w, -1 / (K - 1) * w)); /= total
    scores = []
    for cls in classes:
        terms = []
        for head, w in boosted:
            label = _one(head, "predict", ctx, "AdaBoostClassifier")
            other = -1 / (k - 1) * np.float64(w)
            terms.append(Lookup(label, tuple(w if c == cls else float(other)
                                             for c in head.classes)))
        scores.append(Arith("/", _fold(terms), Const(total)))
    if k == 2:  # pred[:, 0] *= -1; pred.sum(axis=1)
        d = Arith("+", Neg(scores[0]), scores[1])
        half = [Arith("/", Neg(d), Const(2.0)), Arith("/", d, Const(2.0))]
        return Head("classification", classes, {
            "predict": Output("predict", "label", (BoolIndex(Compare(">", d, 0.0)),)),
            "predict_proba": Output("predict_proba", "vector", tuple(softmax(half))),
            "decision_function": Output("decision_function", "scalar", (d,)),
        })
    result = _label_head(classes, scores,
                         softmax([Arith("/", s, Const(float(k - 1))) for s in scores]))
    result.outputs["decision_function"] = Output("decision_function", "vector", tuple(scores))
    return result


def _sorts_before(a: Expr, b: Expr) -> Expr:
    """a < b in numpy's sort order: NaN after every number (a - b < 0 is a < b for any two
    non-NaN doubles, infinities included)."""
    less = Compare("<", Arith("-", a, b), 0.0)
    return Or((less, _all([Not(IsMissing(a)), IsMissing(b)])))


@rule(AdaBoostRegressor, "estimator",
      notes="weighted median (_get_median_predict: argsort, cumsum, first >= half the total); "
            "ties in index order; NaN/inf inputs refused as in sklearn")
def ada_boost_regressor(est: AdaBoostRegressor, frame: Frame, ctx: Context) -> Head:
    """Each prediction's rank by pairwise comparisons (ties: the lower estimator index
    first), the sorted weights' running sum exactly as np.cumsum adds them, then the first
    sorted position whose sum reaches half the total (`argmax` of the booleans: the first
    position when none does)."""
    boosted = _boosted(est, frame, ctx)
    preds = [_scalar(head, ctx, "AdaBoostRegressor") for head, _ in boosted]
    weights = [w for _, w in boosted]
    n = len(preds)
    ranks = []
    for i in range(n):  # how many estimators sort before estimator i
        before = [Not(_sorts_before(preds[i], preds[j])) if j < i
                  else _sorts_before(preds[j], preds[i]) for j in range(n) if j != i]
        ranks.append(_fold([Select(b, Const(1.0), Const(0.0)) for b in before])
                     if before else Const(0.0))

    def at_rank(k: int, values: list[Expr]) -> Expr:
        out = values[-1]
        for i in range(n - 2, -1, -1):
            out = Select(Compare("==", ranks[i], float(k)), values[i], out)
        return out

    consts = [Const(w) for w in weights]
    cdf = [at_rank(0, consts)]
    for k in range(1, n):
        cdf.append(Arith("+", cdf[-1], at_rank(k, consts)))
    half = Arith("*", Const(0.5), cdf[-1])
    value = at_rank(0, preds)
    for k in range(n - 1, -1, -1):  # exact: a - b >= 0 is a >= b for finite doubles
        value = Select(Compare(">=", Arith("-", cdf[k], half), 0.0), at_rank(k, preds), value)
    return Head("regression", (), {"predict": Output("predict", "scalar", (value,))})
