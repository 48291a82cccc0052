"""A custom Function whose forward returns things other than tensors among its outputs
(``return y, 5``, ``return y, None``, ``return y, "label"``): as in PyTorch, each comes back
to the caller as it is (the same object, outside the graph), and backward is given None
for it whatever set_materialize_grads says. Each test runs the same code on topograd
and on PyTorch, and checks both against the same expected values."""
import numpy as np
import pytest

import autograd as ag

_LABEL = object()  # passed through as itself, not a copy
OTHERS = {"int": 5, "None": None, "str": "label", "float": 2.5, "object": _LABEL}


@pytest.fixture(params=["ours", "torch"])
def lib(request, device):
    if request.param == "ours":
        return ag
    if device != "cpu":
        pytest.skip("PyTorch runs once, on the CPU")
    return pytest.importorskip("torch")


def _base(lib):
    return ag.Function if lib is ag else lib.autograd.Function


def _grad(lib):
    return ag.grad if lib is ag else lib.autograd.grad


def _numpy(g):
    return None if g is None else g.detach().numpy()


def _doubled_with(lib, other, materialize, seen):
    class DoubledWith(_base(lib)):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(materialize)
            return x * 2, other

        @staticmethod
        def backward(ctx, gy, gother):
            seen.append((_numpy(gy), gother))
            return gy * 2

    return DoubledWith


@pytest.mark.parametrize("materialize", [True, False], ids=["materialized", "not_materialized"])
@pytest.mark.parametrize("other", list(OTHERS.values()), ids=list(OTHERS))
def test_a_recorded_call_returns_the_non_tensor_as_it_is_and_backward_gets_none_for_it(lib, other, materialize):
    seen = []
    x = lib.ones(3, requires_grad=True)
    y, returned = _doubled_with(lib, other, materialize, seen).apply(x)
    assert returned is other or (type(returned) is type(other) and returned == other)
    assert y.requires_grad and y.grad_fn is not None
    y.sum().backward()
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0][0], np.ones(3, np.float32))
    assert seen[0][1] is None
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 2.0, np.float32))


@pytest.mark.parametrize("how", ["no_grad", "no_input_requires_grad"])
@pytest.mark.parametrize("other", list(OTHERS.values()), ids=list(OTHERS))
def test_an_unrecorded_call_returns_the_non_tensor_as_it_is(lib, other, how):
    x = lib.ones(3, requires_grad=how == "no_grad")
    fn = _doubled_with(lib, other, True, [])
    if how == "no_grad":
        with lib.no_grad():
            y, returned = fn.apply(x)
    else:
        y, returned = fn.apply(x)
    assert returned is other or (type(returned) is type(other) and returned == other)
    assert not y.requires_grad and y.grad_fn is None
    np.testing.assert_array_equal(y.numpy(), np.full(3, 2.0, np.float32))


@pytest.mark.parametrize("materialize", [True, False], ids=["materialized", "not_materialized"])
def test_with_several_tensors_an_unused_tensor_gets_zeros_or_none_and_a_non_tensor_always_none(lib, materialize):
    seen, hooks_saw = [], []

    class Mixed(_base(lib)):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(materialize)
            return x * 2, "label", x * 3, None

        @staticmethod
        def backward(ctx, ga, glabel, gb, gnone):
            seen.append((_numpy(ga), glabel, _numpy(gb), gnone))
            return gb * 3

    x = lib.ones(2, requires_grad=True)
    a, label, b, nothing = Mixed.apply(x)
    assert label == "label" and nothing is None
    assert a.grad_fn is b.grad_fn is not None
    a.grad_fn.register_prehook(lambda grads: hooks_saw.append(tuple(_numpy(g) for g in grads)))
    b.sum().backward()
    ones = np.ones(2, np.float32)
    np.testing.assert_array_equal(x.grad.numpy(), np.full(2, 3.0, np.float32))
    (pre_a, pre_label, pre_b, pre_none), = hooks_saw
    assert pre_a is None and pre_label is None and pre_none is None
    np.testing.assert_array_equal(pre_b, ones)
    (ga, glabel, gb, gnone), = seen
    if materialize:
        np.testing.assert_array_equal(ga, np.zeros(2, np.float32))
    else:
        assert ga is None
    assert glabel is None and gnone is None
    np.testing.assert_array_equal(gb, ones)


def test_a_non_tensor_before_the_tensor_keeps_the_tensor_s_place(lib):
    seen = []

    class NoneFirst(_base(lib)):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return None, x * 2

        @staticmethod
        def backward(ctx, gnone, gy):
            seen.append((gnone, _numpy(gy)))
            (x,) = ctx.saved_tensors
            return gy * x

    x = lib.tensor([1.0, 2.0], requires_grad=True)
    nothing, y = NoneFirst.apply(x)
    assert nothing is None and (y._output_nr if lib is ag else y.output_nr) == 1
    (y * y).sum().backward()
    (gnone, gy), = seen
    assert gnone is None
    np.testing.assert_array_equal(gy, [4.0, 8.0])
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 16.0])


def test_setup_context_is_given_the_non_tensor_among_the_outputs(lib):
    seen = []

    class Labelled(_base(lib)):
        @staticmethod
        def forward(x):
            return x * x, "label"

        @staticmethod
        def setup_context(ctx, inputs, output):
            seen.append(output[1])
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, gy, glabel):
            seen.append(glabel)
            (x,) = ctx.saved_tensors
            return 2 * x * gy

    x = lib.tensor([1.0, -3.0], requires_grad=True)
    y, label = Labelled.apply(x)
    assert label == "label" and seen == ["label"]
    (gx,) = _grad(lib)(y.sum(), x, create_graph=True)  # twice differentiable through it
    assert seen == ["label", None]
    np.testing.assert_array_equal(gx.detach().numpy(), [2.0, -6.0])
    (gxx,) = _grad(lib)(gx.sum(), x)
    np.testing.assert_array_equal(gxx.numpy(), [2.0, 2.0])
    with lib.no_grad():
        y, label = Labelled.apply(x)
    assert label == "label" and not y.requires_grad


def test_a_tuple_of_non_tensors_only_comes_back_as_it_is(lib):
    class Nothing(_base(lib)):
        @staticmethod
        def forward(ctx, x):
            return 5, None

        @staticmethod
        def backward(ctx, a, b):
            return None

    assert Nothing.apply(lib.ones(2, requires_grad=True)) == (5, None)
    assert Nothing.apply(lib.ones(2)) == (5, None)


def test_a_library_op_that_returns_a_non_array_in_a_tuple_is_still_refused(device):
    """Only a Function written outside topograd passes such outputs through: in one of the
    library's own ops, it is a defect, named at once."""
    ours = type("Op", (ag.Function,), {"__module__": "autograd.ops.example",
                                       "forward": staticmethod(lambda ctx, x: (x.data, None)),
                                       "backward": staticmethod(lambda ctx, g, h: g)})
    for requires_grad in (True, False):
        with pytest.raises(TypeError, match=r"Op.forward returned NoneType None"):
            ours.apply(ag.ones(3, requires_grad=requires_grad, device=device))


@pytest.mark.parametrize("other", list(OTHERS.values()), ids=list(OTHERS))
def test_detect_anomaly_passes_the_non_tensor_through(lib, other):
    # detect_anomaly's forward check read every output's grad_fn: a str had none (AttributeError)
    seen = []
    x = lib.ones(3, requires_grad=True)
    with (ag.detect_anomaly() if lib is ag else lib.autograd.detect_anomaly()):
        y, returned = _doubled_with(lib, other, True, seen).apply(x)
        y.sum().backward()
    assert returned is other or (type(returned) is type(other) and returned == other)
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 2.0, np.float32))
