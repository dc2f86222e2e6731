"""The EcoNAS stages: reduced training of a sample, then its correlation against cost,
beside the zero-cost proxies on the very same architectures."""

from pathlib import Path

import pandas as pd

from ..benchmarks import read_ground_truth
from ..device import resolve_device
from ..econas import train_sample
from ..evaluation import evaluate_dataset
from ..evaluation.plots import CostSeries, plot_rho_vs_cost
from ..evaluation.training_curves import epoch_correlations, final_epoch_summary
from ..files import read_table, write_json, write_table
from ..tracking import StageRun
from .params import Params
from .sampling import sample_archs
from .score import score_table_path
from .stage import worker_count

ZERO_COST_PREFIX = "zc/"


def econas_archs(params: Params, truth: pd.DataFrame) -> list[str]:
    """A seeded subset of the architectures the score stage scored (recomputed from the
    same seeds, so it does not depend on the score stage's output)."""
    space, dataset = params.score.space, params.econas.dataset
    known = truth.loc[truth["dataset"] == dataset, "arch"]
    what = f"the {space} ground truth for {dataset}"
    scored = sample_archs(known, params.score.sample, params.seed, f"score/{space}/{dataset}", what)
    return sample_archs(scored, params.econas.sample, params.seed, f"econas/{space}/{dataset}", "the score sample")


def econas_stage(params: Params, ground_truth_dir: Path, data_dir: Path, out: Path, run: StageRun) -> pd.DataFrame:
    truth = read_ground_truth(Path(ground_truth_dir) / f"{params.score.space}.parquet")
    device = resolve_device(params.device)
    table = train_sample(params.econas.configs, econas_archs(params, truth), params.econas.dataset, data_dir,
                         params.seed, params.device, out, workers=worker_count(params, device.type),
                         val_fraction=params.econas.val_fraction)
    final = table.loc[table.groupby(["config", "arch"])["epoch"].idxmax()]
    for config, group in final.groupby("config"):
        run.log_metrics({config: {"seconds_per_arch": group["seconds"].mean(),
                                  "images_per_second": group["images"].sum() / group["seconds"].sum()}})
    return table


def econas_evaluate_stage(params: Params, ground_truth_dir: Path, curves_path: Path, scores_dir: Path,
                          metrics_path: Path, table_path: Path, plot_path: Path, run: StageRun) -> dict:
    space, dataset = params.score.space, params.econas.dataset
    truth = read_ground_truth(Path(ground_truth_dir) / f"{space}.parquet")
    truth = truth.loc[truth["dataset"] == dataset, ["arch", "val_acc", "test_acc"]]
    curves = read_table(curves_path)
    correlations = epoch_correlations(curves, truth, params.evaluate.bootstrap, params.seed)
    summary = final_epoch_summary(correlations)

    # The zero-cost proxies on exactly the trained architectures, for a fair comparison.
    scores = read_table(score_table_path(scores_dir, space, dataset))
    scores = scores[scores["arch"].isin(curves["arch"].unique())]
    zero_cost = evaluate_dataset(scores, truth, params.score.proxies, vote=params.evaluate.vote,
                                 ensemble=params.evaluate.ensemble, top_fraction=params.evaluate.top_fraction,
                                 resamples=params.evaluate.bootstrap, seed=params.seed, dataset=f"econas/{dataset}")
    for proxy in params.score.proxies:
        entry = zero_cost[proxy]
        summary[f"{ZERO_COST_PREFIX}{proxy}"] = {
            key: entry.get(key) for key in ("spearman_test", "spearman_test_ci", "kendall_test", "n",
                                            "seconds_per_arch")} | {"epochs": 0, "minibatches_per_arch": 1}
    write_json(summary, metrics_path)
    write_table(correlations, table_path)
    series = [CostSeries(f"{config} (by epoch)", list(zip(group["minibatches_per_arch"], group["spearman_test"])),
                         list(zip(group["spearman_test_low"], group["spearman_test_high"])))
              for config, group in correlations.groupby("config", sort=False)]
    plot_rho_vs_cost({p: zero_cost[p] for p in params.score.proxies}, plot_path,
                     costs={p: 1.0 for p in params.score.proxies}, cost_label="training minibatches per architecture",
                     series=series, title=f"{space} {dataset}: zero-cost proxies vs reduced training on the same "
                                          f"{curves['arch'].nunique()} architectures\n(a small sample: wide intervals)")
    run.log_metrics(summary, on_parent=True)
    run.log_artifact(plot_path)
    run.log_artifact(table_path)
    return summary
