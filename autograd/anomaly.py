"""detect_anomaly(): stop at the first NaN or inf an op produces, forward or backward."""
import threading

from . import function
from .user_code import user_frame


def _bad(t):
    xp = t._backend.xp
    if t.dtype.kind != "f":
        return False
    return not bool(xp.all(xp.isfinite(t.data)))


class _ThreadState(threading.local):
    # > 0 while a backward runs in this thread: its ops are checked as that backward's
    # result. Per thread, so that the ops other threads run meanwhile are still checked.
    in_backward = 0


class detect_anomaly:
    """Context manager: a NaN or inf from any op's forward or backward raises at
    once, naming the op and the line of user code that created it."""

    def __init__(self):
        self._thread = _ThreadState()

    def __enter__(self):
        function.observers.append(self)
        return self

    def __exit__(self, *exc):
        function.observers.remove(self)

    def wrap_forward(self, run):
        def checked(cls, args):
            out = run(cls, args)
            where = user_frame()
            outputs = out if isinstance(out, tuple) else (out,)
            for t in outputs:  # an op a backward records (create_graph) is traced to that backward's call
                if t.grad_fn is not None and t.grad_fn.trace is None:
                    t.grad_fn.trace = where
            if self._thread.in_backward:
                return out
            for t in outputs:
                if _bad(t):
                    raise RuntimeError(f"detect_anomaly: {cls.__name__} returned NaN or inf in its forward "
                                       f"output, called at {where}")
            return out
        return checked

    def wrap_backward(self, call):
        def checked(node, grads):
            state = self._thread
            state.in_backward += 1
            try:
                out = call(node, grads)
            finally:
                state.in_backward -= 1
            for i, g in enumerate(out):
                if g is not None and _bad(g):
                    raise RuntimeError(f"detect_anomaly: the backward of {node.name} returned NaN or inf in "
                                       f"its gradient for input {i}; the op was created at "
                                       f"{node.trace or '<before detect_anomaly was entered>'}")
            return out
        return checked
