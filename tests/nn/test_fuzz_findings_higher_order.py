"""Higher-order gradients through the nn package, from a differential fuzz against PyTorch
in float64 (first gradients with create_graph, gradient penalties, Hessian-vector products
by ag.functional.hvp, third derivatives; convolutions, pooling, norms, embeddings,
attention, recurrent layers, losses, activations, resampling, padding, dropout). The fuzz
found no topograd mismatch; these tests keep the places it checked where nothing else
does: two where PyTorch's own second derivative is off and topograd's matches finite
differences, and Hessian-vector products through modules with their parameters."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from nn.utils.stateless import functional_call


def test_weight_norm_gradient_penalty_matches_finite_differences(device):
    """Second derivatives through parametrizations.weight_norm (input, magnitude g and
    direction v all differentiated). PyTorch's second derivatives in v differ from finite
    differences of its own first gradient (its fused weight-norm double backward: -1.30
    where they give -1.96 for one entry in the fuzz), so the reference is finite
    differences of topograd's first gradient."""
    layer = nn.utils.parametrizations.weight_norm(nn.Linear(3, 4, dtype=ag.float64))
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((2, 3)), dtype=ag.float64, requires_grad=True)
    names = [name for name, _ in layer.named_parameters()]
    params = [p for _, p in layer.named_parameters()]

    def run(x, *values):
        return functional_call(layer, dict(zip(names, values)), (x,)) ** 2

    assert ag.gradgradcheck(run, (x, *params))


def test_second_derivative_in_the_bias_alone_of_an_eval_batch_norm(device):
    """y = (x - mean) / sqrt(var + eps) + b with running statistics, f = sum(r * y^3), only
    b requiring grad: d/db <df/db, v> = sum over batch and space of 6 r y v. PyTorch 2.13
    finds b unused in its first gradient's graph (None with allow_unused, else an error)."""
    rng = np.random.default_rng(1)
    x0, r = rng.standard_normal((4, 3, 2)), rng.standard_normal((4, 3, 2))
    mean, var, b0, v = np.array([0.1, -0.2, 0.3]), np.array([1.5, 0.5, 2.0]), rng.standard_normal(3), 0.7
    b = ag.tensor(b0, dtype=ag.float64, requires_grad=True)
    y = F.batch_norm(ag.tensor(x0, dtype=ag.float64), ag.tensor(mean, dtype=ag.float64),
                     ag.tensor(var, dtype=ag.float64), None, b, training=False)
    g, = ag.grad((y ** 3 * ag.tensor(r, dtype=ag.float64)).sum(), [b], create_graph=True)
    h, = ag.grad(g.sum() * v, [b])
    y0 = (x0 - mean[:, None]) / np.sqrt(var[:, None] + 1e-5) + b0[:, None]
    np.testing.assert_allclose(h.numpy(), (6 * r * y0 * v).sum(axis=(0, 2)), rtol=1e-12)


def _lstm(lib, dtype):
    return lib.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2, dtype=dtype), (5, 2, 3)


def _gru(lib, dtype):
    return lib.GRU(3, 4, batch_first=True, bias=False, dtype=dtype), (2, 5, 3)


def _rnn_cell(lib, dtype):
    return lib.RNNCell(3, 4, nonlinearity="relu", dtype=dtype), (2, 3)


def _attention(lib, dtype):
    return lib.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True, kdim=3, vdim=5, dtype=dtype), None


MODULES = {"lstm-proj-bidirectional": _lstm, "gru-batch_first": _gru, "rnn_cell-relu": _rnn_cell,
           "attention-bias_kv-zero_attn": _attention}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_hvp_through_a_module_and_its_parameters_matches_torch(device, torch, name):
    """ag.functional.hvp (three backward passes, the last through grad_outputs) of
    sum(r * module(x)^2) in the input and every parameter, against PyTorch's hvp."""
    ours, shape = MODULES[name](nn, ag.float64)
    theirs, _ = MODULES[name](torch.nn, torch.float64)
    names = [n for n, _ in ours.named_parameters()]
    reference = dict(theirs.named_parameters())
    assert sorted(names) == sorted(reference)
    rng = np.random.default_rng(2)
    values = [rng.standard_normal(p.shape) * 0.5 for _, p in ours.named_parameters()]
    inputs = [rng.standard_normal(s) for s in ([(3, 2, 4), (2, 2, 3), (2, 2, 5)] if shape is None else [shape])]

    def scalar(wrap, module, call):
        def f(*leaves):
            n = len(inputs)
            out = call(module, dict(zip(names, leaves[n:])), tuple(leaves[:n]))
            out = out[0] if isinstance(out, tuple) else out
            r = np.random.default_rng(3).standard_normal(tuple(out.shape))  # the same r for both
            return (out ** 2 * wrap(r)).sum()
        return f

    directions = [rng.standard_normal(a.shape) for a in inputs + values]
    _, got = ag.functional.hvp(scalar(lambda a: ag.tensor(a, dtype=ag.float64), ours, functional_call),
                               tuple(ag.tensor(a, dtype=ag.float64) for a in inputs + values),
                               tuple(ag.tensor(d, dtype=ag.float64) for d in directions))
    _, expected = torch.autograd.functional.hvp(scalar(torch.tensor, theirs, torch.func.functional_call),
                                                tuple(torch.tensor(a) for a in inputs + values),
                                                tuple(torch.tensor(d) for d in directions))
    assert len(got) == len(expected)
    for i, (a, b) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-8, atol=1e-10, err_msg=f"leaf {i}")
