"""The BLAS that NumPy ships, for the one routine the optimizers need and NumPy
has no function for: axpy, ``y += alpha * x`` in one pass over memory.

NumPy's wheels carry OpenBLAS inside the package (as scipy-openblas, in
``numpy.libs`` or ``numpy/.dylibs``). Its axpy updates a 784x512 float32 weight
in 36 us where NumPy's multiply-then-add takes 65 us (1 thread, this machine).
Calling it through ctypes uses the very library, and so the very thread pool,
that NumPy's matmul uses; a second OpenBLAS (SciPy's) would bring its own pool,
and the two spin against each other.

Where NumPy was built against another BLAS (a conda MKL build, a distribution's
system OpenBLAS), ``find_axpy`` finds nothing and the backend keeps its NumPy
path. The result rounds once (a fused multiply-add), as PyTorch's ``add_(x,
alpha=...)`` does.
"""
import ctypes
import pathlib

import numpy as np

# (symbol suffix, C integer type of n and the increments): the 64-bit-integer build
# NumPy's wheels ship, then the 32-bit one.
_BUILDS = (("64_", ctypes.c_int64), ("", ctypes.c_int))
_SCALARS = {np.dtype(np.float32): ("s", ctypes.c_float), np.dtype(np.float64): ("d", ctypes.c_double)}


def _bundled_libraries():
    package = pathlib.Path(np.__file__).parent
    for folder in (package.parent / "numpy.libs", package / ".dylibs"):
        if folder.is_dir():
            yield from sorted(folder.glob("*scipy_openblas*"))


def find_axpy():
    """``{dtype: function(n, alpha, x_address, 1, y_address, 1)}`` for float32 and
    float64 from NumPy's bundled OpenBLAS, or None where there is none."""
    for path in _bundled_libraries():
        try:
            library = ctypes.CDLL(str(path))
        except OSError:
            continue
        for suffix, integer in _BUILDS:
            found = {}
            for dtype, (letter, scalar) in _SCALARS.items():
                function = getattr(library, f"scipy_cblas_{letter}axpy{suffix}", None)
                if function is None:
                    break
                function.argtypes = (integer, scalar, ctypes.c_void_p, integer, ctypes.c_void_p, integer)
                function.restype = None
                found[dtype] = function
            else:
                return found
    return None
