"""What a fuzz of the user-facing tools (detect_anomaly, gradcheck and gradgradcheck,
module forward hooks, the profiler, graph drawing) turned up, each checked against
PyTorch where it has the same tool."""
import os
import sys

import numpy as np
import pytest

import autograd as ag
import nn.functional as F

THIS_FILE = os.path.basename(__file__)
pytestmark = pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled")  # PyTorch's, each time


def next_line():
    return sys._getframe(1).f_lineno + 1


def assert_close(ours, theirs):
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


# --- detect_anomaly ---------------------------------------------------------------------------

def test_detect_anomaly_lets_a_causal_attention_mask_through_as_torch(device, torch):
    """The attention mask is -inf where a key is hidden: an ordinary forward value, which
    detect_anomaly refused ("Add returned NaN or inf in its forward output"), so no model
    with masked attention could be debugged with it. PyTorch's runs it."""
    q = np.random.default_rng(0).standard_normal((2, 4, 3))
    x = ag.tensor(q, requires_grad=True)
    tx = torch.tensor(q, requires_grad=True)
    with ag.detect_anomaly():
        out = F.scaled_dot_product_attention(x, x, x, is_causal=True)
        (out * out).sum().backward()
    with torch.autograd.detect_anomaly():
        tout = torch.nn.functional.scaled_dot_product_attention(tx, tx, tx, is_causal=True)
        (tout * tout).sum().backward()
    assert_close(out, tout)
    assert_close(x.grad, tx.grad)


def test_detect_anomaly_lets_kl_div_take_zero_targets_as_torch(device, torch):
    """kl_div's target log target took the log of a NaN placed where the target is 0 (for
    PyTorch's NaN gradient there), so a one-hot target failed under detect_anomaly even
    when the target needs no gradient. PyTorch's runs it."""
    logits = np.array([[0.3, -1.2, 2.0], [1.0, 0.5, -0.5]])
    target = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    x = ag.tensor(logits, requires_grad=True)
    tx = torch.tensor(logits, requires_grad=True)
    with ag.detect_anomaly():
        loss = F.kl_div(F.log_softmax(x, axis=1), ag.tensor(target), reduction="batchmean")
        loss.backward()
    with torch.autograd.detect_anomaly():
        tloss = torch.nn.functional.kl_div(torch.log_softmax(tx, 1), torch.tensor(target), reduction="batchmean")
        tloss.backward()
    assert_close(loss, tloss)
    assert_close(x.grad, tx.grad)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_detect_anomaly_stops_where_a_nan_or_inf_is_made_not_where_one_is_passed_on(device):
    """A forward that makes a NaN or an infinity from finite inputs raises where it is made
    (log(0), log(-1), a softmax over a row that is all -inf); one that passes on an
    infinity it was given (a mask of -inf added to scores, masked_fill's -inf) does not."""
    x = ag.tensor([0.0, 1.0], dtype=ag.float64, requires_grad=True)
    with ag.detect_anomaly():
        with pytest.raises(RuntimeError, match=rf"Log returned NaN in its forward output \(its inputs held no "
                                               rf"NaN\), called at .*{THIS_FILE}:{next_line()}"):
            ag.log(x - 1)
        with pytest.raises(RuntimeError, match=rf"Log returned inf in its forward output .*{THIS_FILE}:{next_line()}"):
            ag.log(x)
        masked = (x * 2).masked_fill(ag.tensor([True, False]), float("-inf"))
        shifted = masked + 1  # the -inf passed on
        assert shifted.numpy()[0] == -np.inf
        with pytest.raises(RuntimeError, match="Softmax returned NaN"):
            F.softmax(ag.full((1, 2), float("-inf"), dtype=ag.float64), axis=-1)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_detect_anomaly_takes_check_nan_false_as_torch(device, torch):
    """PyTorch's detect_anomaly(check_nan=False) keeps the mode on without the NaN check;
    topograd refused the argument (TypeError)."""
    x = ag.tensor([-1.0, 0.0, 4.0], dtype=ag.float64, requires_grad=True)
    tx = torch.tensor([-1.0, 0.0, 4.0], dtype=torch.float64, requires_grad=True)
    with ag.detect_anomaly(check_nan=False):
        y = ag.sqrt(x)
        y.sum().backward()
    with torch.autograd.detect_anomaly(check_nan=False):
        ty = torch.sqrt(tx)
        ty.sum().backward()
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


# --- gradgradcheck ----------------------------------------------------------------------------

def test_gradgradcheck_names_an_output_that_is_not_a_tensor(device):
    """gradcheck named it; gradgradcheck failed with "'int' object has no attribute
    '_backend'" from where it makes the random grad_outputs."""
    x = ag.tensor([1.0, 2.0], dtype=ag.float64, requires_grad=True)
    with pytest.raises(TypeError, match=r"gradgradcheck: fn must return a Tensor or a tuple of Tensors, "
                                        r"but its output 1 is int 3"):
        ag.gradgradcheck(lambda x: (x * x, 3), x)
