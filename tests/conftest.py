"""Shared fixtures: every test that takes ``device`` runs on each backend that is
available here (NumPy, the array-api-strict guard, and CUDA where present)."""
import os

import pytest

import backends

DEVICES = backends.available_devices()


@pytest.fixture(params=DEVICES)
def device(request):
    """Run the test with this device as the default one."""
    with backends.default_device(request.param):
        yield request.param


@pytest.fixture
def torch():
    """PyTorch, as a reference; tests that use it skip where it is not installed."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


@pytest.fixture(autouse=True)
def _seed():
    import autograd as ag
    ag.manual_seed(0)
    yield


def pytest_report_header(config):
    return f"topograd devices: {', '.join(DEVICES)}; TOPOGRAD_DEVICE={os.environ.get('TOPOGRAD_DEVICE', '')!r}"
