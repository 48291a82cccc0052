"""NumPy's floating-point warnings (overflow, division by zero, invalid value) off,
cheaply. ``np.errstate`` builds NumPy's error state anew on each entry, about 1 us, a
sixth of a small sum's whole op (ag.sum of 3 floats takes 6 us); here the quiet state
is built once per outer state and set with NumPy 2's own context variable (0.2 us a
call), where NumPy has it, else through ``np.errstate``. Thread and asyncio safe, as
``np.errstate`` is (a context variable). CuPy never warns, and needs none of this."""
import numpy as np

try:  # NumPy 2's error state: a context variable holding an opaque object (private names)
    from numpy._core._multiarray_umath import _make_extobj
    from numpy._core._ufunc_config import _extobj_contextvar
except ImportError:  # (another NumPy: np.errstate, at its price)
    _extobj_contextvar = None

_last = (None, None)  # the outer state last seen, and the same state with every warning off


def _quiet_state(outer):
    """``outer`` (an error state) with every floating-point warning off, the rest (the
    buffer size, an error callback) kept."""
    global _last
    last = _last  # (one read of a pair: another thread may replace it meanwhile)
    if last[0] is outer:
        return last[1]
    token = _extobj_contextvar.set(outer)  # _make_extobj builds on the current state
    try:
        quiet = _make_extobj(all="ignore")
    finally:
        _extobj_contextvar.reset(token)
    _last = outer, quiet
    return quiet


if _extobj_contextvar is not None:
    _current, _set, restore = _extobj_contextvar.get, _extobj_contextvar.set, _extobj_contextvar.reset

    def silence():
        """Turn NumPy's floating-point warnings off until ``restore(token)`` with the token
        returned; ``try: ... finally: restore(token)``, for paths too hot for a
        with-statement."""
        outer, last = _current(), _last
        return _set(last[1] if last[0] is outer else _quiet_state(outer))
else:
    def silence():
        state = np.errstate(all="ignore")
        state.__enter__()
        return state

    def restore(token):
        token.__exit__(None, None, None)


class _Quiet:
    __slots__ = ("token",)

    def __enter__(self):
        self.token = silence()

    def __exit__(self, *exc_info):
        restore(self.token)


def floating_point_warnings_off():
    """A context without NumPy's floating-point warnings, for kernels whose infinities
    and NaNs on the way are expected."""
    return _Quiet()
