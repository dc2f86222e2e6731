"""The Markdown report: the paper's NAS-Bench-201 numbers beside ours."""

import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

import torch

from ..files import atomic_path
from ..tracking import code_version
from .params import Params

# Abdelfattah et al. (2021), Table 2: Spearman rho on NAS-Bench-201 (vote: pairwise accuracy).
PAPER_NB201 = {
    "grad_norm": {"cifar10": 0.59, "cifar100": 0.64, "imagenet16-120": 0.58},
    "snip": {"cifar10": 0.60, "cifar100": 0.64, "imagenet16-120": 0.58},
    "grasp": {"cifar10": 0.51, "cifar100": 0.55, "imagenet16-120": 0.55},
    "fisher": {"cifar10": 0.36, "cifar100": 0.39, "imagenet16-120": 0.33},
    "synflow": {"cifar10": 0.74, "cifar100": 0.76, "imagenet16-120": 0.75},
    "jacob_cov": {"cifar10": 0.73, "cifar100": 0.70, "imagenet16-120": 0.70},
    "vote": {"cifar10": 0.82, "cifar100": 0.83, "imagenet16-120": 0.81},
}
DATASET_TITLES = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "imagenet16-120": "ImageNet16-120"}


def _number(value, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _ours(entry: dict | None, key: str) -> str:
    if not entry or entry.get(key) is None:
        return "—"
    text = _number(entry[key])
    interval = entry.get(f"{key}_ci")
    return f"{text} [{_number(interval[0])}, {_number(interval[1])}]" if interval else text


def paper_table(metrics: dict) -> list[str]:
    datasets = list(DATASET_TITLES)
    header = "| proxy | " + " | ".join(f"paper {DATASET_TITLES[d]} | ours {DATASET_TITLES[d]}" for d in datasets) + " |"
    lines = [header, "|---|" + "---|---|" * len(datasets)]
    for proxy, paper in PAPER_NB201.items():
        key = "pairwise_test" if proxy == "vote" else "spearman_test"
        cells = [f"{_number(paper[d])} | {_ours(metrics.get(d, {}).get(proxy), key)}" for d in datasets]
        lines.append(f"| {proxy} | " + " | ".join(cells) + " |")
    return lines


def detail_table(dataset_metrics: dict) -> list[str]:
    columns = ["spearman_test", "spearman_val", "kendall_test", "top10_test", "pairwise_test", "n", "nan",
               "seconds_per_arch"]
    lines = ["| proxy | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for proxy, entry in dataset_metrics.items():
        values = []
        for column in columns:
            value = entry.get(column)
            if column in {"n", "nan"}:
                values.append("—" if value is None else str(int(value)))
            elif column == "seconds_per_arch":
                values.append(_number(value, 3))
            elif column == "spearman_test":
                values.append(_ours(entry, column))
            else:
                values.append(_number(value, 3))
        lines.append(f"| {proxy} | " + " | ".join(values) + " |")
    return lines


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"
    return f"{cpu}, {os.cpu_count()} CPU cores{gpu}; torch {torch.__version__}, Python {platform.python_version()}"


def write_report(params: Params, correlation_json: Path, out: Path, plots_dir: Path | None = None,
                 extra_sections: list[list[str]] = ()) -> Path:
    metrics = json.loads(Path(correlation_json).read_text())
    version = code_version()
    lines = [
        "# zcnas report",
        "",
        f"Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC} from commit `{version['git_commit'][:12]}`"
        + (" (with uncommitted changes)" if version["git_dirty"] == "true" else "") + ".",
        "",
        "## Setup",
        "",
        f"- Search space: {params.score.space}; datasets: {', '.join(params.score.datasets)}",
        f"- Architectures: {params.score.sample} (seeded sample), seed {params.seed}",
        f"- Minibatch: {params.score.batch_size} images, `{params.score.dataload}` selection, one per dataset, "
        "shared by all architectures",
        f"- Device: `{params.device}`; machine: {machine_description()}",
        "",
        "## Spearman ρ with test accuracy on NAS-Bench-201: paper vs ours",
        "",
        "Ours: ρ [bootstrap 95% interval]. `vote` is the share of architecture pairs the majority of "
        f"{', '.join(params.evaluate.vote)} orders correctly, as in the paper. — = not computed "
        "(add the dataset to `score.datasets` when its images are available).",
        "",
        *paper_table(metrics),
        "",
    ]
    for dataset, dataset_metrics in metrics.items():
        lines += [f"## {DATASET_TITLES.get(dataset, dataset)} in detail", "",
                  "seconds_per_arch: median cost of the proxy alone on one architecture, network construction "
                  "excluded, on this machine.", "", *detail_table(dataset_metrics), ""]
        if plots_dir is not None:
            relative = os.path.relpath(plots_dir, Path(out).parent)
            lines += [f"![rho against cost]({relative}/{dataset}-rho-vs-cost.png)", ""]
    for section in extra_sections:
        lines += [*section, ""]
    with atomic_path(out) as tmp:
        tmp.write_text("\n".join(lines))
    return Path(out)
