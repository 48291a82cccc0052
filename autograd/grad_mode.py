"""Whether ops record the graph: thread-local, usable as context or decorator."""
import functools
import inspect
import threading


class _State(threading.local):
    """Per thread: whether ops record, the stack of nn.Modules being called (weak
    references: see function.current_scope), whether the backward pass running
    keeps what the nodes saved (retain_graph), the backward passes running (see
    engine.running_pass), and the saved-tensor hooks (see graph.py)."""
    enabled = True
    scope = None
    retain_graph = True  # (outside a pass nothing may be freed)
    passes = ()  # the backward passes running, innermost last
    saved_hooks = ()  # the active (pack_hook, unpack_hook) pairs, innermost last
    saved_hooks_disabled = None  # the error message of disable_saved_tensors_hooks, while active


state = _State()


def is_grad_enabled():
    return state.enabled


def retains_graph():
    """Whether the backward pass running on this thread keeps the nodes' saved tensors
    for another pass (retain_graph=True). A backward that frees what it saved as it
    goes (Function.release_saved) asks this first."""
    return state.retain_graph


class _NeedsCalling(type):
    """``with ag.no_grad:`` (the class, not an instance) fails with Python's "does not
    support the context manager protocol", which hides the missing parentheses."""

    def __enter__(cls):
        raise TypeError(f"with ag.{cls.__name__}: enters the class, not a grad mode; call it: "
                        f"with ag.{cls.__name__}{cls.called_as}:")

    def __exit__(cls, *exc):  # never reached: __enter__ refuses
        return False


class _Switch(metaclass=_NeedsCalling):
    """A grad mode as a context manager and as a decorator of functions and generators."""
    mode = True
    called_as = "()"  # for _NeedsCalling's message

    def __enter__(self):
        self.previous = state.enabled
        state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        state.enabled = self.previous

    def __call__(self, fn):
        mode = self.mode
        if inspect.isgeneratorfunction(fn):
            return _generator_in_mode(fn, mode)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper


def _generator_in_mode(fn, mode):
    """Wrap a generator function so that its body runs in ``mode`` each time it resumes
    (and the caller's code between two values in the caller's mode), as PyTorch's does:
    a plain wrapper would leave the mode before the body even starts."""
    @functools.wraps(fn)
    def generator(*args, **kwargs):
        gen = fn(*args, **kwargs)
        try:
            with set_grad_enabled(mode):
                value = next(gen)
            while True:
                try:
                    sent = yield value
                except GeneratorExit:
                    with set_grad_enabled(mode):
                        gen.close()
                    raise
                except BaseException as error:  # thrown in by the caller: into the body
                    with set_grad_enabled(mode):
                        value = gen.throw(error)
                else:
                    with set_grad_enabled(mode):
                        value = gen.send(sent)
        except StopIteration as stop:
            return stop.value
    return generator


class set_grad_enabled(_Switch):
    """Turn recording on or off at once (``ag.set_grad_enabled(False)``, as PyTorch's);
    as a context manager it restores the mode on exit, and as a decorator it changes
    nothing until the function is called."""
    called_as = "(False)"

    def __init__(self, mode):
        self.mode = bool(mode)
        self.previous = state.enabled
        state.enabled = self.mode

    def __enter__(self):
        return self

    def __call__(self, fn):
        state.enabled = self.previous  # a decorator: the mode applies inside fn only
        return super().__call__(fn)


class _FixedSwitch(_Switch):
    """no_grad and enable_grad: they change nothing until entered, and decorate with or
    without parentheses (``@ag.no_grad()`` or ``@ag.no_grad``)."""

    def __new__(cls, fn=None):
        switch = super().__new__(cls)
        return switch if fn is None else switch(fn)

    def __init__(self, fn=None):
        pass


class no_grad(_FixedSwitch):
    """Run ops without recording a graph: ``with ag.no_grad():``, or as a decorator."""
    mode = False


class enable_grad(_FixedSwitch):
    """Record the graph again inside a no_grad block."""
    mode = True


class inference_mode(_FixedSwitch):
    """PyTorch's name for running a model without a graph: as no_grad while on (the
    default), and ``inference_mode(False)`` records again, as in PyTorch. topograd has
    no separate inference tensors: what is made here may enter a graph later, where
    PyTorch refuses it."""
    mode = False

    def __new__(cls, mode=True):
        if callable(mode):  # @ag.inference_mode, without parentheses
            return super().__new__(cls, mode)
        switch = super().__new__(cls)
        switch.mode = not mode
        return switch

    def __init__(self, mode=True):
        pass
