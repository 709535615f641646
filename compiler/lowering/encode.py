"""OneHotEncoder, lowered by asking the fitted encoder how it maps each category.

drop, min_frequency, max_categories and handle_unknown interact in subtle ways in
sklearn. Instead of re-deriving that bookkeeping, the rule transforms every known
category, the missing value and an unseen value through the fitted encoder itself and
reads off which output columns each one sets. The mapping is discrete, so this is
exact by construction.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.preprocessing import OneHotEncoder

from ..ir import Const, Expr, InSet, Not, Refusal, Select
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


def _probe(enc: OneHotEncoder, i: int, values: list) -> np.ndarray:
    """Rows of enc.transform where feature i takes each value and the others a known one."""
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
    offsets = np.cumsum([0, *enc._n_features_outs])
    return out[:, offsets[i]:offsets[i + 1]].astype(float)


@rule(OneHotEncoder, "transformer",
      notes="handle_unknown error/ignore/infrequent_if_exist; drop; min_frequency; max_categories")
def one_hot_encoder(enc: OneHotEncoder, frame: Frame, ctx: Context) -> Frame:
    cols = frame.columns
    parsed = [_categories(np.asarray(c), ctx) for c in enc.categories_]
    numeric = [col for col, (text, _, _) in zip(cols, parsed) if not text]
    check_numbers(ctx, numeric, allow_nan=True, who="OneHotEncoder")
    refuses = enc.handle_unknown == "error"
    out: list[Expr] = []
    unknown_checks = []
    for i, (col, (text, known, marker)) in enumerate(zip(cols, parsed)):
        if text:
            ctx.want_string(col, marker or "nan")
        missing_value = (None if marker == "none" else float("nan")) if text else float("nan")
        unseen = _UNSEEN_TEXT if text else (max(known, default=0.0) + 1.0)
        probes = list(known)
        has_missing_row = marker is not None or not refuses
        if has_missing_row:
            probes.append(missing_value)
        if not refuses:
            probes.append(unseen)
        bits = _probe(enc, i, probes)
        known_bits = bits[: len(known)]
        missing_bits = bits[len(known)] if has_missing_row else None
        unseen_bits = bits[-1] if not refuses else np.zeros(bits.shape[1])
        for j in range(bits.shape[1]):
            if unseen_bits[j] == 0:
                ones = tuple(v for v, b in zip(known, known_bits[:, j]) if b == 1)
                miss = bool(missing_bits is not None and missing_bits[j] == 1)
                if not ones and not miss:
                    out.append(Const(0.0))
                else:
                    out.append(Select(InSet(col, ones, miss), Const(1.0), Const(0.0)))
            else:
                zeros = tuple(v for v, b in zip(known, known_bits[:, j]) if b == 0)
                miss = bool(missing_bits is not None and missing_bits[j] == 0)
                out.append(Select(InSet(col, zeros, miss), Const(0.0), Const(1.0)))
        if refuses:
            unknown_checks.append(
                (Not(InSet(col, tuple(known), marker is not None)),
                 f"Found unknown categories in column {i} during transform"))
    for fails, message in unknown_checks:
        ctx.refuse_if(fails, Refusal.UNKNOWN_CATEGORY, message)
    return Frame(out, bool(enc.sparse_output))
