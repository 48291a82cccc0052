"""The thread count every contender runs at.

BLAS libraries read their thread count once, when they load, so the environment
variables are set before NumPy or PyTorch is imported; threadpoolctl then pins
the pools that are already loaded (needed when the suite runs inside a process
that imported NumPy earlier, as a test does).
"""
import os
import sys

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def set_before_import(threads):
    """Export the thread count for libraries that have not loaded yet."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)


def pin(threads):
    """Limit every loaded thread pool (BLAS, OpenMP, PyTorch) to ``threads``.

    Returns a list of what could not be pinned, with the reason, for the report.
    The threadpoolctl limiter is kept alive on purpose: it holds the limit for
    the rest of the process.
    """
    global _limiter
    problems = []
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        if "numpy" in sys.modules and os.environ.get("OPENBLAS_NUM_THREADS") != str(threads):
            problems.append("threadpoolctl is not installed and NumPy loaded before the thread "
                            "count was set; install it with `pip install threadpoolctl`")
    else:
        _limiter = threadpool_limits(limits=threads)
    return problems


def describe():
    """The thread pools as they are now: for the environment record."""
    pools = []
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        pass
    else:
        for info in threadpool_info():
            pools.append({"user_api": info.get("user_api"), "internal_api": info.get("internal_api"),
                          "num_threads": info.get("num_threads"), "version": info.get("version"),
                          "library": os.path.basename(info.get("filepath") or "")})
    out = {"pools": pools, "environment": {k: os.environ.get(k) for k in THREAD_VARIABLES}}
    torch = sys.modules.get("torch")
    if torch is not None:
        out["torch_num_threads"] = torch.get_num_threads()
        out["torch_num_interop_threads"] = torch.get_num_interop_threads()
    return out


_limiter = None
