"""Where the numbers came from: CPU model, GPU, library versions, thread pools,
and the source tree's commit."""
import datetime
import importlib.metadata
import os
import platform
import subprocess
import sys
import tempfile

from . import threads

LIBRARIES = ("topograd", "numpy", "torch", "cupy-cuda12x", "cupy", "threadpoolctl", "matplotlib", "tqdm",
             "array-api-strict")


def collect(settings):
    return {
        "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "gpu": gpu(),
        "libraries": libraries(),
        "threads": {"requested": settings.threads, **threads.describe()},
        "source": source_revision(),
    }


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu():
    """The first CUDA GPU's name and memory, or None (without importing CuPy's
    CUDA runtime where CuPy is not installed)."""
    try:
        import cupy
        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"]
        return {"name": name.decode() if isinstance(name, bytes) else name,
                "memory_bytes": int(props["totalGlobalMem"]), "via": "cupy",
                "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion()}
    except Exception:
        pass
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        return {"name": props.name, "memory_bytes": int(props.total_memory), "via": "torch"}
    return None


def libraries():
    """Installed versions by distribution name; CuPy's wheels are named for their CUDA
    (cupy-cuda13x, ...), so where CuPy is loaded its own version is recorded as "cupy"."""
    out = {name: _version(name) for name in LIBRARIES if _version(name)}
    cupy = sys.modules.get("cupy")
    if cupy is not None and "cupy" not in out and getattr(cupy, "__version__", None):
        out["cupy"] = cupy.__version__
    return out


def source_revision():
    """The git commit of the code measured, whether the tree had changes, and ``tree``:
    git's tree hash of the files as they are (tracked, and untracked ones git does not
    ignore). A copy of the tree whose git metadata is stale reads the wrong HEAD; the tree
    hash still names the code, and ``git log --format='%H %T' | grep TREE`` finds the
    commit that holds exactly it."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit or None, "modified": bool(dirty), "tree": _working_tree_hash(root)}


def _working_tree_hash(root):
    """``git write-tree`` of the working tree through a scratch index and object store, so
    that the repository's own index and objects are left as they are; None without git."""
    try:
        objects = subprocess.run(["git", "rev-parse", "--path-format=absolute", "--git-path", "objects"], cwd=root,
                                 capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        with tempfile.TemporaryDirectory() as scratch:
            os.mkdir(os.path.join(scratch, "objects"))
            env = {**os.environ, "GIT_INDEX_FILE": os.path.join(scratch, "index"),
                   "GIT_OBJECT_DIRECTORY": os.path.join(scratch, "objects"),
                   "GIT_ALTERNATE_OBJECT_DIRECTORIES": objects}
            subprocess.run(["git", "add", "--all", "."], cwd=root, env=env, capture_output=True, timeout=60,
                           check=True)
            return subprocess.run(["git", "write-tree"], cwd=root, env=env, capture_output=True, text=True,
                                  timeout=10, check=True).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None
