"""Findings of a review of the session's commits (autocast, float16 products, the DataLoader's
workers, scans, saved-tensor hooks, checkpoint restore): nn.restore left the optimizer loaded
when its load_state_dict post-hook raised; a small float16 einsum rounded its running sums to
float16 (off PyTorch's by 0.1 on sums of 40); float16 convolutions' weight gradients and
grouped products still went through NumPy's own float16 loop (a small conv2d's step 7-12x slower)."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from tests.torch_versions import needs_torch


# --- nn.restore: all or nothing, an optimizer's post-hook error included ------------------

def test_restore_puts_the_optimizer_back_when_its_load_post_hook_raises(tmp_path):
    """The post-hook runs after load_state_dict has swapped in the checkpoint's groups and
    state; the undo of the optimizer was registered only once its load had succeeded, so the
    model went back and the optimizer kept the refused checkpoint's lr and momentum."""
    path = tmp_path / "sgd.safetensors"
    model = nn.Linear(3, 2)
    saved_optimizer = nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(ag.ones(4, 3)).sum().backward()
    saved_optimizer.step()
    nn.save(model, path, saved_optimizer)

    model = nn.Linear(3, 2)
    weight = model.weight.numpy().copy()
    optimizer = nn.optim.SGD(model.parameters(), lr=0.5)
    groups, state = optimizer.param_groups, optimizer.state

    def refuse(opt):
        raise ValueError("post-hook refuses")

    optimizer.register_load_state_dict_post_hook(refuse)
    with pytest.raises(ValueError, match="optimizer state does not fit this optimizer: post-hook refuses"):
        nn.restore(path, model, optimizer)
    assert optimizer.param_groups is groups and optimizer.state is state
    assert [group["lr"] for group in optimizer.param_groups] == [0.5]
    assert [group["momentum"] for group in optimizer.param_groups] == [0]
    assert len(optimizer.state) == 0
    np.testing.assert_array_equal(model.weight.numpy(), weight)


# --- float16 einsum: float32 sums, rounded once, at every size ----------------------------

@pytest.mark.parametrize("subscripts, shapes", [("ij,jk->ik", ((2, 1000), (1000, 2))), ("ij->j", ((1000, 3),))])
def test_a_small_float16_einsum_sums_in_float32_as_torch(torch, subscripts, shapes):
    """Below 4,096 elements the operands went to NumPy's float16 einsum, which rounds its
    running sums to float16 (-3.453 where PyTorch, and float32 rounded once, give -3.479)."""
    rng = np.random.default_rng(1)
    arrays = [rng.normal(0, 1, s).astype(np.float16) for s in shapes]
    got = ag.einsum(subscripts, *(ag.tensor(a) for a in arrays))
    want = torch.einsum(subscripts, *(torch.tensor(a) for a in arrays))
    assert got.dtype == ag.float16
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    rounded_once = np.einsum(subscripts, *(a.astype(np.float64) for a in arrays)).astype(np.float16)
    np.testing.assert_array_equal(got.numpy(), rounded_once)


# --- float16 convolutions: every product through Backend.matmul -----------------------------

@needs_torch("2.13", "the bound is PyTorch 2.13's float16 error; 2.11's CPU float16 convolutions err about half as much (0.0033 against 0.0065 for conv2d's input gradient), and ours, on CPU and CUDA alike, as 2.13's")
@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("transposed", [False, True], ids=["conv2d", "conv_transpose2d"])
def test_float16_convolutions_are_as_accurate_as_torch_s(torch, groups, transposed):
    """The weight gradient's GEMM and the grouped ones now go through Backend.matmul (float32
    BLAS, rounded once) instead of NumPy's float16 loop: values, input and weight gradients
    each as close to the float64 result as PyTorch's float16 ones (its weight gradient is not
    rounded once: ours is closer)."""
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, (2, 4, 7, 7))
    w = rng.normal(0, 0.5, (4, 6 // groups, 3, 3) if transposed else (6, 4 // groups, 3, 3))
    g = rng.normal(0, 1, (2, 6, 9, 9) if transposed else (2, 6, 7, 7))
    x, w, g = (a.astype(np.float16) for a in (x, w, g))
    options = dict(groups=groups) if transposed else dict(padding=1, groups=groups)

    def run(lib, functional, dtype):
        a, b = lib.tensor(x, dtype=dtype, requires_grad=True), lib.tensor(w, dtype=dtype, requires_grad=True)
        y = (functional.conv_transpose2d if transposed else functional.conv2d)(a, b, **options)
        y.backward(lib.tensor(g, dtype=dtype))
        return [t.detach().numpy().astype(np.float64) for t in (y, a.grad, b.grad)]

    ours = run(ag, F, ag.float16)
    theirs = run(torch, torch.nn.functional, torch.float16)
    exact = run(torch, torch.nn.functional, torch.float64)
    for got, want, reference in zip(ours, theirs, exact):
        assert np.abs(got - reference).max() <= np.abs(want - reference).max()
