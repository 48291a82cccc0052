"""backward(create_graph=True) leaves each .grad it fills holding a graph back to its own
tensor, a reference cycle; PyTorch 2.13 warns once per process, and topograd warns (in its
own words) on the same calls: every backward with create_graph=True whose arguments pass
their checks, backward(inputs=...) included, never ag.grad. PyTorch's warning, once given,
is not given again in its process, so each of its cases runs in a fresh forked process."""
import json
import os
import subprocess
import sys
import warnings

import pytest

import autograd as ag
from autograd import engine

OURS = "reference cycle"


def _twice(lib, grad, backward):
    x = lib.ones(2, requires_grad=True)
    (x * x).sum().backward(create_graph=True)
    (x * x).sum().backward(create_graph=True)


def _grad(lib, grad, backward):
    x = lib.ones(2, requires_grad=True)
    grad((x * x).sum(), x, create_graph=True)


def _inputs_a_non_leaf(lib, grad, backward):
    x = lib.ones(2, requires_grad=True)
    h = x * x
    (h * h).sum().backward(inputs=[h], create_graph=True)


def _the_function_form(lib, grad, backward):
    x = lib.ones(2, requires_grad=True)
    backward([(x * x).sum()], create_graph=True)


def _retain_graph_false(lib, grad, backward):
    x = lib.ones(2, requires_grad=True)
    (x * x).sum().backward(create_graph=True, retain_graph=False)


def _create_graph_false(lib, grad, backward):
    x = lib.ones(2, requires_grad=True)
    (x * x).sum().backward(create_graph=False)


def _a_leaf_as_the_root(lib, grad, backward):
    x = lib.ones(2, requires_grad=True)
    x.backward(lib.ones(2), create_graph=True)


def _a_refused_call_then_a_good_one(lib, grad, backward):
    x = lib.ones(2, requires_grad=True)
    try:
        (x * x).backward(lib.ones(3), create_graph=True)  # the wrong shape: refused, no warning
    except (RuntimeError, ValueError):
        pass
    else:
        raise AssertionError("a gradient of the wrong shape was taken")
    with lib.no_grad():
        y = (x * x).sum()
    try:
        y.backward(create_graph=True)  # nothing to differentiate: refused, no warning
    except RuntimeError:
        pass
    else:
        raise AssertionError("an output that needs no grad was differentiated")
    (x * x).sum().backward(create_graph=True)  # the warning is still to come


CASES = {  # case: how many warnings PyTorch 2.13 gives in a fresh process
    "backward twice": (_twice, 1),
    "ag.grad": (_grad, 0),
    "backward(inputs=[a non-leaf])": (_inputs_a_non_leaf, 1),
    "the function form": (_the_function_form, 1),
    "retain_graph=False": (_retain_graph_false, 1),
    "create_graph=False": (_create_graph_false, 0),
    "a leaf as the root": (_a_leaf_as_the_root, 1),
    "a refused call, then a good one": (_a_refused_call_then_a_good_one, 1),
}


def _warnings_given(lib, grad, backward, case, message):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        CASES[case][0](lib, grad, backward)
    return [w for w in caught if message in str(w.message)]


def _torch_counts():
    """Run in a subprocess: each case in a child forked before PyTorch warned at all."""
    import torch
    counts = {}
    for case in CASES:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: one case, its count to the parent
            os.close(read)
            try:
                n = len(_warnings_given(torch, torch.autograd.grad, torch.autograd.backward, case,
                                        "create_graph=True will create a reference cycle"))
            except BaseException:
                n = -1
            os.write(write, str(n).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as pipe:
            counts[case] = int(pipe.read() or -1)
        os.waitpid(pid, 0)
    print(json.dumps(counts))


def test_pytorch_2_13_warns_as_this_table_says():
    pytest.importorskip("torch")
    if not hasattr(os, "fork"):
        pytest.skip("needs os.fork to give each case a fresh PyTorch")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    run = subprocess.run([sys.executable, "-c", f"import {__name__} as t; t._torch_counts()"],
                         capture_output=True, text=True, cwd=root, timeout=300,
                         env={**os.environ, "PYTHONPATH": root, "OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[-1]) == {case: n for case, (_, n) in CASES.items()}


@pytest.fixture
def not_warned_yet(monkeypatch):
    monkeypatch.setattr(engine, "_warned_of_grad_cycles", False, raising=False)


@pytest.mark.parametrize("case", CASES)
def test_warns_on_the_calls_pytorch_warns_on(not_warned_yet, case):
    assert len(_warnings_given(ag, ag.grad, ag.backward, case, OURS)) == CASES[case][1]


def test_the_warning_names_the_callers_line_and_the_fix(not_warned_yet):
    x = ag.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match=r"reference cycle.*ag\.grad\(\.\.\., create_graph=True\).*None") as caught:
        (x * x).sum().backward(create_graph=True)
    assert [w.filename for w in caught] == [__file__]


def test_warned_once_per_process(not_warned_yet):
    x = ag.ones(2, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (x * x).sum().backward(create_graph=True)
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        (x * x).sum().backward(create_graph=True)
    assert [OURS in str(w.message) for w in caught] == [True] and again == []
