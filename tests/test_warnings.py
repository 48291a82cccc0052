"""Warnings name the line of the user's code that caused them, however deep inside topograd
they are raised."""
import warnings

import pytest

import autograd as ag
import nn


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
