"""Triangular solves in Array API calls: the backends' generic ``solve_triangular`` kernel
(the standard has none), which the NumPy backend runs too, but for a single matrix of at
most 64 rows (one LAPACK solve there: numpy_backend.solve_triangular).

A X = B for lower triangular A is solved by blocks of BLOCK rows, top down. Each block's
right-hand side first takes the blocks above it off in one GEMM (A[block, :start] X[:start]);
then the block's own triangle is solved with its inverse, which all the diagonal blocks
compute at once, a row at a time (BLOCK steps over the whole batch of blocks), followed by
one step of refinement: x += D^-1 (r - D x). An inverse alone leaves a residual up to
|D| |D^-1| |r| (random triangular blocks have condition numbers past 1e9); with the
refinement it is a substitution's, about |D| |x| times the machine epsilon (measured within
4x of LAPACK's trsm at condition numbers to 1e30: test_solve_triangular_against_torch).
Python steps: BLOCK plus a few per block, not one per row. A last short block, and a matrix
of at most BLOCK rows, is solved by plain substitution, a row at a time. Upper triangular
A is solved the same way from the bottom up (not as the lower triangular J A J, J reversing
the rows: NumPy multiplies such negatively strided views without BLAS)."""

# Rows per block: large enough that the GEMMs carry the work at n = 1024 (n / BLOCK sweep
# steps), small enough that the BLOCK steps of the inverse stay few.
BLOCK = 32


def solve_triangular(xp, matmul, a, b, upper, unitriangular):
    """X with A X = B: ``a`` (..., n, n), ``b`` (..., n, k) of the same batch shape and
    dtype; only a's lower (or ``upper``) triangle is read, and with ``unitriangular`` not
    its diagonal, taken as 1s. A new array; a zero on the diagonal gives inf and NaN."""
    n = a.shape[-1]
    x = xp.asarray(b, copy=True)
    whole = n - n % BLOCK if n > BLOCK else 0  # rows in blocks solved through their inverses
    spans = [(lo, lo + BLOCK) for lo in range(0, whole, BLOCK)] + ([(whole, n)] if whole < n else [])
    if upper:  # bottom up, the short block last
        spans = [(n - hi, n - lo) for lo, hi in spans]
    count = whole // BLOCK
    if count:
        blocks = xp.stack([triangle(xp, a[..., lo:hi, lo:hi], upper, unitriangular) for lo, hi in spans[:count]],
                          axis=-3)
        inverses = _substitute(xp, matmul, blocks, xp.broadcast_to(xp.eye(BLOCK, dtype=a.dtype), blocks.shape), upper)
    for j, (lo, hi) in enumerate(spans):
        r = x[..., lo:hi, :]
        solved = slice(hi, n) if upper else slice(0, lo)  # the rows of x found before this block's
        if (n - hi if upper else lo) > 0:
            r = r - matmul(a[..., lo:hi, solved], x[..., solved, :])
        if j < count:
            inverse = inverses[..., j, :, :]
            y = matmul(inverse, r)
            # The residual without y's inf and NaN (its rows from a zero on the diagonal on): the
            # triangle's zeros would multiply them into the rows above (0 * NaN), which a
            # substitution solves before it meets the zero, as PyTorch's keeps them.
            settled = xp.where(xp.isfinite(y), y, xp.zeros((), dtype=y.dtype))
            x[..., lo:hi, :] = y + matmul(inverse, r - matmul(blocks[..., j, :, :], settled))
        else:
            x[..., lo:hi, :] = _substitute(xp, matmul, triangle(xp, a[..., lo:hi, lo:hi], upper, unitriangular), r,
                                           upper)
    return x


def triangle(xp, block, upper, unitriangular):
    """The upper or lower triangle of ``block``, with 1s on its diagonal where ``unitriangular``."""
    if not unitriangular:
        return xp.triu(block) if upper else xp.tril(block)
    part = xp.triu(block, k=1) if upper else xp.tril(block, k=-1)
    return part + xp.eye(block.shape[-1], dtype=block.dtype)


def _substitute(xp, matmul, d, r, upper):
    """D^-1 r for triangular ``d`` (..., t, t), by substitution a row at a time: forward
    for lower triangular D, backward for ``upper``. (With r = I, the inverse.)"""
    t = d.shape[-1]
    x = xp.asarray(r, copy=True)
    for i in (range(t - 1, -1, -1) if upper else range(t)):
        solved = slice(i + 1, t) if upper else slice(0, i)
        row = r[..., i:i + 1, :] - matmul(d[..., i:i + 1, solved], x[..., solved, :])
        x[..., i:i + 1, :] = row / d[..., i:i + 1, i:i + 1]
    return x
