"""The engine's debugging tools against PyTorch and by hand: gradcheck and gradgradcheck,
detect_anomaly, the profiler and graph drawing. What a bug hunt over them turned up
(first section), and the behaviour it verified (second)."""
import gc
import json
import os
import shutil
import subprocess
import sys
import threading
import weakref

import numpy as np
import pytest

import autograd as ag
import nn.functional as F
from autograd import function

from .test_engine import FrozenSecondOrder  # right first derivative, wrong second

THIS_FILE = os.path.basename(__file__)


def f64(values, requires_grad=True):
    return ag.tensor(values, dtype=ag.float64, requires_grad=requires_grad)


def next_line():
    return sys._getframe(1).f_lineno + 1


def t64(torch, values):
    return torch.tensor(values, dtype=torch.float64, requires_grad=True)


def torch_gradcheck_passes(torch, fn, inputs):
    return torch.autograd.gradcheck(fn, inputs, raise_exception=False)


class WrongSquare(ag.Function):
    """x * x with a backward that forgets the factor 2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data * x.data

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * x


def torch_wrong_square(torch):
    """WrongSquare in PyTorch (made when torch is there: it is optional)."""
    class TorchWrongSquare(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, gy):
            x, = ctx.saved_tensors
            return gy * x
    return TorchWrongSquare


# --- bugs: each of these failed before its fix ----------------------------------------------

def test_gradcheck_restores_an_input_when_fn_raises_mid_way(device):
    """Finite differences perturb each input in turn; an fn that raises part way (a shape
    check, a user's assert) left the caller's input perturbed by eps for good."""
    x = f64([1.0, 2.0, 3.0])
    before = x.numpy().copy()
    calls = []

    def fails_on_fourth_call(x):
        calls.append(1)
        if len(calls) == 4:  # the first is the analytic pass; this one runs with x[1] + eps
            raise ValueError("boom")
        return x * 2

    with pytest.raises(ValueError, match="boom"):
        ag.gradcheck(fails_on_fourth_call, x)
    np.testing.assert_array_equal(x.numpy(), before)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_gradcheck_fails_where_the_gradients_are_nan_as_torch_does(device, torch):
    """sqrt below 0: backward and finite differences both give NaN. torch.allclose, which
    PyTorch's gradcheck uses, never calls NaN close; topograd returned True."""
    assert not torch_gradcheck_passes(torch, torch.sqrt, (t64(torch, [-1.0, -2.0]),))
    with pytest.raises(ag.GradcheckError, match=r"backward gives nan but the numerical derivative is nan"):
        ag.gradcheck(ag.sqrt, f64([-1.0, -2.0]))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_gradcheck_fails_on_an_infinite_gradient_against_a_nan_difference_as_torch_does(device, torch):
    """log at 0: backward gives inf, the central difference log(eps) - log(-eps) is NaN.
    Both were 'not finite', so topograd called them equal."""
    assert not torch_gradcheck_passes(torch, torch.log, (t64(torch, [0.0]),))
    with pytest.raises(ag.GradcheckError, match=r"backward gives inf but the numerical derivative is nan"):
        ag.gradcheck(ag.log, f64([0.0]))


def test_gradcheck_names_which_output_of_a_tuple_is_wrong(device, torch):
    """Several outputs' Jacobian rows are stacked; the message gave the stacked row
    ("output element 3") where PyTorch names the output ("for output 1")."""
    x = f64([0.5, 1.5, 2.5])

    def pair(x):
        return x * 3, WrongSquare.apply(x[:2])

    with pytest.raises(ag.GradcheckError, match=r"at output 1 element 1, input element 1, backward gives 1.5 "
                                                r"but the numerical derivative is 3\b"):
        ag.gradcheck(pair, x)
    with pytest.raises(Exception, match=r"output 1 with respect to input 0"):  # PyTorch's wording
        xt = t64(torch, [0.5, 1.5, 2.5])
        torch.autograd.gradcheck(lambda x: (x * 3, x[:2].detach() * x[:2]), (xt,))


def test_gradgradcheck_says_when_no_output_requires_grad(device):
    """fn's outputs cut off from its inputs gave NumPy's 'need at least one array to concatenate'."""
    with pytest.raises(ValueError, match=r"gradgradcheck: no output of fn requires grad.*detach"):
        ag.gradgradcheck(lambda x: x.detach() ** 2, f64([1.0, 2.0]))


class Gate(ag.Function):
    """Identity whose forward (or backward) waits until the test lets it go: an op that
    one thread is inside while another thread runs ops."""
    entered = released = None
    in_backward = False

    @staticmethod
    def forward(ctx, x):
        if not Gate.in_backward:
            Gate.entered.set()
            Gate.released.wait(10)
        return x.data * 1

    @staticmethod
    def backward(ctx, gy):
        if Gate.in_backward:
            Gate.entered.set()
            Gate.released.wait(10)
        return gy


def run_while_another_thread_is_inside(target, in_backward, work):
    """Start ``target`` in a thread, wait until it is inside Gate, run ``work`` here."""
    Gate.entered, Gate.released, Gate.in_backward = threading.Event(), threading.Event(), in_backward
    thread = threading.Thread(target=target)
    thread.start()
    try:
        assert Gate.entered.wait(10)
        return work()
    finally:
        Gate.released.set()
        thread.join(10)


def test_profiler_times_the_ops_of_a_thread_while_another_is_inside_an_op(device):
    """The profiler skips ops nested in a timed op; its one depth counter was shared by
    all threads, so every op one thread ran while another was inside an op went unrecorded."""
    x = ag.ones(2)
    with ag.profiler.profile() as prof:
        run_while_another_thread_is_inside(lambda: Gate.apply(x), False, lambda: ag.ones(3) * 2)
    here = threading.get_ident()
    assert sorted((e.name, e.thread == here) for e in prof.events) == [("Gate", False), ("Mul", True)]


def test_a_node_records_the_modules_of_its_own_thread(device):
    """The stack of modules being called is per thread: an op run here, outside any module,
    while another thread is inside a module's forward, belongs to no module."""
    import nn

    class Slow(nn.Module):
        def forward(self, x):
            return Gate.apply(x)

    x, y = ag.ones(2, requires_grad=True), ag.ones(3, requires_grad=True)
    with ag.profiler.profile() as prof:
        out = run_while_another_thread_is_inside(lambda: Slow()(x), False, lambda: y.exp())
    assert out.grad_fn.scope is None
    assert [e.module for e in prof.events if e.name == "Exp"] == [None]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_detect_anomaly_checks_a_threads_forward_while_another_runs_backward(device):
    """detect_anomaly leaves the ops a backward runs to the backward's own check; its
    counter was shared by all threads, so no thread's forward was checked meanwhile."""
    x = ag.ones(2, requires_grad=True)
    Gate.in_backward = True  # its forward passes straight through (it relied on an earlier test's events)
    with ag.detect_anomaly():
        loss = Gate.apply(x).sum()
        def nan_forward():
            return ag.log(ag.tensor([0.0]))

        with pytest.raises(RuntimeError, match=r"detect_anomaly: Log returned inf in its forward"):
            run_while_another_thread_is_inside(loss.backward, True, nan_forward)
    assert function.observers == []


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_detect_anomaly_names_the_backward_that_recorded_a_failing_op(device):
    """An op recorded by a create_graph backward inside detect_anomaly was reported as
    created '<before detect_anomaly was entered>'; PyTorch points at the backward call."""
    x = ag.tensor([0.0, 1.0], requires_grad=True)
    with ag.detect_anomaly():
        y = (x ** 1.5).sum()
        line = next_line()
        (g,) = ag.grad(y, x, create_graph=True)   # records 1.5 * x ** 0.5: infinite slope at 0
        with pytest.raises(RuntimeError, match=rf"backward of Pow .*created at .*{THIS_FILE}:{line}$"):
            g.sum().backward()


@pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled")
@pytest.mark.filterwarnings("ignore:Error detected in SqrtBackward0")
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_set_detect_anomaly_switches_the_mode_as_torch(device, torch):
    """PyTorch's debugging line `torch.autograd.set_detect_anomaly(True)` at the top of a script
    turns the checks on for good (False off again, inside a detect_anomaly block too; as a
    context manager it restores the mode it replaced); topograd lacked it (AttributeError)."""
    def raises(lib, tensor):
        x = tensor([-1.0, 4.0])
        try:
            lib.sqrt(x).sum().backward()
        except RuntimeError:
            return True
        return False

    def story(lib, autograd, tensor):
        modes = lib  # (both keep the two queries at their top level)
        seen = [modes.is_anomaly_enabled(), raises(lib, tensor)]
        autograd.set_detect_anomaly(True)
        seen += [modes.is_anomaly_enabled(), modes.is_anomaly_check_nan_enabled(), raises(lib, tensor)]
        with autograd.set_detect_anomaly(True, check_nan=False):
            seen += [modes.is_anomaly_enabled(), modes.is_anomaly_check_nan_enabled(), raises(lib, tensor)]
        seen += [modes.is_anomaly_check_nan_enabled(), raises(lib, tensor)]
        autograd.set_detect_anomaly(False)
        seen += [modes.is_anomaly_enabled(), raises(lib, tensor)]
        with autograd.detect_anomaly():
            seen += [modes.is_anomaly_enabled(), raises(lib, tensor)]
            with autograd.set_detect_anomaly(False):
                seen += [modes.is_anomaly_enabled(), raises(lib, tensor)]
            seen += [modes.is_anomaly_enabled(), raises(lib, tensor)]
        seen += [modes.is_anomaly_enabled(), raises(lib, tensor)]
        return seen

    theirs = story(torch, torch.autograd, lambda v: t64(torch, v))
    ours = story(ag, ag, f64)  # (ag.set_detect_anomaly, as torch.autograd's)
    assert theirs == [False, False, True, True, True, True, False, False, True, True, False, False, True, True,
                      False, False, True, True, False, False]
    assert ours == theirs
    assert function.observers == []  # nothing left watching the ops
    with pytest.raises(TypeError, match=r"set_detect_anomaly: mode must be True or False, not str"):
        ag.anomaly.set_detect_anomaly("on")
    assert not ag.anomaly.is_anomaly_enabled()


# PyTorch's keyword options of the two checks, each with a value other than its default
BOTH_OPTIONS = [dict(fast_mode=True), dict(nondet_tol=1e-12), dict(check_undefined_grad=False),
                dict(check_grad_dtypes=True), dict(check_batched_grad=True)]
GRADCHECK_OPTIONS = [("gradcheck", o) for o in BOTH_OPTIONS + [dict(masked=True), dict(check_forward_ad=False)]]
GRADGRADCHECK_OPTIONS = [("gradgradcheck", o) for o in BOTH_OPTIONS + [
    dict(masked=True), dict(gen_non_contig_grad_outputs=True), dict(check_rev_over_rev=True)]]


@pytest.mark.parametrize("name, options", GRADCHECK_OPTIONS + GRADGRADCHECK_OPTIONS,
                         ids=lambda o: o if isinstance(o, str) else ",".join(f"{k}={v}" for k, v in o.items()))
def test_gradchecks_take_torchs_keyword_options_and_give_its_verdicts(device, torch, name, options):
    """Ported tests call gradcheck(fn, inputs, fast_mode=True) or check_batched_grad=False;
    topograd refused every option but eps, atol, rtol and raise_exception (TypeError:
    unexpected keyword argument)."""
    torch_wrong = torch_wrong_square(torch)
    for ours, theirs in ((lambda x: x.sin() * x, lambda x: x.sin() * x),  # right, to second order
                         (lambda x: WrongSquare.apply(x) * x, lambda x: torch_wrong.apply(x) * x)):
        verdict = getattr(ag, name)(ours, (f64([0.3, -0.7]),), raise_exception=False, **options)
        expected = getattr(torch.autograd, name)(theirs, (t64(torch, [0.3, -0.7]),), raise_exception=False,
                                                 **options)
        assert verdict is expected


def test_gradchecks_refuse_forward_mode_checks_by_name(device):
    """topograd has no forward-mode AD, so the checks of it are refused, saying which option to
    leave out; turning the only check left off is refused as PyTorch refuses it."""
    x = f64([0.3, -0.7])
    for options in (dict(check_forward_ad=True), dict(check_batched_forward_grad=True)):
        with pytest.raises(NotImplementedError, match=rf"gradcheck: {next(iter(options))}=True checks forward-mode "
                                                      r"AD, which topograd lacks; leave it out"):
            ag.gradcheck(lambda x: x.sin(), x, **options)
    with pytest.raises(NotImplementedError, match=r"gradgradcheck: check_fwd_over_rev=True checks forward-mode AD"):
        ag.gradgradcheck(lambda x: x.sin(), x, check_fwd_over_rev=True)
    with pytest.raises(ValueError, match=r"gradcheck: check_backward_ad=False leaves nothing to check"):
        ag.gradcheck(lambda x: x.sin(), x, check_backward_ad=False)
    with pytest.raises(ValueError, match=r"gradgradcheck: check_rev_over_rev=False leaves nothing to check"):
        ag.gradgradcheck(lambda x: x.sin(), x, check_rev_over_rev=False)


def test_gradcheck_check_grad_dtypes_catches_a_gradient_of_another_dtype(device, monkeypatch):
    """check_grad_dtypes=True fails where backward gives a gradient of another dtype than its
    input, as PyTorch's. The engine casts every gradient to its input's dtype, so a stand-in
    for ag.grad that hands back float32 plays the broken backward."""
    x = f64([0.3, -0.7])
    assert ag.gradcheck(ag.sin, x, check_grad_dtypes=True)
    original = ag.engine.grad

    def float32_gradients(*args, **kwargs):
        return tuple(None if g is None else g.astype(ag.float32) for g in original(*args, **kwargs))

    monkeypatch.setattr(ag.engine, "grad", float32_gradients)
    assert ag.gradcheck(ag.sin, x)  # the values are within tolerance: only the dtype is wrong
    with pytest.raises(ag.GradcheckError, match=r"gradcheck: the gradient for input 0 is float32, but the "
                                                 r"input is float64"):
        ag.gradcheck(ag.sin, x, check_grad_dtypes=True)


# --- verified: these matched before the hunt ---------------------------------------------------

def test_gradcheck_skips_inputs_that_need_no_gradient_as_torch_does(device, torch):
    """Non-tensor inputs, integer index tensors and float tensors without requires_grad ride along."""
    def fn(lib, x, scale, index, w):
        return (x[index] * scale * w).sum() * x

    x, w = f64([0.5, -1.5, 2.0]), f64([1.0, 2.0], requires_grad=False)
    assert ag.gradcheck(lambda *a: fn(ag, *a), (x, 3.0, ag.tensor([2, 0]), w)) is True
    xt, wt = t64(torch, [0.5, -1.5, 2.0]), torch.tensor([1.0, 2.0], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda *a: fn(torch, *a), (xt, 3.0, torch.tensor([2, 0]), wt))


def test_gradcheck_catches_a_wrong_gradient_as_torch_does(device, torch):
    assert not torch_gradcheck_passes(torch, torch_wrong_square(torch).apply, (t64(torch, [0.5, 1.5]),))
    with pytest.raises(ag.GradcheckError, match=r"input 0 \(shape \(2,\)\).*output element 1, input element 1, "
                                                r"backward gives 1.5 but the numerical derivative is 3\b"):
        ag.gradcheck(WrongSquare.apply, f64([0.5, 1.5]))


def test_gradcheck_leaves_inputs_as_they_were(device, torch):
    """After a check an input holds its own array again, untouched; a non-contiguous
    view that requires grad is checked as PyTorch checks it."""
    base = f64([[1.0, 2.0], [3.0, 4.0]])
    view = base.T
    arrays = (base.data, view.data)
    values = (base.numpy().copy(), view.numpy().copy())
    assert ag.gradcheck(lambda v: v.exp() * v[0], view) is True
    assert ag.gradcheck(lambda b, s: b * s, (base, 2.0)) is True
    assert base.data is arrays[0] and view.data is arrays[1]
    np.testing.assert_array_equal(base.numpy(), values[0])
    np.testing.assert_array_equal(view.numpy(), values[1])
    assert torch.autograd.gradcheck(lambda v: v.exp() * v[0], (t64(torch, values[0]).T,))


def test_gradcheck_outputs_independent_of_an_input_and_tuple_outputs(device, torch):
    def fn(lib, x, y):
        return x.exp(), (y * y).sum() + 0 * x.sum(), x * 2

    assert ag.gradcheck(lambda x, y: fn(ag, x, y), (f64([0.1, 0.2]), f64([1.0, -1.0, 3.0]))) is True
    assert torch.autograd.gradcheck(lambda x, y: fn(torch, x, y), (t64(torch, [0.1, 0.2]),
                                                                   t64(torch, [1.0, -1.0, 3.0])))


def test_gradcheck_refuses_float32_and_inputs_without_grad(device):
    with pytest.raises(TypeError, match=r"input 0 is float32; .*dtype=ag.float64"):
        ag.gradcheck(lambda x: x * 2, ag.tensor([1.0], requires_grad=True))
    with pytest.raises(ValueError, match=r"no input requires grad"):
        ag.gradcheck(lambda x: x * 2, f64([1.0], requires_grad=False))


def test_gradgradcheck_with_given_grad_outputs_as_torch(device, torch):
    def fn(x, y):
        return x ** 3 * y, (x * y).sum()

    given = ([1.0, -2.0], 0.5)
    x, y = f64([0.3, -0.7]), f64([1.2, 0.4])
    assert ag.gradgradcheck(fn, (x, y), grad_outputs=[ag.tensor(g, dtype=ag.float64) for g in given]) is True
    xt, yt = t64(torch, [0.3, -0.7]), t64(torch, [1.2, 0.4])
    assert torch.autograd.gradgradcheck(fn, (xt, yt), grad_outputs=[torch.tensor(g, dtype=torch.float64)
                                                                     for g in given])


def test_raise_exception_false_returns_false_as_torch(device, torch):
    """PyTorch's keyword: a mismatch gives False instead of the error; misuse still raises."""
    assert ag.gradcheck(WrongSquare.apply, f64([0.5, 1.5]), raise_exception=False) is False
    assert ag.gradgradcheck(FrozenSecondOrder.apply, f64([0.5, 1.5]), raise_exception=False) is False
    assert ag.gradcheck(lambda x: x * x, f64([0.5, 1.5]), raise_exception=False) is True
    with pytest.raises(TypeError, match="float64"):
        ag.gradcheck(lambda x: x * 2, ag.tensor([1.0], requires_grad=True), raise_exception=False)
    xt = t64(torch, [0.5, 1.5])
    assert torch.autograd.gradcheck(lambda x: x * x, (xt,), raise_exception=False) is True


def test_gradgradcheck_wants_one_grad_output_per_output(device):
    def fn(x):
        return x * x, x.sum()

    with pytest.raises(ValueError, match="got 1 grad_outputs for the 2 outputs"):
        ag.gradgradcheck(fn, f64([0.3, -0.7]), grad_outputs=[ag.ones(2, dtype=ag.float64)])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_detect_anomaly_nests_and_leaves_no_observer_after_errors(device):
    x = f64([0.0, 4.0])
    with pytest.raises(RuntimeError, match=r"backward of Sqrt"):
        with ag.detect_anomaly():
            with ag.detect_anomaly():
                y = ag.sqrt(x).sum()
            assert len(function.observers) == 1
            y.backward()
    assert function.observers == []
    assert ag.log(f64([0.0])).numpy()[0] == -np.inf  # unchecked again


def test_profiler_rows_add_up_and_the_trace_is_valid_json(device, tmp_path):
    w = ag.randn(4, 3, requires_grad=True)
    with pytest.raises(ZeroDivisionError):
        with ag.profiler.profile() as prof:
            loss = ((ag.randn(5, 4) @ w).tanh() * 2).sum()
            loss.backward()
            1 / 0
    assert function.observers == []
    summary = prof.summary()
    assert {name: row["calls"] for name, row in summary["ops"].items()} == {
        "MatMul": 1, "Tanh": 1, "Mul": 1, "Sum": 1}
    assert {name: row["backward_calls"] for name, row in summary["ops"].items()} == {
        "MatMul": 1, "Tanh": 1, "Mul": 1, "Sum": 1}
    assert sum(r["total_s"] for r in summary["ops"].values()) == pytest.approx(summary["total_s"])
    trace = json.loads(open(prof.export_chrome_trace(tmp_path / "t.json")).read())["traceEvents"]
    assert len(trace) == 8 and all(e["ph"] == "X" and e["dur"] >= 0 and e["ts"] >= 0 for e in trace)
    assert sorted(e["name"] for e in trace if e["cat"] == "backward") == [
        "MatMul backward", "Mul backward", "Sum backward", "Tanh backward"]


class SquarePlusOne(ag.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data * x.data + 1

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return 2 * x * gy


def graphs_to_draw():
    """Graphs with the shapes that drawing has to get right."""
    x = ag.randn(6, requires_grad=True)
    a, b = ag.split(x, 2)
    w = x * 2
    w[1:3] = ag.tensor([5.0, 6.0])
    w.mul_(3)
    retained = (x * x).sum()
    retained.backward(retain_graph=True)
    freed = x.exp().sum()
    freed.backward()
    deep = x
    for _ in range(700):
        deep = deep * 1.001
    return {"multi-output": [a * b + a], "pieces": [a, b], "custom": [SquarePlusOne.apply(x) + x],
            "leaf twice": [x * x], "views": [x.reshape(2, 3).T[0]], "in-place": [w],
            "retained": [retained], "freed": [freed], "no grad": [ag.ones(3), retained],
            "deep": [deep], "second order": list(ag.grad((x ** 3).sum(), x, create_graph=True))}


def test_drawings_are_valid_graphviz_and_free_the_graph(device):
    pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed")
    graphs = graphs_to_draw()
    sources = [ag.make_dot(*roots, show_saved=True).source for roots in graphs.values()]
    sources.append(ag.make_dot(*graphs["deep"], max_nodes=50).source)  # the summary table
    for name, source in zip([*graphs, "summary"], sources):
        result = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True, timeout=60)
        assert result.returncode == 0 and not result.stderr, (name, result.stderr)
    assert "saved tensors freed by backward()" in sources[list(graphs).index("freed")]
    assert 'label="[1]"' in sources[list(graphs).index("multi-output")]

    y = (ag.randn(3, requires_grad=True) * 2).exp().sum()
    node = weakref.ref(y.grad_fn)
    enabled = gc.isenabled()
    gc.disable()
    try:
        ag.make_dot(y)
        del y
        assert node() is None  # the drawing keeps nothing of the graph alive, without the collector
    finally:
        if enabled:
            gc.enable()


def test_the_public_names_the_readme_uses_exist():
    for name in ("tensor", "randn", "randint", "grad", "backward", "no_grad", "enable_grad", "set_grad_enabled",
                 "Function", "detect_anomaly", "gradcheck", "gradgradcheck", "GradcheckError", "make_dot",
                 "draw", "from_dlpack", "float64"):
        assert hasattr(ag, name), name
    assert callable(ag.profiler.profile)


# --- gradcheck ------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn, k, kind", [(lambda a: a.sum().item(), 0, "float"), (lambda a: None, 0, "NoneType"),
                                         (lambda a: (a * 2, a.detach().numpy()), 1, "ndarray")])
def test_gradcheck_names_an_output_that_is_not_a_tensor(torch, fn, k, kind):
    """It failed with "'float' object has no attribute 'size'" (PyTorch's: "... no attribute
    'requires_grad'"); now a TypeError names the output and its type."""
    a = ag.tensor([1.0, 2.0], dtype=ag.float64, requires_grad=True)
    with pytest.raises(AttributeError):
        torch.autograd.gradcheck(fn, (torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True),))
    with pytest.raises(TypeError, match=f"gradcheck: fn must return a Tensor .* its output {k} is {kind}"):
        ag.gradcheck(fn, (a,))


# --- detect_anomaly: masks, kl_div's zero targets, where a NaN is made, check_nan -------------

def assert_close(ours, theirs):
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled")  # PyTorch's, each time
def test_detect_anomaly_lets_a_causal_attention_mask_through_as_torch(device, torch):
    """The attention mask is -inf where a key is hidden: an ordinary forward value, which
    detect_anomaly refused ("Add returned NaN or inf in its forward output"), so no model
    with masked attention could be debugged with it. PyTorch's runs it."""
    q = np.random.default_rng(0).standard_normal((2, 4, 3))
    x = ag.tensor(q, requires_grad=True)
    tx = torch.tensor(q, requires_grad=True)
    with ag.detect_anomaly():
        out = F.scaled_dot_product_attention(x, x, x, is_causal=True)
        (out * out).sum().backward()
    with torch.autograd.detect_anomaly():
        tout = torch.nn.functional.scaled_dot_product_attention(tx, tx, tx, is_causal=True)
        (tout * tout).sum().backward()
    assert_close(out, tout)
    assert_close(x.grad, tx.grad)


@pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled")  # PyTorch's, each time
def test_detect_anomaly_lets_kl_div_take_zero_targets_as_torch(device, torch):
    """kl_div's target log target took the log of a NaN placed where the target is 0 (for
    PyTorch's NaN gradient there), so a one-hot target failed under detect_anomaly even
    when the target needs no gradient. PyTorch's runs it."""
    logits = np.array([[0.3, -1.2, 2.0], [1.0, 0.5, -0.5]])
    target = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    x = ag.tensor(logits, requires_grad=True)
    tx = torch.tensor(logits, requires_grad=True)
    with ag.detect_anomaly():
        loss = F.kl_div(F.log_softmax(x, axis=1), ag.tensor(target), reduction="batchmean")
        loss.backward()
    with torch.autograd.detect_anomaly():
        tloss = torch.nn.functional.kl_div(torch.log_softmax(tx, 1), torch.tensor(target), reduction="batchmean")
        tloss.backward()
    assert_close(loss, tloss)
    assert_close(x.grad, tx.grad)


@pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled")  # PyTorch's, each time
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_detect_anomaly_stops_where_a_nan_or_inf_is_made_not_where_one_is_passed_on(device):
    """A forward that makes a NaN or an infinity from finite inputs raises where it is made
    (log(0), log(-1), a softmax over a row that is all -inf); one that passes on an
    infinity it was given (a mask of -inf added to scores, masked_fill's -inf) does not."""
    x = ag.tensor([0.0, 1.0], dtype=ag.float64, requires_grad=True)
    with ag.detect_anomaly():
        with pytest.raises(RuntimeError, match=rf"Log returned NaN in its forward output \(its inputs held no "
                                               rf"NaN\), called at .*{THIS_FILE}:{next_line()}"):
            ag.log(x - 1)
        with pytest.raises(RuntimeError, match=rf"Log returned inf in its forward output .*{THIS_FILE}:{next_line()}"):
            ag.log(x)
        masked = (x * 2).masked_fill(ag.tensor([True, False]), float("-inf"))
        shifted = masked + 1  # the -inf passed on
        assert shifted.numpy()[0] == -np.inf
        given_nan = ag.tensor([np.nan, 1.0], dtype=ag.float64, requires_grad=True)
        passed_on = given_nan * 2 + 1  # the NaN passed on: no anomaly either
        assert np.isnan(passed_on.numpy()[0]) and passed_on.numpy()[1] == 3.0
        with pytest.raises(RuntimeError, match="Softmax returned NaN"):
            F.softmax(ag.full((1, 2), float("-inf"), dtype=ag.float64), axis=-1)


@pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled")  # PyTorch's, each time
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_detect_anomaly_takes_check_nan_false_as_torch(device, torch):
    """PyTorch's detect_anomaly(check_nan=False) keeps the mode on without the NaN check;
    topograd refused the argument (TypeError)."""
    x = ag.tensor([-1.0, 0.0, 4.0], dtype=ag.float64, requires_grad=True)
    tx = torch.tensor([-1.0, 0.0, 4.0], dtype=torch.float64, requires_grad=True)
    with ag.detect_anomaly(check_nan=False):
        y = ag.sqrt(x)
        y.sum().backward()
    with torch.autograd.detect_anomaly(check_nan=False):
        ty = torch.sqrt(tx)
        ty.sum().backward()
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled")
@pytest.mark.filterwarnings("ignore:Error detected in SqrtBackward0")  # PyTorch's, as it raises
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_the_innermost_detect_anomaly_decides_whether_to_check_as_torch(device, torch):
    """PyTorch's anomaly mode is one setting, so an inner detect_anomaly(check_nan=False)
    turns the checks off until it exits; topograd's outer one still checked, and raised."""
    def run(lib, outer, inner, tensor):
        x = tensor([-1.0, 4.0])
        with outer():
            with inner():
                lib.sqrt(x).sum().backward()
            with pytest.raises(RuntimeError):  # the outer mode is back
                lib.sqrt(x).sum().backward()
        return x.grad.numpy() if lib is ag else x.grad.detach().numpy()

    ours = run(ag, ag.detect_anomaly, lambda: ag.detect_anomaly(check_nan=False), f64)
    theirs = run(torch, torch.autograd.detect_anomaly, lambda: torch.autograd.detect_anomaly(check_nan=False),
                 lambda v: t64(torch, v))
    np.testing.assert_array_equal(ours, theirs)
    assert function.observers == []
    # the other way round: the inner mode checks the backward of a graph built outside it
    x = f64([-1.0])
    with ag.detect_anomaly(check_nan=False):
        y = ag.sqrt(x).sum()
        with ag.detect_anomaly():
            with pytest.raises(RuntimeError, match="backward of Sqrt"):
                y.backward()


# --- gradgradcheck ----------------------------------------------------------------------------

def test_gradgradcheck_names_an_output_that_is_not_a_tensor(device):
    """gradcheck named it; gradgradcheck failed with "'int' object has no attribute
    '_backend'" from where it makes the random grad_outputs."""
    x = ag.tensor([1.0, 2.0], dtype=ag.float64, requires_grad=True)
    with pytest.raises(TypeError, match=r"gradgradcheck: fn must return a Tensor or a tuple of Tensors, "
                                        r"but its output 1 is int 3"):
        ag.gradgradcheck(lambda x: (x * x, 3), x)
