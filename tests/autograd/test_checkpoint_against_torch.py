"""Activation checkpointing (ag.checkpoint, PyTorch's torch.utils.checkpoint): gradients equal
to the plain run's (bit for bit) and to PyTorch's checkpoint, dropout replayed, ag.grad,
create_graph, nesting, the memory it saves, and the errors."""
import collections
import tracemalloc
import warnings

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from autograd.checkpoint import CheckpointError, checkpoint, checkpoint_sequential

MODES = [False, True]


def _mlp(depth=4, width=6, seed=0):
    ag.manual_seed(seed)
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.Tanh()]
    return nn.Sequential(*layers).to(ag.float64)


def _grads(params):
    out = [None if p.grad is None else p.grad.numpy().copy() for p in params]
    for p in params:
        p.grad = None
    return out


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("reentrant", MODES)
def test_gradients_equal_the_plain_run_bit_for_bit(reentrant):
    model = _mlp()
    x = ag.randn(5, 6, dtype=ag.float64, requires_grad=True)
    params = [x, *model.parameters()]
    (model(x) ** 2).sum().backward()
    plain = _grads(params)
    y = checkpoint(model, x, use_reentrant=reentrant)
    (y ** 2).sum().backward()
    _assert_same(_grads(params), plain)


def test_several_inputs_outputs_kwargs_and_constants():
    ag.manual_seed(1)
    w = ag.randn(3, 3, dtype=ag.float64, requires_grad=True)
    a = ag.randn(2, 3, dtype=ag.float64, requires_grad=True)
    b = ag.randn(2, 3, dtype=ag.float64)  # takes no gradient

    def f(a, b, scale, *, shift):
        h = (a @ w + b * scale).sin()
        return h * shift, (b * 2.0, "tag"), {"idx": ag.argmax(h, axis=1), "a": a}

    def loss(out):
        y, (c, _), d = out
        return (y * y).sum() + (d["a"] * 3.0).sum()

    loss(f(a, b, 0.5, shift=ag.tensor(2.0, dtype=ag.float64))).backward()
    plain = _grads([a, w])
    out = checkpoint(f, a, b, 0.5, use_reentrant=False, shift=ag.tensor(2.0, dtype=ag.float64))
    y, (c, tag), d = out
    assert tag == "tag" and y.requires_grad and d["a"].requires_grad
    assert not c.requires_grad and not d["idx"].requires_grad  # as PyTorch's use_reentrant=False
    loss(out).backward()
    _assert_same(_grads([a, w]), plain)
    assert b.grad is None


def test_against_torch_checkpoint_with_copied_weights():
    torch = pytest.importorskip("torch")
    from torch.utils.checkpoint import checkpoint as torch_checkpoint
    model = _mlp(depth=3)
    tmodel = torch.nn.Sequential(*[torch.nn.Linear(6, 6) if i % 2 == 0 else torch.nn.Tanh() for i in range(6)]).double()
    tmodel.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    xs = np.random.default_rng(0).standard_normal((4, 6))
    x = ag.tensor(xs, requires_grad=True)
    tx = torch.tensor(xs, requires_grad=True)
    (checkpoint(model, x, use_reentrant=False) ** 3).sum().backward()
    (torch_checkpoint(tmodel, tx, use_reentrant=False) ** 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-14)
    for (name, p), tp in zip(model.named_parameters(), tmodel.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("reentrant", MODES)
def test_dropout_masks_are_replayed(reentrant):
    ag.manual_seed(3)
    w = ag.randn(8, 8, dtype=ag.float64, requires_grad=True)
    x = ag.randn(4, 8, dtype=ag.float64, requires_grad=True)

    def f(x):
        return F.dropout(x @ w, p=0.5, training=True).sum(axis=1)

    ag.manual_seed(7)
    y = f(x)
    ag.rand(5)  # a draw between forward and backward, which the recomputation must not undo
    y.sum().backward()
    after_plain = ag.rand(3).numpy()
    plain = _grads([x, w])
    ag.manual_seed(7)
    y = checkpoint(f, x, use_reentrant=reentrant)
    ag.rand(5)
    y.sum().backward()
    assert np.array_equal(ag.rand(3).numpy(), after_plain)  # the generator is put back after recomputing
    _assert_same(_grads([x, w]), plain)
    ag.manual_seed(7)
    checkpoint(f, x, use_reentrant=reentrant, preserve_rng_state=False).sum().backward()
    assert not np.array_equal(w.grad.numpy(), plain[1])  # other masks in the recomputation


@pytest.mark.parametrize("reentrant", MODES)
def test_ag_grad_and_backward_inputs(reentrant):
    model = _mlp(depth=2)
    x = ag.randn(3, 6, dtype=ag.float64, requires_grad=True)
    params = list(model.parameters())
    expected = ag.grad(model(x).sum(), params)
    got = ag.grad(checkpoint(model, x, use_reentrant=reentrant).sum(), params)
    _assert_same([g.numpy() for g in got], [g.numpy() for g in expected])
    assert all(p.grad is None for p in params)  # ag.grad fills no .grad, not even through the checkpoint
    checkpoint(model, x, use_reentrant=reentrant).sum().backward(inputs=[params[0]])
    np.testing.assert_array_equal(params[0].grad.numpy(), expected[0].numpy())
    assert params[1].grad is None and x.grad is None


def test_create_graph_matches_torch_second_derivatives():
    torch = pytest.importorskip("torch")
    from torch.utils.checkpoint import checkpoint as torch_checkpoint
    rng = np.random.default_rng(2)
    ws, xs = rng.standard_normal((3, 3)), rng.standard_normal((2, 3))
    w, x = ag.tensor(ws, requires_grad=True), ag.tensor(xs, requires_grad=True)
    tw, tx = torch.tensor(ws, requires_grad=True), torch.tensor(xs, requires_grad=True)
    y = checkpoint(lambda x: (x @ w).sin() * x.sum(), x, use_reentrant=False)
    ty = torch_checkpoint(lambda x: (x @ tw).sin() * x.sum(), tx, use_reentrant=False)
    gw, gx = ag.grad((y ** 2).sum(), [w, x], create_graph=True)
    tgw, tgx = torch.autograd.grad((ty ** 2).sum(), [tw, tx], create_graph=True)
    np.testing.assert_allclose(gw.numpy(), tgw.detach().numpy(), rtol=1e-12)
    second = ag.grad((gw ** 2).sum() + gx.sum(), [w, x])
    tsecond = torch.autograd.grad((tgw ** 2).sum() + tgx.sum(), [tw, tx])
    for a, b in zip(second, tsecond):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-11, atol=1e-13)


def test_nested_checkpoints_and_a_parameter_hook_run_once():
    model = _mlp(depth=4)
    x = ag.randn(3, 6, dtype=ag.float64, requires_grad=True)
    params = [x, *model.parameters()]
    calls = []
    params[1].register_hook(lambda g: calls.append(g.numpy().copy()))
    model(x).sum().backward()
    plain = _grads(params)

    def outer(x):
        h = checkpoint(model[:4], x, use_reentrant=False)
        return checkpoint(model[4:], h, use_reentrant=False)

    checkpoint(outer, x, use_reentrant=False).sum().backward()
    _assert_same(_grads(params), plain)
    assert len(calls) == 2 and np.array_equal(calls[0], calls[1])  # once per backward, on the whole gradient


@pytest.mark.parametrize("reentrant", MODES)
def test_checkpoint_sequential_gradients_and_memory(reentrant):
    model = _mlp(depth=16, width=256, seed=4).to("cpu")  # tracemalloc counts host memory only
    x = ag.randn(128, 256, dtype=ag.float64, requires_grad=True, device="cpu")
    params = [x, *model.parameters()]

    def kept_after_forward(run):
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            loss = run().sum()
            kept = tracemalloc.get_traced_memory()[0] - base
            return loss, kept
        finally:
            tracemalloc.stop()

    loss, plain_bytes = kept_after_forward(lambda: model(x))
    loss.backward()
    plain = _grads(params)
    loss, ckpt_bytes = kept_after_forward(lambda: checkpoint_sequential(model, 4, x, use_reentrant=reentrant))
    loss.backward()
    _assert_same(_grads(params), plain)
    # Plain: one (128, 256) float64 activation (256 KiB) per layer pair kept (Tanh's output is the next
    # Linear's input). Checkpointed: 3 segment inputs and the last segment's 4, and the outputs.
    activation = 128 * 256 * 8
    assert plain_bytes >= 16 * activation
    assert ckpt_bytes <= 9 * activation, (ckpt_bytes, plain_bytes)


def test_use_reentrant_left_out_warns_as_pytorch_and_defaults_to_true():
    x = ag.randn(3, dtype=ag.float64, requires_grad=True)
    with pytest.warns(UserWarning, match="pass use_reentrant explicitly"):
        y = checkpoint(ag.sin, x)
    with pytest.raises(ValueError, match="unexpected keyword arguments k"), pytest.warns(UserWarning):
        checkpoint(lambda x, k: x, x, k=1)  # True's rule
    with pytest.warns(UserWarning, match="checkpoint_sequential: pass use_reentrant"):
        checkpoint_sequential([ag.sin, ag.cos], 2, x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos(x.numpy()))


def test_errors():
    x = ag.randn(3, dtype=ag.float64, requires_grad=True)
    with pytest.raises(ValueError, match="context_fn and debug are only supported with use_reentrant=False"):
        checkpoint(ag.sin, x, use_reentrant=True, debug=True)
    with pytest.raises(ValueError, match="determinism_check should be one of"):
        checkpoint(ag.sin, x, use_reentrant=False, determinism_check="strict")
    for segments in (0, 3, 1.5):
        with pytest.raises(ValueError, match="segments must be an int from 1 to the number of functions"):
            checkpoint_sequential([ag.sin, ag.cos], segments, x, use_reentrant=False)
    y = checkpoint(ag.sin, x, use_reentrant=False)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.sum().backward()
    a = x * 1.0
    y = checkpoint(ag.sin, a, use_reentrant=False)
    a.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()
    calls = []

    def shape_changes(x):
        calls.append(1)
        return x[: len(calls)] * 2.0

    y = checkpoint(shape_changes, x, use_reentrant=False)
    with pytest.raises(CheckpointError, match="other shapes, dtypes or devices than the forward"):
        y.sum().backward()
    dtypes = ["float64", "float32"]

    def dtype_changes(x):  # the same shape, another dtype in the recomputation
        return (x * 2.0).astype(dtypes.pop(0))

    y = checkpoint(dtype_changes, x, use_reentrant=False)
    with pytest.raises(CheckpointError, match="other shapes, dtypes or devices than the forward"):
        y.sum().backward()


def test_a_tensor_met_only_in_the_recomputation_is_refused():
    w1 = ag.ones(3, dtype=ag.float64, requires_grad=True)
    w2 = ag.ones(3, dtype=ag.float64, requires_grad=True)
    use = [w1, w2]
    x = ag.randn(3, dtype=ag.float64, requires_grad=True)
    y = checkpoint(lambda x: x * use.pop(0), x, use_reentrant=False)
    with pytest.raises(CheckpointError, match="which the forward did not use"):
        y.sum().backward()


def test_without_grad_mode_it_is_a_plain_call():
    x = ag.randn(3, dtype=ag.float64, requires_grad=True)
    with ag.no_grad():
        y = checkpoint(ag.sin, x, use_reentrant=False)
    assert y.grad_fn is None and not y.requires_grad
    z = checkpoint(lambda x: x, x, use_reentrant=False)  # an input returned as it is
    (z * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 3.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nn.utils.checkpoint.checkpoint is checkpoint


def test_it_imports_from_pytorchs_path_too():
    from nn.utils.checkpoint import checkpoint, checkpoint_sequential
    assert checkpoint is ag.checkpoint.checkpoint and checkpoint_sequential is ag.checkpoint.checkpoint_sequential


# --- a review's findings -------------------------------------------------------------------------

def test_an_output_that_views_the_argument_shares_its_in_place_counter():
    """A view of the argument, changed in place, changed what backward recomputes from, and the
    gradient came out wrong (the plain run, and PyTorch, refuse the backward)."""
    a = ag.tensor(np.arange(1.0, 5.0), requires_grad=True)
    x = a * 1
    squares, view = ag.checkpoint.checkpoint(lambda t: (t * t, t.reshape(-1)), x, use_reentrant=False)
    view.mul_(10)
    with pytest.raises(RuntimeError, match="modified in place"):
        squares.sum().backward()


def test_a_function_that_changes_its_argument_in_place_is_refused():
    """Its recomputation started from the changed values and changed them again."""
    a = ag.tensor(np.arange(1.0, 4.0), requires_grad=True)
    x = a * 1

    def doubles_then_sines(t):
        t.mul_(2)
        return t.sin()
    with pytest.raises(RuntimeError, match=r"^checkpoint: function changed a tensor argument in place"):
        ag.checkpoint.checkpoint(doubles_then_sines, x, use_reentrant=False)



@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("determinism_check", ["default", "none"])
def test_a_tensor_changed_in_place_inside_a_list_or_dict_argument_is_refused(determinism_check, requires_grad):
    """Only top-level arguments were checked: one in a list or dict, recomputed from its
    changed values, gave silently wrong gradients (one requiring grad: none at all, or a
    misleading CheckpointError)."""
    w = ag.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)

    def triples_then_scales(tensors=None, named=None):
        t = tensors[0] if tensors is not None else named["t"]
        t.mul_(3)
        return (t * w).sin()
    for args, kwargs in ((([None],), {}), ((), {"named": {"t": None}})):
        x = ag.tensor(np.arange(1.0, 4.0), requires_grad=requires_grad) * 1
        if args:
            args[0][0] = x
        else:
            kwargs["named"]["t"] = x
        with pytest.raises(RuntimeError, match=r"^checkpoint: function changed a tensor argument in place"):
            checkpoint(triples_then_scales, *args, use_reentrant=False, determinism_check=determinism_check,
                       **kwargs)


def test_a_tensor_in_a_list_argument_changed_in_place_before_backward_is_refused():
    """The node saves only top-level tensor arguments, whose change the plain run's error
    catches; one in a list was recomputed from its new values, and w's gradient came out
    silently wrong (as PyTorch's does; the plain run refuses the backward)."""
    w = ag.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    a = ag.tensor(np.arange(1.0, 4.0))
    y = checkpoint(lambda tensors: (tensors[0] * w).sin(), [a], use_reentrant=False)
    with ag.no_grad():
        a.mul_(10)
    with pytest.raises(RuntimeError, match="list or dict argument was modified in place after the forward"):
        y.sum().backward()


def test_a_defaultdict_result_keeps_its_type_and_factory():
    """Rebuilding it as type(out)(pairs) raised defaultdict's own TypeError ("first argument
    must be callable or None"); PyTorch's checkpoint returns it."""
    x = ag.tensor(np.array([1.0, 2.0]), requires_grad=True)

    def f(t):
        out = collections.defaultdict(list)
        out["sin"] = t.sin()
        return out
    out = checkpoint(f, x, use_reentrant=False)
    assert type(out) is collections.defaultdict and out.default_factory is list
    out["sin"].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos([1.0, 2.0]))


@pytest.mark.parametrize("reentrant", MODES)
def test_a_tensor_met_first_under_no_grad_still_gets_its_gradient_as_torch(reentrant):
    """function(a) = a * (2 a computed under no_grad): the recomputation made its alias of a
    (and of a parameter) at the first op that met it, there under no_grad, so the alias was
    outside the graph, the later recorded ops took it too, and backward found no path:
    "grad: inputs[0] was not used". PyTorch's gradients are the plain run's, 2 a and b."""
    torch = pytest.importorskip("torch")
    from torch.utils.checkpoint import checkpoint as torch_checkpoint
    values, weights = np.array([1.0, -2.0, 3.0]), np.array([0.5, 4.0, -1.0])

    def run(lib, checkpointed):
        a, w = (lib.tensor(v, requires_grad=True) for v in (values, weights))

        def f(a):
            with lib.no_grad():
                doubled, scale = a * 2, w.sum()  # a and w are met here first
            return a * doubled * w / scale

        y = checkpointed(f, a) if checkpointed else f(a)
        (y ** 2).sum().backward()
        return a.grad.numpy(), w.grad.numpy()

    plain = run(ag, None)
    ours = run(ag, lambda f, a: checkpoint(f, a, use_reentrant=reentrant))
    theirs = run(torch, lambda f, a: torch_checkpoint(f, a, use_reentrant=False))
    for p, o, t in zip(plain, ours, theirs):
        np.testing.assert_array_equal(o, p)
        np.testing.assert_allclose(o, t, rtol=1e-14)
