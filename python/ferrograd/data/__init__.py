"""ferrograd.data: datasets, loaders and transforms with torch.utils.data's semantics.

    from ferrograd.data import DataLoader, TensorDataset, random_split
    from ferrograd.data import transforms as T
    from ferrograd.data.datasets import load_digits, load_mnist1d, load_karate_club, ...
"""

from . import datasets, transforms
from .collate import default_collate
from .dataloader import DataLoader
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset
from .datasets import (
    load_digits,
    load_karate_club,
    load_mnist1d,
    load_text_corpus,
    make_shapes,
)
from .sampler import BatchSampler, DistributedSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler
from .split import random_split

__all__ = ["BatchSampler", "DistributedSampler", "RandomSampler", "Sampler", "SequentialSampler", "SubsetRandomSampler", "ConcatDataset", "DataLoader", "Dataset", "Subset", "TensorDataset", "datasets", "default_collate",
           "load_digits", "load_karate_club", "load_mnist1d", "load_text_corpus", "make_shapes",
           "random_split", "transforms"]
