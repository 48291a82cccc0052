"""A fourth round of mistakes a user porting PyTorch code makes: PyTorch-only Tensor method
names, a grad mode entered without its parentheses, and a seed that is not an integer. Each
test pins an error that names the problem and the spelling to use."""
import numpy as np
import pytest

import autograd as ag
import nn


@pytest.mark.parametrize("call, fix", [
    (lambda x: x.view(6), r"use reshape\(\*shape\)"),
    (lambda x: x.unsqueeze(0), r"use expand_dims\(axis\)"),
    (lambda x: x.permute(1, 0), r"use transpose\(\*axes\)"),
    (lambda x: x.expand(4, 2, 3), r"use broadcast_to"),
    (lambda x: x.numel(), r"size is the element count"),
    (lambda x: x.dim(), r"use the ndim attribute"),
    (lambda x: x.float(), r"astype\(ag\.float32\)"),
    (lambda x: x.long(), r"astype\(ag\.int64\)"),
    (lambda x: x.gather(1, ag.zeros(2, 1, dtype=ag.int64)), r"take_along_axis"),
    (lambda x: x.scatter_(0, ag.zeros(1, 3, dtype=ag.int64), 1.0), r"x\[index\] = values"),
], ids=["view", "unsqueeze", "permute", "expand", "numel", "dim", "float", "long", "gather", "scatter_"])
def test_pytorch_method_names_say_the_numpy_spelling(device, call, fix):
    x = ag.ones(2, 3)
    with pytest.raises(AttributeError, match=rf"^'Tensor' object has no attribute '\w+' \(a PyTorch name\); .*{fix}"):
        call(x)


def test_pytorch_names_still_answer_hasattr_false_and_the_hints_work(device):
    """Duck-typing code (hasattr(t, 'numel') to spot a torch tensor) must still see a
    non-torch object, and each suggested spelling must do what the PyTorch call did."""
    x = ag.arange(6, dtype=ag.float32).reshape(2, 3)
    assert not any(hasattr(x, name) for name in ("view", "unsqueeze", "numel", "dim", "float", "long"))
    assert getattr(nn.Parameter(ag.ones(2)), "contiguous", None) is None
    torch = pytest.importorskip("torch")
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    idx = [[2, 0], [1, 1]]
    pairs = [(x.reshape(3, 2), t.view(3, 2)), (x.expand_dims(0), t.unsqueeze(0)),
             (x.transpose(1, 0), t.permute(1, 0)), (x.broadcast_to(4, 2, 3), t.expand(4, 2, 3)),
             (x.take_along_axis(ag.tensor(idx), 1), t.gather(1, torch.tensor(idx))),
             (x.astype(ag.int64), t.long())]
    for ours, theirs in pairs:
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert (x.size, x.ndim) == (t.numel(), t.dim())


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


@pytest.mark.parametrize("seed, shown", [(0.5, "float 0.5"), ("42", "str '42'"), (np.float32(1.5), "float32")])
def test_manual_seed_refuses_a_seed_that_is_not_an_integer(device, seed, shown):
    """PyTorch runs int(seed): 0.1 and 0.9 both seed 0, silently, and '42' is read as 42."""
    ag.manual_seed(3)
    expected = ag.rand(4).numpy()
    ag.manual_seed(3)
    with pytest.raises(TypeError, match=rf"^manual_seed: the seed must be an integer, got {shown}"):
        ag.manual_seed(seed)
    np.testing.assert_array_equal(ag.rand(4).numpy(), expected)  # the generator was left as it was


def test_manual_seed_still_takes_whole_floats_and_numpy_ints(device):
    draws = []
    for seed in (7, 7.0, np.int64(7), np.float64(7.0)):
        ag.manual_seed(seed)
        draws.append(ag.rand(3).numpy())
    for d in draws[1:]:
        np.testing.assert_array_equal(d, draws[0])
