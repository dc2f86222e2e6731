"""Datasets, their loaders, and the minibatch zero-cost proxies are scored on."""

from .datasets import DATASETS, DatasetInfo, dataset_info
from .loading import DEFAULT_DATA_DIR, SOURCES, Source, find_source, load_split
from .minibatch import CONVENTIONS, METHODS, Minibatches, load_minibatch, load_minibatches, select_minibatch, to_tensor
from .readers import SPLITS, read_cifar_python, read_image_folder, read_imagenet16

__all__ = [
    "CONVENTIONS",
    "DATASETS",
    "DEFAULT_DATA_DIR",
    "METHODS",
    "Minibatches",
    "SOURCES",
    "SPLITS",
    "DatasetInfo",
    "Source",
    "dataset_info",
    "find_source",
    "load_minibatch",
    "load_minibatches",
    "load_split",
    "read_cifar_python",
    "read_image_folder",
    "read_imagenet16",
    "select_minibatch",
    "to_tensor",
]
