"""Findings of a review of the DataLoader's batched reads (__getitems__): a TensorDataset or
Subset subclass that defines its own __getitems__ was read by the loader's gather of the
tensors' rows, which never called it."""
import numpy as np
import pytest

import autograd as ag
from nn.data import DataLoader, Subset, TensorDataset

ROWS = np.arange(6.0, dtype=np.float32)


def _batched_read(dataset, positions):
    """Each sample as (row + 100 * batch size,): a read that the row gather cannot give."""
    return [(dataset[p][0] + 100 * len(positions),) for p in positions]


class OurBatchedTensors(TensorDataset):
    __getitems__ = _batched_read


class OurBatchedSubset(Subset):
    __getitems__ = _batched_read


def _torch_classes(torch):
    return (type("TheirBatchedTensors", (torch.utils.data.TensorDataset,), {"__getitems__": _batched_read}),
            type("TheirBatchedSubset", (torch.utils.data.Subset,), {"__getitems__": _batched_read}))


@pytest.mark.parametrize("workers", [{}, dict(num_workers=1, multiprocessing_context="fork")],
                         ids=["no workers", "workers"])
@pytest.mark.parametrize("layout", ["tensors", "tensors under subsets", "subset subclass"])
def test_a_subclass_getitems_is_called_not_skipped_by_the_row_gather_as_torchs(torch, layout, workers):
    their_tensors, their_subset = _torch_classes(torch)
    # (on the CPU for workers: those started with 'fork' cannot read a dataset on a GPU)
    rows = ag.tensor(ROWS, device="cpu" if workers else None)
    if layout == "tensors":
        ours, theirs = OurBatchedTensors(rows), their_tensors(torch.from_numpy(ROWS))
    elif layout == "tensors under subsets":
        ours = Subset(Subset(OurBatchedTensors(rows), [5, 3, 1, 0]), [0, 1, 3])
        theirs = torch.utils.data.Subset(torch.utils.data.Subset(their_tensors(torch.from_numpy(ROWS)),
                                                                 [5, 3, 1, 0]), [0, 1, 3])
    else:
        ours = OurBatchedSubset(TensorDataset(rows), [4, 2, 0])
        theirs = their_subset(torch.utils.data.TensorDataset(torch.from_numpy(ROWS)), [4, 2, 0])
    got = [batch[0].numpy().tolist() for batch in DataLoader(ours, batch_size=2, **workers)]
    expected = [batch[0].tolist() for batch in torch.utils.data.DataLoader(theirs, batch_size=2)]
    assert got == expected
    assert min(min(batch) for batch in got) >= 100  # every sample came through __getitems__
