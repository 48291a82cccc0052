"""Mistakes a user coming from PyTorch makes, and what topograd should answer.

Each test pins one behaviour: a clear error that names the problem and the fix
(ValueError for shapes and values, TypeError for types, RuntimeError for graph
state), a rejected input that leaves state unchanged, or a value that matches
PyTorch's. Cross-device tests pair the test's device with another available one.
"""
import re
import warnings

import numpy as np
import pytest

import autograd as ag
import backends
import nn
import nn.functional as F


def _other_device(device):
    others = [d for d in backends.available_devices() if d != device]
    if not others:
        pytest.skip("needs a second device")
    return others[0]


def _mentions_both(a, b):
    """A regex that matches a message naming both devices, in either order."""
    return rf"(?s)(?=.*{re.escape(a)})(?=.*{re.escape(b)})"


# --- optimizers whose model moved to another device after their state was made ---------------

OPTIMIZERS = {
    "SGD-momentum": lambda ps: nn.optim.SGD(ps, lr=0.1, momentum=0.9),
    "Adam": lambda ps: nn.optim.Adam(ps, lr=0.1),
    "AdamW": lambda ps: nn.optim.AdamW(ps, lr=0.1, weight_decay=0.5),
    "RMSprop": lambda ps: nn.optim.RMSprop(ps, lr=0.1),
    "Adagrad": lambda ps: nn.optim.Adagrad(ps, lr=0.1),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_step_after_model_moved_names_both_devices_and_changes_nothing(device, name):
    """model.to(other) after the optimizer made its state: PyTorch refuses the step with
    a device error; here it must too (a ValueError naming both devices), not a raw
    array-library TypeError, and the refused step must not decay the weights or
    advance the step counter."""
    target = _other_device(device)
    model = nn.Linear(3, 2)
    optimizer = OPTIMIZERS[name](model.parameters())
    F.mse_loss(model(ag.randn(4, 3)), ag.randn(4, 2)).backward()
    optimizer.step()
    optimizer.zero_grad()
    model.to(target)
    with backends.default_device(target):
        F.mse_loss(model(ag.randn(4, 3)), ag.randn(4, 2)).backward()
    weight, bias = model.weight.numpy().copy(), model.bias.numpy().copy()
    steps = {k: float(v.item()) for k, v in optimizer.state[model.weight].items() if k == "step"}
    with pytest.raises(ValueError, match=_mentions_both(device, target)):
        optimizer.step()
    np.testing.assert_array_equal(model.weight.numpy(), weight)
    np.testing.assert_array_equal(model.bias.numpy(), bias)
    assert {k: float(v.item()) for k, v in optimizer.state[model.weight].items() if k == "step"} == steps


def test_step_after_model_changed_dtype_names_both_dtypes_and_changes_nothing(device):
    model = nn.Linear(3, 2)
    optimizer = nn.optim.Adam(model.parameters(), lr=0.1)
    F.mse_loss(model(ag.randn(4, 3)), ag.randn(4, 2)).backward()
    optimizer.step()
    model.to(dtype=ag.float64)
    F.mse_loss(model(ag.randn(4, 3, dtype=ag.float64)), ag.randn(4, 2, dtype=ag.float64)).backward()
    weight = model.weight.numpy().copy()
    with pytest.raises(ValueError, match=r"Adam.step: state 'exp_avg' of parameter 0 .*float32.*float64"):
        optimizer.step()
    np.testing.assert_array_equal(model.weight.numpy(), weight)
    optimizer.load_state_dict(optimizer.state_dict())  # the fix the message gives
    optimizer.step()
    assert optimizer.state[model.weight]["exp_avg"].dtype == ag.float64
    assert not np.array_equal(model.weight.numpy(), weight)


# --- integer tensors into ops that need floats --------------------------------------------------

@pytest.mark.parametrize("name", ["exp", "log", "log1p", "sqrt", "sin", "cos", "tanh", "sigmoid"])
def test_integer_input_to_float_op_gives_default_float_like_pytorch(device, torch, name):
    """torch.tensor([1, 2, 4]).exp() is float32 (the default dtype). Here the NumPy
    backend gives float64 (which a float32 model then refuses) and the strict backend
    raises array-api-strict's raw 'Only floating-point dtypes are allowed in exp'."""
    x = ag.tensor([1, 2, 4])
    y = getattr(ag, name)(x)
    expected = getattr(torch, name)(torch.tensor([1, 2, 4]))
    assert y.dtype == ag.float32
    np.testing.assert_allclose(y.numpy(), expected.numpy(), rtol=1e-6)


def test_integer_input_to_logsumexp_gives_default_float_like_pytorch(device, torch):
    y = ag.logsumexp(ag.tensor([1, 2, 4]), axis=0)
    assert y.dtype == ag.float32
    np.testing.assert_allclose(y.numpy(), torch.logsumexp(torch.tensor([1, 2, 4]), 0).numpy(), rtol=1e-6)


# --- shapes given as floats or strings ----------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: ag.zeros(4, 2.5),        # silently (4, 2) now
    lambda: ag.randn(4, 2.5),        # silently (4, 2) now
    lambda: ag.ones((4, 2.5)),       # silently (4, 2) now
    lambda: ag.zeros(4, "3"),        # silently (4, 3) now
    lambda: ag.zeros(2.5),           # "'float' object is not iterable" now
], ids=["zeros-args", "randn-args", "ones-tuple", "zeros-str", "zeros-one-float"])
def test_creation_refuses_a_non_integer_size(device, make):
    """torch.zeros(4, 2.5) raises 'must be tuple of ints'; truncating n / 2 to an int
    hides a bug in the user's arithmetic."""
    with pytest.raises(TypeError, match=r"(?i)integer|int\b"):
        make()


def test_reshape_refuses_a_non_integer_size(device):
    x = ag.randn(6)
    with pytest.raises(TypeError, match=r"(?i)integer|int\b"):
        x.reshape(2, 3.7)  # silently (2, 3) now


# --- losses -------------------------------------------------------------------------------------

def test_binary_cross_entropy_refuses_targets_outside_0_1(device, torch):
    """Class labels 0..K passed to BCE: PyTorch raises 'all elements of target should be
    between 0 and 1'; here a (negative) loss is returned silently."""
    with pytest.raises(RuntimeError, match="target"):
        torch.nn.functional.binary_cross_entropy(torch.tensor([0.5, 0.2]), torch.tensor([2.0, 0.0]))
    with pytest.raises(ValueError, match=r"target.*\[0, 1\]"):
        F.binary_cross_entropy(ag.tensor([0.5, 0.2]), ag.tensor([2.0, 0.0]))


# --- normalization layers fed another dtype than their parameters ------------------------------

NORM_LAYERS = {
    "BatchNorm1d": (lambda: nn.BatchNorm1d(3), (4, 3)),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(3), (2, 3, 4, 4)),
    "LayerNorm": (lambda: nn.LayerNorm(3), (4, 3)),
}


@pytest.mark.parametrize("name", sorted(NORM_LAYERS))
def test_norm_layer_refuses_float64_input_into_float32_model(device, name):
    """Linear, Conv2d, RNNs (and PyTorch's norm layers: 'mixed dtype (CPU): all inputs
    must share same datatype') refuse float64 input to a float32 model; BatchNorm and
    LayerNorm here return float64 and update their float32 running statistics."""
    make, shape = NORM_LAYERS[name]
    layer = make()
    buffers = {k: v.numpy().copy() for k, v in layer.state_dict().items()}
    with pytest.raises(TypeError, match=r"float64.*float32|float32.*float64"):
        layer(ag.randn(*shape, dtype=ag.float64))
    for k, v in layer.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), buffers[k])


# --- optimizer construction mistakes ------------------------------------------------------------

@pytest.mark.parametrize("cls, kwargs, word", [
    (nn.optim.Adam, {"lr": "1e-3"}, "lr"),            # PyYAML reads `lr: 1e-3` as a string
    (nn.optim.SGD, {"lr": None}, "lr"),
    (nn.optim.SGD, {"lr": 0.1, "weight_decay": None}, "weight_decay"),
    (nn.optim.RMSprop, {"lr": "0.01"}, "lr"),
    (nn.optim.Adam, {"betas": 0.9}, "betas"),
], ids=["adam-lr-str", "sgd-lr-none", "sgd-wd-none", "rmsprop-lr-str", "adam-betas-float"])
def test_optimizer_hyperparameter_of_wrong_type_is_named(device, cls, kwargs, word):
    """Now a raw "'>=' not supported between instances of 'str' and 'int'" (or "'float'
    object is not iterable") from inside the check."""
    p = ag.randn(2, requires_grad=True)
    with pytest.raises(TypeError, match=rf"{cls.__name__}.*{word}"):
        cls([p], **kwargs)


def test_add_param_group_with_wrong_type_hyperparameter_is_named_and_not_added(device):
    optimizer = nn.optim.Adam([ag.randn(2, requires_grad=True)])
    with pytest.raises(TypeError, match=r"Adam.*lr"):
        optimizer.add_param_group({"params": [ag.randn(2, requires_grad=True)], "lr": "0.1"})
    assert len(optimizer.param_groups) == 1


@pytest.mark.parametrize("pass_", ["module", "unbound-method"])
def test_optimizer_given_the_model_says_to_pass_parameters(device, pass_):
    """SGD(model, ...) and SGD(model.parameters, ...) (no call): now "'Linear' object is
    not iterable" / "'method' object is not iterable"."""
    model = nn.Linear(2, 2)
    params = model if pass_ == "module" else model.parameters
    with pytest.raises(TypeError, match=r"parameters\(\)"):
        nn.optim.SGD(params, lr=0.1)


# --- checkpoints --------------------------------------------------------------------------------

def test_save_of_a_torch_tensor_names_torch_and_the_conversion(device, torch, tmp_path):
    """Now: "state['a'] is a Tensor, not a Tensor"."""
    with pytest.raises(TypeError, match=r"torch"):
        nn.save({"a": torch.ones(2)}, tmp_path / "x.safetensors")


# --- graph state --------------------------------------------------------------------------------

def test_grad_of_a_gradient_made_without_create_graph_suggests_create_graph(device):
    """The usual cause (the first ag.grad lacked create_graph=True) is not in the
    message now, which only suggests requires_grad and no_grad."""
    x = ag.randn(3, requires_grad=True)
    (gx,) = ag.grad((x ** 3).sum(), x)
    with pytest.raises(RuntimeError, match="create_graph=True"):
        ag.grad(gx.sum(), x)


def test_numpy_of_a_tensor_that_requires_grad_is_read_only(device):
    """PyTorch refuses .numpy() on a tensor that requires grad. Here it is a read-only
    view: a write through it would bypass the version counter and make the gradient
    silently wrong. .detach().numpy() stays writable, as in PyTorch."""
    w = ag.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    y = (w * w).sum()
    with pytest.raises(ValueError, match="read-only"):
        w.numpy()[0] = 100.0
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0, 3.0])
    y.backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 4.0, 6.0])
    w.grad.numpy()[0] = 7.0  # a gradient does not require grad: writable, and shares memory on the CPU
    assert w.grad.tolist()[0] == (2.0 if device.startswith("cuda") else 7.0)  # (from a GPU, numpy() copies to the host)


def test_np_asarray_of_a_tensor_that_requires_grad_is_read_only_too():
    """np.asarray(w) (``__array__``, CPU tensors only) is a second way to the same memory:
    read-only too, unless a copy is asked for."""
    w = ag.tensor([1.0, 2.0, 3.0], device="cpu", requires_grad=True)
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(w)[0] = 100.0
    copied = np.array(w, copy=True)
    copied[0] = 100.0
    assert w.tolist() == [1.0, 2.0, 3.0]
    plain = ag.tensor([1.0, 2.0], device="cpu")
    np.asarray(plain)[0] = 5.0  # a tensor outside the graph shares its memory, writable
    assert plain.tolist() == [5.0, 2.0]


# --- small message bugs ---------------------------------------------------------------------------

def test_linear_on_a_0d_input_says_so(device):
    """Now: "the input's last axis has size None (shape ())"."""
    layer = nn.Linear(4, 3)
    with pytest.raises(ValueError, match=r"linear") as excinfo:
        layer(ag.tensor(1.0))
    assert "None" not in str(excinfo.value)


def test_dataloader_given_an_iterator_says_what_a_dataset_needs(device):
    """Now: "type object 'range_iterator' has no attribute '__getitem__'"."""
    with pytest.raises(TypeError, match=r"__getitem__.*__len__|__len__.*__getitem__|Dataset"):
        nn.data.DataLoader(iter(range(3)), batch_size=2)


@pytest.mark.parametrize("mistake, message", [
    (lambda device: nn.GRU(3, 4, dropout=0.5, device=device), "acts between layers"),
    (lambda device: nn.LSTM(3, 4, dropout=0.5, device=device), "acts between layers"),
    (lambda device: ag.tensor([1.0], device=device).var(ddof=1), "no degrees of freedom"),
    (lambda device: ag.tensor([1.0], device=device).astype("float16").std(ddof=1), "no degrees of freedom"),
    (lambda device: nn.Softmax()(ag.ones(2, 3, device=device)), "Implicit dimension"),
], ids=["gru-dropout", "lstm-dropout", "var-ddof", "float16-std-ddof", "softmax-implicit-dim"])
def test_warnings_point_at_the_users_line(device, mistake, message):
    """However deep inside topograd a warning is raised, it names the caller's line."""
    if device == "strict" and "float16" in mistake.__code__.co_consts:
        pytest.skip("the strict backend has no float16")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mistake(device)
    ours = [w for w in caught if message in str(w.message)]
    assert len(ours) == 1 and ours[0].filename == __file__, [(w.filename, str(w.message)) for w in caught]
