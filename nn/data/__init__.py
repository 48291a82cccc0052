"""Datasets, the DataLoader, and real datasets that need no download.

    from nn.data import DataLoader, TensorDataset, random_split, datasets
    (x_train, y_train), (x_test, y_test) = datasets.mnist()
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True, seed=0)
"""
from . import datasets
from .dataloader import DataLoader, default_collate, default_convert
from .dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset,
                      TensorDataset, random_split)
from .datasets import Splits, digits, mnist
from .idx import read_idx
from .workers import WorkerInfo, get_worker_info
from .samplers import (BatchSampler, DistributedSampler, RandomSampler, Sampler, SequentialSampler,
                       SubsetRandomSampler, WeightedRandomSampler)

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "ChainDataset", "StackDataset",
           "random_split",
           "DataLoader", "default_collate", "default_convert", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "DistributedSampler", "BatchSampler", "get_worker_info", "WorkerInfo",
           "datasets", "mnist", "digits", "Splits", "read_idx"]
