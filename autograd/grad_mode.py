"""Whether ops record the graph: thread-local, usable as context or decorator."""
import functools
import threading


class _State(threading.local):
    enabled = True


state = _State()


def is_grad_enabled():
    return state.enabled


class set_grad_enabled:
    """Context manager and decorator that turns recording on or off."""

    def __init__(self, mode):
        self.mode = bool(mode)

    def __enter__(self):
        self.previous = state.enabled
        state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        state.enabled = self.previous

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper


class no_grad(set_grad_enabled):
    """Run ops without recording a graph: ``with ag.no_grad():`` or ``@ag.no_grad()``."""

    def __init__(self):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    def __init__(self):
        super().__init__(True)
