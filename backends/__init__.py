"""Device backends: NumPy on the CPU, CuPy on CUDA GPUs.

``get(device)`` returns the one Backend object for a device string; new tensors
go to the default device, set by ``set_default_device``, the
``default_device`` context manager (for its thread only), or the TOPOGRAD_DEVICE
environment variable.
"""
import contextlib
import os
import threading

from . import dtypes, quiet_floating_point
from .base import Backend
from .cupy_backend import BackendUnavailable
from .quiet_floating_point import restore as restore_floating_point_warnings
from .quiet_floating_point import silence as silence_floating_point_warnings

__all__ = ["Backend", "BackendUnavailable", "get", "get_default", "set_default_device",
           "default_device", "available_devices", "cuda_is_available", "manual_seed", "leave_gpus_alone",
           "dtypes", "floating_point_warnings_off", "silence_floating_point_warnings",
           "restore_floating_point_warnings"]

_backends = {}


def _normalize(device):
    device = str(device).strip().lower()
    if device == "cuda":
        return "cuda:0"
    if device.startswith("cuda:") and device[5:].isdigit():
        return f"cuda:{int(device[5:])}"  # one key per GPU: "cuda:01" made a second backend for cuda:1
    return device


def get(device=None):
    """The Backend for ``device`` ("cpu", "cuda", "cuda:N", or "strict" for tests)."""
    if device is None:
        return getattr(_block, "backend", None) or _default
    if isinstance(device, Backend):
        return device
    key = _normalize(device)
    backend = _backends.get(key)
    if backend is None:
        backend = _backends[key] = _create(key)
        if _seed is not None:  # manual_seed reaches backends created after it too
            backend.seed(_seed)
    return backend


def _create(key):
    if key == "cpu":
        from .numpy_backend import NumpyBackend
        return NumpyBackend()
    if key.startswith("cuda:") and key[5:].isdigit():
        from .cupy_backend import CupyBackend
        return CupyBackend(int(key[5:]))
    if key == "strict":
        try:
            from .strict_backend import StrictBackend
        except ImportError as exc:
            raise BackendUnavailable("device 'strict' needs `pip install array-api-strict`") from exc
        return StrictBackend()
    raise ValueError(f"unknown device {key!r}: use 'cpu', 'cuda', 'cuda:N' or 'strict'")


def floating_point_warnings_off():
    """A context without NumPy's floating-point warnings (overflow, division by zero,
    invalid value), for kernels whose infinities and NaNs on the way are expected. It
    reaches the CPU and array-api-strict backends, which compute with NumPy's functions;
    CuPy's never warn. (0.3 us where np.errstate takes 1; silence_floating_point_warnings and
    restore_floating_point_warnings are cheaper still, see quiet_floating_point.)"""
    return quiet_floating_point.floating_point_warnings_off()


def get_default():
    return get()


def set_default_device(device):
    """Make ``device`` the one new tensors go to; returns the previous Backend. Inside a
    ``default_device`` block it changes that block's device (until the block ends);
    outside one, the default of the whole process."""
    global _default
    backend, previous = get(device), get()
    if getattr(_block, "backend", None) is not None:
        _block.backend = backend
    else:
        _default = backend
    return previous


# The device of this thread's innermost default_device block, as PyTorch's `with
# torch.device(...)` is per thread: a process-wide one let a block in one thread send
# another thread's new tensors to its device, and blocks ending in another order than
# they began (as threads' do) left the wrong default behind for good.
_block = threading.local()


@contextlib.contextmanager
def default_device(device):
    """New tensors made by this thread go to ``device`` until the block ends (errors included)."""
    backend = get(device)
    outer = getattr(_block, "backend", None)
    _block.backend = backend
    try:
        yield backend
    finally:
        _block.backend = outer


def cuda_is_available():
    try:
        get("cuda")
    except BackendUnavailable:
        return False
    return True


def available_devices():
    """Devices that work on this machine, for parametrizing tests over backends."""
    found = ["cpu"]
    for name in ("strict", "cuda"):
        try:
            get(name)
        except BackendUnavailable:
            continue
        found.append(_normalize(name))
    return found


def manual_seed(seed):
    """Seed the random generator of every backend created so far and later (but those that
    ``leave_gpus_alone`` set aside)."""
    global _seed
    _seed = seed
    for key, backend in _backends.items():
        if key not in _left_alone:
            backend.seed(seed)


def leave_gpus_alone():
    """From now on, ``manual_seed`` in this process leaves the GPU backends created so far
    alone. A DataLoader worker calls it: CUDA cannot be used in a process forked after its
    parent used it (cudaErrorInitializationError), and the worker's seeding (its own, or
    ``worker_init_fn``'s) must not fail there."""
    _left_alone.update(key for key in _backends if key.startswith("cuda:"))


_seed = None
_left_alone = set()  # keys of _backends that manual_seed skips
_default = get("cpu")
if os.environ.get("TOPOGRAD_DEVICE"):
    try:
        _default = get(os.environ["TOPOGRAD_DEVICE"])
    except (ValueError, BackendUnavailable) as exc:  # raised at import: name where the device came from
        raise type(exc)(f"the environment variable TOPOGRAD_DEVICE={os.environ['TOPOGRAD_DEVICE']!r}: {exc}; "
                        "set it to a device this machine has, or unset it for 'cpu'") from None
