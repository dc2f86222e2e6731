"""The EcoNAS evaluation stage: rank correlation of reduced training against its cost,
epoch by epoch, beside the zero-cost proxies on the very same architectures (the
paper's Figure 1). Kept apart from the training stage so that changing a plot or a
metric never invalidates hours of training in DVC's eyes."""

from pathlib import Path

from ..benchmarks import read_ground_truth
from ..evaluation import evaluate_dataset
from ..evaluation.plots import CostSeries, plot_rho_vs_cost
from ..evaluation.training_curves import epoch_correlations, final_epoch_summary
from ..files import read_table, write_json, write_table
from ..tracking import StageRun
from .params import Params
from .timings import split_timings
from .tables import score_table_path

ZERO_COST_PREFIX = "zc/"


def econas_evaluate_stage(params: Params, ground_truth_dir: Path, curves_path: Path, curve_timings_path: Path,
                          scores_dir: Path, score_timings_dir: Path, metrics_path: Path, timings_path: Path,
                          table_path: Path, plot_path: Path, run: StageRun) -> dict:
    """Metrics into `metrics_path`, seconds (a measurement of this machine) into
    `timings_path`, so that the metrics and the per-epoch table rerun bit for bit."""
    space, dataset = params.score.space, params.econas.dataset
    truth = read_ground_truth(Path(ground_truth_dir) / f"{space}.parquet")
    truth = truth.loc[truth["dataset"] == dataset, ["arch", "val_acc", "test_acc"]]
    curves = read_table(curves_path).merge(read_table(curve_timings_path), on=["config", "arch", "epoch"],
                                           validate="one_to_one")
    correlations = epoch_correlations(curves, truth, params.evaluate.bootstrap, params.seed)
    summary = final_epoch_summary(correlations)

    # The zero-cost proxies on exactly the trained architectures, for a fair comparison.
    scores = read_table(score_table_path(scores_dir, space, dataset)).merge(
        read_table(score_table_path(score_timings_dir, space, dataset)), on="arch", validate="one_to_one")
    scores = scores[scores["arch"].isin(curves["arch"].unique())]
    zero_cost = evaluate_dataset(scores, truth, params.score.proxies, vote=params.evaluate.vote,
                                 ensemble=params.evaluate.ensemble, top_fraction=params.evaluate.top_fraction,
                                 resamples=params.evaluate.bootstrap, seed=params.seed, dataset=f"econas/{dataset}")
    for proxy in params.score.proxies:
        entry = zero_cost[proxy]
        summary[f"{ZERO_COST_PREFIX}{proxy}"] = {
            key: entry.get(key) for key in ("spearman_test", "spearman_test_ci_low", "spearman_test_ci_high",
                                            "kendall_test", "n", "seconds_per_arch")
        } | {"epochs": 0, "minibatches_per_arch": 1}
    timings = split_timings(summary)
    write_json(summary, metrics_path)
    write_json(timings, timings_path)
    write_table(correlations.drop(columns="seconds_per_arch"), table_path)
    series = [CostSeries(f"{config} (by epoch)", list(zip(group["minibatches_per_arch"], group["spearman_test"])),
                         list(zip(group["spearman_test_ci_low"], group["spearman_test_ci_high"])))
              for config, group in correlations.groupby("config", sort=False)]
    plot_rho_vs_cost({p: zero_cost[p] for p in params.score.proxies}, plot_path,
                     costs={p: 1.0 for p in params.score.proxies}, cost_label="training minibatches per architecture",
                     series=series, title=f"{space} {dataset}: zero-cost proxies vs reduced training on the same "
                                          f"{curves['arch'].nunique()} architectures\n(a small sample: wide intervals)")
    run.log_metrics(summary, on_parent=True)
    run.log_metrics(timings, on_parent=True)
    run.log_artifact(plot_path)
    run.log_artifact(table_path)
    return summary
