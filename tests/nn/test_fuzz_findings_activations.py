"""What a differential fuzz of the activations and small functional ops against PyTorch
2.13 turned up. The activations (functional forms, layers, inplace=True and the
``F.*_`` forms on non-leaves) agreed in float64 values and first and second derivatives
at their kinks, in the far tails, at +-inf and NaN, and in float32 and float16, but for
what the README or the older tests already call deliberate. These are the rest: PReLU's
branch at NaN, the tanh GELU's float16 gradient, the p-norms' NaN (normalize,
pairwise_distance, cosine_similarity), and two argument checks."""
import math

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

from .torch_compare import named_rng


def _numpy(t):
    return t.detach().numpy() if hasattr(t, "detach") else t.numpy()


def _same(ours, theirs, device, err_msg=""):
    """Equal (NaN where NaN); on CUDA within a few float64 ulp: its pow (CUDA's, within 2
    ulp) and its sums' order are not NumPy's."""
    if device.startswith("cuda"):
        np.testing.assert_allclose(ours, theirs, rtol=4 * np.finfo(np.float64).eps, atol=0, err_msg=err_msg)
    else:
        np.testing.assert_array_equal(ours, theirs, err_msg=err_msg)


# --- PReLU: one test, x > 0, for the value and both gradients -----------------------------------

@pytest.mark.filterwarnings("ignore:invalid value")  # -inf * 0 in the second derivatives, NaN in PyTorch too
@pytest.mark.parametrize("channels", [1, 3])
def test_prelu_at_nan_infinities_and_zeros_takes_torchs_branch(device, torch, channels):
    """PyTorch's prelu tests x > 0: at NaN x's gradient is the weight, the weight's is x
    (NaN), and d(dL/dx)/dw is 1. Ours was max(x, 0) + w min(x, 0), whose ReLU passes NaN
    and whose min stops it, so x's gradient at NaN was 1. The weight's gradient at +inf
    stays 0."""
    values = np.array([[np.nan, -np.inf, np.inf, 0.0, -0.0, -1.5, 2.0]] * 3).T.reshape(7, 3, 1) * np.ones((1, 1, 2))
    weights = np.array([0.25, -0.5, 2.0][:channels])
    incoming = named_rng(f"prelu nan {channels}").standard_normal(values.shape)

    def run(lib, x, w):
        y = lib.nn.functional.prelu(x, w) if lib is torch else F.prelu(x, w)
        gx, gw = (torch.autograd if lib is torch else ag).grad(y, [x, w], make(lib, incoming), create_graph=True)
        grad = torch.autograd.grad if lib is torch else ag.grad
        # d/dw of x's gradient (masked to x's finite, nonzero entries: PyTorch's double backward takes
        # the positive branch at 0 where its first derivative takes the weight's, see the README)
        mask = make(lib, np.isfinite(values) & (values != 0) | np.isnan(values))
        dgx_dw, = grad((gx * mask).sum(), [w], retain_graph=True)
        dgw_dx, = grad(gw.sum(), [x])
        return [y, gx, gw, dgx_dw, dgw_dx * mask]

    def make(lib, a):
        return torch.tensor(a, dtype=torch.float64) if lib is torch else ag.tensor(a, dtype=ag.float64)

    ours = run(ag, ag.tensor(values, requires_grad=True), ag.tensor(weights, requires_grad=True))
    theirs = run(torch, torch.tensor(values, requires_grad=True), torch.tensor(weights, requires_grad=True))
    for what, a, b in zip(["y", "grad x", "grad w", "d grad x / dw", "d grad w / dx"], ours, theirs):
        _same(_numpy(a), _numpy(b), device, err_msg=what)


def test_prelu_gradient_stays_connected_to_x_for_higher_derivatives(device, torch):
    """x's gradient of a prelu whose weight is fixed is piecewise constant: its derivative
    in x is 0, as PyTorch's, and is there to take (not missing: ag.grad would raise)."""
    x = ag.tensor([-2.0, 0.0, 3.0, np.nan], dtype=ag.float64, requires_grad=True)
    g, = ag.grad(F.prelu(x, ag.tensor([0.25], dtype=ag.float64)).sum(), [x], create_graph=True)
    np.testing.assert_array_equal(g.numpy(), [0.25, 0.25, 1.0, 0.25])
    h, = ag.grad((g * g).sum(), [x])
    np.testing.assert_array_equal(h.numpy(), np.zeros(4))


def test_prelu_layer_at_nan_gives_torchs_gradients(device, torch):
    values = np.array([[np.nan, 1.0, -2.0], [0.5, np.nan, -0.0]]).T
    ours, theirs = nn.PReLU(2, 0.1, dtype=ag.float64), torch.nn.PReLU(2, 0.1, dtype=torch.float64)
    x, tx = ag.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    ours(x).sum().backward()
    theirs(tx).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_array_equal(ours.weight.grad.numpy(), theirs.weight.grad.numpy())


# --- GELU's overflows -----------------------------------------------------------------------------

@pytest.mark.parametrize("approximate", ["tanh", "none"])
def test_gelu_float16_is_computed_in_float32_as_torchs(torch, approximate):
    """The tanh form's x^3 overflows float16 from |x| = 41 and x^2 from 256; tanh is +-1
    there, so the gradient is 0 or 1, as PyTorch's (which computes float16 in float32).
    Ours was inf * 0 = NaN from |x| = 256: one large activation made every gradient NaN,
    and x * 2 overflowed the value at 60000."""
    values = np.array([-60000.0, -1000.0, -256.0, -41.0, -3.0, -0.5, 0.0, 0.5, 3.0, 41.0, 256.0, 1000.0, 60000.0],
                      dtype=np.float16)
    incoming = named_rng(f"gelu float16 {approximate}").standard_normal(values.shape).astype(np.float16)
    x = ag.tensor(values, requires_grad=True)
    y = F.gelu(x, approximate=approximate)
    y.backward(ag.tensor(incoming))
    tx = torch.tensor(values, requires_grad=True)
    ty = torch.nn.functional.gelu(tx, approximate=approximate)
    ty.backward(torch.tensor(incoming))
    assert y.dtype == x.grad.dtype == ag.float16
    # rounded once from float32, as PyTorch's, though its float32 steps differ: within a float16 ulp
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-3, atol=0)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-3, atol=1e-7)


# --- p-norms with NaN ----------------------------------------------------------------------------

NAN_ROWS = np.array([[np.nan, 1.0, 2.0], [np.inf, np.nan, 1.0], [3.0, 4.0, 0.0]])


@pytest.mark.filterwarnings("ignore:invalid value")
@pytest.mark.parametrize("p", [2.0, 3.0, 0.5, 1.0, -1.0, 0.0, math.inf, -math.inf])
def test_vector_norm_of_a_row_with_nan_is_torchs(device, torch, p):
    """The 2-norm's root and the general p-norm's |x|^p tested > 0, so a NaN entry was
    dropped: the 2-norm of [nan, 1, 2] was 0 and the 3-norm 2.08. PyTorch's are NaN,
    and its 0-"norm" counts NaN as nonzero (3; ours was NaN)."""
    ours = ag.linalg.vector_norm(ag.tensor(NAN_ROWS), p, axis=1)
    theirs = torch.linalg.vector_norm(torch.tensor(NAN_ROWS), p, dim=1)
    _same(ours.numpy(), theirs.numpy(), device)


@pytest.mark.filterwarnings("ignore:invalid value")
@pytest.mark.parametrize("p", [2.0, 3.0, 0.5])
def test_normalize_and_pairwise_distance_of_nan_rows_are_nan_as_torchs(device, torch, p):
    """normalize divided the finite entries of a NaN row by eps (1e12 for [nan, 1, 2]),
    and pairwise_distance gave such a row a finite distance."""
    tf = torch.nn.functional
    x, tx = ag.tensor(NAN_ROWS), torch.tensor(NAN_ROWS)
    _same(F.normalize(x, p, 1).numpy(), tf.normalize(tx, p, 1).numpy(), device)
    other = NAN_ROWS[::-1].copy()
    _same(F.pairwise_distance(x, ag.tensor(other), p).numpy(), tf.pairwise_distance(tx, torch.tensor(other), p).numpy(),
          device)


@pytest.mark.filterwarnings("ignore:invalid value")
def test_cosine_similarity_gradient_of_a_nan_row_is_nan_as_torchs(device, torch):
    """The NaN row's norm was 0, clamped to eps: its finite entries got gradients of 1e8."""
    other = named_rng("cosine nan").standard_normal(NAN_ROWS.shape)
    x, tx = ag.tensor(NAN_ROWS, requires_grad=True), torch.tensor(NAN_ROWS, requires_grad=True)
    F.cosine_similarity(x, ag.tensor(other)).sum().backward()
    torch.nn.functional.cosine_similarity(tx, torch.tensor(other)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    assert np.isnan(x.grad.numpy()[:2]).all()


# --- argument checks -----------------------------------------------------------------------------

def test_cosine_similarity_refuses_a_negative_eps_as_torch(device, torch):
    """A negative eps lets a zero vector's norm through, 0 / 0; PyTorch refuses it."""
    x = ag.tensor([[0.0, 0.0], [1.0, 2.0]])
    with pytest.raises(RuntimeError, match="eps must be non-negative"):
        torch.nn.functional.cosine_similarity(torch.tensor(x.numpy()), torch.tensor(x.numpy()), eps=-1.0)
    for call in (lambda: F.cosine_similarity(x, x, eps=-1.0), lambda: nn.CosineSimilarity(eps=-1e-8)(x, x)):
        with pytest.raises(ValueError, match="cosine_similarity: eps must be at least 0"):
            call()


def test_one_hot_of_an_empty_tensor_needs_num_classes_as_in_torch(device, torch):
    """With num_classes=-1 an empty tensor has no largest class: ours gave shape (0, 0)."""
    with pytest.raises(RuntimeError, match="Can not infer total number of classes"):
        torch.nn.functional.one_hot(torch.zeros(0, dtype=torch.int64))
    empty = ag.tensor(np.zeros(0, dtype=np.int64))
    with pytest.raises(ValueError, match="one_hot: cannot infer the number of classes from an empty tensor; "
                                         "give num_classes"):
        F.one_hot(empty)
    given = F.one_hot(empty, 4)
    assert given.shape == (0, 4) and given.dtype == ag.int64
