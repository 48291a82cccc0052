"""detect_anomaly() and set_detect_anomaly(): stop at the first NaN or inf an op produces, forward or backward."""
import math
import threading

from . import function
from .tensor import Tensor
from .user_code import user_frame


def _has_nan(t):
    return t.dtype.kind == "f" and bool(t._backend.xp.any(t._backend.xp.isnan(t.data)))


def _not_finite(t):
    return t.dtype.kind == "f" and not bool(t._backend.xp.all(t._backend.xp.isfinite(t.data)))


def _produced(outputs, args):
    """The kind of value ("NaN", "inf") the op's outputs hold and its arguments did not, or
    None. An infinity passed on is no anomaly (an attention mask of -inf added to the
    scores, masked_fill's -inf), nor is a NaN; an op that makes one is (log(0), a softmax
    over a row that is all -inf)."""
    if not any(_not_finite(t) for t in outputs):
        return None
    given = [a for arg in args for a in (arg if isinstance(arg, (tuple, list)) else (arg,))]
    nan_given = any(_has_nan(a) if isinstance(a, Tensor) else isinstance(a, float) and math.isnan(a) for a in given)
    if not nan_given and any(_has_nan(t) for t in outputs):
        return "NaN"
    if any(_not_finite(a) if isinstance(a, Tensor) else isinstance(a, float) and not math.isfinite(a)
           for a in given):
        return None
    return "inf"


class _ThreadState(threading.local):
    # > 0 while a backward runs in this thread: its ops are checked as that backward's
    # result. Per thread, so that the ops other threads run meanwhile are still checked.
    in_backward = 0


_state = _ThreadState()  # one for every detect_anomaly: an inner one may begin inside an outer's backward


class _Mode:
    """The anomaly mode: one setting for the whole process, as PyTorch's. ``observer`` is in
    function.observers exactly while the mode is on."""
    enabled = False
    check_nan = True
    observer = None


def _switch(enabled, check_nan):
    """Set the mode; return the (enabled, check_nan) it replaced, for a block to restore."""
    replaced = (_Mode.enabled, _Mode.check_nan)
    _Mode.check_nan = bool(check_nan)
    if enabled and not _Mode.enabled:
        function.observers.append(_Mode.observer)
    elif not enabled and _Mode.enabled:
        function.observers.remove(_Mode.observer)
    _Mode.enabled = bool(enabled)
    return replaced


def is_anomaly_enabled():
    """Whether detect_anomaly or set_detect_anomaly(True) has the checks on (PyTorch's name)."""
    return _Mode.enabled


def is_anomaly_check_nan_enabled():
    """Whether the mode, when on, checks for NaN and inf (off with check_nan=False)."""
    return _Mode.check_nan


class detect_anomaly:
    """Context manager: a NaN or inf that an op's forward produces (one its arguments did not
    hold: see _produced; an op built of others, as logsumexp over a row of -inf is, can make
    one inside), or a NaN or inf gradient from any op's backward, raises at once,
    naming the op and the line of user code that created it. ``check_nan=False``
    (PyTorch's argument) turns the checks off. As PyTorch's, it sets the one mode of the
    process on entry and gives back the mode it found on exit, so an inner
    detect_anomaly(check_nan=False) turns the checks off until it exits."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan
        self._replaced = []  # per entry still open: this object may be entered again, nested

    def __enter__(self):
        self._replaced.append(_switch(True, self.check_nan))
        return self

    def __exit__(self, *exc):
        _switch(*self._replaced.pop())


class set_detect_anomaly:
    """PyTorch's switch of the anomaly mode: ``set_detect_anomaly(True)`` turns
    detect_anomaly's checks on at once, for the rest of the program (a debugging line at the
    top of a script), and ``set_detect_anomaly(False)`` off, inside a detect_anomaly block
    too. Used as a context manager, it gives back on exit the mode it replaced."""

    def __init__(self, mode, check_nan=True):
        if not isinstance(mode, bool):
            raise TypeError(f"set_detect_anomaly: mode must be True or False, not {type(mode).__name__}")
        self._replaced = _switch(mode, check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _switch(*self._replaced)


class _Observer:
    """What the mode does while on: wraps each op's forward and backward with the checks."""

    def wrap_forward(self, run):
        check_nan = _Mode.check_nan

        def checked(cls, args):
            out = run(cls, args)
            where = user_frame()
            # (a custom Function's forward may return numbers, strings or None beside its tensors)
            outputs = tuple(t for t in (out if isinstance(out, tuple) else (out,)) if isinstance(t, Tensor))
            for t in outputs:  # an op a backward records (create_graph) is traced to that backward's call
                if t.grad_fn is not None and t.grad_fn.trace is None:
                    t.grad_fn.trace = where
            if _state.in_backward or not check_nan:
                return out
            produced = _produced(outputs, args)
            if produced is not None:
                raise RuntimeError(f"detect_anomaly: {cls.__name__} returned {produced} in its forward output "
                                   f"(its inputs held no {produced}), called at {where}")
            return out
        return checked

    def wrap_backward(self, call):
        check_nan = _Mode.check_nan

        def checked(node, grads):
            _state.in_backward += 1
            try:
                out = call(node, grads)
            finally:
                _state.in_backward -= 1
            if not check_nan:
                return out
            for i, g in enumerate(out):
                if g is not None and _not_finite(g):
                    raise RuntimeError(f"detect_anomaly: the backward of {node.name} returned NaN or inf in "
                                       f"its gradient for input {i}; the op was created at "
                                       f"{node.trace or '<before detect_anomaly was entered>'}")
            return out
        return checked


_Mode.observer = _Observer()
