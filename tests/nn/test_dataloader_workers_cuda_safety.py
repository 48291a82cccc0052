"""DataLoader workers and a GPU in the main process. CUDA cannot be used in a process forked
after its parent used it (cudaErrorInitializationError), so a worker makes its batches on the
CPU and never touches a GPU backend: not to seed it, not as its default device. Shown on the
CPU with a stand-in GPU backend that fails when a forked worker touches it; and a dataset whose
tensors are on a GPU is refused for forked workers with an error that says what to do."""
import contextlib
import os

import pytest

import autograd as ag
import backends
from backends.numpy_backend import NumpyBackend
from nn.data import ConcatDataset, DataLoader, Dataset, Subset, TensorDataset, get_worker_info

FORK = dict(num_workers=2, multiprocessing_context="fork")


class ForkedGpu(NumpyBackend):
    """Stands in for a CUDA backend that this process used: any use from a process forked
    from this one raises, as CUDA's would."""

    def __init__(self):
        self.owner = os.getpid()
        super().__init__("cuda:0")

    def __getattribute__(self, name):
        if os.getpid() != object.__getattribute__(self, "owner"):
            raise RuntimeError(f"a forked worker touched the GPU backend (.{name})")
        return super().__getattribute__(name)


@pytest.fixture
def gpu(monkeypatch):
    """The stand-in GPU backend, registered as cuda:0 and made the process's default device
    (as TOPOGRAD_DEVICE=cuda makes it), and seeded as ag.manual_seed seeds every backend."""
    fake = ForkedGpu()
    monkeypatch.setitem(backends._backends, "cuda:0", fake)
    monkeypatch.setattr(backends, "_default", fake)
    ag.manual_seed(0)
    return fake


class Draws(Dataset):
    """Each sample: the worker's seed, the default device there, a draw from topograd's
    generator and a plain int (which default_collate makes a tensor on the default device)."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return get_worker_info().seed, ag.tensor(0.0).device, ag.rand(()).item(), i


@pytest.mark.parametrize("default", ["process", "block"])
def test_a_worker_makes_its_batches_on_the_cpu_and_never_touches_the_gpu(gpu, default):
    with backends.default_device(gpu) if default == "block" else contextlib.nullcontext():
        assert backends.get_default() is gpu
        batches = list(DataLoader(Draws(), batch_size=2, seed=1, **FORK))
    assert len(batches) == 2
    for seeds, devices, draws, positions in batches:
        assert devices == ("cpu", "cpu")  # strings collate into a tuple, as PyTorch's
        # the batch lands on the default device, moved there by this process
        assert positions.device == "cuda:0" and positions.tolist() in ([0, 1], [2, 3])
        ag.manual_seed(seeds.tolist()[0])  # the worker's draws: from its CPU generator, seeded base_seed + id
        assert draws.tolist() == [ag.rand((), device="cpu").item() for _ in range(2)]


def test_a_worker_init_fn_may_seed_topograd_without_touching_the_gpu(gpu):
    def init(worker_id):  # as PyTorch code seeds its workers
        ag.manual_seed(100 + worker_id)

    batches = list(DataLoader(Draws(), batch_size=2, worker_init_fn=init, device="cpu", **FORK))
    ag.manual_seed(100)
    assert batches[0][2].tolist() == [ag.rand((), device="cpu").item() for _ in range(2)]


def test_manual_seed_leaves_the_gpus_alone_in_a_worker(gpu, monkeypatch):
    monkeypatch.setattr(backends, "_left_alone", set())  # (this process's, restored after the test)
    touched = []
    monkeypatch.setattr(gpu, "seed", touched.append)
    ag.manual_seed(5)
    draw = ag.rand((), device="cpu").item()
    assert touched == [5]
    backends.leave_gpus_alone()  # as a worker does: the GPU backends made so far are not seeded
    ag.manual_seed(5)
    assert touched == [5] and ag.rand((), device="cpu").item() == draw  # the CPU's seeded all the same


def test_a_dataset_on_a_gpu_is_refused_for_forked_workers_and_read_without_them(gpu):
    x = ag.arange(6, dtype=ag.float32, device=gpu)
    on_gpu = TensorDataset(x)
    for dataset in (on_gpu, Subset(on_gpu, [2, 1]), ConcatDataset([TensorDataset(ag.arange(3, device="cpu")),
                                                                     Subset(on_gpu, [0])])):
        with pytest.raises(RuntimeError, match=r"the dataset's tensors are on cuda:0, which worker processes "
                                               r"started with 'fork' cannot read.*num_workers=0"):
            iter(DataLoader(dataset, batch_size=2, **FORK))
    assert [b[0].tolist() for b in DataLoader(on_gpu, batch_size=4)] == [[0, 1, 2, 3], [4, 5]]
    on_cpu = TensorDataset(ag.arange(6, dtype=ag.float32, device="cpu"))
    assert [b[0].tolist() for b in DataLoader(on_cpu, batch_size=4, **FORK)] == [[0, 1, 2, 3], [4, 5]]
