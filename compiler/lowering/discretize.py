"""KBinsDiscretizer: a bin index by numpy.searchsorted over the fitted inner edges, then
the bin number or its one-hot columns.

sklearn 1.9's transform is, per feature, `np.searchsorted(bin_edges_[j][1:-1], x,
side="right")` on X validated as float64 (or float32 when dtype=np.float32 asks for it:
X is cast before the search, which then compares float64(float32(x)) with the float64
edges), then the OneHotEncoder it fitted on the bin numbers. There is no tolerance
around the edges and no clip (older releases added 1e-8 + 1e-5 |x| and clipped).
Only the edges come from the strategy (uniform, quantile with any quantile_method,
kmeans) and subsample: the rule reads them, whatever produced them.
"""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import KBinsDiscretizer

from ..ir import Bucket, Const, Expr, Lookup
from ..registry import Context, Frame, UnsupportedError, rule
from .common import check_numbers, f32_split_bounds


def f32_searchsorted_edges(edges: np.ndarray) -> np.ndarray:
    """The doubles E with `E <= x` <=> `e <= float64(float32(x))` for every double x whose
    float32 is finite, one per edge e: searchsorted(E, x, "right") then counts exactly the
    edges sklearn's float32 search counts.

    float32(x) < e <=> float32(x) <= e- (the double below e; float32(x) is a float32), and
    f32_split_bounds gives the largest double B with float32(x) <= e- for x <= B. The
    complement, float32(x) >= e, is x >= the double after B. Ties round to even, as the
    cast does."""
    below = np.nextafter(np.asarray(edges, dtype=float), -np.inf)
    return np.nextafter(f32_split_bounds(below), np.inf)


def _bin_index(col: Expr, inner: np.ndarray, float32: bool) -> Expr | None:
    """The bin number of `col` as an index node (None: one bin, always 0)."""
    if inner.size == 0:
        return None
    edges = f32_searchsorted_edges(inner) if float32 else inner
    return Bucket(col, tuple(float(e) for e in edges), right=True)


@rule(KBinsDiscretizer, "transformer",
      notes="uniform, quantile (any quantile_method), kmeans; subsample; "
            "onehot / onehot-dense / ordinal; dtype float64 or float32 (X cast before binning)")
def kbins_discretizer(kb: KBinsDiscretizer, frame: Frame, ctx: Context) -> Frame:
    if frame.sparse:
        raise UnsupportedError(f"{ctx.where()}: KBinsDiscretizer receives a sparse matrix, "
                               "which sklearn refuses (it accepts dense input only)")
    float32 = kb.dtype is not None and np.dtype(kb.dtype) == np.float32
    # validate_data(dtype=...) with ensure_all_finite=True: NaN, then infinity (a value
    # beyond float32 is one after the cast)
    check_numbers(ctx, frame.columns, allow_nan=False, dtype="float32" if float32 else "float64",
                  who="KBinsDiscretizer")
    out: list[Expr] = []
    for j, col in enumerate(frame.columns):
        # a feature whose quantiles all fall within 1e-8 keeps one edge: n_bins_ 0, bin 0
        inner = np.asarray(kb.bin_edges_[j], dtype=float)[1:-1]
        n = inner.size + 1
        if np.isnan(inner).any() or np.any(np.diff(inner) < 0):
            raise UnsupportedError(
                f"{ctx.where()}: feature {j} has bin edges {kb.bin_edges_[j].tolist()!r} that "
                "are not ascending numbers (a fit on a range too wide for float64?); "
                "numpy.searchsorted's result on them is not defined")
        if kb.encode != "ordinal" and n != kb.n_bins_[j]:
            raise UnsupportedError(f"{ctx.where()}: feature {j} has {kb.n_bins_[j]} bins "
                                   f"but {inner.size} inner edges")
        index = _bin_index(col, inner, float32)
        if kb.encode == "ordinal":  # the bin number, written into X's float array
            out.append(Const(0.0) if index is None else
                       Lookup(index, tuple(float(k) for k in range(n))))
            continue
        for k in range(n):  # one-hot: 1 in the bin's own column (every bin is a category)
            out.append(Const(1.0) if index is None else
                       Lookup(index, tuple(float(m == k) for m in range(n))))
    return Frame(out, kb.encode == "onehot", "float32" if float32 else "float64")
