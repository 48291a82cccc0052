"""The ops NumPy lacks (erf and erfc, the special and gamma functions) compute without
NumPy's floating-point warnings, as SciPy's and PyTorch's do: their kernels and backward
formulas pass through infinities on purpose (x * x overflows on its way to exp(-x * x) = 0,
an argument past float16's range on its way back from float64), and a warning there would
report an intermediate, not the result. The ops NumPy has warn as NumPy's do."""
import functools

from backends import floating_point_warnings_off


def without_floating_point_warnings(function_class):
    """``function_class`` (a Function) with its own forward and backward run without
    floating-point warnings; a decorator."""
    for name in ("forward", "backward"):
        method = vars(function_class)[name].__func__  # (a staticmethod, see Function)

        @functools.wraps(method)
        def quiet(*args, _method=method):
            with floating_point_warnings_off():
                return _method(*args)
        setattr(function_class, name, staticmethod(quiet))
    return function_class
