"""Comparisons: bool tensors, outside the graph (they have no gradient)."""
from ..tensor import Tensor
from .elementwise import operands


def _compare(name, fn):
    def compare(a, b):
        a, b = operands(name, a, b)
        return Tensor._make(fn(a._backend.xp, a.data, b.data), a._backend)
    compare.__name__ = name
    compare.__doc__ = f"Elementwise {name}, as a bool tensor."
    return compare


less = _compare("less", lambda xp, a, b: xp.less(a, b))
less_equal = _compare("less_equal", lambda xp, a, b: xp.less_equal(a, b))
greater = _compare("greater", lambda xp, a, b: xp.greater(a, b))
greater_equal = _compare("greater_equal", lambda xp, a, b: xp.greater_equal(a, b))
equal = _compare("equal", lambda xp, a, b: xp.equal(a, b))
not_equal = _compare("not_equal", lambda xp, a, b: xp.not_equal(a, b))
