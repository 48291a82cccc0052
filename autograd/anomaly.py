"""detect_anomaly(): stop at the first NaN or inf an op produces, forward or backward."""
from . import function
from .user_code import user_frame


def _bad(t):
    xp = t._backend.xp
    if t.dtype.kind != "f":
        return False
    return not bool(xp.all(xp.isfinite(t.data)))


class detect_anomaly:
    """Context manager: a NaN or inf from any op's forward or backward raises at
    once, naming the op and the line of user code that created it."""

    _in_backward = 0  # > 0 while a backward runs: its ops are checked as that backward's result

    def __enter__(self):
        function.observers.append(self)
        return self

    def __exit__(self, *exc):
        function.observers.remove(self)

    def wrap_forward(self, run):
        def checked(cls, args):
            out = run(cls, args)
            if self._in_backward:
                return out
            where = user_frame()
            for t in out if isinstance(out, tuple) else (out,):
                if t.grad_fn is not None and t.grad_fn.trace is None:
                    t.grad_fn.trace = where
                if _bad(t):
                    raise RuntimeError(f"detect_anomaly: {cls.__name__} returned NaN or inf in its forward "
                                       f"output, called at {where}")
            return out
        return checked

    def wrap_backward(self, call):
        def checked(node, grads):
            self._in_backward += 1
            try:
                out = call(node, grads)
            finally:
                self._in_backward -= 1
            for i, g in enumerate(out):
                if g is not None and _bad(g):
                    raise RuntimeError(f"detect_anomaly: the backward of {node.name} returned NaN or inf in "
                                       f"its gradient for input {i}; the op was created at "
                                       f"{node.trace or '<before detect_anomaly was entered>'}")
            return out
        return checked
