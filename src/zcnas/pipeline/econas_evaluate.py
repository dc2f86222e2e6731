"""The EcoNAS evaluation stage: rank correlation of reduced training against its cost,
epoch by epoch, beside the zero-cost proxies on the very same architectures (the
paper's Figure 1). Kept apart from the training stage so that changing a plot or a
metric never invalidates hours of training in DVC's eyes."""

from pathlib import Path

from ..benchmarks import read_ground_truth
from ..evaluation import evaluate_dataset
from ..evaluation.published import PAPER_ECONAS, ZERO_COST_PREFIX
from ..evaluation.plots import CostSeries, plot_rho_vs_cost
from ..data import dataset_info
from ..econas import configs_from_params
from ..evaluation.training_curves import epoch_correlations, final_epoch_summary, full_epoch_flops, setting_full_epochs
from ..files import read_table, write_json, write_table
from ..metric_keys import keyed
from ..tracking import StageRun
from .params import Params
from .timings import split_timings
from .tables import score_table_path

NB201_CURVE_ABSENT = "NB201's own training curve (epochs 1-12):\nnot drawn, zcnas does not read\nthe official NB201 file's epochs yet"


def econas_evaluate_stage(params: Params, ground_truth_dir: Path, curves_path: Path, curve_timings_path: Path,
                          scores_dir: Path, score_timings_dir: Path, metrics_path: Path, timings_path: Path,
                          table_path: Path, plots_dir: Path, run: StageRun) -> dict:
    """Metrics into `metrics_path`, seconds (a measurement of this machine) into
    `timings_path`, so that the metrics and the per-epoch table rerun bit for bit."""
    space, dataset = params.score.space, params.econas.dataset
    truth = read_ground_truth(Path(ground_truth_dir) / f"{space}.parquet")
    truth = truth.loc[truth["dataset"] == dataset, ["arch", "val_acc", "test_acc"]]
    curves = read_table(curves_path).merge(read_table(curve_timings_path), on=["config", "arch", "epoch"],
                                           validate="one_to_one")
    archs = sorted(curves["arch"].unique())
    curves["full_epochs"] = curves["flops"] / curves["arch"].map(full_epoch_flops(archs, dataset))
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
        } | {"epochs": 0, "minibatches_per_arch": 1, "full_epochs_per_arch": minibatch_full_epochs(params)}
    timings = keyed(split_timings(summary))  # taken out of summary first
    summary = keyed(summary)  # names as metric keys spell them
    write_json(summary, metrics_path)
    write_json(timings, timings_path)
    write_table(correlations.drop(columns="seconds_per_arch"), table_path)
    # The curves for `dvc plots` (its `curves` template colours by `curve`).
    write_table(correlations.assign(curve=correlations["config"])[
        ["curve", "epoch", "spearman_test", "kendall_test"]], Path(plots_dir) / "rho-per-epoch.csv")
    plots = figure_1(params, correlations, zero_cost, archs, Path(plots_dir))
    run.log_metrics(summary)
    run.log_metrics(timings)
    log_training_curves(run, curves, correlations, truth)
    run.headline = ", ".join(f"{config} ρ {entry['spearman_test']:.3f}" for config, entry in summary.items()
                             if not config.startswith(ZERO_COST_PREFIX))
    for plot in plots:
        run.log_artifact(plot)
    run.log_artifact(table_path)
    return summary


def figure_1(params: Params, correlations, zero_cost: dict, archs: list[str], plots_dir: Path) -> list[Path]:
    """The paper's Figure 1 twice: rho against cost in full-size training epochs (the same on
    every machine, with the paper's figures beside ours) and in seconds measured here."""
    dataset = params.econas.dataset
    proxies = [p for p in params.score.proxies if p in zero_cost]
    minibatch = minibatch_full_epochs(params)
    paper_settings = configs_from_params(params.econas.configs, dataset)
    published = {f"paper: {config.name}": (setting_full_epochs(config, archs, dataset, params.econas.val_fraction),
                                           PAPER_ECONAS[config.name])
                 for config in paper_settings if config.name in PAPER_ECONAS}
    published |= {f"paper: {proxy}": (minibatch, PAPER_ECONAS[f"{ZERO_COST_PREFIX}{proxy}"])
                  for proxy in proxies if f"{ZERO_COST_PREFIX}{proxy}" in PAPER_ECONAS}
    title = (f"{params.score.space} {dataset}: zero-cost proxies vs reduced training on the same {len(archs)} "
             "architectures\n(zero-cost proxies at one pass of their minibatch; hollow black: the paper's figures)")
    plots = []
    for unit, cost_column, costs, label, paper in (
            ("flops", "full_epochs_per_arch", {p: minibatch for p in proxies},
             "training cost per architecture, in epochs of the full-size network (FLOPs)", published),
            ("seconds", "seconds_per_arch", {p: zero_cost[p]["seconds_per_arch"] for p in proxies},
             "seconds per architecture on this machine (the paper's figures: in the FLOPs plot)", None)):
        series = [CostSeries(f"{config} (by epoch)", list(zip(group[cost_column], group["spearman_test"])),
                             list(zip(group["spearman_test_ci_low"], group["spearman_test_ci_high"])))
                  for config, group in correlations.groupby("config", sort=False)]
        plots.append(plot_rho_vs_cost({p: zero_cost[p] for p in proxies}, Path(plots_dir) / f"figure1-{unit}.png",
                                      costs=costs, cost_label=label, series=series, title=title, published=paper,
                                      notes=[NB201_CURVE_ABSENT], cost_column=cost_column))
    return plots


def minibatch_full_epochs(params: Params) -> float:
    """A zero-cost proxy's cost in full-size epochs: it reads one minibatch, about one
    forward and backward pass of it through the full-size network."""
    return params.score.batch_size / dataset_info(params.econas.dataset).train_images


def log_training_curves(run: StageRun, curves, correlations, truth) -> None:
    """Step metrics per epoch: a run per setting (rho and Kendall tau of validation accuracy
    with test accuracy), and below it a run per trained cell (val_acc, train_loss), named by
    the cell's place in the sorted sample so that every setting's runs line up."""
    test_acc = truth.set_index("arch")["test_acc"]
    for config, rows in curves.groupby("config", sort=True):
        by_epoch = correlations[correlations["config"] == config].set_index("epoch")
        with run.child(f"curves {config}", {"config": config, "cells": rows["arch"].nunique()},
                       f"Reduced training `{config}`: rank correlation per epoch; a run per cell below.") as setting:
            setting.log_curves({name: by_epoch[name].to_dict() for name in ("spearman_test", "kendall_test")})
            for cell, (arch, cell_rows) in enumerate(rows.groupby("arch", sort=True)):
                with setting.child(f"{config} cell {cell:02d}",
                                   {"arch": arch, "benchmark_test_acc": test_acc.get(arch)}) as trained:
                    epochs = cell_rows.set_index("epoch")
                    trained.log_curves({name: epochs[name].to_dict() for name in ("val_acc", "train_loss")})

