"""Findings of the readability review of nn: arguments whose wrong type failed with
Python's bare message (or, for metrics="accuracy", a misleading one) instead of naming
the argument and the fix."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F


def _tiny_fit_setup():
    model = nn.Linear(3, 2)
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    batches = [(ag.tensor(rng.random((4, 3), dtype=np.float32)), ag.tensor(np.array([0, 1, 0, 1])))]
    return model, optimizer, batches


@pytest.mark.parametrize("delta", ["1.0", None])
def test_huber_loss_refuses_a_delta_that_is_not_a_number_by_name(delta):
    x = ag.tensor(np.ones(3, dtype=np.float32))
    with pytest.raises(TypeError, match="huber_loss: delta must be a real number"):
        F.huber_loss(x, x, delta=delta)
    with pytest.raises(TypeError, match="HuberLoss: delta must be a real number"):
        nn.HuberLoss(delta=delta)


def test_smooth_l1_loss_module_refuses_a_beta_that_is_not_a_number_by_name():
    with pytest.raises(TypeError, match="SmoothL1Loss: beta must be a real number"):
        nn.SmoothL1Loss(beta="0.5")


def test_huber_loss_with_a_numpy_delta_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((2, 5)).astype(np.float32), rng.standard_normal((2, 5)).astype(np.float32)
    got = F.huber_loss(ag.tensor(x), ag.tensor(y), delta=np.float32(0.5))
    expected = torch.nn.functional.huber_loss(torch.tensor(x), torch.tensor(y), delta=0.5)
    assert got.dtype == ag.float32
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6)


def test_fit_refuses_one_callback_not_in_a_list():
    model, optimizer, batches = _tiny_fit_setup()
    with pytest.raises(TypeError, match=r"callbacks must be a list or tuple, got a single EarlyStopping; "
                                        r"wrap it in a list: callbacks=\[\.\.\.\]"):
        nn.fit(model, F.cross_entropy, optimizer, batches, callbacks=nn.EarlyStopping(monitor="train_loss"),
               progress=False)


@pytest.mark.parametrize("metrics, kind", [("accuracy", "str"), (nn.metrics.accuracy, "function")])
def test_fit_refuses_one_metric_not_in_a_list(metrics, kind):
    # A lone name was iterated letter by letter: "unknown metric 'a'"
    model, optimizer, batches = _tiny_fit_setup()
    with pytest.raises(TypeError, match=rf"metrics must be a list or tuple, got a single {kind}; "
                                        r"wrap it in a list: metrics=\[\.\.\.\]"):
        nn.fit(model, F.cross_entropy, optimizer, batches, batches, metrics=metrics, progress=False)


def test_fit_still_takes_metrics_and_callbacks_from_any_iterable():
    model, optimizer, batches = _tiny_fit_setup()
    stopper = nn.EarlyStopping(monitor="train_loss")
    history = nn.fit(model, F.cross_entropy, optimizer, batches, batches, metrics=(m for m in ["accuracy"]),
                     callbacks=(c for c in [stopper]), progress=False)
    expected = float(np.mean(np.argmax(model(batches[0][0]).numpy(), axis=1) == batches[0][1].numpy()))
    assert history.metrics["accuracy"] == [pytest.approx(expected)]
    assert stopper.best_epoch == 1
