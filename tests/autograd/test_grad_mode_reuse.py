"""One grad-mode object entered more than once: nested, again after leaving, from several
threads at a time, and as a decorator of a function that recurses. Each `with` block
restores the mode that was in force when it was entered, whatever the same object does
elsewhere meanwhile (PyTorch's objects keep one saved mode each, so reusing one nested
restores the wrong mode there; topograd's keep one per thread and nesting level)."""
import threading

import pytest

import autograd as ag


@pytest.fixture(autouse=True)
def _recording_on():
    assert ag.is_grad_enabled()
    yield
    left_on = ag.is_grad_enabled()
    ag.set_grad_enabled(True)  # (a failure here must not leave recording off for later tests)
    assert left_on, "the test left recording off"


SWITCHES = {
    "no_grad": (ag.no_grad, False),
    "enable_grad": (ag.enable_grad, True),
    "inference_mode": (ag.inference_mode, False),
    "inference_mode(False)": (lambda: ag.inference_mode(False), True),
}


@pytest.mark.parametrize("name", SWITCHES)
@pytest.mark.parametrize("outside", [True, False])
def test_one_switch_nested_in_itself_restores_each_level(name, outside):
    make, mode = SWITCHES[name]
    switch = make()
    with ag.set_grad_enabled(outside):
        with switch:
            with switch:
                assert ag.is_grad_enabled() is mode
            assert ag.is_grad_enabled() is mode  # the outer block is still open
        assert ag.is_grad_enabled() is outside


def test_one_switch_nested_under_another_mode_restores_that_mode():
    switch = ag.no_grad()
    with switch:
        with ag.enable_grad():
            with switch:
                assert not ag.is_grad_enabled()
            assert ag.is_grad_enabled()
        assert not ag.is_grad_enabled()


def test_set_grad_enabled_entered_again_sets_its_mode_each_time_as_torch(torch):
    seen = {}
    for lib in (ag, torch):
        switch = lib.set_grad_enabled(False)  # sets it at once, as a call
        with switch:
            first = lib.is_grad_enabled()
        after_first = lib.is_grad_enabled()
        with switch:  # entered again: off again inside, back on after
            second = lib.is_grad_enabled()
        seen[lib.__name__] = (first, after_first, second, lib.is_grad_enabled())
    assert seen["autograd"] == seen["torch"] == (False, True, False, True)


def test_set_grad_enabled_nested_in_itself_restores_each_level():
    switch = ag.set_grad_enabled(False)
    with switch:
        with switch:
            assert not ag.is_grad_enabled()
        assert not ag.is_grad_enabled()  # PyTorch's turns recording back on here
    assert ag.is_grad_enabled()


def test_one_switch_entered_by_two_threads_at_once_restores_each_threads_mode():
    # Thread a enters with recording on, then b (recording off) enters the same object;
    # a leaves first and must get its own mode back, not b's.
    switch = ag.enable_grad()
    a_entered, b_entered, a_left = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        ag.set_grad_enabled(False)
        with switch:
            a_entered.set()
            b_entered.wait(5)
        seen["a"] = ag.is_grad_enabled()
        a_left.set()

    def b():
        a_entered.wait(5)
        with switch:
            b_entered.set()
            a_left.wait(5)
            seen["b inside"] = ag.is_grad_enabled()
        seen["b"] = ag.is_grad_enabled()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"a": False, "b inside": True, "b": True}


DECORATORS = {  # made when the test runs: set_grad_enabled(False) turns recording off at once
    "bare": lambda fn: ag.no_grad(fn),
    "called": lambda fn: ag.no_grad()(fn),
    "set_grad_enabled": lambda fn: ag.set_grad_enabled(False)(fn),
    "inference_mode": lambda fn: ag.inference_mode()(fn),
}


@pytest.mark.parametrize("name", DECORATORS)
def test_a_decorated_function_recursing_and_called_from_threads_keeps_the_callers_modes(name):
    @DECORATORS[name]
    def depth(n):
        inner = ag.is_grad_enabled()
        with ag.enable_grad():  # a mode of its own between the levels
            below = depth(n - 1) if n else []
            between = ag.is_grad_enabled()  # the level below gave it back
        return [inner, between] + below
    assert ag.is_grad_enabled()  # decorating changed nothing
    results = []
    threads = [threading.Thread(target=lambda: results.append((depth(3), ag.is_grad_enabled())))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == [([False, True] * 4, True)] * 4
    assert depth(2) == [False, True] * 3


def test_a_generator_that_leaves_its_block_inside_another_block_takes_only_its_own_mode_out():
    # The generator's `with` is left after the caller entered enable_grad, so the blocks
    # do not nest; leaving the generator's must not leave recording off once both are done.
    def produce():
        with ag.no_grad():
            yield ag.is_grad_enabled()
            yield ag.is_grad_enabled()
    values = produce()
    assert next(values) is False
    with ag.enable_grad():
        assert list(values) == [True]  # resumed in the caller's mode; its block ends here
        assert ag.is_grad_enabled()
    assert ag.is_grad_enabled()


def test_a_generator_whose_block_opened_in_one_thread_ends_in_another_leaves_that_ones_mode():
    def produce():
        with ag.no_grad():
            yield ag.is_grad_enabled()
            yield ag.is_grad_enabled()
    values = produce()
    started = []
    worker = threading.Thread(target=lambda: started.append(next(values)))
    worker.start()
    worker.join(10)
    assert started == [False]
    assert list(values) == [True]  # resumed here, in this thread's mode, which it leaves as it was
    assert ag.is_grad_enabled()


def test_an_exception_inside_nested_blocks_of_one_switch_restores_each_level():
    switch = ag.no_grad()
    with pytest.raises(KeyError):
        with switch:
            try:
                with switch:
                    raise KeyError("inner")
            finally:
                assert not ag.is_grad_enabled()
