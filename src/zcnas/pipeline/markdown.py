"""Markdown building blocks shared by the reports: numbers with their intervals, the datasets'
titles, the machine line and the headline-figures table."""

import json
import os
import platform
from pathlib import Path

import torch

from ..metric_keys import flatten

DATASET_TITLES = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "imagenet16-120": "ImageNet16-120"}


def number(value, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def ours(entry: dict | None, key: str) -> str:
    if not entry or entry.get(key) is None:
        return "—"
    text = number(entry[key])
    # The metrics files' interval keys (evaluation.bootstrap.ci_metrics), read without importing
    # the evaluation code, so that the report stage does not depend on it.
    low, high = entry.get(f"{key}_ci_low"), entry.get(f"{key}_ci_high")
    return text if low is None or high is None else f"{text} [{number(low)}, {number(high)}]"


def headline_section(summary: dict, path: Path) -> list[str]:
    """The headline figures, under the keys `dvc metrics show` and the MLflow pipeline run use."""
    lines = ["## Headline figures", "",
             f"The figures of `{Path(path).as_posix()}`, under the keys `dvc metrics show`, `dvc exp show` and the "
             "MLflow pipeline run show them by (`rho`: Spearman ρ with test accuracy; `vote`: its pairwise accuracy; "
             "`space`: ρ over the whole space, all cells and non-isomorphic ones; `econas`: ρ of reduced training; "
             "`search`: speed-up to each target; `nb101`: ρ with validation accuracy).", "", "| key | value |", "|---|---|"]
    lines += [f"| `{key}` | {'—' if value is None else f'{value:.4g}'} |" for key, value in flatten(summary).items()]
    return lines + [""]


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"
    return f"{cpu}, {os.cpu_count()} CPU cores{gpu}; torch {torch.__version__}, Python {platform.python_version()}"


def read_json(path: Path | None) -> dict:
    return {} if path is None else json.loads(Path(path).read_text())
