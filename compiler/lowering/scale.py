"""StandardScaler and MinMaxScaler, in sklearn's own operation order."""

from __future__ import annotations

from sklearn.preprocessing import MinMaxScaler, StandardScaler

from ..ir import Arith, Compare, Const, Expr, Select
from ..registry import Context, Frame, rule
from .common import check_numbers


@rule(StandardScaler, "transformer", notes="with_mean / with_std on or off")
def standard_scaler(sc: StandardScaler, frame: Frame, ctx: Context) -> Frame:
    check_numbers(ctx, frame.columns, allow_nan=True, who="StandardScaler")
    out: list[Expr] = []
    # sparse input is scaled by the reciprocal (inplace_column_scale), dense by division
    inverse = 1 / sc.scale_ if sc.scale_ is not None else None
    for j, col in enumerate(frame.columns):
        x = col
        if sc.with_mean and not frame.sparse:
            x = Arith("-", x, Const(float(sc.mean_[j])))
        if sc.scale_ is not None:
            if frame.sparse:
                x = Arith("*", x, Const(float(inverse[j])))
            else:
                x = Arith("/", x, Const(float(sc.scale_[j])))
        out.append(x)
    return Frame(out, frame.sparse)


@rule(MinMaxScaler, "transformer", notes="feature_range, clip")
def min_max_scaler(sc: MinMaxScaler, frame: Frame, ctx: Context) -> Frame:
    check_numbers(ctx, frame.columns, allow_nan=True, who="MinMaxScaler")
    lo, hi = (float(v) for v in sc.feature_range)
    out: list[Expr] = []
    for j, col in enumerate(frame.columns):
        x: Expr = Arith("+", Arith("*", col, Const(float(sc.scale_[j]))),
                        Const(float(sc.min_[j])))
        if sc.clip:  # np.clip keeps NaN
            x = Select(Compare("<", x, lo), Const(lo), Select(Compare(">", x, hi), Const(hi), x))
        out.append(x)
    return Frame(out, frame.sparse)

