"""Rank correlation of reduced-training proxies, epoch by epoch."""

import numpy as np
import pandas as pd

from ..data import dataset_info
from ..econas.config import TrainingConfig
from ..econas.data import split_sizes
from ..econas.training import SPACE, TRAINING_FLOPS_PER_FORWARD
from ..proxies.passes.flops import count_flops
from .bootstrap import ci_metrics, spearman_interval
from .ranks import kendall, spearman
from .report import json_safe

FULL_SIZE_CHANNELS = 16  # NB201's benchmarked networks


def epoch_correlations(curves: pd.DataFrame, truth: pd.DataFrame, resamples: int, seed: int) -> pd.DataFrame:
    """One row per (config, epoch): how well validation accuracy after that epoch ranks
    the architectures by their benchmark test accuracy, and what it cost so far.

    `curves` has columns config, arch, epoch, val_acc, minibatches, images, seconds,
    flops and full_epochs (cumulative, per architecture; full_epochs: the training FLOPs as
    a multiple of one epoch of the same architecture at full size, see `full_epoch_flops`);
    `truth` has arch, test_acc.
    """
    joined = curves.merge(truth[["arch", "test_acc"]], on="arch", how="inner", validate="many_to_one")
    rows = []
    for (config, epoch), group in joined.groupby(["config", "epoch"], sort=True):
        group = group.sort_values("arch")  # bootstrap draws independent of table order
        low, high = spearman_interval(group["val_acc"], group["test_acc"], resamples, seed, "econas", config, epoch)
        rows.append({
            "config": config, "epoch": int(epoch), "n": len(group),
            "spearman_test": spearman(group["val_acc"], group["test_acc"]),
            **ci_metrics("spearman_test", (low, high)),
            "kendall_test": kendall(group["val_acc"], group["test_acc"]),
            "minibatches_per_arch": group["minibatches"].mean(), "images_per_arch": group["images"].mean(),
            "seconds_per_arch": group["seconds"].mean(), "flops_per_arch": group["flops"].mean(),
            "full_epochs_per_arch": group["full_epochs"].mean(),
        })
    return pd.DataFrame(rows)


def final_epoch_summary(correlations: pd.DataFrame) -> dict:
    """{config: metrics at its last epoch}, JSON-safe (the shape of metrics/econas.json)."""
    summary = {}
    for config, group in correlations.groupby("config", sort=False):
        last = group.loc[group["epoch"].idxmax()]
        seconds = float(last["seconds_per_arch"])
        summary[config] = {
            "spearman_test": last["spearman_test"],
            **ci_metrics("spearman_test", (last["spearman_test_ci_low"], last["spearman_test_ci_high"])),
            "kendall_test": last["kendall_test"],
            "n": int(last["n"]),
            "epochs": int(last["epoch"]),
            "minibatches_per_arch": float(last["minibatches_per_arch"]),
            "full_epochs_per_arch": float(last["full_epochs_per_arch"]),
            "seconds_per_arch": seconds,
            "images_per_second": float(last["images_per_arch"]) / seconds if seconds > 0 else np.nan,
        }
    return json_safe(summary)


def full_epoch_flops(archs, dataset: str) -> pd.Series:
    """arch -> training FLOPs of one epoch of the full-size network (NB201's C=16 at the
    dataset's resolution) on the dataset's whole training split, counted like the
    reduced runs' `flops` (3 x forward FLOPs per image): the paper's cost unit, the same
    on every machine."""
    info = dataset_info(dataset)
    flops = {}
    for name in archs:
        net = SPACE.build(SPACE.parse(name), info.num_classes, channels=FULL_SIZE_CHANNELS)
        forward = count_flops(net, (3, info.image_size, info.image_size))
        flops[name] = TRAINING_FLOPS_PER_FORWARD * forward * info.train_images
    return pd.Series(flops, name="full_epoch_flops")


def setting_full_epochs(config: TrainingConfig, archs, dataset: str, val_fraction: float) -> float:
    """What training `archs` under `config` costs, per architecture on average, in
    full-size epochs (`full_epoch_flops`): e.g. where a paper's figure for that setting sits
    on the cost axis, also when the run here was shortened."""
    info = dataset_info(dataset)
    _, num_train = split_sizes(info.train_images, val_fraction, config.fraction)
    full = full_epoch_flops(archs, dataset)
    reduced = [TRAINING_FLOPS_PER_FORWARD * count_flops(
        SPACE.build(SPACE.parse(name), info.num_classes, channels=config.channels),
        (3, config.resolution, config.resolution)) * num_train * config.epochs / full[name] for name in archs]
    return float(np.mean(reduced))
