"""Linear projections and kernel feature maps: a `MatVec` of the input against the fitted
matrix (so the text stays linear in the number of weights), in sklearn's arrangement.

Where sklearn transforms (sklearn 1.9.1):
- `_BasePCA.transform` (decomposition/_base.py; PCA, IncrementalPCA): `validate_data(dtype=
  [float64, float32], accept_sparse=("csr", "csc"))`, `X @ components_.T`, then `-=
  mean_ @ components_.T` (a row computed by numpy: the bias here), then, with whiten,
  `/= sqrt(explained_variance_)` clipped below at the dtype's eps. IncrementalPCA scores a
  sparse X batch by batch through `toarray()`: the same arithmetic.
- `TruncatedSVD.transform`: `safe_sparse_dot(X, components_.T)`.
- `FastICA.transform`: `X -= mean_` (when whitening) and then `X @ components_.T`.
- `GaussianRandomProjection` / `SparseRandomProjection.transform`: `X @ components_.T`; the
  sparse matrix's product sums the stored entries of each row, in index order (`support`);
  with dense_output=False a sparse X gives a sparse result.
- `RBFSampler.transform`: `cos(X @ random_weights_ + random_offset_) * (2 / n) ** 0.5`.
- `KernelPCA.transform`: the kernel between X and `X_fit_`, centred by `KernelCenterer.
  transform` (which validates K: NaN, then infinity, refused; `K - K_fit_rows_ -
  sum(K) / n_fit + K_fit_all_`), then `@ eigenvectors_ / sqrt(eigenvalues_)` (scaled at
  compile time as sklearn does). `Nystroem.transform`: the kernel against `components_`,
  then `@ normalization_.T`.
- The kernels (metrics/pairwise.py): linear `X @ Y.T`; poly `(gamma * X @ Y.T + coef0) **
  degree`; sigmoid `tanh(gamma * X @ Y.T + coef0)`; rbf `exp(-gamma * max(-2 * X @ Y.T +
  |x|^2 + |y|^2, 0))` (euclidean_distances' expansion, |x|^2 by einsum, |y|^2 by numpy at
  compile time); laplacian `exp(-gamma * sum |x - y|)` (scipy's cdist cityblock loop).

Every transform refuses NaN, then infinity, in its input. Products are BLAS (any order is
sklearn's). A model fitted on float32 data computes in float32 when its input is float32
(as it is behind a float32 step), which double arithmetic cannot reproduce: refused.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.decomposition import PCA, FastICA, IncrementalPCA, KernelPCA, TruncatedSVD
from sklearn.kernel_approximation import Nystroem, RBFSampler
from sklearn.metrics.pairwise import KERNEL_PARAMS, pairwise_kernels
from sklearn.random_projection import GaussianRandomProjection, SparseRandomProjection
from sklearn.utils.extmath import row_norms

from ..ir import (
    Arith,
    Compare,
    Const,
    Expr,
    Func,
    IsMissing,
    Item,
    Map,
    MatVec,
    Pack,
    Pow,
    Reduce,
    Refusal,
    Select,
    Var,
)
from ..registry import CompileError, Context, Frame, UnsupportedError, rule
from .common import check_numbers, numpy_sum
from .scale import _einsum_squares

# A fitted map that divides by a spread this small (relative to the largest) multiplies the
# rounding of BLAS's summation, whose order is unknown, beyond the 1e-9 tolerance: the data
# had no spread in that direction (rank-deficient: every one-hot column of a feature, equal
# columns, a linear kernel over more stored rows than features) and sklearn's own output
# there is rounding noise. Such fits are refused.
SPREAD_NOISE = 1e-8  # singular values of the data (FastICA's whitening)
MAX_AMPLIFICATION = 1e6  # of a kernel map's relative rounding (KernelPCA, Nystroem)
KERNELS = ("linear", "poly", "polynomial", "rbf", "sigmoid", "laplacian")


# ---- shared steps ---------------------------------------------------------------------------

def _dense(a: object) -> np.ndarray:
    return np.asarray(a.toarray() if sparse.issparse(a) else a)


def _input(est: object, frame: Frame, ctx: Context, fitted: Sequence[object],
           width: int) -> Expr:
    """validate_data's refusals (NaN, then infinity) and the input as one vector; the
    fitted arrays must be float64 and match the input's width."""
    name = type(est).__name__
    dtypes = {np.asarray(a.data if sparse.issparse(a) else a).dtype for a in fitted}
    if dtypes != {np.dtype(np.float64)}:
        raise UnsupportedError(
            f"{ctx.where()}: {name} was fitted on float32 data (its fitted arrays are "
            f"{', '.join(sorted(map(str, dtypes)))}), so sklearn computes in float32 for "
            "float32 input, which double arithmetic cannot reproduce; refit it on float64 "
            "data")
    if width != len(frame.columns):
        raise CompileError(f"{ctx.where()}: {name} was fitted on {width} columns, the step "
                           f"receives {len(frame.columns)}")
    check_numbers(ctx, frame.columns, allow_nan=False, who=name)
    return Pack(tuple(frame.columns))


def _rows(matrix: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in matrix)


def _floats(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in np.ravel(values))


def _product(x: Expr, matrix: np.ndarray, bias: np.ndarray | None = None) -> Expr:
    """`X @ matrix.T (+ bias)` for one row: a MatVec."""
    return MatVec(x, _rows(matrix), bias=None if bias is None else _floats(bias))


def _columns(vec: Expr, sparse_out: bool = False) -> Frame:
    return Frame([Item(vec, k) for k in range(vec.width)], sparse_out)


# ---- PCA, IncrementalPCA, TruncatedSVD, FastICA, random projections -------------------------

@rule(PCA, "transformer", notes="any solver and n_components; whiten; dense or sparse "
      "input; float64 fits only")
@rule(IncrementalPCA, "transformer", notes="whiten; dense or sparse input (its statistics are "
      "float64 even after a float32 fit)")
def pca(est: PCA | IncrementalPCA, frame: Frame, ctx: Context) -> Frame:
    """`X @ C.T - mean_ @ C.T`, then the whitening division."""
    comps = np.asarray(est.components_)
    x = _input(est, frame, ctx, (comps, est.mean_, est.explained_variance_), comps.shape[1])
    offset = np.reshape(est.mean_, (1, -1)) @ comps.T  # sklearn's own product, once
    projected = _product(x, comps, -offset[0])  # y - b is y + (-b), exactly
    if est.whiten:
        scale = np.sqrt(est.explained_variance_)
        scale[scale < np.finfo(scale.dtype).eps] = np.finfo(scale.dtype).eps
        projected = Map(Arith("/", Var(0), Var(1)), (projected, _floats(scale)))
    return _columns(projected)


@rule(TruncatedSVD, "transformer", notes="any algorithm; dense or sparse input; float64 "
      "fits only")
def truncated_svd(est: TruncatedSVD, frame: Frame, ctx: Context) -> Frame:
    comps = np.asarray(est.components_)
    x = _input(est, frame, ctx, (comps,), comps.shape[1])
    return _columns(_product(x, comps))


def whitening_spread(est: FastICA) -> float:
    """The smallest over the largest singular value of the data FastICA whitened:
    `whitening_ = (u / d).T`, so row k has norm 1 / d_k."""
    d = 1.0 / np.linalg.norm(np.asarray(est.whitening_), axis=1)
    return float(d.min() / d.max())


@rule(FastICA, "transformer", notes="whiten unit-variance, arbitrary-variance or off; "
      "float64 fits only")
def fast_ica(est: FastICA, frame: Frame, ctx: Context) -> Frame:
    """`(X - mean_) @ components_.T` (no centring without whitening)."""
    comps = np.asarray(est.components_)
    whiten = bool(est.whiten)
    fitted = (comps, est.mean_) if whiten else (comps,)
    x = _input(est, frame, ctx, fitted, comps.shape[1])
    if whiten and whitening_spread(est) < SPREAD_NOISE:
        raise UnsupportedError(
            f"{ctx.where()}: FastICA was whitened along a direction in which its fit data had "
            f"no spread (singular values in a ratio of {whitening_spread(est):.3g}: "
            "rank-deficient data, e.g. every one-hot column of a feature); that output is "
            "rounding noise magnified by 1 / d, which only this BLAS's summation order "
            "reproduces. Refit with n_components below the data's rank")
    if whiten:
        x = Pack(tuple(Arith("-", c, Const(float(m))) for c, m in zip(x.items, est.mean_)))
    return _columns(_product(x, comps))


@rule(GaussianRandomProjection, "transformer", notes="any n_components / eps; dense or "
      "sparse input; float64 fits only")
def gaussian_random_projection(est: GaussianRandomProjection, frame: Frame,
                               ctx: Context) -> Frame:
    comps = np.asarray(est.components_)
    x = _input(est, frame, ctx, (comps,), comps.shape[1])
    return _columns(_product(x, comps))


@rule(SparseRandomProjection, "transformer", notes="any density; dense_output; dense or "
      "sparse input; float64 fits only")
def sparse_random_projection(est: SparseRandomProjection, frame: Frame,
                             ctx: Context) -> Frame:
    """A sparse components_ (density < 1): each output sums the stored entries of its
    row, in index order, and a row with none is 0; the product of two sparse matrices
    stays sparse unless dense_output. A dense components_ (density 1) is a plain product."""
    stored = est.components_
    if not sparse.issparse(stored):
        x = _input(est, frame, ctx, (stored,), np.shape(stored)[1])
        return _columns(_product(x, np.asarray(stored)))
    comps = sparse.csr_matrix(stored)
    comps.sort_indices()
    x = _input(est, frame, ctx, (stored,), comps.shape[1])
    dense = comps.toarray()
    used = [i for i in range(comps.shape[0]) if comps.indptr[i + 1] > comps.indptr[i]]
    columns: list[Expr] = [Const(0.0)] * comps.shape[0]
    if used:
        mat = MatVec(x, _rows(dense[used]), support=tuple(
            tuple(int(j) for j in comps.indices[comps.indptr[i]:comps.indptr[i + 1]])
            for i in used))
        for k, i in enumerate(used):
            columns[i] = Item(mat, k)
    return Frame(columns, frame.sparse and not est.dense_output)


@rule(RBFSampler, "transformer", notes="any gamma / n_components; dense or sparse input; "
      "float64 fits only")
def rbf_sampler(est: RBFSampler, frame: Frame, ctx: Context) -> Frame:
    """`cos(X @ random_weights_ + random_offset_) * (2.0 / n_components) ** 0.5`."""
    weights = np.asarray(est.random_weights_)
    x = _input(est, frame, ctx, (weights, est.random_offset_), weights.shape[0])
    factor = (2.0 / est.n_components) ** 0.5
    projected = _product(x, weights.T, np.asarray(est.random_offset_))
    return _columns(Map(Arith("*", Func("cos", Var(0)), Const(factor)), (projected,)))


# ---- kernels against stored rows: KernelPCA, Nystroem --------------------------------------

def kernel(name: str, params: dict, x: Expr, rows: object, ctx: Context) -> Expr:
    """pairwise_kernels(X, rows, metric=name, filter_params=True, **params) for one row:
    a vector with one value per stored row, in sklearn's arithmetic."""
    if not isinstance(name, str) or name not in KERNELS:
        raise UnsupportedError(f"{ctx.where()}: kernel={name!r} is not supported (supported: "
                               f"{', '.join(KERNELS)})")
    params = {k: v for k, v in params.items() if k in KERNEL_PARAMS[name]}
    stored = _dense(rows).astype(float)
    gamma = params.get("gamma")
    gamma = 1.0 / stored.shape[1] if gamma is None else gamma
    if name == "linear":
        return MatVec(x, _rows(stored))
    if name == "laplacian":  # -gamma * cdist(cityblock), exponentiated
        dist = MatVec(x, _rows(stored), op="absdiff")
        return Map(Func("exp", Arith("*", Const(-float(gamma)), Var(0))), (dist,))
    if name == "rbf":  # -2 * X @ Y.T + XX + YY, at least 0, times -gamma, exponentiated
        dot = MatVec(x, _rows(stored))
        squares = _einsum_squares(list(x.items))
        d = Arith("+", Arith("+", Arith("*", Const(-2.0), Var(0)), squares), Var(1))
        d = Select(Compare("<", d, 0.0), Const(0.0), d)  # np.maximum(d, 0); NaN stays
        body = Func("exp", Arith("*", d, Const(-float(gamma))))
        return Map(body, (dot, _floats(row_norms(rows, squared=True))))
    coef0 = float(params.get("coef0", 1))
    affine = Arith("+", Arith("*", Var(0), Const(float(gamma))), Const(coef0))
    if name == "sigmoid":
        return Map(Func("tanh", affine), (MatVec(x, _rows(stored)),))
    degree = float(params.get("degree", 3))
    # K **= degree: numpy squares for 2 (x * x), else C pow
    body = Arith("*", affine, affine) if degree == 2 else Pow(affine, Const(degree))
    return Map(body if degree != 1 else affine, (MatVec(x, _rows(stored)),))


def kernel_setup(est: KernelPCA | Nystroem) -> tuple[object, dict, object]:
    """(kernel, parameters, stored rows) as the model's transform passes them to
    pairwise_kernels: KernelPCA._get_kernel gives a named kernel gamma_, degree and coef0
    (kernel_params only reach a callable); Nystroem._get_kernel_params gives kernel_params
    plus whichever of gamma, degree, coef0 are set."""
    if isinstance(est, KernelPCA):
        return est.kernel, {"gamma": est.gamma_, "degree": est.degree,
                            "coef0": est.coef0}, est.X_fit_
    params = dict(est.kernel_params or {})
    if isinstance(est.kernel, str):
        params.update({p: getattr(est, p) for p in KERNEL_PARAMS.get(est.kernel, ())
                       if getattr(est, p) is not None})
    return est.kernel, params, est.components_


def kernel_amplification(est: KernelPCA | Nystroem) -> float:
    """By how much the map multiplies the relative rounding of the kernel row, from the
    kernel's magnitude over its smallest eigenvalue used (an n x n kernel whose entries are
    at most k has eigenvalues up to n * k).

    KernelPCA divides the centred row by sqrt(lambda); relative to its typical output
    sqrt(lambda / n), the error is eps * n * max|K| / lambda. Nystroem multiplies by
    K_basis^(-1/2); relative to its output (about sqrt(max|K|)), the error is eps *
    sqrt(m * max|K| / S_min)."""
    name, params, stored = kernel_setup(est)
    train = pairwise_kernels(stored, metric=name, filter_params=True, **params)
    top = float(np.abs(train).max()) * train.shape[0]
    if isinstance(est, KernelPCA):
        lambdas = est.eigenvalues_[est.eigenvalues_ > 0]
        return top / float(lambdas.min()) if lambdas.size and top > 0 else 1.0
    sv = np.linalg.svd(np.asarray(est.normalization_), compute_uv=False)  # 1 / sqrt(S)
    return float(np.sqrt(top) * sv.max()) if top > 0 else 1.0


def _refuse_amplified(est: KernelPCA | Nystroem, ctx: Context) -> None:
    amp = kernel_amplification(est)
    if amp > MAX_AMPLIFICATION:
        raise UnsupportedError(
            f"{ctx.where()}: {type(est).__name__} divides by a kernel eigenvalue at the level "
            f"of rounding noise (the kernel's rounding is multiplied by {amp:.3g}): the "
            "stored rows span fewer dimensions than the components kept (e.g. a linear or "
            "poly kernel over more rows than features, near-duplicate rows), and only this "
            "BLAS's summation order reproduces sklearn's output there. Keep fewer components")


def scaled_alphas(est: KernelPCA) -> np.ndarray:
    """KernelPCA.transform's `eigenvectors_ / sqrt(eigenvalues_)`, zero eigenvalues left 0."""
    non_zeros = np.flatnonzero(est.eigenvalues_)
    scaled = np.zeros_like(est.eigenvectors_)
    scaled[:, non_zeros] = est.eigenvectors_[:, non_zeros] / np.sqrt(
        est.eigenvalues_[non_zeros])
    return scaled


@rule(KernelPCA, "transformer", notes="kernels linear, poly, rbf, sigmoid, laplacian (not "
      "cosine, precomputed or callable); fits whose eigenvalues are rounding noise refused; "
      "float64 fits only")
def kernel_pca(est: KernelPCA, frame: Frame, ctx: Context) -> Frame:
    """The centred kernel row against X_fit_, then the scaled eigenvectors."""
    name, params, stored = kernel_setup(est)
    x = _input(est, frame, ctx, (stored, est.eigenvectors_), stored.shape[1])
    k = kernel(name, params, x, stored, ctx)
    _refuse_amplified(est, ctx)
    # KernelCenterer.transform: validate_data on K (NaN, then infinity), then centre
    top = Reduce("max", Map(Func("abs", Var(0)), (k,)))  # NaN if any element is
    ctx.refuse_if(IsMissing(top), Refusal.MISSING_VALUE,
                  "Input X contains NaN (the kernel of KernelPCA's input)")
    ctx.refuse_if(Compare(">=", top, float("inf")), Refusal.INFINITE_VALUE,
                  "Input X contains infinity or a value too large for dtype('float64') "
                  "(the kernel of KernelPCA's input)")
    centerer = est._centerer
    n_fit = centerer.K_fit_rows_.shape[0]
    mean_row = Arith("/", numpy_sum([Item(k, j) for j in range(k.width)]), Const(float(n_fit)))
    centred = Map(Arith("+", Arith("-", Arith("-", Var(0), Var(1)), mean_row),
                        Const(float(centerer.K_fit_all_))),
                  (k, _floats(centerer.K_fit_rows_)))
    return _columns(MatVec(centred, _rows(scaled_alphas(est).T)))


@rule(Nystroem, "transformer", notes="kernels linear, poly, rbf, sigmoid, laplacian; "
      "kernel_params; fits whose kernel eigenvalues are rounding noise refused; float64 "
      "fits only")
def nystroem(est: Nystroem, frame: Frame, ctx: Context) -> Frame:
    """The kernel row against components_, then `@ normalization_.T`."""
    name, params, stored = kernel_setup(est)
    x = _input(est, frame, ctx, (stored, est.normalization_), stored.shape[1])
    k = kernel(name, params, x, stored, ctx)
    _refuse_amplified(est, ctx)
    return _columns(MatVec(k, _rows(np.asarray(est.normalization_))))
