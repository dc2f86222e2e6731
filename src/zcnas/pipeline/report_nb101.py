"""The NAS-Bench-101 task's report (results/nb101.md): our rho beside the paper's NB101 row."""

import json
from pathlib import Path

from ..files import atomic_path, write_json
from .markdown import DATASET_TITLES, headline_section, machine_description, number, ours, read_json
from .nb101 import REPRODUCE_WITH as REPRODUCE_NB101
from .params import Params
from .summary import nb101_summary
from .timings import merge_timings


def nb101_section(metrics: dict) -> list[str]:
    """The NAS-Bench-101 task (its metrics file): our ρ beside the paper's for each method."""
    paper = metrics["paper"]
    lines = ["## NAS-Bench-101: the second correlation task", "",
             f"Ours: Spearman ρ [bootstrap 95% interval] with the {metrics['accuracy']}. Paper: {paper['source']}, "
             "so its cells are not ours.", ""]
    for dataset in (name for name in DATASET_TITLES if name in metrics):
        lines += [f"| {DATASET_TITLES[dataset]} | paper ρ | ours ρ val | τ val | ndcg@10 val | seconds/arch |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {method} | {number(paper['spearman'].get(method))} | {ours(entry, 'spearman_val')} | "
                  f"{number(entry.get('kendall_val'))} | {ours(entry, 'ndcg_10_val')} | "
                  f"{number(entry.get('seconds_per_arch'), 3)} |"
                  for method, entry in metrics[dataset].items() if "spearman_val" in entry]
        lines.append("")
    return lines


def write_nb101_report(params: Params, metrics_json: Path, timings_json: Path, out: Path,
                       summary_out: Path | None = None) -> Path:
    """The NAS-Bench-101 task's report (`results/nb101.md`); with `summary_out`, its headline figures
    (`nb101.<dataset>.<method>`) there too."""
    metrics = merge_timings(json.loads(Path(metrics_json).read_text()), read_json(timings_json))
    lines = ["# zcnas report: NAS-Bench-101", "",
             f"Made by `{REPRODUCE_NB101}` (the MLflow run of each stage records its commit and time). Cells: "
             f"{params.nb101.sample if params.nb101.sample != 'all' else 'all distinct cells'} of the 500-row "
             f"sample; minibatch: {params.score.batch_size} images, `{params.score.dataload}` selection "
             f"(`score.minibatch: {params.score.minibatch}`), seed {params.seed}; machine: {machine_description()}. "
             "Seconds are measurements of that machine; every other number is reproduced bit for bit.", "",
             *nb101_section(metrics)]
    if summary_out is not None:
        summary = nb101_summary(metrics)
        write_json(summary, summary_out)
        lines += headline_section(summary, summary_out)
    with atomic_path(out) as tmp:
        tmp.write_text("\n".join(lines))
    return Path(out)
