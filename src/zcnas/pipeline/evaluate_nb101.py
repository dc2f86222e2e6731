"""The evaluate_nb101 stage: how well each proxy ranks the NAS-Bench-101 task's cells, beside the paper.

The sample holds validation accuracy only (its `test_acc` is empty), so every metric is
against validation accuracy: `evaluate_dataset` is handed it as the accuracy it judges
by, and its `_test` keys are renamed `_val`, so that no number claims a test split.
"""

from pathlib import Path

from ..benchmarks import SPACE_DATASETS, read_ground_truth
from ..evaluation import evaluate_dataset
from ..proxies import published_figures, with_aggregate_names
from ..proxies.registry import PAPER_NB101
from ..files import read_table, write_json
from ..metric_keys import keyed
from ..tracking import StageRun
from .nb101 import PAPER_NB101_SOURCE, SPACE
from .params import Params
from .tables import score_table_path
from .timings import split_timings

ACCURACY_NOTE = ("validation accuracy (CIFAR-10) of the sampled cells: the NAS-Bench-101 sample has no test "
                 "accuracy, so every metric (keys *_val) is against it")


def paper_nb101() -> dict[str, float]:
    """The paper's NB101 rho of each of its proxies (their `published` metadata)."""
    return {name: figures[0].rho for name, figures in published_figures(SPACE, PAPER_NB101).items()}


def evaluate_nb101_stage(params: Params, ground_truth_dir: Path, scores_dir: Path, timings_dir: Path,
                         metrics_path: Path, timings_path: Path, run: StageRun) -> dict:
    """Metrics of each proxy and of the evaluate section's ensembles, with the paper's figures, into
    `metrics_path`; seconds per architecture into `timings_path`."""
    truth = read_ground_truth(Path(ground_truth_dir) / f"{SPACE}.parquet")
    report = {"accuracy": ACCURACY_NOTE,
              "paper": {"source": PAPER_NB101_SOURCE, "spearman": paper_nb101()}}
    for dataset in SPACE_DATASETS[SPACE]:
        scores = read_table(score_table_path(scores_dir, SPACE, dataset)).merge(
            read_table(score_table_path(timings_dir, SPACE, dataset)), on="arch", validate="one_to_one")
        validation = truth.loc[truth["dataset"] == dataset, ["arch", "val_acc"]].rename(columns={"val_acc": "test_acc"})
        # The few-shot model needs two cells left to judge on beside its k labelled ones.
        fewshot_k = params.evaluate.fewshot_k if params.evaluate.fewshot_k <= len(scores) - 2 else None
        report[dataset] = against_validation(evaluate_dataset(
            scores, validation, with_aggregate_names(params.nb101.proxies), vote=params.evaluate.vote,
            ensemble=params.evaluate.ensemble, log_rank=params.evaluate.log_rank, fewshot_k=fewshot_k,
            top_fraction=params.evaluate.top_fraction,
            resamples=params.evaluate.bootstrap, seed=params.seed, dataset=f"{SPACE}/{dataset}"))
        if fewshot_k is None:
            report[dataset]["fewshot"] = {"skipped": f"evaluate.fewshot_k {params.evaluate.fewshot_k} leaves fewer "
                                                     f"than two of the {len(scores)} scored cells to judge on"}
    timings = keyed(split_timings(report))  # taken out of report first
    report = keyed(report)  # names as metric keys spell them
    write_json(report, metrics_path)
    write_json(timings, timings_path)
    run.log_metrics({SPACE: report})
    run.log_metrics({SPACE: timings})
    return report


def against_validation(metrics):
    """`evaluate_dataset`'s metrics, computed with validation accuracy as `test_acc`, named for what
    they are: `_test` becomes `_val` in every key and `test_acc` `val_acc` in every value (the few-shot
    target); its own `spearman_val`, empty without a validation column, is dropped."""
    if isinstance(metrics, dict):
        return {key.replace("_test", "_val"): against_validation(value) for key, value in metrics.items()
                if key != "spearman_val"}
    return "val_acc" if metrics == "test_acc" else metrics
