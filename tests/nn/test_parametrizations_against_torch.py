"""nn.utils.parametrize, nn.utils.parametrizations (weight_norm, spectral_norm) and the older
hook-based nn.utils.weight_norm and spectral_norm against PyTorch: state_dict keys, values and
gradients in float64 with PyTorch's originals (and spectral_norm's u and v) copied in, what
assignment, removal and caching do, the Module features a parametrized module keeps, and the
errors."""
import copy
import pickle
import warnings

import numpy as np
import pytest

import autograd as ag
import nn
from nn.utils import parametrize

from .parametrization_modules import affine, symmetric
from .torch_compare import run_both


# --- parametrizations written once for both libraries -------------------------------------------
def doubled(lib):
    """No right_inverse: assigning to the tensor is refused."""
    class Doubled(lib.Module):
        def forward(self, x):
            return x * 2
    return Doubled()


def rank_one(lib):
    """Two originals (original0, original1) from a tuple-returning right_inverse."""
    class RankOne(lib.Module):
        def forward(self, x, y):
            return x[:, None] * y[None, :]

        def right_inverse(self, z):
            return z.sum(1), z.sum(0) / z.sum()
    return RankOne()


def state_of(torch_module):
    return {k: v.detach().numpy() for k, v in torch_module.state_dict().items()}


def linear_pair(torch, n_in=3, n_out=4, seed=0):
    torch.manual_seed(seed)
    return nn.Linear(n_in, n_out, dtype=ag.float64), torch.nn.Linear(n_in, n_out).double()


def loaded(ours, theirs):
    """Copy PyTorch's state (its originals, u and v) into ours; the keys must be the same."""
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(state_of(theirs))
    return ours, theirs


def x_of(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


# --- register_parametrization ----------------------------------------------------------------------
@pytest.mark.parametrize("make", [symmetric, affine, rank_one, doubled])
def test_a_parametrized_linear_computes_and_differentiates_as_torch(torch, make):
    ours, theirs = linear_pair(torch, 4, 4)
    parametrize.register_parametrization(ours, "weight", make(nn))
    torch.nn.utils.parametrize.register_parametrization(theirs, "weight", make(torch.nn))
    loaded(ours, theirs)
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-12)
    run_both(torch, ours, theirs, x_of(5, 4))  # outputs, input and original grads


def test_registration_sets_the_originals_as_torch_and_keeps_the_weight_object(torch):
    ours, theirs = linear_pair(torch, 4, 4)
    ours.load_state_dict(state_of(theirs))
    weight = ours.weight
    parametrize.register_parametrization(ours, "weight", symmetric(nn))
    torch.nn.utils.parametrize.register_parametrization(theirs, "weight", symmetric(torch.nn))
    assert ours.parametrizations.weight.original is weight  # an optimizer built before still trains it
    for key, value in state_of(theirs).items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value, rtol=1e-12, err_msg=key)


def test_tuple_right_inverse_gives_original0_original1_as_torch(torch):
    ours, theirs = linear_pair(torch, 4, 4)
    ours.load_state_dict(state_of(theirs))
    parametrize.register_parametrization(ours, "weight", rank_one(nn))
    torch.nn.utils.parametrize.register_parametrization(theirs, "weight", rank_one(torch.nn))
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()] == [
        "bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    for key, value in state_of(theirs).items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value, rtol=1e-12, err_msg=key)
    assert all(p.requires_grad for p in ours.parameters())


def test_chained_parametrizations_apply_in_registration_order(torch):
    ours, theirs = linear_pair(torch, 4, 4)
    for make in (symmetric, affine):
        parametrize.register_parametrization(ours, "weight", make(nn))
        torch.nn.utils.parametrize.register_parametrization(theirs, "weight", make(torch.nn))
    assert list(ours.state_dict()) == ["bias", "parametrizations.weight.original"]
    assert len(ours.parametrizations.weight) == 2
    loaded(ours, theirs)
    run_both(torch, ours, theirs, x_of(3, 4))
    a = x_of(4, 4, seed=2)
    a = a + a.T
    ours.weight = ag.tensor(a)  # through Affine's right_inverse, then Symmetric's
    theirs.weight = torch.tensor(a)
    np.testing.assert_allclose(ours.parametrizations.weight.original.numpy(),
                               theirs.parametrizations.weight.original.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.weight.numpy(), a, rtol=1e-12)


@pytest.mark.parametrize("make", [symmetric, rank_one])
def test_assigning_goes_through_right_inverse_as_torch(torch, make):
    ours, theirs = linear_pair(torch, 4, 4)
    parametrize.register_parametrization(ours, "weight", make(nn))
    torch.nn.utils.parametrize.register_parametrization(theirs, "weight", make(torch.nn))
    loaded(ours, theirs)
    originals = list(ours.parameters())
    a = x_of(4, 4, seed=3)
    ours.weight = ag.tensor(a)
    theirs.weight = torch.tensor(a)
    assert list(ours.parameters()) == originals  # the same objects, new values
    for key, value in state_of(theirs).items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value, rtol=1e-12, err_msg=key)


def test_a_buffer_is_parametrized_as_a_buffer(torch):
    ours, theirs = nn.BatchNorm1d(3, dtype=ag.float64), torch.nn.BatchNorm1d(3).double()
    theirs.running_var.copy_(torch.tensor([0.5, 2.0, 3.0], dtype=torch.float64))
    for module, lib, lib_parametrize in ((ours, nn, parametrize), (theirs, torch.nn, torch.nn.utils.parametrize)):
        module.eval()
        lib_parametrize.register_parametrization(module, "running_var", doubled(lib))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert "parametrizations.running_var.original" in [n for n, _ in ours.named_buffers()]
    assert [n for n, _ in ours.named_parameters()] == ["weight", "bias"]
    loaded(ours, theirs)
    run_both(torch, ours, theirs, x_of(4, 3))


def test_registered_parametrization_takes_the_module_training_mode():
    module = nn.Linear(3, 3).eval()
    parametrization = symmetric(nn)
    parametrize.register_parametrization(module, "weight", parametrization)
    assert parametrization.training is False
    module.train()
    assert parametrization.training is True


def test_the_class_is_swapped_and_restored_as_torch(torch):
    ours, theirs = linear_pair(torch)
    parametrize.register_parametrization(ours, "weight", doubled(nn))
    torch.nn.utils.parametrize.register_parametrization(theirs, "weight", doubled(torch.nn))
    assert type(ours).__name__ == type(theirs).__name__ == "ParametrizedLinear"
    assert isinstance(ours, nn.Linear)
    assert parametrize.type_before_parametrizations(ours) is nn.Linear
    assert parametrize.is_parametrized(ours) and parametrize.is_parametrized(ours, "weight")
    assert not parametrize.is_parametrized(ours, "bias")
    assert repr(ours) == repr(theirs)
    parametrize.remove_parametrizations(ours, "weight")
    assert type(ours) is nn.Linear and not parametrize.is_parametrized(ours)
    assert "parametrizations" not in ours._modules


# --- remove_parametrizations -------------------------------------------------------------------------
@pytest.mark.parametrize("leave_parametrized", [True, False])
@pytest.mark.parametrize("make", [symmetric, affine])
def test_remove_leaves_the_value_torch_leaves(torch, make, leave_parametrized):
    ours, theirs = linear_pair(torch, 4, 4)
    parametrize.register_parametrization(ours, "weight", make(nn))
    torch.nn.utils.parametrize.register_parametrization(theirs, "weight", make(torch.nn))
    loaded(ours, theirs)
    original = ours.parametrizations.weight.original
    parametrize.remove_parametrizations(ours, "weight", leave_parametrized=leave_parametrized)
    torch.nn.utils.parametrize.remove_parametrizations(theirs, "weight", leave_parametrized=leave_parametrized)
    assert ours.weight is original  # the same Parameter, now plain again
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-12)
    run_both(torch, ours, theirs, x_of(2, 4))


def test_remove_with_several_originals(torch):
    ours, theirs = linear_pair(torch, 4, 4)
    parametrize.register_parametrization(ours, "weight", rank_one(nn))
    torch.nn.utils.parametrize.register_parametrization(theirs, "weight", rank_one(torch.nn))
    loaded(ours, theirs)
    with pytest.raises(ValueError, match="cannot go back to one original; pass leave_parametrized=True"):
        parametrize.remove_parametrizations(ours, "weight", leave_parametrized=False)
    assert parametrize.is_parametrized(ours, "weight")  # refused whole
    parametrize.remove_parametrizations(ours, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(theirs, "weight")
    assert isinstance(ours.weight, nn.Parameter) and ours.weight.is_leaf
    run_both(torch, ours, theirs, x_of(2, 4))


def test_removing_one_of_two_keeps_the_other(torch):
    ours, theirs = linear_pair(torch, 4, 4)
    for module, lib, lib_parametrize in ((ours, nn, parametrize), (theirs, torch.nn, torch.nn.utils.parametrize)):
        lib_parametrize.register_parametrization(module, "weight", symmetric(lib))
        lib_parametrize.register_parametrization(module, "bias", doubled(lib))
        lib_parametrize.remove_parametrizations(module, "weight")
    assert type(ours).__name__ == "ParametrizedLinear"
    loaded(ours, theirs)
    run_both(torch, ours, theirs, x_of(2, 4))


# --- cached() ---------------------------------------------------------------------------------------------
def test_cached_computes_each_tensor_once_in_its_block():
    calls = []

    class Counted(nn.Module):
        def forward(self, x):
            calls.append(1)
            return x * 2

    module = nn.Linear(3, 3)
    parametrize.register_parametrization(module, "weight", Counted())
    calls.clear()
    with parametrize.cached():
        first = module.weight
        with parametrize.cached():
            assert module.weight is first
        assert module.weight is first  # the inner block's exit keeps the outer's values
    assert len(calls) == 1
    assert module.weight is not first and len(calls) == 2
    np.testing.assert_array_equal(first.numpy(), module.weight.numpy())


def test_cached_weight_shared_by_two_calls_differentiates_as_torch(torch):
    ours, theirs = linear_pair(torch, 4, 4)
    parametrize.register_parametrization(ours, "weight", symmetric(nn))
    torch.nn.utils.parametrize.register_parametrization(theirs, "weight", symmetric(torch.nn))
    loaded(ours, theirs)
    x = x_of(2, 4)
    with parametrize.cached():
        out = ours(ours(ag.tensor(x))).sum()
    with torch.nn.utils.parametrize.cached():
        ref = theirs(theirs(torch.tensor(x))).sum()
    out.backward()
    ref.backward()
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12)
    grad = ours.parametrizations.weight.original.grad.numpy()
    np.testing.assert_allclose(grad, theirs.parametrizations.weight.original.grad.numpy(), rtol=1e-10)


# --- errors -----------------------------------------------------------------------------------------------
def test_a_missing_name_is_refused():
    module = nn.Linear(3, 4)
    with pytest.raises(ValueError, match="Linear has no parameter, buffer or parametrized tensor named 'wieght'"):
        parametrize.register_parametrization(module, "wieght", doubled(nn))
    with pytest.raises(ValueError, match="Linear.bias is None, so there is nothing to parametrize"):
        parametrize.register_parametrization(nn.Linear(3, 4, bias=False), "bias", doubled(nn))
    with pytest.raises(TypeError, match="the parametrization must be an nn.Module"):
        parametrize.register_parametrization(module, "weight", lambda x: x)
    with pytest.raises(ValueError, match="Linear has no parametrization on 'weight'"):
        parametrize.remove_parametrizations(module, "weight")
    assert type(module) is nn.Linear


class Shrink(nn.Module):
    def forward(self, x):
        return x[:2]


class ToFloat32(nn.Module):
    def forward(self, x):
        return x.astype(ag.float32)


@pytest.mark.parametrize("bad, message", [
    (Shrink, r"may not change the shape of the tensor without unsafe=True: the unparametrized tensor has shape "
             r"\(4, 3\), the result has shape \(2, 3\)"),
    (ToFloat32, "may not change the dtype of the tensor without unsafe=True: the unparametrized tensor is float64"),
])
def test_a_shape_or_dtype_change_needs_unsafe_and_a_refusal_changes_nothing(bad, message):
    module = nn.Linear(3, 4, dtype=ag.float64)
    before = {k: v.numpy().copy() for k, v in module.state_dict().items()}
    with pytest.raises(ValueError, match=message):
        parametrize.register_parametrization(module, "weight", bad())
    assert type(module) is nn.Linear and list(module.state_dict()) == list(before)
    parametrize.register_parametrization(module, "weight", doubled(nn))
    with pytest.raises(ValueError, match=message.replace("the unparametrized tensor", "module.weight")):
        parametrize.register_parametrization(module, "weight", bad())  # appended: checked too
    assert len(module.parametrizations.weight) == 1
    parametrize.register_parametrization(module, "weight", bad(), unsafe=True)
    assert module.parametrizations.weight.unsafe


def test_unsafe_shape_change_matches_torch(torch):
    class TakeTwo(torch.nn.Module):
        def forward(self, x):
            return x[:2]

    torch.manual_seed(0)
    ours, theirs = nn.Linear(3, 4, bias=False, dtype=ag.float64), torch.nn.Linear(3, 4, bias=False).double()
    parametrize.register_parametrization(ours, "weight", Shrink(), unsafe=True)
    torch.nn.utils.parametrize.register_parametrization(theirs, "weight", TakeTwo(), unsafe=True)
    loaded(ours, theirs)
    run_both(torch, ours, theirs, x_of(2, 3))  # a (2, 3) weight: two outputs
    parametrize.remove_parametrizations(ours, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(theirs, "weight")
    assert ours.weight.shape == tuple(theirs.weight.shape) == (2, 3)


def test_assignment_errors():
    module = nn.Linear(3, 3)
    parametrize.register_parametrization(module, "weight", doubled(nn))
    with pytest.raises(RuntimeError, match="Doubled does not implement right_inverse"):
        module.weight = ag.zeros((3, 3))
    with pytest.raises(KeyError, match="cannot assign a Parameter to 'weight': it is a property of ParametrizedLinear"):
        module.weight = nn.Parameter(ag.zeros((3, 3)))
    assert "weight" not in module._parameters
    symmetric_module = parametrize.register_parametrization(nn.Linear(3, 3), "weight", symmetric(nn))
    with pytest.raises(ValueError, match="right_inverse returned a tensor of dtype float64, but original is float32"):
        symmetric_module.weight = ag.zeros((3, 3), dtype=ag.float64)


def test_an_attribute_error_inside_a_parametrization_is_not_hidden():
    class Broken(nn.Module):
        def forward(self, x):
            return x * self.scale  # never set

    module = nn.Linear(3, 3)
    parametrize.register_parametrization(module, "weight", Broken(), unsafe=True)
    with pytest.raises(RuntimeError, match="computing the parametrized tensor 'weight' raised AttributeError.*scale"):
        module.weight


# --- Module features on a parametrized module ------------------------------------------------------------
def test_deepcopy_is_independent_and_pickle_is_refused(torch):
    ours, theirs = linear_pair(torch, 4, 4)
    parametrize.register_parametrization(ours, "weight", symmetric(nn))
    torch.nn.utils.parametrize.register_parametrization(theirs, "weight", symmetric(torch.nn))
    loaded(ours, theirs)
    replica = copy.deepcopy(ours)
    assert type(replica).__name__ == "ParametrizedLinear"
    replica.parametrizations.weight.original.data[...] = 0
    parametrize.remove_parametrizations(replica, "weight")
    assert type(replica) is nn.Linear and not np.any(replica.weight.numpy())
    assert type(ours).__name__ == "ParametrizedLinear"  # still parametrized, with its own values
    run_both(torch, ours, theirs, x_of(2, 4))
    with pytest.raises(RuntimeError, match="save its state_dict"):
        pickle.dumps(ours)


def test_to_dtype_moves_the_originals_and_buffers(torch):
    ours = nn.Linear(4, 3)
    nn.utils.parametrizations.spectral_norm(ours)
    ours.to(ag.float64)
    assert {t.dtype for t in ours.state_dict().values()} == {ag.float64}
    theirs = torch.nn.utils.parametrizations.spectral_norm(torch.nn.Linear(4, 3).double())
    loaded(ours, theirs)
    run_both(torch, ours, theirs, x_of(2, 4))


@pytest.mark.parametrize("kind", ["symmetric", "weight_norm", "spectral_norm"])
def test_sgd_trains_the_originals_as_torch(torch, kind):
    ours, theirs = linear_pair(torch, 4, 4)
    if kind == "symmetric":
        parametrize.register_parametrization(ours, "weight", symmetric(nn))
        torch.nn.utils.parametrize.register_parametrization(theirs, "weight", symmetric(torch.nn))
    else:
        getattr(nn.utils.parametrizations, kind)(ours)
        getattr(torch.nn.utils.parametrizations, kind)(theirs)
    loaded(ours, theirs)
    opt_ours = nn.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    opt_theirs = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    for step in range(3):
        x = x_of(5, 4, seed=step)
        for model, opt, tensor in ((ours, opt_ours, ag.tensor), (theirs, opt_theirs, torch.tensor)):
            opt.zero_grad()
            (model(tensor(x)) ** 2).mean().backward()
            opt.step()
    for key, value in state_of(theirs).items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value, rtol=1e-10, atol=1e-12, err_msg=key)


# --- parametrizations.weight_norm ------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, -2, None, -1])
def test_weight_norm_as_torch(torch, dim):
    torch.manual_seed(0)
    theirs = torch.nn.Conv2d(2, 3, 2).double()
    ours = nn.Conv2d(2, 3, 2, dtype=ag.float64)
    ours.load_state_dict(state_of(theirs))
    nn.utils.parametrizations.weight_norm(ours, dim=dim)
    torch.nn.utils.parametrizations.weight_norm(theirs, dim=dim)
    for key, value in state_of(theirs).items():  # g computed from the same weight
        assert ours.state_dict()[key].shape == value.shape, key
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value, rtol=1e-12, err_msg=key)
    run_both(torch, ours, theirs, x_of(2, 2, 4, 4))


def test_weight_norm_loads_the_older_keys(torch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        older = torch.nn.utils.weight_norm(torch.nn.Linear(3, 4).double())
    older.weight_g.data.mul_(1.5)
    ours = nn.utils.parametrizations.weight_norm(nn.Linear(3, 4, dtype=ag.float64))
    ours.load_state_dict(state_of(older))
    x = x_of(2, 3)
    np.testing.assert_allclose(ours(ag.tensor(x)).numpy(), older(torch.tensor(x)).detach().numpy(), rtol=1e-12)


def test_weight_norm_refuses_a_bad_dim_before_changing_anything():
    module = nn.Linear(3, 4)
    with pytest.raises(IndexError, match=r"weight_norm: dim 2 is out of range for a weight of 2 dimensions"):
        nn.utils.parametrizations.weight_norm(module, dim=2)
    assert type(module) is nn.Linear and list(module.state_dict()) == ["weight", "bias"]


# --- parametrizations.spectral_norm ----------------------------------------------------------------------
@pytest.mark.parametrize("make, x_shape", [
    (lambda lib, **kw: lib.Linear(4, 3, **kw), (2, 4)),
    (lambda lib, **kw: lib.Conv2d(2, 3, 2, **kw), (2, 2, 4, 4)),
    (lambda lib, **kw: lib.ConvTranspose2d(2, 3, 2, **kw), (2, 2, 3, 3)),  # dim=1 by default
])
def test_spectral_norm_trains_and_evaluates_as_torch_with_the_same_u_v(torch, make, x_shape):
    torch.manual_seed(0)
    theirs = torch.nn.utils.parametrizations.spectral_norm(make(torch.nn).double())
    ours = nn.utils.parametrizations.spectral_norm(make(nn, dtype=ag.float64))
    loaded(ours, theirs)
    for step in range(2):  # training mode: a power-iteration step per forward, u and v compared after
        run_both(torch, ours, theirs, x_of(*x_shape, seed=step))
        ours.zero_grad()
        theirs.zero_grad()
    ours.eval()
    theirs.eval()
    u = ours.parametrizations.weight[0]._u.numpy().copy()
    run_both(torch, ours, theirs, x_of(*x_shape, seed=5))  # the stored u and v, unchanged
    np.testing.assert_array_equal(ours.parametrizations.weight[0]._u.numpy(), u)


def test_spectral_norm_registration_iterates_to_the_largest_singular_value(torch):
    rng = np.random.default_rng(0)
    left, _ = np.linalg.qr(rng.standard_normal((5, 3)))
    right, _ = np.linalg.qr(rng.standard_normal((4, 3)))
    weight = left @ np.diag([10.0, 1.0, 0.5]) @ right.T  # a large gap: 15 steps converge from any start
    module = nn.Linear(4, 5, dtype=ag.float64)
    with ag.no_grad():
        module.weight.copy_(weight)
    module.eval()  # no step at the forward, so what is seen is the registration's 15
    nn.utils.parametrizations.spectral_norm(module)
    sn = module.parametrizations.weight[0]
    np.testing.assert_allclose(abs(sn._u.numpy()), abs(left[:, 0]), atol=1e-12)
    np.testing.assert_allclose(abs(sn._v.numpy()), abs(right[:, 0]), atol=1e-12)
    np.testing.assert_allclose(module.weight.numpy(), weight / 10.0, rtol=1e-10)


def test_spectral_norm_of_a_vector_normalizes_it(torch):
    torch.manual_seed(0)
    theirs = torch.nn.utils.parametrizations.spectral_norm(torch.nn.Linear(3, 4).double(), name="bias")
    ours = nn.utils.parametrizations.spectral_norm(nn.Linear(3, 4, dtype=ag.float64), name="bias")
    loaded(ours, theirs)
    run_both(torch, ours, theirs, x_of(2, 3))


def test_spectral_norm_errors():
    module = nn.Linear(3, 4)
    with pytest.raises(ValueError, match="spectral_norm: Linear has no parameter or buffer named 'wieght'"):
        nn.utils.parametrizations.spectral_norm(module, name="wieght")
    with pytest.raises(IndexError, match="spectral_norm: dim 2 is out of range"):
        nn.utils.parametrizations.spectral_norm(module, dim=2)
    with pytest.raises(ValueError, match="n_power_iterations must be positive, got 0"):
        nn.utils.parametrizations.spectral_norm(module, n_power_iterations=0)
    assert type(module) is nn.Linear


# --- the older hook-based weight_norm and spectral_norm --------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, None])
def test_older_weight_norm_as_torch(torch, dim):
    ours, theirs = linear_pair(torch)
    ours.load_state_dict(state_of(theirs))
    with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
        nn.utils.weight_norm(ours, dim=dim)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.nn.utils.weight_norm(theirs, dim=dim)
    for key, value in state_of(theirs).items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value, rtol=1e-12, err_msg=key)
    theirs.weight_g.data.mul_(1.5)
    loaded(ours, theirs)
    run_both(torch, ours, theirs, x_of(2, 3))
    with pytest.raises(RuntimeError, match="Cannot register two weight_norm hooks on the same parameter 'weight'"), \
            pytest.warns(FutureWarning):
        nn.utils.weight_norm(ours)
    nn.utils.remove_weight_norm(ours)
    torch.nn.utils.remove_weight_norm(theirs)
    assert not ours._forward_pre_hooks
    loaded(ours, theirs)  # the keys are the plain Linear's again
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found in Linear"):
        nn.utils.remove_weight_norm(ours)


def test_older_spectral_norm_as_torch(torch):
    torch.manual_seed(0)
    theirs = torch.nn.utils.spectral_norm(torch.nn.Conv2d(2, 3, 2).double(), n_power_iterations=2)
    ours = nn.utils.spectral_norm(nn.Conv2d(2, 3, 2, dtype=ag.float64), n_power_iterations=2)
    assert list(ours.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    loaded(ours, theirs)
    np.testing.assert_array_equal(ours.weight.numpy(), ours.weight_orig.numpy())  # before the first forward
    for step in range(2):
        run_both(torch, ours, theirs, x_of(2, 2, 4, 4, seed=step))  # v then u, as PyTorch steps
        ours.zero_grad()
        theirs.zero_grad()
    ours.eval()
    theirs.eval()
    run_both(torch, ours, theirs, x_of(2, 2, 4, 4, seed=5))
    with pytest.raises(RuntimeError, match="Cannot register two spectral_norm hooks"):
        nn.utils.spectral_norm(ours)
    nn.utils.remove_spectral_norm(ours)
    torch.nn.utils.remove_spectral_norm(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="spectral_norm of 'weight' not found in Conv2d"):
        nn.utils.remove_spectral_norm(ours)


def test_older_hooks_refuse_a_missing_parameter_or_a_bad_dim():
    module = nn.Linear(3, 4)
    with pytest.raises(KeyError, match="spectral_norm: Linear has no parameter named 'wieght'"):
        nn.utils.spectral_norm(module, name="wieght")
    with pytest.raises(IndexError, match="spectral_norm: dim 2 is out of range for a weight of 2 dimensions"):
        nn.utils.spectral_norm(module, dim=2)
    assert list(module.state_dict()) == ["weight", "bias"] and not module._forward_pre_hooks
    with pytest.raises(ValueError, match="weight_norm: Linear has no parameter named 'wieght'"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        nn.utils.weight_norm(nn.Linear(3, 4), name="wieght")


def test_cached_values_belong_to_the_thread_that_opened_the_block():
    """Inside cached() one thread reuses its value; another thread, outside any block,
    computes its own (PyTorch's cache is one for the process, graph and all)."""
    import threading

    from nn.utils import parametrize

    class Double(nn.Module):
        def forward(self, x):
            return x * 2

    layer = nn.Linear(2, 2)
    parametrize.register_parametrization(layer, "weight", Double())
    seen = {}
    with parametrize.cached():
        first = layer.weight
        assert layer.weight is first
        worker = threading.Thread(target=lambda: seen.setdefault("other", layer.weight))
        worker.start()
        worker.join()
    assert seen["other"] is not first
    assert layer.weight is not first  # the block closed: computed again
