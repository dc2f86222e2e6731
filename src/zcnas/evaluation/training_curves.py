"""Rank correlation of reduced-training proxies, epoch by epoch."""

import numpy as np
import pandas as pd

from .bootstrap import ci_metrics, spearman_interval
from .ranks import kendall, spearman
from .report import json_safe


def epoch_correlations(curves: pd.DataFrame, truth: pd.DataFrame, resamples: int, seed: int) -> pd.DataFrame:
    """One row per (config, epoch): how well validation accuracy after that epoch ranks
    the architectures by their benchmark test accuracy, and what it cost so far.

    `curves` has columns config, arch, epoch, val_acc, minibatches, images, seconds,
    flops (cumulative, per architecture); `truth` has arch, test_acc.
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
            "seconds_per_arch": seconds,
            "images_per_second": float(last["images_per_arch"]) / seconds if seconds > 0 else np.nan,
        }
    return json_safe(summary)
