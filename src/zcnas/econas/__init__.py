"""Reduced-training baselines (EcoNAS and variants) that zero-cost proxies are compared with."""

from .config import DEFAULT_BATCH_SIZE, TrainingConfig, configs_from_params, make_config, parse_config_name
from .data import SplitIndices, TrainingData, prepare_data, resize_images, split_indices
from .sample import COLUMNS, DEFAULT_VAL_FRACTION, train_archs, train_sample
from .training import build_network, train_arch, train_network

__all__ = [
    "COLUMNS",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_VAL_FRACTION",
    "SplitIndices",
    "TrainingConfig",
    "TrainingData",
    "build_network",
    "configs_from_params",
    "make_config",
    "parse_config_name",
    "prepare_data",
    "resize_images",
    "split_indices",
    "train_arch",
    "train_archs",
    "train_network",
    "train_sample",
]
