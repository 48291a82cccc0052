"""Hooks on graph nodes (grad_fn.register_prehook / register_hook, PyTorch's Node hooks) and
node metadata, against PyTorch: what they see, what a returned tuple replaces, their
order with tensor hooks, handles, and ag.grad."""
import numpy as np
import pytest

import autograd as ag
from tests.autograd.torch_pairs import numpy_or_none, same_nested

torch = pytest.importorskip("torch")

X, W = np.array([1.0, -2.0, 3.0]), np.array([0.5, 4.0, -1.0])


def _mul_graph(lib):
    x = lib.tensor(X, requires_grad=True)
    w = lib.tensor(W, requires_grad=True)
    return x, w, x * w


def _as_arrays(grads):
    return [None if g is None else g.detach().numpy().copy() for g in grads]


def _record(lib):
    """What each hook saw, in order, and the leaves' gradients after two hooks replaced some."""
    x, w, y = _mul_graph(lib)
    seen = []
    y.register_hook(lambda g: seen.append(("tensor hook", _as_arrays([g]))))
    y.grad_fn.register_prehook(lambda grad_outputs: seen.append(("prehook", _as_arrays(grad_outputs))))
    y.grad_fn.register_prehook(lambda grad_outputs: tuple(g * 2 for g in grad_outputs))
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: seen.append(
        ("hook", _as_arrays(grad_inputs), _as_arrays(grad_outputs))))
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: (grad_inputs[0], None))
    (y * lib.tensor([1.0, 10.0, 100.0])).sum().backward()
    return seen, x.grad.numpy(), w.grad


def test_node_hooks_see_and_replace_as_torchs():
    (ours, our_gx, our_gw), (theirs, their_gx, their_gw) = _record(ag), _record(torch)
    assert [entry[0] for entry in ours] == [entry[0] for entry in theirs] == ["tensor hook", "prehook", "hook"]
    for mine, other in zip(ours, theirs):
        for a, b in zip(mine[1:], other[1:]):
            assert len(a) == len(b)
            for u, v in zip(a, b):
                np.testing.assert_array_equal(u, v)
    np.testing.assert_array_equal(our_gx, their_gx)
    assert our_gw is None and their_gw is None  # the hook's None for w's gradient stopped it


def test_handles_remove_and_ag_grad_runs_the_hooks_of_the_nodes_it_passes():
    x, w, y = _mul_graph(ag)
    calls = []
    handle = y.grad_fn.register_prehook(lambda grad_outputs: calls.append("pre"))
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: calls.append("post"))
    (gx,) = ag.grad(y.sum(), x, retain_graph=True)
    np.testing.assert_array_equal(gx.numpy(), W)
    handle.remove()
    y.sum().backward()
    assert calls == ["pre", "post", "post"]


def test_a_hook_that_returns_a_wrong_tuple_is_refused_naming_the_fix():
    x, w, y = _mul_graph(ag)
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: (grad_inputs[0],))
    with pytest.raises(TypeError, match="return a tuple of 2 input gradients"):
        y.sum().backward()
    x, w, y = _mul_graph(ag)
    y.grad_fn.register_prehook(lambda grad_outputs: [1.0])
    with pytest.raises(TypeError, match="returned a float among the output gradients"):
        y.sum().backward()


def test_metadata_is_a_dict_kept_on_the_node():
    x, w, y = _mul_graph(ag)
    y.grad_fn.metadata["layer"] = "first"
    assert y.grad_fn.metadata == {"layer": "first"}
    assert (x * 2).grad_fn.metadata == {}


def _function(lib):
    return ag.Function if lib is ag else torch.autograd.Function


# --- node pre-hooks that return None, and outputs that received no gradient -------------

def _split(lib, x):
    return x.split(2) if lib is torch else ag.split(x, 2)


def _prehook_gives_none(lib, case):
    x = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    if case == "single output, another path":
        y = x * 3
        y.grad_fn.register_prehook(lambda grad_outputs: (None,))
        (y + x).sum().backward()
    elif case == "one of two outputs":
        a, b = _split(lib, x)
        a.grad_fn.register_prehook(lambda grad_outputs: (None, grad_outputs[1]))
        (a.sum() + b.sum() * 2).backward()
    elif case == "every output":
        a, b = _split(lib, x)
        a.grad_fn.register_prehook(lambda grad_outputs: (None, None))
        (a.sum() + b.sum() * 2 + x.sum()).backward()
    return numpy_or_none(x.grad)


@pytest.mark.parametrize("case", ["single output, another path", "one of two outputs", "every output"])
def test_a_pre_hook_may_take_gradients_away(case):
    # The op's backward was called with None: AttributeError or TypeError from inside it.
    same_nested(_prehook_gives_none(ag, case), _prehook_gives_none(torch, case))


def _custom_prehook_gives_none(lib, materialize):
    class Square(_function(lib)):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(materialize)
            ctx.save_for_backward(x)
            return x.data * x.data if lib is ag else x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return None if g is None else 2 * x * g

    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = Square.apply(x)
    y.grad_fn.register_prehook(lambda grad_outputs: (None,))
    y.sum().backward()
    return numpy_or_none(x.grad)


@pytest.mark.parametrize("materialize", [True, False])
def test_a_custom_function_gets_zeros_or_none_for_what_a_pre_hook_took(materialize):
    ours, theirs = _custom_prehook_gives_none(ag, materialize), _custom_prehook_gives_none(torch, materialize)
    same_nested(ours, theirs)
    if materialize:
        np.testing.assert_array_equal(ours, [0.0, 0.0])  # zeros went through its backward
    else:
        assert ours is None


def _hooks_on_split(lib):
    x = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    a, _ = _split(lib, x)
    seen = []
    a.grad_fn.register_prehook(lambda grad_outputs: seen.append(("pre", [numpy_or_none(g) for g in grad_outputs])))
    a.grad_fn.register_hook(
        lambda grad_inputs, grad_outputs: seen.append(("post", [numpy_or_none(g) for g in grad_outputs])))
    (a * 2).sum().backward()
    return seen, numpy_or_none(x.grad)


def test_node_hooks_see_none_for_an_output_that_received_no_gradient():
    # They saw the zeros that the engine fills in for the op's backward.
    ours, theirs = _hooks_on_split(ag), _hooks_on_split(torch)
    same_nested(ours, theirs)
    assert ours[0][0][1][1] is None


# --- what a node hook's grad_inputs hold -------------------------------------------------

def _post_hook_under_grad(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    w = lib.tensor([3.0, 4.0], requires_grad=True)
    y = x * w
    seen = []
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: seen.append([numpy_or_none(g) for g in grad_inputs]))
    grad = ag.grad if lib is ag else torch.autograd.grad
    (gx,) = grad(y.sum(), [x])
    return seen, numpy_or_none(gx)


def test_a_post_hook_sees_none_for_an_input_ag_grad_does_not_ask_for():
    # Mul had computed w's gradient at forward's word, and the hook saw it.
    ours, theirs = _post_hook_under_grad(ag), _post_hook_under_grad(torch)
    same_nested(ours, theirs)
    assert ours[0][0][1] is None


def _post_hook_shapes(lib):
    x = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    b = lib.tensor([1.0, 1.0, 1.0], requires_grad=True)
    y = x * b
    seen = []
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: seen.append([tuple(g.shape) for g in grad_inputs]))
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: (grad_inputs[0], grad_inputs[1] * 2))
    y.sum().backward()
    return seen, numpy_or_none(b.grad)


def test_a_post_hook_sees_each_gradient_in_its_input_s_shape():
    # A broadcast input's gradient reached the hooks unreduced, (2, 3) for b of (3,).
    ours, theirs = _post_hook_shapes(ag), _post_hook_shapes(torch)
    same_nested(ours, theirs)
    assert ours[0] == [[(2, 3), (3,)]]


def _custom_post_hook_sees(lib):
    class Double(_function(lib)):
        @staticmethod
        def forward(ctx, x):
            return x.data * 2 if lib is ag else x * 2

        @staticmethod
        def backward(ctx, g):  # a float64 gradient of a (1, 2) shape, for a float32 (2,) input
            g = (g * 2).reshape(1, 2)
            return g.astype(ag.float64) if lib is ag else g.double()

    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = Double.apply(x)
    seen = []
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: seen.append(
        (tuple(grad_inputs[0].shape), str(grad_inputs[0].dtype).replace("torch.", ""))))
    y.sum().backward()
    return seen, numpy_or_none(x.grad), str(x.grad.dtype).replace("torch.", "")


def test_a_custom_function_s_post_hook_sees_its_gradients_checked_cast_and_reduced():
    ours, theirs = _custom_post_hook_sees(ag), _custom_post_hook_sees(torch)
    same_nested(ours, theirs)
    assert ours[0] == [((2,), "float32")]


# --- what a node hook may return ---------------------------------------------------------

def _replaced(lib, hook_kind, change):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = lib.tensor([1.0, 1.0, 1.0])
    y = x * w

    def changed(g):
        if change == "dtype":
            return g.astype(ag.float64) if lib is ag else g.double()
        if change == "broadcastable shape":
            return g.sum()
        return g.reshape(1, 3)  # a bigger shape that sums back

    if hook_kind == "pre":
        y.grad_fn.register_prehook(lambda grad_outputs: (changed(grad_outputs[0]),))
    else:
        y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: (changed(grad_inputs[0]), None))
    y.sum().backward()
    return numpy_or_none(x.grad)


@pytest.mark.parametrize("hook_kind", ["pre", "post"])
@pytest.mark.parametrize("change", ["dtype", "broadcastable shape", "bigger shape"])
def test_a_node_hook_that_changes_a_gradient_s_dtype_or_shape_is_refused(hook_kind, change):
    # Taken as they were: a float64 .grad for a float32 leaf, or a scalar broadcast back
    # to every element (x.grad [3, 3, 3] for [1, 1, 1]).
    with pytest.raises(RuntimeError, match="has changed the"):
        _replaced(torch, hook_kind, change)
    with pytest.raises(RuntimeError, match="changed the gradient from shape"):
        _replaced(ag, hook_kind, change)


@pytest.mark.parametrize("lib", [ag, torch], ids=["ours", "torch"])
def test_a_node_hook_may_not_fill_a_gradient_that_is_none(lib):
    x = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    a, _ = _split(lib, x)
    a.grad_fn.register_prehook(lambda grad_outputs: (grad_outputs[0], lib.tensor([1.0, 1.0])))
    message = "received none" if lib is ag else "can't replace a None gradient"
    with pytest.raises(RuntimeError, match=message):
        a.sum().backward()


def _kept_replacement(lib, hook_kind):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    kept = lib.tensor([5.0, 5.0, 5.0])
    y = x + 1  # Add sends its output's gradient on as it is
    if hook_kind == "pre":
        y.grad_fn.register_prehook(lambda grad_outputs: (kept,))
    else:
        y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: (kept, None))
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    return numpy_or_none(kept), numpy_or_none(x.grad)


@pytest.mark.parametrize("hook_kind", ["pre", "post"])
def test_a_tensor_a_node_hook_returns_and_keeps_is_not_added_into(hook_kind):
    # x took the hook's tensor itself as its .grad, and the second backward added into
    # it in place: the hook's own tensor became [10, 10, 10].
    ours, theirs = _kept_replacement(ag, hook_kind), _kept_replacement(torch, hook_kind)
    same_nested(ours, theirs)
    np.testing.assert_array_equal(ours[0], [5.0, 5.0, 5.0])


def test_a_nodes_name_is_called_as_torchs_and_a_custom_ctx_may_keep_its_own():
    """PyTorch's Node.name() is a method: `loss.grad_fn.name()` raised "'str' object is not
    callable" here, where name is a property. And a custom Function's forward may set
    ctx.name, as PyTorch's ctx may; here the property refused it ("has no setter")."""
    nodes = {lib: (lib.tensor(X, requires_grad=True) * 2).exp().grad_fn for lib in (ag, torch)}
    assert (nodes[ag].name(), nodes[torch].name()) == ("Exp", "ExpBackward0")
    assert type(nodes[ag].name()) is str
    assert nodes[ag].name == f"{nodes[ag].name}" == "Exp"  # still the string it was, in messages too

    def labelled(lib):
        class Labelled(ag.Function if lib is ag else torch.autograd.Function):
            @staticmethod
            def forward(ctx, x, label):
                ctx.name = label
                return x * 3

            @staticmethod
            def backward(ctx, g):
                return g * len(ctx.name), None  # the label read back
        x = lib.tensor(X, requires_grad=True)
        y = Labelled.apply(x, "conv1")
        y.sum().backward()
        return y.grad_fn.name, x.grad.numpy()

    (our_name, ours), (their_name, theirs) = labelled(ag), labelled(torch)
    assert our_name == their_name == "conv1"
    np.testing.assert_array_equal(ours, theirs)
