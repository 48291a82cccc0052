"""The BLAS that NumPy ships, for two routines NumPy has no function for: axpy,
``y += alpha * x`` in one pass over memory (the optimizers), and omatcopy, a
transposing copy that keeps to the cache (a recurrent weight made row-major).

NumPy's wheels for 64-bit platforms carry OpenBLAS inside the package (as
scipy-openblas with 64-bit integers, in ``numpy.libs`` or ``numpy/.dylibs``).
Its axpy updates a 784x512 float32 weight in 36 us where NumPy's multiply then
add takes 65 us (1 thread; ``python -m benchmarks.page_faults mlp`` shows the
training step it speeds up). Calling it through ctypes uses the very library,
and so the very thread pool, that NumPy's matmul uses; a second OpenBLAS
(SciPy's) would bring its own pool, and the two spin against each other.

Where NumPy was built against another BLAS (a conda MKL build, a distribution's
system OpenBLAS, a 32-bit-integer build), ``find_axpy`` finds nothing and the
backend keeps its NumPy path. Where the CPU has fused multiply-add, OpenBLAS's
kernel rounds once, as PyTorch's ``add_(x, alpha=...)`` does; elsewhere it rounds
twice, as NumPy does. It ignores ``numpy.errstate``.
"""
import ctypes
import pathlib

import numpy as np

_SCALARS = {np.dtype(np.float32): ("s", ctypes.c_float), np.dtype(np.float64): ("d", ctypes.c_double)}


def _numpy_uses_bundled_openblas():
    """NumPy's build record names scipy-openblas with 64-bit integers, the library
    whose symbols (suffix ``64_``, 64-bit sizes) find_axpy binds."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except (KeyError, TypeError, ValueError):
        return False
    return blas.get("name") == "scipy-openblas" and "USE64BITINT" in blas.get("openblas configuration", "")


def _bundled_libraries():
    package = pathlib.Path(np.__file__).parent
    for folder in (package.parent / "numpy.libs", package / ".dylibs"):
        if folder.is_dir():
            yield from sorted(folder.glob("*scipy_openblas64*"))


def find_axpy():
    """``{dtype: function(n, alpha, x_address, 1, y_address, 1)}`` for float32 and
    float64 from NumPy's bundled OpenBLAS, or None where there is none."""
    return _find("axpy64_", lambda scalar: (ctypes.c_int64, scalar, ctypes.c_void_p, ctypes.c_int64,
                                            ctypes.c_void_p, ctypes.c_int64))


# cblas's constants for a row-major layout and a transpose
ROW_MAJOR, TRANSPOSE = 101, 112


def find_omatcopy():
    """``{dtype: function(ROW_MAJOR, TRANSPOSE, rows, cols, alpha, a_address, lda,
    b_address, ldb)}``, OpenBLAS's out-of-place transposing copy (B = alpha A^T), for
    float32 and float64, or None where there is none. It copies in cache-sized tiles,
    where NumPy's transposing copy walks one side with a power-of-two stride that
    misses the cache: a 2048x512 float32 matrix in 0.7 against 7.3 ms."""
    return _find("omatcopy64_", lambda scalar: (ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64,
                                                scalar, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p,
                                                ctypes.c_int64))


def _find(routine, argtypes):
    """``{dtype: scipy_cblas_<letter><routine>}`` for float32 and float64, bound with
    ``argtypes(scalar type)``, or None where NumPy's bundled OpenBLAS lacks it."""
    if not _numpy_uses_bundled_openblas():
        return None
    for path in _bundled_libraries():
        try:
            library = ctypes.CDLL(str(path))
        except OSError:
            continue
        found = {}
        for dtype, (letter, scalar) in _SCALARS.items():
            function = getattr(library, f"scipy_cblas_{letter}{routine}", None)
            if function is None:
                break
            function.argtypes = argtypes(scalar)
            function.restype = None
            found[dtype] = function
        else:
            return found
    return None
