"""The evaluate stage: rank correlations, retrieval and the vote, with plots."""

from pathlib import Path

import pandas as pd

from ..benchmarks import read_ground_truth
from ..evaluation import evaluate_dataset, higher_is_better, join_truth, metrics_table
from ..proxies import with_aggregate_names
from ..evaluation.plots import plot_rho_vs_cost, plot_score_scatter
from ..files import read_table, write_json, write_table
from ..metric_keys import keyed
from ..tracking import StageRun
from .params import Params
from .timings import split_timings
from .tables import score_table_path


def evaluate_stage(params: Params, ground_truth_dir: Path, scores_dir: Path, timings_dir: Path, metrics_path: Path,
                   timings_path: Path, tables_dir: Path, plots_dir: Path, cost_plots_dir: Path,
                   rho_plots_dir: Path, run: StageRun) -> dict:
    """Metrics of every proxy into `metrics_path`; their seconds per architecture, a
    measurement of this machine, into `timings_path` (and the rho-against-cost plots
    into `cost_plots_dir`), so that the metrics and `plots_dir` are the same bit for bit
    on every rerun. `rho_plots_dir` gets `<dataset>.csv`: each method's rho, for `dvc plots`."""
    space = params.score.space
    truth = read_ground_truth(Path(ground_truth_dir) / f"{space}.parquet")
    report = {}
    proxies = with_aggregate_names(params.score.proxies)
    for dataset in params.score.datasets:
        scores = read_table(score_table_path(scores_dir, space, dataset)).merge(
            read_table(score_table_path(timings_dir, space, dataset)), on="arch", validate="one_to_one")
        dataset_truth = truth.loc[truth["dataset"] == dataset, ["arch", "val_acc", "test_acc"]]
        report[dataset] = evaluate_dataset(
            scores, dataset_truth, proxies, vote=params.evaluate.vote, ensemble=params.evaluate.ensemble,
            log_rank=params.evaluate.log_rank,
            fewshot_k=params.evaluate.fewshot_k,
            top_fraction=params.evaluate.top_fraction, resamples=params.evaluate.bootstrap, seed=params.seed,
            dataset=dataset,
        )
        joined = join_truth(scores, dataset_truth)
        for proxy in proxies:
            plot_score_scatter(joined[proxy], joined["test_acc"], Path(plots_dir) / f"{dataset}-{proxy}.png",
                               proxy=proxy, dataset=dataset, higher_is_better=higher_is_better(proxy))
        plot_rho_vs_cost(report[dataset], Path(cost_plots_dir) / f"{dataset}-rho-vs-cost.png",
                         title=f"{space} {dataset}: Spearman's rho against cost per architecture")
    # Names as every metric key spells them (zcnas.metric_keys), in the files, MLflow and what is returned.
    timings = keyed(split_timings(report))  # taken out of report first
    report = keyed(report)
    write_json(report, metrics_path)
    write_json(timings, timings_path)
    write_table(metrics_table(report), Path(tables_dir) / "correlation.csv")
    for dataset, entries in report.items():
        write_table(rho_table(entries), Path(rho_plots_dir) / f"{dataset}.csv")
    run.log_metrics(report)
    run.log_metrics(timings)
    run.headline = ", ".join(f"{dataset} best ρ {best_method(entries)}" for dataset, entries in report.items())
    run.log_artifact(plots_dir, "plots")
    run.log_artifact(cost_plots_dir, "plots")
    run.log_artifact(Path(tables_dir) / "correlation.csv")
    return report


def rho_table(entries: dict) -> pd.DataFrame:
    """method, spearman_test and its interval: one row per method with a rho, best first."""
    rows = [{"method": name, "spearman_test": entry["spearman_test"],
             "low": entry.get("spearman_test_ci_low"), "high": entry.get("spearman_test_ci_high")}
            for name, entry in entries.items() if isinstance(entry, dict) and "spearman_test" in entry]
    return pd.DataFrame(rows).sort_values("spearman_test", ascending=False, ignore_index=True)


def best_method(entries: dict) -> str:
    """`name rho` of the method with the highest Spearman rho with test accuracy."""
    rhos = {name: entry["spearman_test"] for name, entry in entries.items()
            if isinstance(entry, dict) and isinstance(entry.get("spearman_test"), float)
            and entry["spearman_test"] == entry["spearman_test"]}
    name = max(rhos, key=rhos.get)
    return f"{name} {rhos[name]:.3f}"
