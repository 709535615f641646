"""PolynomialFeatures: products of input columns, multiplied in sklearn's own order."""

from __future__ import annotations

from collections import Counter

from sklearn.preprocessing import PolynomialFeatures

from ..ir import Arith, Compare, Const, Expr, Or, Select
from ..registry import CompileError, Context, Frame, rule
from .common import check_numbers

Term = tuple[Expr, Counter]  # a column and the input indices it multiplies (for a self-check)


def _dense_terms(pf: PolynomialFeatures, cols: list[Expr]) -> list[Term]:
    """The dense branch of PolynomialFeatures.transform, replayed on expressions: each
    degree is the previous degree's block `XP[:, start:end]` times one input column, so
    x0**3 is (x0 * x0) * x0 and x0*x1*x2 is (x2 * x1) * x0. Degrees below _min_degree
    are computed and then cut off, as sklearn does."""
    n = len(cols)
    xp: list[Term] = [(Const(1.0), Counter())] if pf.include_bias else []
    if pf._max_degree == 0:
        return xp
    current = len(xp)
    xp.extend((c, Counter([j])) for j, c in enumerate(cols))
    index = [*range(current, current + n), current + n]
    current += n
    for _ in range(2, pf._max_degree + 1):
        new_index = []
        end = index[-1]
        for f in range(n):
            start = index[f]
            new_index.append(current)
            if pf.interaction_only:
                start += index[f + 1] - index[f]
            next_col = current + end - start
            if next_col <= current:
                break
            xp.extend((Arith("*", e, cols[f]), k + Counter([f])) for e, k in xp[start:end])
            current = next_col
        new_index.append(current)
        index = new_index
    if pf._min_degree > 1:
        n_out = pf.n_output_features_
        if pf.include_bias:
            return [xp[0], *xp[len(xp) - n_out + 1:]]
        return xp[len(xp) - n_out:]
    return xp


def _sparse_terms(pf: PolynomialFeatures, cols: list[Expr]) -> list[Term]:
    """The sparse branches: each product multiplies its factors in ascending column order,
    (x_i * x_j) * x_k. Up to degree 3 sklearn runs the CSR K-simplex loops, which multiply
    stored values only: a product with an implicit-zero factor stays an implicit zero,
    never inf * 0 = NaN. Beyond, it multiplies CSC columns with scipy's element-wise
    product, which computes over the union of the stored entries (inf * 0 is NaN there,
    as in the dense branch)."""
    stored_only = pf._max_degree <= 3
    out: list[Term] = []
    for powers in pf.powers_:
        factors = [j for j, p in enumerate(powers) for _ in range(int(p))]
        if not factors:
            out.append((Const(1.0), Counter()))
            continue
        prod: Expr = cols[factors[0]]
        for j in factors[1:]:
            prod = Arith("*", prod, cols[j])
        if stored_only and len(factors) >= 3:  # two finite factors make no NaN with a zero
            zeros = [Compare("==", cols[j], 0.0) for j in sorted(set(factors))]
            prod = Select(zeros[0] if len(zeros) == 1 else Or(tuple(zeros)), Const(0.0), prod)
        out.append((prod, Counter(factors)))
    return out


@rule(PolynomialFeatures, "transformer", notes="degree int or (min, max), interaction_only, "
      "include_bias; dense and sparse product orders")
def polynomial_features(pf: PolynomialFeatures, frame: Frame, ctx: Context) -> Frame:
    check_numbers(ctx, frame.columns, allow_nan=False, who="PolynomialFeatures")
    terms = (_sparse_terms if frame.sparse else _dense_terms)(pf, frame.columns)
    expected = [Counter({j: int(p) for j, p in enumerate(row) if p}) for row in pf.powers_]
    if [k for _, k in terms] != expected:
        raise CompileError(f"{ctx.where()}: the replayed products do not match sklearn's "
                           "powers_ (column order)")
    return Frame([e for e, _ in terms], frame.sparse)

