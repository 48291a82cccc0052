"""detect_anomaly(): stop at the first NaN or inf an op produces, forward or backward."""
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


def _innermost(mode):
    """Whether ``mode`` is the detect_anomaly entered last: only that one checks, as PyTorch's
    mode is one setting, so an inner detect_anomaly(check_nan=False) turns the checks off."""
    for observer in reversed(function.observers):
        if isinstance(observer, detect_anomaly):
            return observer is mode
    return False


class detect_anomaly:
    """Context manager: a NaN or inf that an op's forward produces (one its arguments did not
    hold: see _produced; an op built of others, as logsumexp over a row of -inf is, can make
    one inside), or a NaN or inf gradient from any op's backward, raises at once,
    naming the op and the line of user code that created it. ``check_nan=False``
    (PyTorch's argument) turns the checks off."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        function.observers.append(self)
        return self

    def __exit__(self, *exc):
        function.observers.remove(self)

    def wrap_forward(self, run):
        if not _innermost(self):
            return run

        def checked(cls, args):
            out = run(cls, args)
            where = user_frame()
            outputs = out if isinstance(out, tuple) else (out,)
            for t in outputs:  # an op a backward records (create_graph) is traced to that backward's call
                if t.grad_fn is not None and t.grad_fn.trace is None:
                    t.grad_fn.trace = where
            if _state.in_backward or not self.check_nan:
                return out
            produced = _produced(outputs, args)
            if produced is not None:
                raise RuntimeError(f"detect_anomaly: {cls.__name__} returned {produced} in its forward output "
                                   f"(its inputs held no {produced}), called at {where}")
            return out
        return checked

    def wrap_backward(self, call):
        if not _innermost(self):
            return call

        def checked(node, grads):
            _state.in_backward += 1
            try:
                out = call(node, grads)
            finally:
                _state.in_backward -= 1
            if not self.check_nan:
                return out
            for i, g in enumerate(out):
                if g is not None and _not_finite(g):
                    raise RuntimeError(f"detect_anomaly: the backward of {node.name} returned NaN or inf in "
                                       f"its gradient for input {i}; the op was created at "
                                       f"{node.trace or '<before detect_anomaly was entered>'}")
            return out
        return checked
