"""nn.utils.parametrize.transfer_parametrizations_and_params against PyTorch's: the receiving
module's state_dict keys and values, its forward and gradients, and the sharing (the
parametrization modules and the originals are the sending module's own objects, so a gradient
step through either trains both), for one and for several originals, one name or all; and
where it refuses what PyTorch gets wrong (a second transfer onto the same tensor)."""
import numpy as np
import pytest

import autograd as ag
import nn
from nn.utils import parametrize

from .parametrization_modules import affine, symmetric
from .torch_compare import run_both


def halves(lib):
    """Two originals (original0, original1), each half of the tensor."""
    class Halves(lib.Module):
        def forward(self, a, b):
            return a + b

        def right_inverse(self, w):
            return w / 4, 3 * w / 4
    return Halves()


def state_of(module):
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


def assert_same_state(ours, theirs):
    expected = state_of(theirs)
    assert list(ours.state_dict()) == list(expected)
    for key, value in ours.state_dict().items():
        np.testing.assert_allclose(value.numpy(), expected[key], rtol=1e-12, err_msg=key)


def linear_pairs(torch, n=3, seed=0):
    """A sending and a receiving Linear in both libraries, ours holding PyTorch's values."""
    torch.manual_seed(seed)
    pairs = []
    for _ in range(2):
        theirs = torch.nn.Linear(n, n).double()
        ours = nn.Linear(n, n, dtype=ag.float64)
        ours.load_state_dict(state_of(theirs))
        pairs.append((ours, theirs))
    return pairs


def x_of(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("chain", [[symmetric], [symmetric, affine], [halves, symmetric]])
def test_transfer_to_a_module_of_the_same_kind_matches_torch(torch, chain):
    (source, source_t), (target, target_t) = linear_pairs(torch)
    for make in chain:
        parametrize.register_parametrization(source, "weight", make(nn))
        torch.nn.utils.parametrize.register_parametrization(source_t, "weight", make(torch.nn))
    assert parametrize.transfer_parametrizations_and_params(source, target) is target
    torch.nn.utils.parametrize.transfer_parametrizations_and_params(source_t, target_t)
    assert type(target).__name__ == type(target_t).__name__ == "ParametrizedLinear"
    assert_same_state(target, target_t)  # the sender's originals, the receiver's own bias
    run_both(torch, target, target_t, x_of(5, 3))  # forward, input and parameter gradients
    # the same parametrization modules and originals, not copies, as in PyTorch
    for receiver, sender in [(target, source), (target_t, source_t)]:
        received, sent = receiver.parametrizations.weight, sender.parametrizations.weight
        assert len(received) == len(sent) == len(chain)
        assert all(p is q for p, q in zip(received, sent))
        assert all(p is q for p, q in zip(received.parameters(), sent.parameters()))


def test_a_step_on_the_receiver_trains_the_sender_as_in_torch(torch):
    (source, source_t), (target, target_t) = linear_pairs(torch, seed=3)
    parametrize.register_parametrization(source, "weight", symmetric(nn))
    torch.nn.utils.parametrize.register_parametrization(source_t, "weight", symmetric(torch.nn))
    parametrize.transfer_parametrizations_and_params(source, target)
    torch.nn.utils.parametrize.transfer_parametrizations_and_params(source_t, target_t)
    x = x_of(4, 3, seed=2)
    # both modules in one loss: the shared original gets the sum of their gradients
    loss = (target(ag.tensor(x, dtype=ag.float64)) * source(ag.tensor(x, dtype=ag.float64))).sum()
    loss_t = (target_t(torch.tensor(x)) * source_t(torch.tensor(x))).sum()
    loss.backward()
    loss_t.backward()
    original, original_t = source.parametrizations.weight.original, source_t.parametrizations.weight.original
    np.testing.assert_allclose(original.grad.numpy(), original_t.grad.numpy(), rtol=1e-10)
    nn.optim.SGD(target.parameters(), lr=0.1).step()
    torch.optim.SGD(target_t.parameters(), lr=0.1).step()
    assert_same_state(source, source_t)
    np.testing.assert_allclose(source.weight.detach().numpy(), source_t.weight.detach().numpy(), rtol=1e-12)


def test_a_tensor_the_receiver_lacks_is_made_from_the_parametrized_value(torch):
    (source, source_t), _ = linear_pairs(torch, seed=1)
    for module, lib in [(source, nn), (source_t, torch.nn)]:
        lib.utils.parametrize.register_parametrization(module, "weight", affine(lib))
        lib.utils.parametrize.register_parametrization(module, "bias", affine(lib))
    target, target_t = nn.Module(), torch.nn.Module()
    parametrize.transfer_parametrizations_and_params(source, target, "bias")
    torch.nn.utils.parametrize.transfer_parametrizations_and_params(source_t, target_t, "bias")
    assert_same_state(target, target_t)
    assert [n for n, _ in target.named_parameters()] == [n for n, _ in target_t.named_parameters()]
    np.testing.assert_allclose(target.bias.detach().numpy(), target_t.bias.detach().numpy(), rtol=1e-12)
    assert not parametrize.is_parametrized(target, "weight")
    parametrize.transfer_parametrizations_and_params(source, target, "weight")
    torch.nn.utils.parametrize.transfer_parametrizations_and_params(source_t, target_t, "weight")
    assert_same_state(target, target_t)


def test_an_unparametrized_sender_changes_nothing(torch):
    (source, source_t), (target, target_t) = linear_pairs(torch)
    assert parametrize.transfer_parametrizations_and_params(source, target, "weight") is target
    torch.nn.utils.parametrize.transfer_parametrizations_and_params(source_t, target_t, "weight")
    assert type(target) is nn.Linear
    assert_same_state(target, target_t)


def with_buffer(lib, w):
    class WithBuffer(lib.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("w", w)
    return WithBuffer()


def test_a_buffer_original_is_shared_as_a_buffer(torch):
    w, zeros = x_of(3, 3, seed=4), np.zeros((3, 3))  # the receiver's values can only come from the sender
    source, source_t = with_buffer(nn, ag.tensor(w, dtype=ag.float64)), with_buffer(torch.nn, torch.tensor(w))
    target, target_t = with_buffer(nn, ag.tensor(zeros, dtype=ag.float64)), with_buffer(torch.nn, torch.tensor(zeros))
    parametrize.register_parametrization(source, "w", symmetric(nn))
    torch.nn.utils.parametrize.register_parametrization(source_t, "w", symmetric(torch.nn))
    parametrize.transfer_parametrizations_and_params(source, target)
    torch.nn.utils.parametrize.transfer_parametrizations_and_params(source_t, target_t)
    assert_same_state(target, target_t)
    assert [n for n, _ in target.named_buffers()] == [n for n, _ in target_t.named_buffers()]
    assert target.parametrizations.w.original is source.parametrizations.w.original
    # Receiving module without the buffer: PyTorch makes a parameter and then cannot share the
    # buffer original (TypeError); here it is made as a buffer, shared.
    with pytest.raises(TypeError, match="cannot assign"):
        torch.nn.utils.parametrize.transfer_parametrizations_and_params(source_t, torch.nn.Module())
    bare = parametrize.transfer_parametrizations_and_params(source, nn.Module())
    assert [n for n, _ in bare.named_buffers()] == ["parametrizations.w.original"]
    assert list(bare.parameters()) == []
    assert bare.parametrizations.w.original is source.parametrizations.w.original
    np.testing.assert_allclose(bare.w.numpy(), source_t.w.numpy(), rtol=1e-12)


def test_an_unsafe_parametrization_transfers_unsafe(torch):
    class Transposed(nn.Module):
        def forward(self, x):
            return x.T
    source, target = nn.Linear(2, 3, dtype=ag.float64), nn.Linear(2, 3, dtype=ag.float64)
    parametrize.register_parametrization(source, "weight", Transposed(), unsafe=True)
    parametrize.transfer_parametrizations_and_params(source, target)
    assert target.weight.shape == (2, 3)
    np.testing.assert_array_equal(target.weight.numpy(), source.weight.numpy())
    assert target.parametrizations.weight.unsafe


def test_a_name_the_sender_has_not_parametrized_is_refused():
    source, target = nn.Linear(3, 3), nn.Linear(3, 3)
    parametrize.register_parametrization(source, "weight", symmetric(nn))
    before = {k: v.numpy().copy() for k, v in target.state_dict().items()}
    with pytest.raises(ValueError, match=r"from_module has no parametrization on 'bias' \(it has some on "
                                         r"\['weight'\]\)"):
        parametrize.transfer_parametrizations_and_params(source, target, "bias")
    assert type(target) is nn.Linear
    assert list(target.state_dict()) == list(before)


def test_a_second_transfer_onto_the_same_tensor_is_refused(torch):
    # PyTorch chains the parametrizations a second time: the receiver then computes another value
    (source, source_t), (target, target_t) = linear_pairs(torch)
    parametrize.register_parametrization(source, "weight", affine(nn))
    torch.nn.utils.parametrize.register_parametrization(source_t, "weight", affine(torch.nn))
    for _ in range(2):
        torch.nn.utils.parametrize.transfer_parametrizations_and_params(source_t, target_t)
    assert not torch.allclose(target_t.weight, source_t.weight)
    parametrize.transfer_parametrizations_and_params(source, target)
    for receiver in (target, source):
        with pytest.raises(ValueError, match=r"to_module is already parametrized on \['weight'\]"):
            parametrize.transfer_parametrizations_and_params(source, receiver)
    assert len(target.parametrizations.weight) == 1
    np.testing.assert_array_equal(target.weight.numpy(), source.weight.numpy())


def test_the_receiver_must_be_a_module():
    source = nn.Linear(3, 3)
    parametrize.register_parametrization(source, "weight", symmetric(nn))
    with pytest.raises(TypeError, match="to_module must be a Module, got dict"):
        parametrize.transfer_parametrizations_and_params(source, {})
