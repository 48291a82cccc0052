"""The backward engine: graph walk, accumulation, freeing, higher orders, grad
modes, hooks, custom Functions, in-place safety, anomaly detection, gradcheck
and error messages. Values are checked against analytic formulas or NumPy."""
import gc
import inspect
import os
import sys
import threading
import weakref

import numpy as np
import pytest

import autograd as ag
import backends
from autograd.ops.elementwise import Neg
from tests.autograd.torch_pairs import both, close, numpy_or_none, same_nested
from tests.torch_versions import torch_older_than

from ..nn.torch_compare import assert_close_to_torch, float64_leaves

THIS_FILE = os.path.basename(__file__)
# The object counts below pin CPython 3.11's layout, which keeps an instance's attributes in
# the object until its __dict__ is asked for; 3.10 (which the project supports) gives every
# instance a dict of its own, one more tracked object per node, whatever the engine does.
needs_inline_attributes = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="CPython before 3.11 gives every instance its own __dict__")


def next_line():
    """The line number right after the caller's line (where the statement under test sits)."""
    return inspect.currentframe().f_back.f_lineno + 1


def f64(values, requires_grad=True):
    return ag.tensor(values, dtype="float64", requires_grad=requires_grad)


# --- the walk -------------------------------------------------------------------------------
class CountingSquare(ag.Function):
    """x * x, recording each gradient its backward receives."""
    received = []

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data * x.data

    @staticmethod
    def backward(ctx, gy):
        CountingSquare.received.append(gy.numpy().copy())
        x, = ctx.saved_tensors
        return gy * 2 * x


def test_each_node_runs_once_after_all_its_gradients_are_summed(device):
    CountingSquare.received = []
    x = f64([0.5, -1.0])
    y = CountingSquare.apply(x)
    # y feeds three consumers, one of them through a longer path.
    z = (y * 3).sum() + y.exp().sum() + ((y * 2) * y).sum()
    z.backward()
    y_np = x.numpy() ** 2
    expected_gy = 3 + np.exp(y_np) + 4 * y_np
    assert len(CountingSquare.received) == 1
    np.testing.assert_allclose(CountingSquare.received[0], expected_gy, rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), expected_gy * 2 * x.numpy(), rtol=1e-12)


def test_a_million_op_chain_backward_without_recursion():
    # CPU only: this checks the engine's walk, which does not depend on the backend,
    # and a second backend would double the test's few seconds.
    x = ag.tensor([1.5], device="cpu", requires_grad=True)
    apply = Neg.apply
    y = x
    for _ in range(1_000_000):
        y = apply(y)
    y.backward()
    assert x.grad.numpy().tolist() == [1.0]  # an even number of negations
    del y  # freeing the chain must not recurse either


def test_gradients_accumulate_in_leaves_across_backward_calls(device):
    x = f64([1.0, 2.0])
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() + 3)
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_non_leaf_grad_is_none_unless_retained(device):
    x = f64([1.0, 2.0])
    h = x * 2
    kept = x * 3
    kept.retain_grad()
    (h * h + kept * kept).sum().backward()
    with pytest.warns(UserWarning, match="not a leaf .* call .retain_grad.. on it first"):
        assert h.grad is None  # and says why, as PyTorch does
    assert not h.is_leaf and h.grad_fn is not None
    np.testing.assert_allclose(kept.grad.numpy(), 2 * kept.numpy())
    np.testing.assert_allclose(x.grad.numpy(), 8 * x.numpy() + 18 * x.numpy())


def test_a_retained_grad_does_not_share_memory_with_a_leaf_grad(device):
    x = f64([1.0, 2.0])
    y = x + 0                       # Add passes its gradient on unchanged to x
    y.retain_grad()
    (y * 3).sum().backward(retain_graph=True)
    with ag.no_grad():
        x.grad.zero_()              # as an optimizer's zero_grad may
    np.testing.assert_allclose(y.grad.numpy(), [3.0, 3.0])
    (y * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(y.grad.numpy(), [6.0, 6.0])


def test_backward_from_several_roots(device):
    x = f64([1.0, 2.0])
    a, b = x * x, x.sin()
    ag.backward([a, b.sum()], [ag.tensor([1.0, 10.0], dtype="float64"), None])
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() * [1.0, 10.0] + np.cos(x.numpy()))


@pytest.mark.filterwarnings("ignore:backward\\(create_graph=True\\) records:UserWarning")  # (the .grad cycle, made on purpose)
def test_backward_with_create_graph_gives_a_differentiable_grad(device):
    x = f64([0.5, 2.0])
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and g.grad_fn is not None
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy())


def test_saved_buffers_are_freed_and_a_second_backward_names_retain_graph(device):
    x = f64([1.0, 2.0])
    y = x * x
    loss = y.sum()
    loss.backward()
    assert y.grad_fn._saved is None
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        loss.backward()


def test_retain_graph_allows_a_second_backward(device):
    x = f64([1.0, 2.0])
    y = x * x
    loss = y.sum()
    loss.backward(retain_graph=True)
    assert y.grad_fn._saved is not None
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * x.numpy())


@pytest.mark.parametrize("inplace", [False, True])
def test_relu_backward_frees_its_mask_and_names_retain_graph(device, inplace):
    # ReLU's plain backward masks the gradient on bare arrays: it must still refuse a
    # second pass once its mask is freed, and still give the mask's gradient.
    x = f64([-1.0, 2.0, 3.0])
    y = x * 1.0
    y = y.relu_() if inplace else y.relu()
    loss = y.sum()  # Sum keeps nothing: ReLU's node is the first to find its buffers gone
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (x.numpy() > 0))
    with pytest.raises(RuntimeError, match=r"Relu(InPlace)?: trying to backward through the graph a second time"):
        loss.backward()


def test_an_in_place_change_of_an_output_its_op_did_not_keep_is_not_watched(device):
    # MatMul keeps its inputs, not its output, so the counter that relu_ makes for the
    # output is none of MatMul's business: it keeps no record of it (memory, and time).
    x = f64([[1.0, -2.0]], requires_grad=True)
    w = f64([[1.0, 0.0], [0.0, 1.0]], requires_grad=False)
    y = x @ w
    y.relu_()
    assert y.grad_fn.name == "ReluInPlace"
    assert y.grad_fn.next_functions[0][0]._out_versions is None
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1.0, 0.0]])


def test_graph_has_no_reference_cycles(device):
    x = f64([1.0, 2.0, 3.0])
    gc.collect()
    gc.disable()
    try:
        hidden = (x.exp() * x).sin()
        loss = (hidden * 2).sum()
        refs = [weakref.ref(loss), weakref.ref(hidden), weakref.ref(loss.grad_fn), weakref.ref(hidden.grad_fn)]
        del hidden, loss
        assert [r() for r in refs] == [None] * 4
        # After a backward too (the engine's buffers must not keep the graph alive).
        loss = (x.exp() * x).sum()
        loss.backward()
        refs = [weakref.ref(loss), weakref.ref(loss.grad_fn)]
        del loss
        assert [r() for r in refs] == [None, None]
    finally:
        gc.enable()


# --- higher order -----------------------------------------------------------------------
THIRD_DERIVATIVES = {
    "tanh": (ag.tanh, lambda x: (lambda t: -2 * (1 - t ** 2) ** 2 + 4 * t ** 2 * (1 - t ** 2))(np.tanh(x))),
    "exp": (ag.exp, np.exp),
    "sin": (ag.sin, lambda x: -np.cos(x)),
    "sigmoid": (ag.sigmoid, lambda x: (lambda s: s * (1 - s) * (1 - 6 * s + 6 * s ** 2))(1 / (1 + np.exp(-x)))),
    "log": (ag.log, lambda x: 2 / x ** 3),
}


@pytest.mark.parametrize("name", sorted(THIRD_DERIVATIVES))
def test_third_derivatives_match_analytic_formulas(name, device):
    fn, third = THIRD_DERIVATIVES[name]
    x = f64([0.3, 0.8, 1.7])
    g1, = ag.grad(fn(x).sum(), x, create_graph=True)
    g2, = ag.grad(g1.sum(), x, create_graph=True)
    g3, = ag.grad(g2.sum(), x)
    np.testing.assert_allclose(g3.numpy(), third(x.numpy()), rtol=1e-10)
    assert x.grad is None


def test_hessian_vector_product_matches_explicit_hessian(device):
    values = np.array([0.5, -1.0, 2.0])
    x = f64(values)
    loss = (x ** 3).sum() + x.sum() ** 2  # Hessian: diag(6x) + 2
    g, = ag.grad(loss, x, create_graph=True)
    rows = [ag.grad(g[i], x, retain_graph=True)[0].numpy() for i in range(3)]
    hessian = np.stack(rows)
    np.testing.assert_allclose(hessian, np.diag(6 * values) + 2, rtol=1e-12)
    v = np.array([1.0, 2.0, -0.5])
    hvp, = ag.grad((g * ag.tensor(v)).sum(), x)
    np.testing.assert_allclose(hvp.numpy(), hessian @ v, rtol=1e-12)


# --- ag.grad ------------------------------------------------------------------------------
def test_grad_returns_a_tuple_and_leaves_dot_grad_untouched(device):
    x, w = f64([1.0, 2.0]), f64([3.0, 4.0])
    w.grad = ag.tensor([10.0, 10.0], dtype="float64")
    out = ag.grad((x * w).sum(), [x, w])
    assert isinstance(out, tuple) and len(out) == 2
    np.testing.assert_allclose(out[0].numpy(), w.numpy())
    np.testing.assert_allclose(out[1].numpy(), x.numpy())
    assert x.grad is None
    np.testing.assert_allclose(w.grad.numpy(), [10.0, 10.0])
    single = ag.grad((x * x).sum(), x)
    assert isinstance(single, tuple) and len(single) == 1


def test_grad_of_an_unused_input_is_none_or_an_error(device):
    x, unused = f64([1.0, 2.0]), f64([5.0])
    loss = (x * x).sum()
    gx, gu = ag.grad(loss, [x, unused], retain_graph=True, allow_unused=True)
    np.testing.assert_allclose(gx.numpy(), 2 * x.numpy())
    assert gu is None
    with pytest.raises(RuntimeError, match=r"inputs\[1\].*allow_unused=True"):
        ag.grad(loss, [x, unused])


def test_an_output_that_is_no_tensor_is_refused_by_name(device):
    """ag.grad(loss.item(), x) failed with Python's "'float' object is not iterable", and
    ag.backward([y, 3.0]) with "'float' object has no attribute 'requires_grad'" from inside
    the engine (PyTorch's are as bare); each now names the output and the fix."""
    x = f64([1.0, 2.0])
    loss = (x * x).sum()
    with pytest.raises(TypeError, match=r"grad: output 0 is a float, not a Tensor.*loss.item\(\)"):
        ag.grad(loss.item(), x)
    with pytest.raises(TypeError, match=r"backward: output 0 is a float, not a Tensor"):
        ag.backward(loss.item())
    with pytest.raises(TypeError, match=r"backward: output 1 is a float, not a Tensor"):
        ag.backward([loss, 3.0])
    assert x.grad is None  # refused before anything ran
    gx, = ag.grad((loss,), x)  # a tuple of outputs still works
    np.testing.assert_allclose(gx.numpy(), [2.0, 4.0])


def test_grad_with_respect_to_a_non_leaf(device):
    x = f64([1.0, 2.0])
    h = x * 3
    g, = ag.grad((h * h).sum(), h)
    np.testing.assert_allclose(g.numpy(), 2 * h.numpy())
    assert h._grad is None and x.grad is None


# --- ag.grad runs only the part of the graph that leads to its inputs ----------------------
class _Ops:
    """The few calls in which topograd and PyTorch differ, to build one graph on either."""

    def __init__(self, torch=None):
        self.torch = torch

    def leaf(self, values):
        if self.torch is None:
            return f64(values)
        return self.torch.tensor(values, dtype=self.torch.float64, requires_grad=True)

    def const(self, values):
        if self.torch is None:
            return f64(values, requires_grad=False)
        return self.torch.tensor(values, dtype=self.torch.float64)

    def split_at(self, t, k):
        return t.split([k]) if self.torch is None else t.split([k, t.shape[0] - k])

    def grad(self, *args, **kwargs):
        return (ag.grad if self.torch is None else self.torch.autograd.grad)(*args, **kwargs)


def _shared_subgraph(ops):
    x, w = ops.leaf([0.3, -0.7, 1.1]), ops.leaf([0.5, 1.5, -0.2])
    s = (x * w).tanh()
    out = (s * s).sum() + (s * w.exp()).sum() + (w.sin() * 2).sum()
    return [out], None, {"x": x, "w": w, "s": s}


def _non_leaf_in_the_middle(ops):
    x, w = ops.leaf([0.3, -0.7, 1.1]), ops.leaf([0.5, 1.5, -0.2])
    h = x.exp() * w
    out = (h * h.tanh()).sum() + (w * w).sum()
    return [out], None, {"x": x, "w": w, "h": h}


def _two_outputs(ops):
    x, w = ops.leaf([0.3, -0.7, 1.1]), ops.leaf([0.5, 1.5, -0.2])
    m = ops.leaf([[0.2, -0.4, 0.1], [0.7, 0.3, -0.5]])
    y1 = (m @ x).tanh()
    y2 = x.exp() * w + (m * m).sum()
    return [y1, y2], [ops.const([1.0, -2.0]), ops.const([0.5, 0.25, -1.0])], {"x": x, "w": w, "m": m}


def _split_pieces(ops):
    x, w = ops.leaf([0.3, -0.7, 1.1]), ops.leaf([0.5, 1.5, -0.2])
    a, b = ops.split_at(x * w, 1)
    out = a.exp().sum() + (b * b.sin()).sum() + w.tanh().sum()
    return [out], None, {"x": x, "w": w, "a": a, "b": b}


PRUNED_GRAPHS = [(_shared_subgraph, ["x"]), (_shared_subgraph, ["s", "w"]),
                 (_non_leaf_in_the_middle, ["h"]), (_non_leaf_in_the_middle, ["h", "x"]),
                 (_two_outputs, ["x"]), (_two_outputs, ["w", "x"]), (_two_outputs, ["m"]),
                 (_split_pieces, ["a"]), (_split_pieces, ["b", "x"]), (_split_pieces, ["a", "w"])]
PRUNED_IDS = [f"{build.__name__[1:]}-{'+'.join(wanted)}" for build, wanted in PRUNED_GRAPHS]


def test_grad_runs_no_backward_that_leads_to_no_input(device):
    CountingSquare.received = []
    x, w = f64([0.5, -1.0]), f64([2.0, 3.0])
    expensive = CountingSquare.apply(w)  # leads only to w
    h = CountingSquare.apply(x)          # when h is wanted, its own node need not run
    out = (expensive * h * x).sum()
    gh, = ag.grad(out, h, retain_graph=True)
    assert CountingSquare.received == []
    np.testing.assert_allclose(gh.numpy(), w.numpy() ** 2 * x.numpy(), rtol=1e-12)
    gx, = ag.grad(out, x, retain_graph=True)
    assert len(CountingSquare.received) == 1  # h's node, which leads to x
    np.testing.assert_allclose(gx.numpy(), 3 * w.numpy() ** 2 * x.numpy() ** 2, rtol=1e-12)
    assert x.grad is None and w.grad is None
    out.backward()
    assert len(CountingSquare.received) == 3  # plain backward runs both


def test_grad_tells_a_running_node_which_of_its_inputs_are_not_wanted(device):
    """A node that ag.grad runs sees needs_input_grad False for an input that leads to
    nothing wanted, so it can skip that gradient (a weight's, when only the input's is
    asked for); plain backward sees what forward saw."""
    seen = []

    class Scale(ag.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            return x.data * w.data

        @staticmethod
        def backward(ctx, gy):
            seen.append(ctx.needs_input_grad)
            x, w = ctx.saved_tensors
            return (gy * w if ctx.needs_input_grad[0] else None,
                    gy * x if ctx.needs_input_grad[1] else None)

    x, w = f64([1.0, 2.0]), f64([3.0, 4.0])
    out = Scale.apply(x.exp(), w).sum()
    gx, = ag.grad(out, x, retain_graph=True)
    np.testing.assert_allclose(gx.numpy(), np.exp([1.0, 2.0]) * [3.0, 4.0], rtol=1e-12)
    gw, = ag.grad(out, w, retain_graph=True)
    np.testing.assert_allclose(gw.numpy(), np.exp([1.0, 2.0]), rtol=1e-12)
    out.backward()
    assert seen == [(True, False), (False, True), (True, True)]


def test_forward_sees_needs_input_grad_as_a_tuple_of_flags_one_per_argument(torch):
    """As PyTorch's: a tuple of bools, one per argument (so a forward may slice or unpack
    it either way). Under no_grad ours is all False, since nothing will take a gradient;
    PyTorch's still reports which inputs require grad."""
    def seen_by_forward(module, *args):
        seen = []

        class Probe(module.autograd.Function if module is torch else ag.Function):
            @staticmethod
            def forward(ctx, x, y, scale):
                seen.append(tuple(ctx.needs_input_grad[:2]) + (ctx.needs_input_grad,))
                return x * scale if module is torch else x.data * scale

            @staticmethod
            def backward(ctx, gy):
                return gy, None, None

        Probe.apply(*args)
        return seen[0]

    for module, tensor in ((ag, ag.tensor), (torch, torch.tensor)):
        x, y = tensor([1.0], requires_grad=True), tensor([2.0])
        assert seen_by_forward(module, x, y, 2.0) == (True, False, (True, False, False))
        assert seen_by_forward(module, y, y, 2.0) == (False, False, (False, False, False))
        with module.no_grad():
            expected = (False, False, (False, False, False)) if module is ag else (True, False, (True, False, False))
            assert seen_by_forward(module, x, y, 2.0) == expected


@pytest.mark.parametrize("build, wanted", PRUNED_GRAPHS, ids=PRUNED_IDS)
def test_grad_of_a_pruned_graph_matches_the_full_backward(build, wanted, device):
    outputs, grad_outputs, named = build(_Ops())
    got = ag.grad(outputs, [named[n] for n in wanted], grad_outputs)
    outputs, grad_outputs, named = build(_Ops())
    for n in wanted:
        if named[n].grad_fn is not None:
            named[n].retain_grad()
    ag.backward(outputs, grad_outputs)
    for n, g in zip(wanted, got):
        np.testing.assert_allclose(g.numpy(), named[n].grad.numpy(), rtol=1e-12, err_msg=n)


@pytest.mark.parametrize("build, wanted", PRUNED_GRAPHS, ids=PRUNED_IDS)
def test_grad_of_a_pruned_graph_matches_pytorch(build, wanted, device, torch):
    outputs, grad_outputs, named = build(_Ops())
    got = ag.grad(outputs, [named[n] for n in wanted], grad_outputs)
    outputs, grad_outputs, named = build(_Ops(torch))
    expected = torch.autograd.grad(outputs, [named[n] for n in wanted], grad_outputs)
    for n, g, e in zip(wanted, got, expected):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-12, err_msg=n)


def test_grad_prunes_a_deep_chain_without_recursion():
    # CPU only, as the million-op test above: the walk does not depend on the backend.
    x = ag.tensor([1.5], device="cpu", requires_grad=True)
    w = ag.tensor([2.0], device="cpu", requires_grad=True)
    y, z = x, w
    for _ in range(20_000):
        y, z = Neg.apply(y), Neg.apply(z)
    gx, = ag.grad((y * z).sum(), x)
    assert gx.numpy().tolist() == [2.0]


def test_allow_unused_with_a_pruned_graph(device):
    x, w, unused = f64([0.5, -1.0]), f64([2.0, 3.0]), f64([5.0])
    out = (x.exp() * w.tanh()).sum() + (w * w).sum()
    gx, gu = ag.grad(out, [x, unused], retain_graph=True, allow_unused=True)
    np.testing.assert_allclose(gx.numpy(), np.exp(x.numpy()) * np.tanh(w.numpy()), rtol=1e-12)
    assert gu is None
    with pytest.raises(RuntimeError, match=r"inputs\[1\].*allow_unused=True"):
        ag.grad(out, [x, unused])


def test_materialize_grads_and_only_inputs_as_torch(device, torch):
    x, unused = f64([0.5, -1.0]), ag.tensor([5.0], dtype=ag.float32, requires_grad=True)
    xt, unused_t = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True), torch.tensor([5.0], requires_grad=True)
    got = ag.grad((x * x).sum(), [x, unused], materialize_grads=True)
    want = torch.autograd.grad((xt * xt).sum(), [xt, unused_t], materialize_grads=True)
    for g, w in zip(got, want):
        assert g.dtype == ag.tensor(w.numpy()).dtype and g.device == device
        np.testing.assert_array_equal(g.numpy(), w.numpy())
    with pytest.raises(ValueError, match="allow_unused"):
        torch.autograd.grad((xt * xt).sum(), [xt, unused_t], allow_unused=False, materialize_grads=True)
    with pytest.raises(ValueError, match="cannot go with allow_unused=False"):
        ag.grad((x * x).sum(), [x, unused], allow_unused=False, materialize_grads=True)
    zero, = ag.grad((x * x).sum(), [unused], materialize_grads=True, create_graph=True)
    zero_t, = torch.autograd.grad((xt * xt).sum(), [unused_t], materialize_grads=True, create_graph=True)
    assert zero.requires_grad == zero_t.requires_grad is True  # differentiable again, to zero
    gx, = ag.grad((x * x).sum(), x, only_inputs=True)  # WGAN-GP code copied from PyTorch passes it
    np.testing.assert_array_equal(gx.numpy(), [1.0, -2.0])
    with pytest.warns(DeprecationWarning, match="only_inputs is deprecated"):
        ag.grad((x * x).sum(), x, only_inputs=False)


def test_second_derivative_through_a_pruned_graph(device):
    x, w = f64([0.5, -1.0]), f64([0.2, 0.7])
    e = w.exp()  # pruned from the first ag.grad, needed by the second
    g, = ag.grad((x.sin() * e).sum() + e.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), np.cos(x.numpy()) * np.exp(w.numpy()), rtol=1e-12)
    gx, gw = ag.grad(g.sum(), [x, w])
    np.testing.assert_allclose(gx.numpy(), -np.sin(x.numpy()) * np.exp(w.numpy()), rtol=1e-12)
    np.testing.assert_allclose(gw.numpy(), np.cos(x.numpy()) * np.exp(w.numpy()), rtol=1e-12)


def test_gradient_penalty_through_a_pruned_graph_matches_pytorch(device, torch):
    def penalty_grads(ops):
        x = ops.leaf([[0.3, -0.7, 1.1], [0.9, 0.1, -0.4]])
        w1 = ops.leaf([[0.2, -0.4, 0.1, 0.5], [0.7, 0.3, -0.5, 0.2], [-0.1, 0.6, 0.4, -0.3]])
        b, w2 = ops.leaf([0.1, -0.2, 0.3, 0.0]), ops.leaf([1.0, -0.5, 0.25, 0.8])
        critic = ((x @ w1 + b).tanh() @ w2).sum() + w2.exp().sum()  # w2.exp() is pruned
        g, = ops.grad(critic, x, create_graph=True)
        (((g * g).sum() - 1) ** 2).backward()
        return [t.detach().numpy() for t in (g, w1.grad, b.grad, w2.grad)]

    for got, expected in zip(penalty_grads(_Ops()), penalty_grads(_Ops(torch))):
        np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_grad_calls_hooks_and_retains_grads_as_pytorch_does(device, torch):
    def run(ops, wanted):
        seen = {}

        def watch(name, change=None):
            def hook(g):
                seen[name] = g.detach().numpy().copy()
                return None if change is None else change(g)
            return hook

        x, w, v = ops.leaf([1.0, 2.0]), ops.leaf([3.0, -4.0]), ops.leaf([0.5, 2.0])
        x.register_hook(watch("x", lambda g: g + 1))
        w.register_hook(watch("w"))           # leaves nobody asks for
        v.register_hook(watch("v"))           # (v's only consumer runs when x is wanted)
        a = x * 2
        a.register_hook(watch("a"))           # runs only when x is wanted
        b = w.exp()
        b.register_hook(watch("b"))           # pruned: leads only to w
        h = a * b * v
        h.retain_grad()
        h.register_hook(watch("h", lambda g: g * 10))
        r = w.tanh().sum()
        r.register_hook(watch("r"))           # an output with nothing wanted behind it
        grads = ops.grad([(h * h).sum(), r], [{"x": x, "h": h}[n] for n in wanted])
        retained = None if h.grad is None else h.grad.detach().numpy()
        return [g.detach().numpy() for g in grads], seen, retained, (x.grad, w.grad, v.grad)

    for wanted in (["h"], ["x"], ["h", "x"]):
        grads, seen, retained, leaf_grads = run(_Ops(), wanted)
        t_grads, t_seen, t_retained, _ = run(_Ops(torch), wanted)
        assert sorted(seen) == sorted(t_seen) and not {"b", "w", "v", "r"} & set(seen), wanted
        for name in seen:
            np.testing.assert_allclose(seen[name], t_seen[name], rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(retained, t_retained, rtol=1e-12)
        np.testing.assert_allclose(grads[-1], t_grads[-1], rtol=1e-12)
        assert leaf_grads == (None, None, None)
    # h's gradient always includes h's hooks. PyTorch 2.13 includes them only where h's
    # node does not run (wanted ["h"]); where it runs, it returns the gradient before them.
    grads, _, retained, _ = run(_Ops(), ["h", "x"])
    np.testing.assert_allclose(grads[0], retained, rtol=1e-12)


class FirstOnly(ag.Function):
    """a * 1, sending no gradient to b."""

    @staticmethod
    def forward(ctx, a, b):
        return a.data * 1

    @staticmethod
    def backward(ctx, g):
        return g, None


def test_grad_frees_saved_tensors_only_of_nodes_that_ran(device, torch):
    class TorchFirstOnly(torch.autograd.Function):
        forward = staticmethod(lambda ctx, a, b: a * 1)
        backward = staticmethod(lambda ctx, g: (g, None))

    def outcomes(ops, first_only):
        x, w = ops.leaf([0.5, -1.0]), ops.leaf([2.0, 3.0])
        e = w.exp()  # pruned: leads only to w
        s = w.sin()  # pruned, and no gradient reaches it
        h = x.exp()  # wanted: its gradient is taken as it arrives, so its node does not run
        out = (h * e).sum() + first_only(h, s).sum()
        gh, = ops.grad(out, h)
        np.testing.assert_allclose(gh.detach().numpy(), np.exp([2.0, 3.0]) + 1, rtol=1e-12)
        results = []
        for t in (e.sum(), s.sum(), h.sum(), out):
            try:
                t.backward()
                results.append("ok")
            except RuntimeError as error:
                assert "second time" in str(error)
                results.append("freed")
        return results

    assert outcomes(_Ops(), FirstOnly.apply) == outcomes(_Ops(torch), TorchFirstOnly.apply) == \
        ["ok", "ok", "ok", "freed"]


# --- grad modes -----------------------------------------------------------------------------
def test_no_grad_and_enable_grad_as_context_managers(device):
    x = f64([1.0])
    with ag.no_grad():
        assert not ag.is_grad_enabled()
        y = x * 2
        with ag.enable_grad():
            assert ag.is_grad_enabled()
            z = x * 2
        assert not ag.is_grad_enabled()
    assert ag.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None
    with ag.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    with pytest.raises(KeyError):
        with ag.no_grad():
            raise KeyError("restored even when the block raises")
    assert ag.is_grad_enabled()


def test_grad_modes_as_decorators(device):
    @ag.no_grad()
    def without(t):
        return t * 2, ag.is_grad_enabled()

    @ag.enable_grad()
    def with_grad(t):
        return t * 2

    @ag.set_grad_enabled(False)
    def off():
        return ag.is_grad_enabled()

    x = f64([1.0])
    y, enabled = without(x)
    assert not enabled and not y.requires_grad
    assert ag.is_grad_enabled()
    with ag.no_grad():
        assert with_grad(x).requires_grad
        assert not ag.is_grad_enabled()
    assert off() is False and ag.is_grad_enabled()


def test_inference_mode_switches_recording_as_torch(device, torch):
    x, xt = f64([1.0], requires_grad=True), torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    with ag.inference_mode(), torch.inference_mode():
        assert not (x * 2).requires_grad and (x * 2).requires_grad == (xt * 2).requires_grad
        with ag.inference_mode(False), torch.inference_mode(False):
            assert (x * 2).requires_grad and (xt * 2).requires_grad
            assert ag.is_grad_enabled() == torch.is_grad_enabled() is True
        assert ag.is_grad_enabled() == torch.is_grad_enabled() is False
    with ag.no_grad(), torch.no_grad(), ag.inference_mode(mode=False), torch.inference_mode(mode=False):
        assert ag.is_grad_enabled() == torch.is_grad_enabled() is True

    @ag.inference_mode
    def bare():
        return ag.is_grad_enabled()

    @ag.inference_mode(mode=False)
    def recording():
        return ag.is_grad_enabled()

    with ag.no_grad():
        assert bare() is False and recording() is True
    assert ag.is_grad_enabled() and bare() is False and ag.is_grad_enabled()


def test_grad_mode_is_thread_local():
    seen = {}

    def worker():
        seen["enabled"] = ag.is_grad_enabled()
        with ag.no_grad():
            seen["inner"] = ag.is_grad_enabled()

    with ag.no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        assert not ag.is_grad_enabled()
    assert seen == {"enabled": True, "inner": False}
    assert ag.is_grad_enabled()


# --- hooks ----------------------------------------------------------------------------------
def test_hooks_on_leaf_and_non_leaf_see_and_replace_gradients(device):
    x = f64([1.0, 2.0])
    y = x * 3
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()))    # observes only
    y.register_hook(lambda g: g * 10)                            # replaces
    x.register_hook(lambda g: g + 1)
    (y * y).sum().backward()
    np.testing.assert_allclose(seen[0], 2 * y.numpy())
    np.testing.assert_allclose(x.grad.numpy(), 2 * y.numpy() * 10 * 3 + 1)


def test_a_hook_must_return_a_gradient_like_the_one_it_was_given(device):
    x = f64([[1.0, 2.0], [3.0, 4.0]])
    y = x.relu()
    y.register_hook(lambda g: g.sum(0))  # the ReLU's backward would broadcast it
    with pytest.raises(RuntimeError, match=r"changed the gradient from shape \(2, 2\), float64 .* to shape \(2,\)"):
        y.sum().backward()
    w = f64([1.0, 2.0])
    w.register_hook(lambda g: g.astype("float32"))
    with pytest.raises(RuntimeError, match=r"float64 .* to shape \(2,\), float32"):
        (w * 2).sum().backward()
    v = f64([1.0, 2.0])
    v.register_hook(lambda g: g.numpy())
    with pytest.raises(TypeError, match=r"returned a ndarray; return a Tensor, or None"):
        (v * 2).sum().backward()
    assert w.grad is None and v.grad is None


def test_removed_hook_no_longer_runs(device):
    x = f64([1.0, 2.0])
    handle = x.register_hook(lambda g: g * 0)
    handle.remove()
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


# --- custom Functions ---------------------------------------------------------------------
class ScaledMulAdd(ag.Function):
    """(x * y + x) * scale, written with PyTorch's API."""
    needs_seen = []

    @staticmethod
    def forward(ctx, x, y, scale):
        ctx.save_for_backward(x, y)
        ctx.scale = scale
        return (x.data * y.data + x.data) * scale

    @staticmethod
    def backward(ctx, gout):
        x, y = ctx.saved_tensors
        ScaledMulAdd.needs_seen.append(tuple(ctx.needs_input_grad))
        gx = gout * (y + 1) * ctx.scale if ctx.needs_input_grad[0] else None
        gy = gout * x * ctx.scale if ctx.needs_input_grad[1] else None
        return gx, gy, None


def test_custom_function_with_pytorch_api(device):
    ScaledMulAdd.needs_seen = []
    x, y = f64([1.0, -2.0]), f64([0.5, 3.0], requires_grad=False)
    out = ScaledMulAdd.apply(x, y, 2.0)
    np.testing.assert_allclose(out.numpy(), (x.numpy() * y.numpy() + x.numpy()) * 2)
    out.sum().backward()
    assert ScaledMulAdd.needs_seen == [(True, False, False)]
    np.testing.assert_allclose(x.grad.numpy(), (y.numpy() + 1) * 2)
    assert y.grad is None


def test_custom_function_is_twice_differentiable(device):
    x, y = f64([1.0, -2.0]), f64([0.5, 3.0])
    fn = lambda a, b: ScaledMulAdd.apply(a, b, 1.5) * a  # noqa: E731  (second order in a and b)
    assert ag.gradcheck(fn, (x, y)) is True
    assert ag.gradgradcheck(fn, (x, y)) is True


class SinAndCos(ag.Function):
    """Two outputs, sin x and cos x; records what its backward received."""
    received = []

    @staticmethod
    def forward(ctx, x, materialize):
        ctx.set_materialize_grads(materialize)
        ctx.save_for_backward(x)
        return x._backend.xp.sin(x.data), x._backend.xp.cos(x.data)

    @staticmethod
    def backward(ctx, g_sin, g_cos):
        x, = ctx.saved_tensors
        SinAndCos.received.append((None if g_sin is None else g_sin.numpy(), None if g_cos is None else g_cos.numpy()))
        gx = 0
        if g_sin is not None:
            gx = gx + g_sin * ag.cos(x)
        if g_cos is not None:
            gx = gx - g_cos * ag.sin(x)
        return gx, None


@pytest.mark.parametrize("materialize", [True, False])
def test_set_materialize_grads_chooses_zeros_or_none_for_an_unused_output(device, materialize):
    SinAndCos.received = []
    x = f64([0.5, -1.0])
    s, _ = SinAndCos.apply(x, materialize)
    (s * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.cos(x.numpy()))
    (g_sin, g_cos), = SinAndCos.received
    np.testing.assert_allclose(g_sin, [3.0, 3.0])
    if materialize:
        np.testing.assert_array_equal(g_cos, [0.0, 0.0])
    else:
        assert g_cos is None


@pytest.mark.parametrize("materialize", [True, False])
def test_a_hook_on_an_output_that_received_no_gradient_gets_none_as_torch(device, torch, materialize):
    """As PyTorch: hooks and a retained grad on an output that received nothing see None
    (the backward itself gets zeros or None, as set_materialize_grads says)."""
    x = f64([0.5, -1.0])
    s, c = SinAndCos.apply(x, materialize)
    seen = []
    c.register_hook(lambda g: seen.append(g))
    c.retain_grad()
    s.sum().backward()
    assert seen == [None] and c.grad is None
    np.testing.assert_allclose(x.grad.numpy(), np.cos(x.numpy()))
    tx = torch.tensor([0.0, 1.0, 2.0, 3.0], requires_grad=True)
    ta, tb = tx.split(2)
    tseen = []
    tb.register_hook(lambda g: tseen.append(g))
    tb.retain_grad()
    ta.sum().backward()
    a, b = ag.tensor([0.0, 1.0, 2.0, 3.0], requires_grad=True).split(2)
    b.register_hook(lambda g: seen.append(g))
    b.retain_grad()
    a.sum().backward()
    assert tseen == [None] and tb.grad is None
    assert seen == [None, None] and b.grad is None


def test_a_hook_may_not_replace_a_missing_gradient(device):
    x = f64([0.5, -1.0])
    s, c = SinAndCos.apply(x, True)
    c.register_hook(lambda g: ag.ones(2, dtype="float64"))
    with pytest.raises(RuntimeError, match="for an output that received none .it was given None.; return None"):
        s.sum().backward()


def test_ag_grad_of_an_output_that_received_no_gradient_is_unused_as_torch(device, torch):
    SinAndCos.received = []
    x = f64([0.5, -1.0])
    s, c = SinAndCos.apply(x, False)
    with pytest.raises(RuntimeError, match=r"inputs\[1\] was not used .* pass allow_unused=True"):
        ag.grad(s.sum(), [x, c], retain_graph=True)
    gx, gc = ag.grad(s.sum(), [x, c], allow_unused=True)
    np.testing.assert_allclose(gx.numpy(), np.cos(x.numpy()))
    assert gc is None
    assert SinAndCos.received[-1][1] is None
    tx = torch.tensor([0.5, -1.0], requires_grad=True)
    ts, tc = tx.sin(), tx.cos()
    stacked = torch.stack([ts, tc]).unbind(0)  # one node with two outputs, as SinAndCos
    assert torch.autograd.grad(stacked[0].sum(), [tx, stacked[1]], allow_unused=True)[1] is None


class SortWithIndices(ag.Function):
    """Sorted values and the int64 indices that sort, as torch.sort returns them; with
    ``mark``, the values are marked non-differentiable too. Records what backward got."""
    received = []

    @staticmethod
    def forward(ctx, x, mark):
        order = x._backend.xp.argsort(x.data)
        ctx.order = order
        values = x._backend.xp.take(x.data, order)
        if mark:
            ctx.mark_non_differentiable(values)
        return values, order

    @staticmethod
    def backward(ctx, g_values, g_order):
        SortWithIndices.received.append((g_values.numpy(), g_order.numpy()))
        xp = g_values._backend.xp
        undo = xp.argsort(ctx.order)
        return ag.tensor(xp.take(g_values.data, undo), device=g_values.device), None


def test_integer_outputs_of_a_custom_function_are_not_differentiable_as_torch(device, torch):
    """As PyTorch: an int output (indices) is a plain tensor outside the graph; the float
    output is differentiated, and backward is given zeros for the int one."""
    SortWithIndices.received = []
    x = f64([3.0, 1.0, 2.0])
    values, order = SortWithIndices.apply(x, False)
    assert order.dtype == ag.int64 and not order.requires_grad and order.grad_fn is None and order.is_leaf
    assert values.requires_grad and values.grad_fn is not None
    (values * f64([1.0, 2.0, 3.0], requires_grad=False)).sum().backward()
    (g_values, g_order), = SortWithIndices.received
    np.testing.assert_array_equal(g_order, [0, 0, 0])
    tx = torch.tensor([3.0, 1.0, 2.0], dtype=torch.float64, requires_grad=True)
    tvalues, torder = torch.sort(tx)
    (tvalues * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    assert not torder.requires_grad
    np.testing.assert_array_equal(order.numpy(), torder.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    with pytest.raises(RuntimeError, match="output 0 does not require grad"):
        order.sum().backward()


class ArgMaxOf(ag.Function):
    @staticmethod
    def forward(ctx, x):
        return x._backend.xp.argmax(x.data)

    @staticmethod
    def backward(ctx, g):
        raise AssertionError("never called: its output takes no gradient")


def test_a_custom_function_with_one_integer_output_records_nothing(device):
    x = f64([3.0, 1.0, 2.0])
    i = ArgMaxOf.apply(x)
    assert i.item() == 0 and not i.requires_grad and i.grad_fn is None


def test_a_custom_forward_never_records_even_when_no_input_requires_grad(device, torch):
    """As PyTorch: forward runs with recording off whether or not the call is recorded,
    so Tensor ops in it on a parameter it closes over build no graph."""
    def run(lib, Function, w):
        seen = {}

        class ScaleByW(Function):
            @staticmethod
            def forward(ctx, x):
                seen["grad enabled"] = lib.is_grad_enabled()
                inner = w * 2.0
                seen["inner records"] = inner.requires_grad
                return (x * inner.detach()) if lib is not ag else x.data * inner.data

            @staticmethod
            def backward(ctx, g):
                return g
        ScaleByW.apply(w.detach())  # its input requires no grad: the call is not recorded
        return seen

    theirs = run(torch, torch.autograd.Function, torch.ones(3, dtype=torch.float64, requires_grad=True))
    ours = run(ag, ag.Function, ag.ones(3, dtype=ag.float64, device=device, requires_grad=True))
    assert ours == theirs == {"grad enabled": False, "inner records": False}
    assert ag.is_grad_enabled()


def test_mark_non_differentiable_as_torch(device):
    """A marked float output does not require grad (PyTorch's ctx.mark_non_differentiable),
    so nothing can flow back through it, and the node is never run."""
    SortWithIndices.received = []
    x = f64([3.0, 1.0, 2.0])
    values, order = SortWithIndices.apply(x, True)
    assert not values.requires_grad and values.grad_fn is None
    np.testing.assert_array_equal(values.numpy(), [1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        values.sum().backward()
    (x * 1).sum().backward()
    assert SortWithIndices.received == []
    floor = FloorOf.apply(f64([3.5, -1.5]))
    assert floor.tolist() == [3.0, -2.0] and not floor.requires_grad and floor.grad_fn is None


def _square_and_cube(ctx, x, x_values):
    """x**2, and x**3 marked non-differentiable; both saved (forward for either library)."""
    square, cube = x_values ** 2, x_values ** 3
    ctx.mark_non_differentiable(cube)
    ctx.save_for_backward(x, cube)
    return square, cube


def _square_and_cube_backward(ctx, g_square, g_cube):
    x, cube = ctx.saved_tensors
    return g_square * 2 * cube / (x * x)  # the saved cube, a constant, in the square's gradient


class SquareAndCube(ag.Function):
    forward = staticmethod(lambda ctx, x: _square_and_cube(ctx, x, x.data))
    backward = staticmethod(_square_and_cube_backward)


def test_a_saved_output_marked_non_differentiable_is_a_constant_under_create_graph(device, torch):
    """The saved cube comes back as a constant under create_graph, as in PyTorch: the
    second derivative of sum(2 x**3 / x**2 ...) treats it so (it used to join the graph)."""
    class TorchSquareAndCube(torch.autograd.Function):
        forward = staticmethod(lambda ctx, x: _square_and_cube(ctx, x, x))
        backward = staticmethod(_square_and_cube_backward)

    x = f64([1.0, 2.0, -0.5])
    g, = ag.grad(SquareAndCube.apply(x)[0].sum(), [x], create_graph=True)
    gg, = ag.grad(g.sum(), [x])
    tx = torch.tensor([1.0, 2.0, -0.5], dtype=torch.float64, requires_grad=True)
    tg, = torch.autograd.grad(TorchSquareAndCube.apply(tx)[0].sum(), [tx], create_graph=True)
    tgg, = torch.autograd.grad(tg.sum(), [tx])
    np.testing.assert_allclose(g.numpy(), tg.detach().numpy())
    np.testing.assert_allclose(gg.numpy(), tgg.numpy())


class FloorOf(ag.Function):
    """One float output, marked non-differentiable."""
    @staticmethod
    def forward(ctx, x):
        y = x._backend.xp.floor(x.data)
        ctx.mark_non_differentiable(y)
        return y


class WrongCube(ag.Function):
    """x**3 * w with a wrong gradient for w (2 x**3 instead of x**3)."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x.data ** 3 * w.data

    @staticmethod
    def backward(ctx, gy):
        x, w = ctx.saved_tensors
        return gy * 3 * x * x * w, gy * 2 * x ** 3


class FrozenSecondOrder(ag.Function):
    """x * x whose backward uses a constant 2x: right first, wrong second derivative."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data * x.data

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * ag.Tensor(2 * x.data, device=x.device)


def test_gradcheck_names_the_input_and_the_mismatch(device):
    with pytest.raises(ag.GradcheckError, match=r"input 1 .*backward gives .* numerical derivative is"):
        ag.gradcheck(WrongCube.apply, (f64([0.5, 1.2]), f64([0.7, -1.1])))
    assert issubclass(ag.GradcheckError, RuntimeError)


def test_gradgradcheck_catches_a_wrong_second_derivative(device):
    x = f64([0.5, 1.2])
    assert ag.gradcheck(FrozenSecondOrder.apply, (x,)) is True
    with pytest.raises(ag.GradcheckError, match=r"gradgradcheck: the gradient for input 0"):
        ag.gradgradcheck(FrozenSecondOrder.apply, (x,))


# --- in-place safety -----------------------------------------------------------------------
def test_changing_a_saved_tensor_in_place_fails_backward_naming_op_and_line(device):
    x = f64([[1.0, 2.0], [3.0, 4.0]])
    b = x * 1
    row = b[1]                      # a view: shares b's version counter
    loss = (row * row).sum()        # Mul saves the view
    line = next_line()
    b.mul_(3)                       # changing the base is caught through the view
    with pytest.raises(RuntimeError) as info:
        loss.backward()
    message = str(info.value)
    assert "Mul" in message
    assert f"{THIS_FILE}:{line}" in message
    assert "clone()" in message


def test_changing_a_saved_output_in_place_fails_backward(device):
    x = f64([1.0, 2.0])
    y = x.exp()                     # Exp saves its output
    line = next_line()
    y.add_(1)
    with pytest.raises(RuntimeError, match=rf"Exp: .*{THIS_FILE}:{line}"):
        y.sum().backward()


def test_a_saved_output_changed_through_a_later_alias_fails_backward(device):
    # The output's version counter is made only when something could change it (here
    # the detached alias and the view), after Exp saved it: Exp must still see the change.
    x = f64([1.0, 2.0])
    y = x.exp()
    alias = y.detach()
    with ag.no_grad():
        alias.mul_(2)
    with pytest.raises(RuntimeError, match=r"Exp: its output, saved for backward, was modified in place"):
        y.sum().backward()
    z = x.exp()
    view = z[0]
    with ag.no_grad():
        view.add_(1)
    with pytest.raises(RuntimeError, match=r"Exp: its output"):
        z.sum().backward()


def test_an_input_saved_after_earlier_in_place_changes_is_checked_from_that_version(device):
    w = f64([1.0, 2.0])
    with ag.no_grad():
        w.mul_(2)                   # version 1 before the op saves it
    x = f64([3.0, 4.0])
    (x * w).sum().backward()        # unchanged since it was saved: fine
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    loss = (x * w).sum()
    with ag.no_grad():
        line = next_line()
        w.add_(1)
    with pytest.raises(RuntimeError, match=rf"Mul: .*{THIS_FILE}:{line}.*version 2, expected 1"):
        loss.backward()


def test_next_functions_names_producers_and_output_numbers(device):
    x = f64([1.0, 2.0, 3.0, 4.0])
    a, b = ag.split(x, 2)
    y = b * 2 + a.exp()
    add = y.grad_fn
    (mul, mul_nr), (exp, exp_nr) = add.next_functions
    assert (mul.name, mul_nr, exp.name, exp_nr) == ("Mul", 0, "Exp", 0)
    (split, split_nr), constant = mul.next_functions
    assert (split.name, split_nr, constant) == ("Split", 1, (None, 0))  # PyTorch's pair for "no gradient"
    assert exp.next_functions[0] == (split, 0)
    assert split.next_functions[0] == (x, -1)
    # one argument with a producer, after a constant: kept without a tuple, shown in place
    z = ag.where(x > 2, a.exp().sum() * x, 0.0)
    constant, (mul, mul_nr), zero = z.grad_fn.next_functions
    assert (constant, mul.name, mul_nr, zero) == ((None, 0), "Mul", 0, (None, 0))
    assert mul.next_functions[1] == (x, -1)


def test_next_functions_has_pytorchs_none_pair_where_no_gradient_flows(torch):
    """PyTorch gives (None, 0) for an argument without a gradient, so code that unpacks
    every edge (``for fn, nr in node.next_functions``) works on ours too."""
    ours = ag.tensor([1.0, 2.0], requires_grad=True)
    theirs = torch.tensor([1.0, 2.0], requires_grad=True)
    for y, t in ((ours * 2, theirs * 2), (ours * ag.ones(2), theirs * torch.ones(2))):
        mine = [fn is None for fn, _ in y.grad_fn.next_functions]
        reference = [fn is None for fn, _ in t.grad_fn.next_functions]
        assert mine == reference == [False, True]
        assert y.grad_fn.next_functions[1] == t.grad_fn.next_functions[1] == (None, 0)


@needs_inline_attributes
def test_a_node_gets_no_dict_of_its_own_when_its_fields_are_first_set_late():
    """CPython stops adding attribute names to a class's shared table once many instances
    exist; the sole-producer fields, first set here after 3,000 nodes without them, must
    not give every later node a dict of its own (one more object for the collector)."""
    class Product(ag.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a.data * b.data

        @staticmethod
        def backward(ctx, gy):
            return gy, gy

    x, w = f64(np.ones(2)), f64(np.ones(2))
    for _ in range(3000):
        Product.apply(x, w)  # two producers: a tuple, and no _sole_arg or _n_args
    constant = f64(np.ones(2), requires_grad=False)
    y = Product.apply(x, constant)
    gc.collect()
    before = len(gc.get_objects())
    for _ in range(300):
        y = Product.apply(y, constant)
    gc.collect()
    assert (len(gc.get_objects()) - before) / 300 <= 1.05  # the node alone


@needs_inline_attributes
def test_the_field_table_leaves_room_for_a_custom_functions_own_attributes_and_names():
    """A custom Function may define a property named like an engine field, and set many
    ctx attributes of its own, without a dict per node."""
    class Busy(ag.Function):
        @property
        def trace(self):  # read-only, named like the field detect_anomaly sets
            return "mine"

        @staticmethod
        def forward(ctx, a):
            for i in range(14):
                setattr(ctx, f"value{i}", i)
            return a.data * 2

        @staticmethod
        def backward(ctx, gy):
            return gy * 2

    x = f64(np.ones(2))
    y = Busy.apply(x)
    gc.collect()
    before = len(gc.get_objects())
    for _ in range(200):
        y = Busy.apply(y)
    gc.collect()
    assert (len(gc.get_objects()) - before) / 200 <= 1.05
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0 ** 201] * 2)


@needs_inline_attributes
def test_a_recorded_op_leaves_few_objects_for_the_cyclic_collector(device):
    # On deep graphs Python's full collections, which visit every tracked object, cost
    # more than the ops: an op of one input and constants may leave its node and the
    # tuple of what it saved, and nothing more (here a third of the ops save a tensor).
    if device == "strict":
        pytest.skip("array-api-strict wraps each array in a Python object that the collector tracks")
    if device.startswith("cuda"):  # (1.67 per op measured on an H200, where the CPU's deep chains are the point)
        pytest.skip("CuPy's arrays, unlike NumPy's, are objects the collector tracks, with their memory blocks")
    x = f64(np.ones(4))
    a = f64(np.full(4, 0.5), requires_grad=False)

    def chain(n):
        y = x
        for _ in range(n):
            y = (y * a + a).tanh()
        return y

    chain(10)
    gc.collect()
    before = len(gc.get_objects())
    y = chain(1000)
    gc.collect()
    per_op = (len(gc.get_objects()) - before) / 3000
    assert per_op <= 1.4, per_op
    del y


@needs_inline_attributes
def test_a_node_keeps_the_shared_attribute_table_after_many_unrecorded_calls():
    """CPython stops adding names to a class's shared attribute table after about 30
    instances: after 40 unrecorded calls (a program's first ops on data, or an optimizer's
    under no_grad), every recorded node of the class got a dict of its own (one more
    object per node for the cyclic collector), unless the node fields were in the table."""
    class Twice(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x.data * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    plain = ag.ones(3)
    for _ in range(40):
        Twice.apply(plain)
    y = Twice.apply(ag.ones(3, requires_grad=True))
    assert not any(type(r) is dict for r in gc.get_referents(y.grad_fn))


def test_in_place_ops_on_non_leaves_are_differentiated(device):
    x, c = f64([1.0, 2.0]), f64([3.0, 5.0])
    b = x * x
    b.mul_(c)
    b.add_(c, alpha=2)
    b.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() * c.numpy())
    np.testing.assert_allclose(c.grad.numpy(), x.numpy() ** 2 + 2)
    # a clone is the fix the error message names: changing it leaves the original's graph intact
    y = x.exp()
    z = y.clone()
    z.mul_(2)
    x.grad = None
    (z + y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.exp(x.numpy()))


def test_relu_in_place_overwrites_its_input_and_is_differentiated(device):
    x = f64([-2.0, -0.5, 0.5, 3.0])
    h = x * 2
    data = h.data
    out = h.relu_()
    assert out is h and h.data is data                      # the same tensor, the same memory
    assert h.grad_fn.name == "ReluInPlace"
    np.testing.assert_array_equal(h.numpy(), [0.0, 0.0, 1.0, 6.0])
    (h * h).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0, 4.0, 24.0])   # 2 * (2 relu(2x)) where 2x > 0
    assert ag.gradcheck(lambda t: (t * 1).relu_(), [f64([-1.5, 0.25, 2.0])])
    assert ag.gradgradcheck(lambda t: ((t * 1).relu_() * t).sum(), [f64([-1.5, 0.25, 2.0])])


def test_relu_in_place_on_a_saved_tensor_fails_backward_naming_the_line(device):
    x = f64([-1.0, 2.0])
    y = x.exp() - 2                 # Sub saves nothing; Exp saves its own output
    loss = (y * y).sum()            # Mul saves y
    line = next_line()
    y.relu_()
    with pytest.raises(RuntimeError, match=rf"Mul: .*{THIS_FILE}:{line}"):
        loss.backward()
    z = x.exp()
    z.relu_()                       # Exp's saved output is overwritten
    with pytest.raises(RuntimeError, match=r"Exp: its output, saved for backward, was modified in place"):
        z.sum().backward()
    with pytest.raises(RuntimeError, match=r"relu_: .*leaf.*no_grad"):
        x.relu_()
    with pytest.raises(TypeError, match=r"relu_: expected a Tensor"):
        ag.relu_([1.0])


def test_in_place_change_of_a_max_or_min_fails_backward(device):
    # max/min return their kept-dims result reshaped: it must still count as the saved output
    for reduce in (lambda t: t.max(axis=1), lambda t: t.min(), lambda t: t.max(axis=0, keepdims=True)):
        x = f64([[-3.0, -1.0], [2.0, 5.0]])
        m = reduce(x)
        m.relu_()
        with pytest.raises(RuntimeError, match=r"(Max|Min): its output, saved for backward, was modified"):
            m.sum().backward()


def test_div_keeps_no_output_and_pow_its_output_only_for_the_exponent_gradient(device):
    x = f64([-3.0, 1.5])
    (x / 3).relu_().sum().backward()        # nothing saved the quotient: the overwrite is fine
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 1 / 3])
    x.grad = None
    ((x * 1) ** 3).relu_().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 3 * 1.5 ** 2])
    x.grad = None
    d = f64([2.0, 4.0])
    y = x / d                                # d needs a gradient: Div keeps x, not the output
    y.relu_()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 1 / 4])
    np.testing.assert_allclose(d.grad.numpy(), [0.0, -1.5 / 16])


def test_retain_grad_before_relu_in_place_follows_the_tensor(device):
    x = f64([-1.0, 2.0])
    h = x * 2
    h.retain_grad()
    h.relu_()
    (h * 3).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [3.0, 3.0])   # the gradient of h's new value, as PyTorch
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 6.0])


def test_an_alias_made_by_the_constructor_shares_the_version_counter(device):
    if device == "strict":
        pytest.skip("array-api-strict's asarray makes a new array: the constructor copies there")
    x = f64([-1.0, 2.0])
    s = (x.exp() - 2).sigmoid()             # Sigmoid saves its output
    alias = ag.Tensor(s, device=s.device)
    assert alias.data is s.data
    alias.relu_()
    with pytest.raises(RuntimeError, match=r"Sigmoid: its output"):
        s.sum().backward()


def test_relu_in_place_outside_the_graph(device):
    c = ag.tensor([-1.0, 2.0])
    assert c.relu_() is c and c.grad_fn is None and not c.requires_grad
    np.testing.assert_array_equal(c.numpy(), [0.0, 2.0])
    w = f64([-1.0, 2.0])
    with ag.no_grad():
        w.relu_()
    assert w.is_leaf and w.requires_grad
    np.testing.assert_array_equal(w.numpy(), [0.0, 2.0])


def test_in_place_on_a_leaf_that_requires_grad(device):
    w = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"add_: .*leaf.*no_grad"):
        w.add_(1.0)
    np.testing.assert_allclose(w.numpy(), [1.0, 2.0])
    with ag.no_grad():
        w.add_(1.0)
        w.mul_(2.0)
    np.testing.assert_allclose(w.numpy(), [4.0, 6.0])
    assert w.is_leaf and w.requires_grad and w.grad_fn is None


def test_in_place_through_a_view_of_a_leaf_that_requires_grad_is_refused(device):
    w = f64([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match=r"add_: this tensor is a view of a leaf tensor that requires grad"):
        w[0:2].add_(1.0)             # would change the leaf behind the graph's back
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match=r"mul_: this tensor is a view of a leaf tensor that requires grad"):
        w.reshape(3, 1).T.mul_(2.0)  # through views of any kind
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0, 3.0])
    assert w._version is None or w._version.value == 0
    with ag.no_grad():               # outside recording it is an ordinary update
        w[0:2].add_(1.0)
    np.testing.assert_array_equal(w.numpy(), [2.0, 3.0, 3.0])
    picked = w[np.array([0, 0])]     # advanced indexing copies, so it may be changed
    picked.mul_(2.0)
    picked.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [4.0, 0.0, 0.0])
    with pytest.raises(RuntimeError, match=r"add_: this tensor is a view of a leaf tensor that requires grad"):
        w[1:][0:1].add_(1.0)         # a view of a view of the leaf
    np.testing.assert_array_equal(w.numpy(), [2.0, 3.0, 3.0])


def _changes_through_views(x):
    y = x * 2.0
    row = y[1]
    row.mul_(3.0)                    # through a view: y's row changes, as in PyTorch
    y[:, 0] += 1.0                   # the view, then item assignment
    y.mul_(x)                        # the base changes after row was taken...
    row.add_(row * 1.0)              # ...and row still changes the current y
    row[2] = 5.0                     # item assignment into a view
    corner = y[0:2, 2:]
    corner.div_(x[0:2, 0:2] + 10.0)
    return (y * y).sum() + (row * row).sum()


def test_in_place_changes_through_views_match_pytorch(device, torch):
    x0 = np.random.default_rng(2).standard_normal((3, 4))
    x, xt = f64(x0), torch.tensor(x0, requires_grad=True)
    ours, theirs = _changes_through_views(x), _changes_through_views(xt)
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-12)
    ours.backward()
    theirs.backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    assert ag.gradcheck(_changes_through_views, (f64(x0),))
    assert ag.gradgradcheck(_changes_through_views, (f64(x0),))


def test_augmented_assignment_changes_the_tensor_in_place(device):
    # p -= lr * p.grad must change the model's parameter, not rebind a local name.
    w = f64([1.0, 2.0])
    alias = w
    (w * w).sum().backward()
    with ag.no_grad():
        w -= 0.25 * w.grad
        w *= 2.0
        w /= 4.0
        w += 1.0
    assert w is alias and w.is_leaf
    np.testing.assert_allclose(alias.numpy(), [1.25, 1.5])
    with pytest.raises(RuntimeError, match="a leaf tensor that requires grad cannot be changed in place"):
        w += 1.0


# --- anomaly detection -----------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_detect_anomaly_names_the_op_and_line_of_a_nan_forward(device):
    x = f64([-1.0, 1.0])
    with ag.detect_anomaly():
        line = next_line()
        with pytest.raises(RuntimeError, match=rf"Log.*{THIS_FILE}:{line + 1}"):
            ag.log(x)
    ag.log(f64([1.0]))  # fine again outside the context


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_detect_anomaly_catches_a_nan_gradient_in_backward(device):
    x = f64([0.0, 4.0])
    with ag.detect_anomaly():
        line = next_line()
        y = ag.sqrt(x).sum()         # finite forward, infinite gradient at 0
        with pytest.raises(RuntimeError, match=rf"backward of Sqrt.*{THIS_FILE}:{line}"):
            y.backward()
    # Without it, the inf goes through silently.
    z = ag.sqrt(f64([0.0])).sum()
    z.backward()


# --- errors -------------------------------------------------------------------------------
def test_shape_errors_name_the_op_and_the_shapes(device):
    with pytest.raises(ValueError, match=r"^add: cannot broadcast shapes \(3, 4\) and \(5,\)$"):
        ag.ones(3, 4) + ag.ones(5)
    with pytest.raises(ValueError, match=r"^matmul: shapes \(3, 4\) and \(5, 2\) do not align$"):
        ag.ones(3, 4) @ ag.ones(5, 2)


def test_backward_argument_errors(device):
    x = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"single-element output.*gradient="):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"shape \(3,\) but its output has shape \(2,\)"):
        (x * 2).backward(ag.ones(3, dtype="float64"))
    with pytest.raises(RuntimeError, match=r"does not require grad"):
        ag.ones(2).sum().backward()


def test_a_failed_in_place_op_changes_nothing(device):
    t = ag.tensor(np.arange(12.0).reshape(3, 4))
    before = t.numpy().copy()
    with pytest.raises(ValueError, match=r"add: cannot broadcast shapes \(3, 4\) and \(5,\)"):
        t.add_(ag.ones(5))
    with pytest.raises(ValueError, match=r"add_: the result has shape \(2, 3, 4\)"):
        t.add_(ag.ones(2, 3, 4))
    np.testing.assert_array_equal(t.numpy(), before)
    # nor does a rejected .grad
    x = f64([1.0, 2.0])
    x.grad = ag.tensor([1.0, 1.0], dtype="float64")
    with pytest.raises(ValueError):
        x.grad = ag.zeros(3, dtype="float64")
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_a_failed_in_place_op_keeps_the_graph_usable(device):
    x = f64([1.0, 2.0])
    b = x * x
    with pytest.raises(ValueError):
        b.mul_(ag.ones(3, dtype="float64"))
    b.sum().backward()  # b's version did not move, so Mul's saved input is still valid
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy())


@pytest.mark.skipif("strict" not in backends.available_devices(), reason="needs array-api-strict")
def test_mixing_devices_names_both():
    a = ag.ones(2, device="cpu")
    b = ag.ones(2, device="strict")
    with pytest.raises(ValueError, match=r"cpu and strict"):
        ag.mul(a, b)
    with pytest.raises(ValueError, match=r"strict.*cpu"):
        b.add_(a)
    np.testing.assert_array_equal(b.numpy(), [1.0, 1.0])


# --- regressions found in review -------------------------------------------------------

def test_a_none_gradient_still_releases_the_nodes_behind_it():
    """A backward returning None for an input that needs a gradient must not stall
    the walk: other paths into the same node still deliver their gradients."""
    class Half(ag.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a.data * 0.5

        @staticmethod
        def backward(ctx, g):
            return g * 0.5, None

    w = ag.tensor([1.0, 2.0], requires_grad=True)
    x = w * 1
    (Half.apply(x, x) + x * 3).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [3.5, 3.5])


def test_a_backward_returning_the_wrong_number_of_gradients_raises():
    class Short(ag.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a.data + b.data

        @staticmethod
        def backward(ctx, g):
            return (g,)

    a = ag.tensor([1.0], requires_grad=True)
    b = ag.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="Short.backward returned 1 gradients.*took 2 arguments"):
        Short.apply(a, b).sum().backward()


def test_trailing_none_gradients_for_optional_arguments_are_dropped_as_torch(torch):
    """A forward with an optional argument the caller left out: PyTorch drops the
    trailing Nones its backward returns for it; anything else stays an error."""
    def scale_function(lib):
        class Scale(lib.Function if lib is ag else lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k=2.0):
                ctx.k = k
                return x.data * k if lib is ag else x * k

            @staticmethod
            def backward(ctx, g):
                return g * ctx.k, None
        return Scale

    x, xt = ag.tensor([1.0, 3.0], requires_grad=True), torch.tensor([1.0, 3.0], requires_grad=True)
    scale_function(ag).apply(x).sum().backward()
    scale_function(torch).apply(xt).sum().backward()
    assert x.grad.tolist() == xt.grad.tolist() == [2.0, 2.0]

    class Extra(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x.data

        @staticmethod
        def backward(ctx, g):
            return g, g

    with pytest.raises(RuntimeError, match="Extra.backward returned 2 gradients.*took 1 arguments"):
        Extra.apply(x).sum().backward()


def test_fill_and_copy_on_graph_tensors_rewire_the_graph():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    y = w * 2
    y.zero_()
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 0.0])  # the old values no longer matter

    w = ag.tensor([1.0, 2.0], requires_grad=True)
    x = ag.zeros(2)
    x.copy_(w)  # x now holds w's values, and its gradient flows to w
    (x * 3).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0])


def test_in_place_on_a_scalar_reaches_views_and_detached_copies():
    p = ag.tensor(1.0)
    p.detach().add_(1)
    assert p.item() == 2.0
    s = ag.tensor([1.0, 2.0]).sum()
    alias = s.detach()
    s.mul_(2)
    assert alias.item() == 6.0


def test_a_gradient_seen_by_a_hook_is_not_changed_by_later_accumulation():
    a = ag.tensor([1.0, 1.0], requires_grad=True)
    b = ag.tensor([2.0, 2.0], requires_grad=True)
    seen = []
    y = a + b
    y.register_hook(seen.append)
    loss = (y * 3).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_array_equal(seen[0].numpy(), [3.0, 3.0])
    np.testing.assert_array_equal(a.grad.numpy(), [6.0, 6.0])


def test_manual_seed_reaches_devices_created_after_it():
    import backends as backends_module
    backends_module._backends.pop("strict", None)  # as if the device were first used after seeding
    ag.manual_seed(123)
    first = ag.randn(4, device="strict").numpy()
    ag.manual_seed(123)
    again = ag.randn(4, device="strict").numpy()
    np.testing.assert_array_equal(first, again)
    ag.manual_seed(0)
    assert not np.array_equal(ag.randn(4, device="strict").numpy(), first)


# --- ReLU's plain backward against PyTorch, under observers; saved outputs through views ---

@pytest.mark.parametrize("inplace", [False, True])
def test_relu_second_order_matches_pytorch(device, torch, inplace):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4))
    xa, xt = float64_leaves(torch, a)
    ya = (xa * 1.0).relu_() if inplace else ag.relu(xa)
    yt = torch.relu_(xt * 1.0) if inplace else torch.relu(xt)
    (ga,) = ag.grad((ya * ya * xa).sum(), [xa], create_graph=True)
    (gt,) = torch.autograd.grad((yt * yt * xt).sum(), [xt], create_graph=True)
    assert_close_to_torch(ga.detach(), gt)
    (gga,) = ag.grad((ga * ga).sum(), [xa])
    (ggt,) = torch.autograd.grad((gt * gt).sum(), [xt])
    assert_close_to_torch(gga, ggt)


@pytest.mark.parametrize("observer", ["anomaly", "profile"])
def test_relu_plain_backward_under_observers(device, torch, observer):
    a = np.array([[-1.0, 2.0, 0.0], [3.0, -4.0, 5.0]])
    xa, xt = float64_leaves(torch, a)
    with (ag.detect_anomaly() if observer == "anomaly" else ag.profiler.profile()) as obs:
        y = (ag.relu(xa) * 2.0).relu_()
        (y * ag.tensor(a, dtype=ag.float64)).sum().backward()
    (torch.relu_(torch.relu(xt) * 2.0) * torch.tensor(a)).sum().backward()
    assert_close_to_torch(xa.grad, xt.grad)
    if observer == "profile":
        backward = [e for e in obs.events if e.phase == "backward"]
        assert {"Relu", "ReluInPlace"} <= {e.name for e in backward}
        # the plain backward dispatches no ReluGrad op, so none is timed as a forward either
        assert "ReluGrad" not in {e.name for e in obs.events}


def test_relu_anomaly_nan_in_plain_backward_is_still_caught(device):
    x = ag.tensor([1.0, 2.0], dtype=ag.float64, requires_grad=True)
    with ag.detect_anomaly():
        y = ag.relu(x)
        with pytest.raises(RuntimeError, match="backward of Relu returned NaN or inf"):
            y.backward(ag.tensor([float("nan"), 1.0], dtype=ag.float64))


def test_a_saved_output_changed_through_a_view_still_fails_backward(device, torch):
    x = ag.tensor([0.5, -1.0, 2.0], dtype=ag.float64, requires_grad=True)
    y = ag.exp(x)          # Exp keeps its output for backward
    with ag.no_grad():
        y[1:].add_(1.0)    # the view's counter is y's: Exp must see this change
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()


def test_a_gradient_of_another_dtype_is_cast_to_its_outputs_as_in_pytorch(device, torch):
    x0 = np.array([1.0, -2.0, 3.0], np.float32)
    x, tx = ag.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    for g0 in (np.array([0.1, 0.2, 0.3]), np.array([1, 0, 2], np.int8)):
        x.grad, tx.grad = None, None
        (x * x).backward(ag.tensor(g0))
        (tx * tx).backward(torch.tensor(g0))
        assert x.grad.dtype == ag.float32
        np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    # under create_graph the cast is recorded: the seed's own gradient comes back in its dtype
    g = ag.tensor([0.1, 0.2, 0.3], dtype=ag.float64, requires_grad=True)
    (gx,) = ag.grad(x * x, x, g, create_graph=True)
    gx.sum().backward()
    assert g.grad.dtype == ag.float64
    np.testing.assert_allclose(g.grad.numpy(), 2 * x0, rtol=1e-6)


@pytest.mark.parametrize("path", ["through a node", "straight to the leaf", "through a view"])
def test_the_caller_s_gradient_is_never_added_into(path, device):
    """backward(gradient=g) no longer copies g up front; a leaf that would take g's array
    (or a view of it) as its .grad takes a copy, so later accumulation leaves g alone."""
    g = ag.tensor([1.0, 2.0, 3.0, 4.0])
    x = ag.ones(4, requires_grad=True)
    for _ in range(3):
        if path == "through a node":
            (x + 0).backward(g)
        elif path == "straight to the leaf":
            x.backward(g)
        else:
            x.reshape(2, 2).reshape(4).backward(g)
    np.testing.assert_array_equal(g.numpy(), [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 6.0, 9.0, 12.0])
    assert not np.shares_memory(x.grad.numpy(), g.numpy())


# --- a gradient made without create_graph ---------------------------------------------------------

def test_grad_of_a_gradient_made_without_create_graph_suggests_create_graph(device):
    """The usual cause (the first ag.grad lacked create_graph=True) is not in the
    message now, which only suggests requires_grad and no_grad."""
    x = ag.randn(3, requires_grad=True)
    (gx,) = ag.grad((x ** 3).sum(), x)
    with pytest.raises(RuntimeError, match="create_graph=True"):
        ag.grad(gx.sum(), x)


# --- a grad mode entered without its parentheses --------------------------------------------------

@pytest.mark.parametrize("name, called", [("no_grad", r"no_grad\(\)"), ("enable_grad", r"enable_grad\(\)"),
                                          ("inference_mode", r"inference_mode\(\)"),
                                          ("set_grad_enabled", r"set_grad_enabled\(False\)")])
def test_grad_mode_entered_without_parentheses_says_to_call_it_and_changes_nothing(device, name, called):
    """`with ag.no_grad:` got Python's "'type' object does not support the context manager
    protocol" (PyTorch's too), which does not point at the missing parentheses."""
    ran = []
    with pytest.raises(TypeError, match=rf"^with ag\.{name}: enters the class, not a grad mode; call it: "
                                        rf"with ag\.{called}:$"):
        with getattr(ag, name):
            ran.append(True)
    assert ran == [] and ag.is_grad_enabled()


def test_grad_modes_still_work_with_and_without_parentheses_as_decorators(device):
    @ag.no_grad
    def bare():
        return ag.is_grad_enabled()

    @ag.no_grad()
    def called():
        return ag.is_grad_enabled()

    with ag.no_grad():
        inside = ag.is_grad_enabled()
    assert (bare(), called(), inside, ag.is_grad_enabled()) == (False, False, False, True)


# --- hooks that cannot be called or are given the wrong tensors -----------------------------------

def test_tensor_hook_that_is_not_callable_is_refused_when_registered(device):
    """Now accepted, then backward fails with a bare "'int' object is not callable"."""
    x = ag.randn(3, requires_grad=True)
    with pytest.raises(TypeError, match=r"register_hook: the hook must be a function, got int"):
        x.register_hook(5)
    (x * 2).sum().backward()  # nothing was registered
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])


def _loss(a):
    return (a * a).sum()


def test_multi_grad_hook_given_one_tensor_is_refused_not_hung_on_its_rows():
    """tuple(x) gives x's rows, new tensors no backward reaches: fn was silently never called."""
    a = ag.ones(2, 2, requires_grad=True)
    with pytest.raises(TypeError, match=r"^register_multi_grad_hook: expected a sequence of Tensors, got Tensor; "
                                        r"pass \[x\] for one tensor"):
        ag.graph.register_multi_grad_hook(a, print)
    with pytest.raises(TypeError, match=r"^register_multi_grad_hook: expected a sequence of Tensors, got "
                                        r"builtin_function_or_method"):
        ag.graph.register_multi_grad_hook(print, [a])  # fn first


@pytest.mark.parametrize("second, error, message", [
    (np.ones(2), TypeError, r"tensors\[1\] is ndarray, not a Tensor"),
    (ag.ones(2), RuntimeError, r"tensors\[1\] does not require grad, so no backward reaches it; call "
                               r"\.requires_grad_\(\) on it first"),
], ids=["ndarray", "no-grad"])
def test_multi_grad_hook_names_the_bad_tensor_and_registers_nothing(second, error, message):
    a = ag.ones(2, requires_grad=True)
    calls = []
    with pytest.raises(error, match=rf"^register_multi_grad_hook: {message}"):
        ag.graph.register_multi_grad_hook([a, second], calls.append)
    _loss(a).backward()
    assert calls == [] and a.grad is not None
    with pytest.raises(ValueError, match=r"^register_multi_grad_hook: expected at least one Tensor, got an empty"):
        ag.graph.register_multi_grad_hook([], calls.append)


def test_a_node_hook_returning_too_many_gradients_says_how_many():
    a = ag.ones(2, requires_grad=True)
    y = a * 2
    y.grad_fn.register_prehook(lambda grads: (grads[0], grads[0]))
    with pytest.raises(TypeError, match=r"returned a tuple of 2; return a tuple of 1 output gradients"):
        y.sum().backward()


# --- a replacing hook on a non-leaf that ag.grad asks for, against PyTorch -----------------
def test_grad_of_a_non_leaf_input_with_a_replacing_hook_is_the_hooks_gradient_either_way(torch):
    # Kept on purpose (README): topograd gives the hooked gradient whether or not other inputs
    # are asked for. PyTorch 2.13 gives it when y is the only input, and the gradient before
    # the hook when the pass also runs y's own node, for x.
    def run(lib, inputs):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 3
        y.register_hook(lambda g: g * 2)
        grads = (ag.grad if lib is ag else torch.autograd.grad)((y * y).sum(), [x, y] if inputs == "both" else [y])
        return [numpy_or_none(g) for g in grads]

    same_nested(run(ag, "y"), run(torch, "y"))                 # [12, 24]: the hook's
    ours, theirs = run(ag, "both"), run(torch, "both")
    same_nested(ours[0], theirs[0])                            # x: [36, 72] in both
    np.testing.assert_array_equal(ours[1], [12.0, 24.0])       # y: the hook's, as when asked alone
    np.testing.assert_array_equal(theirs[1], [6.0, 12.0])      # PyTorch's: before the hook


# --- a leaf hook's returned gradient that it keeps, against PyTorch ----------------------
VALUES = np.array([1.0, 2.0, 3.0])


def test_a_gradient_a_leaf_hook_returns_and_keeps_is_not_added_into_as_torch(device, torch):
    for lib, (x, kept) in ((ag, (ag.tensor(VALUES, requires_grad=True), ag.full((3,), 7.0, dtype=ag.float64))),
                           (torch, (torch.tensor(VALUES, requires_grad=True), torch.full((3,), 7.0,
                                                                                        dtype=torch.float64)))):
        x.register_hook(lambda g, kept=kept: kept)
        (x * 2).sum().backward()
        (x * 2).sum().backward()
        np.testing.assert_array_equal(np.asarray(x.grad.tolist()), [14.0, 14.0, 14.0])
        np.testing.assert_array_equal(np.asarray(kept.tolist()), [7.0, 7.0, 7.0])


# --- accumulation into a .grad the user assigned ---------------------------------------------------


X = [0.5, -1.0, 2.0]


def values(t):
    return np.asarray(t.detach().numpy() if hasattr(t, "detach") else t)


def assert_close(got, want):
    np.testing.assert_allclose(values(got), values(want), rtol=1e-12, atol=1e-12)


def leaf(lib, data=X):
    return lib.tensor(data, dtype=lib.float64, requires_grad=True)


def test_accumulating_into_an_assigned_broadcast_view_gives_the_sum(device, torch):
    """x.grad = a row of broadcast_to(zeros(1, 3), (2, 3)), then backward: NumPy's broadcast
    views are read-only, so the in-place add failed with NumPy's "output array is read-only".
    PyTorch's row of an expanded tensor holds each element once and takes the sum; topograd
    now sums out of place (it cannot write that memory) and gives the same .grad."""
    x = leaf(ag)
    x.grad = ag.broadcast_to(ag.zeros((1, 3), dtype=ag.float64), (2, 3))[0]
    (x * x).sum().backward()
    tx = leaf(torch)
    tx.grad = torch.zeros((1, 3), dtype=torch.float64).expand(2, 3)[0]
    (tx * tx).sum().backward()
    assert_close(x.grad, tx.grad)


def test_accumulating_into_a_grad_that_repeats_elements_changes_no_leaf_half_way(device):
    """x.grad a plain tensor, w.grad = broadcast_to(zeros(1), (3,)): backward added into
    x.grad, then failed on w's (NumPy's read-only error), leaving one leaf's gradient
    counted and the other's not. (PyTorch refuses such a .grad at backward: "more than one
    element of the written-to tensor refers to a single memory location".) Now each leaf
    gets its sum; the broadcast .grad is replaced, not written."""
    x, w = leaf(ag), leaf(ag, [3.0, 4.0, 5.0])
    shared = ag.zeros(1, dtype=ag.float64)
    x.grad = ag.zeros(3, dtype=ag.float64)
    w.grad = ag.broadcast_to(shared, (3,))
    (x * w).sum().backward()
    assert_close(x.grad, [3.0, 4.0, 5.0])
    assert_close(w.grad, X)
    assert_close(shared, [0.0])


def test_accumulating_into_a_grad_on_read_only_memory_gives_the_sum():
    """A .grad made by ag.Tensor from a read-only NumPy array (one from np.frombuffer, say,
    or another tensor's .numpy()) shares that memory: the in-place add raised NumPy's
    "output array is read-only". The sum is now made out of place, as PyTorch's value."""
    torch = pytest.importorskip("torch")
    start = np.array([1.0, 2.0, 3.0])
    start.flags.writeable = False
    with backends.default_device("cpu"):  # (read-only host memory is the CPU's matter)
        x = leaf(ag)
    x.grad = ag.Tensor(start, device="cpu")
    (x * x).sum().backward()
    tx = leaf(torch)
    tx.grad = torch.tensor(start)
    (tx * tx).sum().backward()
    assert_close(x.grad, tx.grad)
    np.testing.assert_array_equal(start, [1.0, 2.0, 3.0])


def test_accumulating_into_a_grad_an_op_saved_fails_its_backward_as_torch(device, torch):
    """loss2 = (w * x.grad).sum() saves x.grad for w's gradient; a second backward then adds
    into x.grad in place. That add moved no version counter, so loss2.backward() read the
    new sum and gave w.grad [5, 7] where it is [2, 4], silently. PyTorch's AccumulateGrad
    counts the change and its backward refuses; so does topograd's now, naming the line."""
    def run(lib):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([1.0, 1.0], dtype=lib.float64, requires_grad=True)
        (x * x).sum().backward()
        loss2 = (w * x.grad).sum()
        (x * 3).sum().backward()  # x.grad += 3, in place
        loss2.backward()

    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        run(torch)
    with pytest.raises(RuntimeError, match=rf"Mul: a tensor it saved .* modified in place at .*{THIS_FILE}:"):
        run(ag)
    # A .grad that nothing saved still accumulates in place, into the same tensor.
    x = leaf(ag)
    (x * x).sum().backward()
    g = x.grad
    (x * x).sum().backward()
    assert x.grad is g
    assert_close(g, [2.0, -4.0, 8.0])


# --- ag.grad's inputs ----------------------------------------------------------------------------------


def test_grad_with_no_inputs_is_refused_as_by_pytorch(device, torch):
    """ag.grad(y, []) returned () without a word (backward(inputs=[]) already refused):
    a list of parameters filtered down to nothing went unnoticed. PyTorch raises
    "`inputs` argument to `grad()` cannot be empty."."""
    x = leaf(ag)
    with pytest.raises(ValueError, match=r"grad: inputs is empty"):
        ag.grad((x * x).sum(), [])
    tx = leaf(torch)
    # (PyTorch before 2.13 refused it in C++, with another error and message)
    error, message = (ValueError, "requires non-empty inputs") if torch_older_than("2.13") else \
        (RuntimeError, "cannot be empty")
    with pytest.raises(error, match=message):
        torch.autograd.grad((tx * tx).sum(), [])


def test_a_single_gradient_may_be_a_number_or_an_array():
    """One output's gradient given as a Python number or a NumPy array is taken as a tensor
    of the output's dtype (PyTorch's `tuple(2.0)` fails with "'float' object is not iterable");
    several outputs still need one gradient each."""
    x = ag.tensor(3.0, requires_grad=True)
    (x * x).backward(2.0)
    assert x.grad.item() == 12.0 and x.grad.dtype == ag.float32
    v = ag.tensor([1.0, 2.0], requires_grad=True)
    (g,) = ag.grad(v * v, v, grad_outputs=np.array([1.0, -1.0]))
    np.testing.assert_array_equal(g.numpy(), [2.0, -4.0])
    with pytest.raises(ValueError, match="got 2 outputs but 1 gradients"):
        ag.grad([v * 2, v * 3], v, grad_outputs=ag.ones(2))


def test_gradients_for_several_outputs_may_come_from_any_iterable():
    v = ag.tensor([1.0, 2.0], requires_grad=True)
    seeds = (ag.tensor([1.0, 1.0]), ag.tensor([0.5, 0.5]))
    (g,) = ag.grad([v * 2, v * 3], v, grad_outputs=(s for s in seeds))
    np.testing.assert_array_equal(g.numpy(), [3.5, 3.5])


# --- backward(inputs=...) with a non-leaf ---------------------------------------------------------

def test_backward_into_a_non_leaf_that_retains_its_grad_adds_the_gradient_once_as_torch(device, torch):
    """The pass filled the retained grad, and the inputs= step then added the same gradient
    again: twice PyTorch's."""
    x, tx = both(torch, [1.0, -2.0, 0.5])
    y, ty = x * 2.0, tx * 2.0
    y.retain_grad()
    ty.retain_grad()
    y.register_hook(lambda g: g * 10.0)
    ty.register_hook(lambda g: g * 10.0)
    (y * y).sum().backward(inputs=[y, x])
    (ty * ty).sum().backward(inputs=[ty, tx])
    close(y.grad, ty.grad)
    close(x.grad, tx.grad)


def test_backward_into_a_non_leaf_makes_it_retain_its_grad_as_torch(device, torch):
    """As PyTorch's: a non-leaf given as inputs= retains its grad from then on, so a later
    plain backward adds to it (topograd's stayed at the first pass's gradient)."""
    x, tx = both(torch, [1.0, -2.0, 0.5])
    y, ty = x.sin(), tx.sin()
    (y * y).sum().backward(inputs=[y], retain_graph=True)
    (ty * ty).sum().backward(inputs=[ty], retain_graph=True)
    assert y.retains_grad and ty.retains_grad
    assert x.grad is None and tx.grad is None
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    close(y.grad, ty.grad)
    close(x.grad, tx.grad)
