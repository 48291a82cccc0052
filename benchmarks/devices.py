"""Each framework on each device: what to import, how to put an array there,
and how to wait for it. Anything missing raises an error the runner turns into
"skipped, because ..."."""
import backends

from .contender import Skipped

FLOOR_LABELS = {"cpu": "numpy floor", "cuda": "cupy floor"}


def topograd(device):
    """The topograd backend for ``device`` and its synchronize (None on the CPU).
    Raises backends.BackendUnavailable (a skip) where the device is missing."""
    backend = backends.get(device)
    return backend, (backend.synchronize if backend.device.startswith("cuda") else None)


def floor_namespace(device):
    """NumPy for the CPU, CuPy for CUDA (through topograd's backend, which imports
    CuPy lazily and says how to install it), and the matching synchronize."""
    if device == "cpu":
        import numpy
        return numpy, None
    backend = backends.get("cuda")
    return backend.xp, backend.synchronize


def torch_for(device):
    """PyTorch, the torch.device, and its synchronize. TF32 is turned off so that
    PyTorch's convolutions and GEMMs compute in full float32 like the others."""
    try:
        import torch
    except ImportError:
        raise Skipped("PyTorch is not installed (`pip install torch`)") from None
    if device == "cpu":
        return torch, torch.device("cpu"), None
    if not torch.cuda.is_available():
        raise Skipped(f"this PyTorch ({torch.__version__}) cannot use a CUDA GPU here")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return torch, torch.device("cuda"), torch.cuda.synchronize


def topograd_label(device):
    return f"topograd {device}"


def torch_label(device):
    return f"torch {device}"
