"""``ag.linalg``: the Array API's linalg names that topograd has (vector_norm,
matrix_norm, matmul), with PyTorch's numerics. The norms are compositions of Tensor
ops, with no gradient code: where a norm is 0 its gradient is 0, as PyTorch's norm
backward masks it (the plain root's would be 0 / 0 there)."""
import math
import numbers

from .ops.elementwise import floating, sign, sqrt, where
from .ops.linalg import matmul  # the standard has it in linalg too
from .ops.reduction import max as _max, min as _min, sum as _sum
from .shapes import normalize_axis

__all__ = ["matmul", "matrix_norm", "vector_norm"]


def norm_order(op, p):
    """``p`` of a p-norm as a float (inf for the largest entry); NaN is refused."""
    if not isinstance(p, numbers.Real) or isinstance(p, bool):
        raise TypeError(f"{op}: p must be a real number (2 for the Euclidean norm, math.inf for the largest "
                        f"entry), not {p!r}")
    if math.isnan(p):
        raise ValueError(f"{op}: p must be a number, got nan")
    return float(p)


def p_norm(op, x, p, axis, keepdims=False):
    """The p-norm of ``x`` along ``axis`` (``op`` names the caller in errors), as
    torch.linalg.vector_norm: p = 0 counts the nonzero entries, p = inf and -inf take
    the largest and smallest magnitude (ties share the gradient), any other p gives
    (sum |x|^p)^(1/p)."""
    axes = normalize_axis(op, axis, x.ndim)
    if p == 2:  # squares, not |x|^2, so the second derivative is smooth at 0
        return _root(_sum(x * x, axes, keepdims), 2)
    size = abs(x)
    if p == 1:
        return _sum(size, axes, keepdims)
    if math.isinf(p):
        if any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"{op}: the {'inf' if p > 0 else '-inf'} norm of an empty axis is undefined (it has "
                             f"no largest entry); the input has shape {x.shape}")
        return (_max if p > 0 else _min)(size, axes, keepdims)
    if p == 0:  # sign(|x|) counts the nonzeros and keeps the result in the graph, with a zero gradient
        return _sum(sign(size), axes, keepdims)
    # |x|^p with a zero gradient at x = 0, where p |x|^(p-1) is 0 * inf for p < 1; a zero
    # entry makes a negative-p sum infinite (and so the norm 0), as in PyTorch.
    nonzero = size > 0
    powered = where(nonzero, where(nonzero, size, 1) ** p, 0 if p > 0 else math.inf)
    return _root(_sum(powered, axes, keepdims), p)


def _root(total, p):
    """total^(1/p) with a zero gradient where total is 0 (as PyTorch's norm backward
    masks it), where the derivative total^(1/p - 1) / p is infinite."""
    if p < 0:  # the sum of |x|^p is never 0 there (unless nothing was summed)
        return total ** (1 / p)
    positive = total > 0
    safe = where(positive, total, 1)
    return where(positive, sqrt(safe) if p == 2 else safe ** (1 / p), 0)


def vector_norm(x, ord=2, axis=None, keepdims=False):
    """The ``ord``-norm over ``axis`` (None: every element), as the Array API's and
    torch.linalg.vector_norm: 2, 1, inf, -inf, 0 (the count of nonzeros) or any other
    real p. Integer tensors give the default float."""
    return p_norm("vector_norm", floating(x), norm_order("vector_norm", ord), axis, keepdims)


_MATRIX_ORDERS = "'fro', 1, -1, inf or -inf"


def matrix_norm(x, ord="fro", keepdims=False):
    """The ``ord``-norm of each matrix in the last two axes, as the Array API's and
    torch.linalg.matrix_norm: 'fro' (Frobenius), 1 and -1 (the largest and smallest
    column sum of |x|), inf and -inf (the same over rows). Ties of the max share its
    gradient, as in PyTorch. The spectral and nuclear norms need singular values,
    which topograd does not compute."""
    x = floating(x)
    if x.ndim < 2:
        raise ValueError(f"matrix_norm: needs matrices in the last two axes, got a tensor of shape {x.shape}")
    if isinstance(ord, str):
        if ord == "fro":
            return p_norm("matrix_norm", x, 2, (-2, -1), keepdims)
        raise ValueError(f"matrix_norm: ord={ord!r} is not supported; use {_MATRIX_ORDERS}")
    if isinstance(ord, bool) or not isinstance(ord, numbers.Real):
        raise TypeError(f"matrix_norm: ord must be {_MATRIX_ORDERS}, not {ord!r}")
    if ord not in (1, -1, math.inf, -math.inf):
        raise ValueError(f"matrix_norm: ord={ord!r} is not supported (2, -2 and 'nuc' need singular values); "
                         f"use {_MATRIX_ORDERS}")
    summed, across = (-2, -1) if abs(ord) == 1 else (-1, -2)  # 1: sums down columns; inf: along rows
    if x.shape[across] == 0:  # (sums of no rows are 0, but the largest of no sums is undefined)
        raise ValueError(f"matrix_norm: the ord={ord} norm of a matrix with no {'columns' if abs(ord) == 1 else 'rows'}"
                         f" is undefined; the input has shape {x.shape}")
    sums = _sum(abs(x), summed, keepdims=True)
    out = (_max if ord > 0 else _min)(sums, across, keepdims=True)
    return out if keepdims else out.reshape(x.shape[:-2])
