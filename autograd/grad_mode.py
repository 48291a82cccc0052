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

    def __init__(self):  # (run once in each thread, at its first use)
        # The grad-mode blocks open in this thread, innermost last, each as (switch, the
        # mode it replaced): one switch may be open at several levels and in several
        # threads at once, and each block restores its own mode (see _Switch).
        self.open_blocks = []


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
    """A grad mode as a context manager and as a decorator of functions and generators.
    One object may be entered again while open (nested, recursing, from several threads):
    the modes to restore are kept per thread and per level (state.open_blocks), not on
    the object, which PyTorch's keep, so that reusing one nested restores the wrong mode."""
    mode = True
    called_as = "()"  # for _NeedsCalling's message

    def __enter__(self):
        s = state
        s.open_blocks.append((self, s.enabled))
        s.enabled = self.mode
        return self

    def __exit__(self, exc_type, exc, traceback):
        s = state
        blocks = s.open_blocks
        if blocks and blocks[-1][0] is self:  # blocks nest: the usual case
            s.enabled = blocks.pop()[1]
        else:
            self._leave_out_of_order(blocks)

    def _leave_out_of_order(self, blocks):
        """Leave a block that is not the innermost open in this thread: a generator's,
        closed after its caller opened a block of its own. Its mode is taken out from under
        the blocks opened since: the mode in force stays theirs, and the next of them out
        restores the mode this block replaced, as if this one had never been entered."""
        for i in range(len(blocks) - 2, -1, -1):
            if blocks[i][0] is self:
                replaced = blocks.pop(i)[1]
                blocks[i] = (blocks[i][0], replaced)
                return
        self._leave_unentered()

    def _leave_unentered(self):
        """Not open in this thread: entered in another (a generator resumed here), which
        keeps the mode to restore; this thread's mode was not changed by it."""

    def __call__(self, fn):
        # One object serves every call, recursive or from other threads (see __enter__).
        if inspect.isgeneratorfunction(fn):
            return _generator_in_mode(fn, self)
        switch = self

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with switch:
                return fn(*args, **kwargs)
        return wrapper


def _generator_in_mode(fn, switch):
    """Wrap a generator function so that its body runs in ``switch``'s mode each time it
    resumes (and the caller's code between two values in the caller's mode), as PyTorch's
    does: a plain wrapper would leave the mode before the body even starts."""
    @functools.wraps(fn)
    def generator(*args, **kwargs):
        gen = fn(*args, **kwargs)
        try:
            with switch:
                value = next(gen)
            while True:
                try:
                    sent = yield value
                except GeneratorExit:
                    with switch:
                        gen.close()
                    raise
                except BaseException as error:  # thrown in by the caller: into the body
                    with switch:
                        value = gen.throw(error)
                else:
                    with switch:
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
        if mode is None or isinstance(mode, (str, bytes)):
            # A string is true whatever it says ("False" too), and None is no mode: both would
            # switch recording by accident (PyTorch refuses all but bools; numbers are taken here).
            raise TypeError(f"set_grad_enabled: mode must be True or False, not {type(mode).__name__}; pass a bool")
        s = state
        self.mode = bool(mode)
        # The mode this call replaced, and the thread it replaced it in (that thread's
        # open_blocks, for a cheap test): the first block entered there restores it, as
        # `with ag.set_grad_enabled(False):` has changed the mode before it enters.
        self._replaced = s.enabled
        self._replaced_in = s.open_blocks
        s.enabled = self.mode

    def __enter__(self):
        # As PyTorch's: each entry sets the mode again (this one may be entered many times).
        s = state
        blocks = s.open_blocks
        if self._replaced_in is blocks:
            self._replaced_in = None  # (once)
            blocks.append((self, self._replaced))
        else:
            blocks.append((self, s.enabled))
        s.enabled = self.mode
        return self

    def _restore_replaced(self):
        """Give this thread back the mode the call replaced, if it is still to be restored."""
        if self._replaced_in is state.open_blocks:
            self._replaced_in = None
            state.enabled = self._replaced

    def _leave_unentered(self):
        self._restore_replaced()  # (__exit__ called by hand after the call: PyTorch's restores)

    def __call__(self, fn):
        self._restore_replaced()  # a decorator: the mode applies inside fn only
        return super().__call__(fn)


class _FixedSwitch(_Switch):
    """no_grad and enable_grad: they change nothing until entered, and decorate with or
    without parentheses (``@ag.no_grad()`` or ``@ag.no_grad``)."""

    def __new__(cls, fn=None):  # (no __init__: a switch is made on hot paths)
        switch = object.__new__(cls)
        return switch if fn is None else switch(fn)


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
        switch = object.__new__(cls)
        switch.mode = not mode
        return switch
