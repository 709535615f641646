"""Categorical encoders (OneHotEncoder, OrdinalEncoder, TargetEncoder), lowered by asking
the fitted encoder how it maps each category.

drop, min_frequency, max_categories, handle_unknown, unknown_value, encoded_missing_value,
dtype and the learned target encodings interact in subtle ways in sklearn. Instead of
re-deriving that bookkeeping, each rule transforms every known category, the missing value
and an unseen value through the fitted encoder itself and reads off the output columns
each one gives. Every output column is a function of one input's category, the mapping is
discrete, so this is exact by construction.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, TargetEncoder

from ..ir import Argmax, Const, Expr, InSet, Lookup, Not, Refusal, Select
from ..registry import CompileError, Context, Frame, rule
from .common import check_numbers

_UNSEEN_TEXT = "\x00scorec-unseen-category"


def _is_missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def _categories(cats: np.ndarray, ctx: Context) -> tuple[bool, list, str | None]:
    """(is_text, known non-missing values, missing marker if missing is a category)."""
    text = cats.dtype.kind in "OUS"
    known, marker = [], None
    for v in cats.tolist():
        if _is_missing(v):
            marker = "none" if v is None and marker is None else "nan"
        elif text and isinstance(v, str):
            known.append(v)
        elif not text and isinstance(v, (int, float)) and not isinstance(v, bool):
            if float(v) != v:  # an int beyond 2**53
                raise CompileError(f"{ctx.where()}: category {v!r} is not exact as a double")
            known.append(float(v))
        else:
            raise CompileError(f"{ctx.where()}: category {v!r} of type {type(v).__name__} "
                               "is not supported (text or numbers only)")
    return text, known, marker


def _unseen_number(known: list[float]) -> float:
    """A finite number that is none of the known categories."""
    top = max(known, default=0.0)
    for v in (top + 1.0, float(np.nextafter(top, np.inf)), min(known, default=0.0) - 1.0):
        if np.isfinite(v) and v not in known:
            return v
    raise CompileError("no finite number outside the categories")  # pragma: no cover


def _missing_seen(col: Expr, ctx: Context, marker: str | None) -> object:
    """The missing value sklearn receives in a text column: the one the compiled model's
    input passes for the raw feature behind it (an imputer's Select passes it through)."""
    source = col
    while isinstance(source, Select):
        source = source.other
    seen = ctx.marker(source) or marker
    return None if seen == "none" else float("nan")


def _transform_rows(enc: object, i: int, values: list) -> np.ndarray:
    """enc.transform of rows where feature i takes each value and the others a known one."""
    n = len(enc.categories_)
    cols = []
    for f in range(n):
        cats = enc.categories_[f]
        text = cats.dtype.kind in "OUS"
        fill = cats.tolist()[0]
        col = values if f == i else [fill] * len(values)
        cols.append(np.array(col, dtype=object if text else float))
    if hasattr(enc, "feature_names_in_"):
        import pandas as pd

        # explicit object Series: pandas 3 would infer its str dtype and turn None into NaN
        X = pd.DataFrame({name: pd.Series(c, dtype=c.dtype)
                          for name, c in zip(enc.feature_names_in_, cols)})
    else:
        X = np.empty((len(values), n), dtype=object if any(c.dtype == object for c in cols)
                     else float)
        for f, c in enumerate(cols):
            X[:, f] = c
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = enc.transform(X)
    out = out.toarray() if hasattr(out, "toarray") else np.asarray(out)
    return out.astype(float)


@dataclass
class _Probed:
    """How one input's categories come out of the encoder, in its own output columns."""

    col: Expr
    index: int  # the input's position among the encoder's features
    known: list  # the non-missing categories (str or float)
    rows: np.ndarray  # rows[c]: the outputs of known[c]
    missing: np.ndarray | None  # the outputs of a missing value; None: refused as unknown
    unseen: np.ndarray | None  # the outputs of an unseen value; None: refused as unknown


def _probe_inputs(enc: object, frame: Frame, ctx: Context, who: str,
                  columns: Callable[[int], slice], refuses: bool) -> list[_Probed]:
    """Every input of the encoder, probed: its known categories, the missing value sklearn
    will see, and (unless unseen values are refused) an unseen one. `columns(i)` are the
    output columns of input i. Numbers are checked first, as sklearn's _check_X does
    before it looks at any category."""
    parsed = [_categories(np.asarray(c), ctx) for c in enc.categories_]
    numeric = [col for col, (text, _, _) in zip(frame.columns, parsed) if not text]
    check_numbers(ctx, numeric, allow_nan=True, who=who)
    probed = []
    for i, (col, (text, known, marker)) in enumerate(zip(frame.columns, parsed)):
        if text:
            ctx.want_string(col, marker or "nan")
        missing_value = _missing_seen(col, ctx, marker) if text else float("nan")
        unseen_value = _UNSEEN_TEXT if text else _unseen_number(known)
        block = columns(i)
        values = [*known, *([] if refuses else [unseen_value])]
        rows = _transform_rows(enc, i, values)[:, block] if values else \
            np.zeros((0, block.stop - block.start))
        unseen = None if refuses else rows[-1]
        try:
            missing = _transform_rows(enc, i, [missing_value])[0, block]
        except ValueError:  # handle_unknown='error' and missing is no category: refused
            if not refuses:
                raise
            missing = None
        probed.append(_Probed(col, i, known, rows[: len(known)], missing, unseen))
    return probed


def _refuse_unknown(ctx: Context, probed: list[_Probed]) -> None:
    """handle_unknown='error': sklearn checks the inputs in order and names the first
    one holding a category it did not see at fit (missing counts, unless a category)."""
    for p in probed:
        ctx.refuse_if(Not(InSet(p.col, tuple(p.known), p.missing is not None)),
                      Refusal.UNKNOWN_CATEGORY,
                      f"Found unknown categories in column {p.index} during transform")


def _key(v: float) -> str:
    """Outputs are grouped by exact value: repr tells -0.0 from 0.0 and names every NaN."""
    return repr(float(v))


def _output(p: _Probed, j: int) -> Expr:
    """Output column j of input p as a function of its category: the unseen value's
    output (or, where unseen values are refused, the most common one) unless the input is
    in the set of categories giving another output."""
    groups: dict[str, tuple[float, list, bool]] = {}
    for v, out in zip(p.known, p.rows[:, j]):
        groups.setdefault(_key(out), (float(out), [], False))[1].append(v)
    if p.missing is not None:
        value, members, _ = groups.get(_key(p.missing[j]), (float(p.missing[j]), [], False))
        groups[_key(value)] = (value, members, True)
    if p.unseen is not None:
        default = float(p.unseen[j])
    else:
        sizes = {k: len(m) + miss for k, (_, m, miss) in groups.items()}
        default = groups[max(sizes, key=lambda k: (sizes[k], k == _key(0.0)))][0]
    others = [(v, InSet(p.col, tuple(m), miss)) for k, (v, m, miss) in groups.items()
              if k != _key(default)]
    if not others:
        return Const(default)
    if len(others) == 1:
        return Select(others[0][1], Const(others[0][0]), Const(default))
    # many outputs: the position of the matching set (0: none matches), read in a table;
    # flat where a chain of Select would nest as deep as there are categories
    terms = [Select(member, Const(1.0), Const(0.0)) for _, member in others]
    return Lookup(Argmax((Const(0.5), *terms)), (default, *(v for v, _ in others)))


@rule(OneHotEncoder, "transformer",
      notes="handle_unknown error/ignore/infrequent_if_exist/warn; drop; min_frequency; "
            "max_categories")
def one_hot_encoder(enc: OneHotEncoder, frame: Frame, ctx: Context) -> Frame:
    offsets = np.cumsum([0, *enc._n_features_outs])
    refuses = enc.handle_unknown == "error"
    probed = _probe_inputs(enc, frame, ctx, "OneHotEncoder",
                           lambda i: slice(offsets[i], offsets[i + 1]), refuses)
    out = [_output(p, j) for p in probed for j in range(p.rows.shape[1])]
    if refuses:
        _refuse_unknown(ctx, probed)
    return Frame(out, bool(enc.sparse_output), _dtype(enc))


def _dtype(enc: object) -> str:
    """The output container's dtype, as later steps see it (ints become float64)."""
    return "float32" if np.dtype(enc.dtype) == np.float32 else "float64"


@rule(OrdinalEncoder, "transformer",
      notes="categories auto or lists, text or numbers; handle_unknown error/use_encoded_value "
            "(int or NaN); encoded_missing_value; min_frequency; max_categories; dtype")
def ordinal_encoder(enc: OrdinalEncoder, frame: Frame, ctx: Context) -> Frame:
    refuses = enc.handle_unknown == "error"
    probed = _probe_inputs(enc, frame, ctx, "OrdinalEncoder", lambda i: slice(i, i + 1),
                           refuses)
    out = [_output(p, 0) for p in probed]
    if refuses:
        _refuse_unknown(ctx, probed)
    return Frame(out, False, _dtype(enc))


@rule(TargetEncoder, "transformer",
      notes="target_type binary/continuous/multiclass; smooth; categories; transform's "
            "encodings_ (unseen: target_mean_; missing: a category)")
def target_encoder(enc: TargetEncoder, frame: Frame, ctx: Context) -> Frame:
    """transform, not the cross-fitted fit_transform: what predict runs on new rows.
    Multiclass gives one column per class per input, the input's columns together."""
    width = len(enc.classes_) if enc.target_type_ == "multiclass" else 1
    probed = _probe_inputs(enc, frame, ctx, "TargetEncoder",
                           lambda i: slice(i * width, (i + 1) * width), refuses=False)
    return Frame([_output(p, j) for p in probed for j in range(width)], False)
