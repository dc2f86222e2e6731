"""The NAS-Bench-101 correlation task (params `nb101`, pipeline nb101/dvc.yaml): fetch_nb101,
score_nb101, evaluate_nb101 and report_nb101, on a small synthetic sample of tiny NB101 networks."""

import json
import random
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from zcnas.pipeline.evaluate_nb101 import evaluate_nb101_stage
from zcnas.pipeline.fetch_nb101 import fetch_nb101_stage
from zcnas.pipeline.nb101 import PAPER_NB101_SOURCE, REPORT, REPRODUCE_WITH
from zcnas.pipeline.params import parse_params
from zcnas.pipeline.report import nb101_pointer
from zcnas.pipeline.report_nb101 import nb101_section, write_nb101_report
from zcnas.pipeline import score_nb101
from zcnas.proxies import proxy_names
from zcnas.spaces import get_space
from zcnas.tracking import StageRun

NB101 = get_space("nb101")
CELLS = 10


def write_synthetic_sample(path, cells: int) -> None:
    """An NB101 sample table (`matrix`, `ops`, `cifar10_val`) of distinct random cells, random accuracies."""
    rng = random.Random(0)
    specs = {}
    while len(specs) < cells:
        spec = NB101.sample(rng)
        specs.setdefault(NB101.key(spec), json.loads(NB101.format(spec)))
    path.parent.mkdir(parents=True)
    pd.DataFrame({"matrix": [json.dumps(spec["matrix"]) for spec in specs.values()],
                  "ops": [json.dumps(spec["ops"]) for spec in specs.values()],
                  "cifar10_val": [rng.uniform(80, 95) for _ in specs]}).to_csv(path, index=False)


def stage_dirs(root) -> dict:
    return dict(raw=root / "raw", truth=root / "benchmarks_nb101",
                scores=root / "scores_nb101", journals=root / "journals", timings=root / "timings",
                metrics=root / "correlation_nb101.json", timings_metrics=root / "timings_nb101.json")


def run_task(params, dirs, data_dir) -> dict:
    """fetch_nb101, score_nb101 and evaluate_nb101 as DVC chains them; the metrics file's content."""
    fetch_nb101_stage(params, dirs["raw"], dirs["truth"], StageRun())
    score_nb101.score_nb101_stage(params, dirs["truth"], data_dir, dirs["scores"], dirs["journals"], dirs["timings"],
                                  StageRun())
    evaluate_nb101_stage(params, dirs["truth"], dirs["scores"], dirs["timings"], dirs["metrics"],
                         dirs["timings_metrics"], StageRun())
    return json.loads(dirs["metrics"].read_text())


@pytest.fixture(scope="module")
def task_run(tmp_path_factory, synthetic_data_dir):
    """The task with every proxy, on CELLS synthetic cells built as tiny networks."""
    dirs = stage_dirs(tmp_path_factory.mktemp("nb101-on"))
    write_synthetic_sample(dirs["raw"] / "nb101" / "sample.csv", CELLS)
    params = parse_params({"device": "cpu", "workers": 1, "fetch": {"spaces": []}, "score": {"batch_size": 8},
                           "evaluate": {"bootstrap": 20, "fewshot_k": 4},})
    build = NB101.build
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("ZCNAS_MIRROR", raising=False)
        # Full-size NB101 networks take seconds per proxy; the task's plumbing is the same on tiny ones.
        patch.setattr(NB101, "build", lambda arch, num_classes=10: build(arch, num_classes, stem_channels=4,
                                                                           num_stacks=2, modules_per_stack=1))
        metrics = run_task(params, dirs, synthetic_data_dir)
    return params, dirs, metrics


def test_task_judges_every_proxy_and_the_ensembles_against_validation_accuracy(task_run):
    params, dirs, metrics = task_run
    assert "validation accuracy" in metrics["accuracy"]
    cifar10 = metrics["cifar10"]
    assert set(cifar10) == {*proxy_names(), "az_nas", "vote", "ensemble", "log_rank", "fewshot", "fewshot_curve"}
    for proxy in proxy_names():
        assert {"spearman_val", "spearman_val_ci_low", "spearman_val_ci_high", "kendall_val", "top10_val",
                "pairwise_val"} <= set(cifar10[proxy]), proxy
        assert cifar10[proxy]["n"] + cifar10[proxy]["nan"] == CELLS
    assert cifar10["fewshot"]["target"] == "val_acc" and cifar10["fewshot"]["k"] == 4
    # No number claims a test split, and the seconds live apart, as in the NB201 task.
    assert "_test" not in json.dumps(metrics) and "test_acc" not in json.dumps(metrics)
    assert "seconds_per_arch" not in json.dumps(metrics)
    timings = json.loads(dirs["timings_metrics"].read_text())
    assert all(timings["cifar10"][proxy]["seconds_per_arch"] > 0 for proxy in proxy_names())
    # The number is the rank correlation of the stage's own scores with the sample's validation accuracy.
    scores = pd.read_parquet(dirs["scores"] / "nb101-cifar10.parquet")
    truth = pd.read_parquet(dirs["truth"] / "nb101.parquet")
    joined = scores.merge(truth, on="arch")
    assert len(joined) == CELLS
    assert cifar10["synflow"]["spearman_val"] == pytest.approx(
        stats.spearmanr(joined["synflow"], joined["val_acc"]).statistic)


def test_task_puts_the_papers_figures_beside_ours(task_run):
    _, _, metrics = task_run
    assert metrics["paper"] == {"source": PAPER_NB101_SOURCE, "spearman": {
        "fisher": 0.26, "grad_norm": 0.20, "grasp": 0.45, "jacob_cov": 0.38, "snip": 0.16, "synflow": 0.37}}
    section = "\n".join(nb101_section(metrics))
    ours = f"{metrics['cifar10']['synflow']['spearman_val']:.2f}"
    assert f"| synflow | 0.37 | {ours} [" in section and "| grasp | 0.45 | " in section
    assert "| ensemble | — | " in section  # ours only: the paper gives no NB101 ensemble


def test_report_and_summary_of_the_task(task_run, tmp_path):
    params, dirs, metrics = task_run
    out, summary_path = tmp_path / "nb101.md", tmp_path / "summary_nb101.json"
    write_nb101_report(params, dirs["metrics"], dirs["timings_metrics"], out, summary_path)
    summary = json.loads(summary_path.read_text())
    # Every proxy's and ensemble's rho with validation accuracy, under the keys MLflow and DVC show.
    assert summary["nb101"]["cifar10"]["synflow"] == metrics["cifar10"]["synflow"]["spearman_val"]
    assert summary["nb101"]["cifar10"] == {method: entry["spearman_val"] for method, entry in metrics["cifar10"].items()
                                           if isinstance(entry.get("spearman_val"), float)}
    assert set(summary["nb101"]["cifar10"]) >= {"synflow", "grasp", "ensemble", "log_rank"}
    report = out.read_text()
    assert REPRODUCE_WITH in report and "| synflow | 0.37 |" in report and "`nb101.cifar10.synflow`" in report
    # The default report points at it without reading it.
    pointer = "\n".join(nb101_pointer(Path("results/report.md")))
    assert REPRODUCE_WITH in pointer and f"[{REPORT}](nb101.md)" in pointer


def test_few_shot_is_left_out_when_the_sample_is_too_small_for_k(task_run, tmp_path):
    params, dirs, _ = task_run
    small = params.model_copy(update={"evaluate": params.evaluate.model_copy(update={"fewshot_k": CELLS - 1})})
    evaluate_nb101_stage(small, dirs["truth"], dirs["scores"], dirs["timings"], tmp_path / "m.json",
                         tmp_path / "t.json", StageRun())
    cifar10 = json.loads((tmp_path / "m.json").read_text())["cifar10"]
    assert "fewshot_curve" not in cifar10
    assert f"evaluate.fewshot_k {CELLS - 1}" in cifar10["fewshot"]["skipped"] and "synflow" in cifar10
