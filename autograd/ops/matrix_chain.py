"""``multi_dot``: the product of a chain of matrices in the order that costs the fewest
multiplications, as torch.linalg.multi_dot and numpy.linalg.multi_dot. A composition of
matmuls, so its gradient (to any order) is theirs."""
from ..tensor import Tensor
from .linalg import matmul
from .shape import reshape


def chain_order(sizes):
    """The cheapest parenthesization of the product of matrices i (sizes[i] x sizes[i + 1]),
    by dynamic programming over the sub-chains (Cormen et al., 15.2): ``split[i][j]`` is the k
    where the product of i..j splits into (i..k)(k+1..j). Ties take the first k, as NumPy's
    and PyTorch's, so the rounding is theirs too."""
    n = len(sizes) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + sizes[i] * sizes[k + 1] * sizes[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def _product(tensors, split, i, j):
    if i == j:
        return tensors[i]
    k = split[i][j]
    return matmul(_product(tensors, split, i, k), _product(tensors, split, k + 1, j))


def multi_dot(tensors):
    """The product tensors[0] @ tensors[1] @ ... of two or more matrices, multiplied in the
    order that needs the fewest scalar multiplications. The first may be a 1-D row vector and
    the last a 1-D column vector (that axis is dropped from the result, as in matmul); the
    others must be 2-D (no batch axes, as in PyTorch and NumPy). Mixed dtypes promote as in
    matmul (NumPy's rule; PyTorch refuses them)."""
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"multi_dot: expects a list or tuple of tensors, not {type(tensors).__name__}")
    if len(tensors) < 2:
        raise ValueError(f"multi_dot: expects at least 2 tensors, got {len(tensors)}")
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    last = len(tensors) - 1
    for i, t in enumerate(tensors):
        if i in (0, last) and t.ndim not in (1, 2):
            raise ValueError(f"multi_dot: the {'first' if i == 0 else 'last'} tensor must be 1-D or 2-D, got shape "
                             f"{t.shape}")
        if 0 < i < last and t.ndim != 2:
            raise ValueError(f"multi_dot: tensor {i} must be 2-D (only the first and the last may be vectors), got "
                             f"shape {t.shape}")
    first_vector, last_vector = tensors[0].ndim == 1, tensors[last].ndim == 1
    if first_vector:  # (a row vector, 1 x n)
        tensors[0] = reshape(tensors[0], (1,) + tensors[0].shape)
    if last_vector:  # (a column vector, n x 1)
        tensors[last] = reshape(tensors[last], tensors[last].shape + (1,))
    for i in range(last):
        a, b = tensors[i], tensors[i + 1]
        if a.shape[1] != b.shape[0]:
            raise ValueError(f"multi_dot: tensors {i} and {i + 1} of shapes {a.shape} and {b.shape} cannot be "
                             f"multiplied ({a.shape[1]} columns against {b.shape[0]} rows)")
    sizes = [t.shape[0] for t in tensors] + [tensors[last].shape[1]]
    out = _product(tensors, chain_order(sizes), 0, last)
    if first_vector or last_vector:
        out = reshape(out, out.shape[1 if first_vector else 0:1 if last_vector else 2])
    return out
