"""The whole DVC pipeline, end to end, on the smoke profile.

Runs on the real mirror (../shared/data) when present, else on generated data of the
same schema (a synthetic NB201 table and random CIFAR-10 images).
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
import yaml
from scipy import stats

from conftest import shared_data_dir
from mlflow_server import Server
from zcnas.metric_keys import flatten
from zcnas.pipeline import nb101, profile

REPO = Path(__file__).resolve().parents[1]
pytest.importorskip("dvc")
mlflow = pytest.importorskip("mlflow")


def run(command: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def copy_pipeline(root: Path) -> None:
    """The pipeline (dvc.yaml, stages, src) into `root`, with params.yaml under the smoke profile."""
    profile.copy_pipeline(REPO, root, "smoke")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The quick run of `zcnas pipeline --profile smoke`: a copy of the project's pipeline in
    a fresh git + DVC repository, with data, reproduced; its own MLflow store."""
    root = tmp_path_factory.mktemp("project")
    store = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{store}", "ZCNAS_TRACKING": "on",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    mirror = shared_data_dir()
    if (mirror / "nb201" / "accuracy.csv").exists() and (mirror / "cifar10").exists():
        env["ZCNAS_MIRROR"] = str(mirror)
    else:  # synthetic stand-ins, written by the quick run
        env.pop("ZCNAS_MIRROR", None)
    result = profile.quick_run(REPO, "smoke", root, env=env)
    return root, result.env, result.real_data


def test_repro_produces_metrics_report_and_plots(project):
    root, env, real = project
    metrics = json.loads((root / "metrics" / "correlation.json").read_text())
    entry = metrics["cifar10"]["synflow"]
    # The metric is the rank correlation of the stage's own score table with the truth.
    scores = pd.read_parquet(root / "data" / "scores" / "nb201-cifar10.parquet")
    truth = pd.read_parquet(root / "data" / "benchmarks" / "nb201.parquet")
    joined = scores.merge(truth[truth["dataset"] == "cifar10"], on="arch")
    assert entry["n"] == len(joined) == 20
    assert entry["spearman_test"] == pytest.approx(stats.spearmanr(joined["synflow"], joined["test_acc"]).statistic)
    if real:  # synflow ranks NB201 cells well (rho ~0.75 on the whole space)
        assert entry["spearman_test"] > 0.3
    assert set(metrics["cifar10"]) >= {"synflow", "snip", "vote", "ensemble"}
    assert 0 <= metrics["cifar10"]["vote"]["pairwise_test"] <= 1
    report = (root / "results" / "report.md").read_text()
    assert "| synflow | 0.74 |" in report  # the paper's number beside ours
    # Plots and the data they draw, under results/ (committed to git, so a clone has them).
    for png in ("cost/cifar10-rho-vs-cost", "econas/figure1-flops", "search/nb201-cifar100"):
        assert (root / "results" / "plots" / f"{png}.png").stat().st_size > 0
        assert not pd.read_csv(root / "results" / "plots" / f"{png}.csv").empty
    rho = pd.read_csv(root / "results" / "plots" / "rho" / "cifar10.csv")
    assert rho.set_index("method").loc["synflow", "spearman_test"] == pytest.approx(entry["spearman_test"])
    # Every image the report links to exists.
    for link in re.findall(r"!\[[^]]*\]\(([^)]+)\)", report):
        assert (root / "results" / link).is_file(), link
    # The headline figures: one file, the same keys in the report.
    summary = flatten(json.loads((root / "metrics" / "summary.json").read_text()))
    assert summary["rho.cifar10.synflow"] == pytest.approx(entry["spearman_test"])
    assert {"econas.econas", "econas.econas_plus-shortened"} <= set(summary)
    assert all(f"| `{key}` |" in report for key in summary)
    seeds = yaml.safe_load((root / "params.yaml").read_text())["score_space"]["seeds"]
    assert len(list((root / "data" / "space_scores").glob("*.parquet"))) == seeds
    # The whole-space figures are the rank correlation of score_space's own (global seed) table
    # with the truth, on every dataset of the benchmark; the non-isomorphic protocol keeps fewer cells.
    space = json.loads((root / "metrics" / "space_correlation.json").read_text())
    whole = pd.read_parquet(root / "data" / "space_scores" / "nb201-cifar10-seed0.parquet")
    for dataset in truth["dataset"].unique():
        joined = whole.merge(truth[truth["dataset"] == dataset], on="arch")
        entry = space[dataset]["all"]["synflow"]
        assert entry["n"] == len(joined) == 40
        assert entry["spearman_test"] == pytest.approx(
            stats.spearmanr(joined["synflow"], joined["test_acc"]).statistic)
        assert space[dataset]["non_isomorphic"]["synflow"]["n"] < entry["n"]
        assert summary[f"space.{dataset}.all.synflow"] == pytest.approx(entry["spearman_test"])
    assert "## The whole space, under the literature's protocols" in report
    # Seconds live apart from the results: in the timings files, not in the metrics.
    assert "seconds_per_arch" not in json.dumps(metrics)
    timings = json.loads((root / "metrics" / "timings.json").read_text())
    assert timings["cifar10"]["synflow"]["seconds_per_arch"] > 0
    # DVC's metrics are the headline figures alone (the detailed files are read by name).
    shown = json.loads(run(["dvc", "metrics", "show", "--json"], root, env).stdout)
    (workspace,) = shown.values()  # keyed by the repository's root, which DVC spells differently across versions
    assert list(workspace["data"]) == ["metrics/summary.json"]
    detail = run(["dvc", "metrics", "show", "metrics/correlation.json", "--json"], root, env).stdout
    assert "spearman_test" in detail
    # The NB101 task is a pipeline of its own (tests/test_nb101_pipeline.py): the report says where.
    assert f"`{nb101.REPRODUCE_WITH}`" in report and f"]({Path(nb101.REPORT).name})" in report
    assert not (root / "data" / "scores_nb101").exists()


def assert_repro_runs_nothing(root: Path, env: dict) -> None:
    output = run(["dvc", "repro"], root, env).stdout
    assert "Running stage" not in output, output
    for stage in yaml.safe_load((root / "dvc.yaml").read_text())["stages"]:
        assert f"'{stage}' didn't change" in output, output


def test_second_repro_has_nothing_to_do(project):
    root, env, _ = project
    assert_repro_runs_nothing(root, env)


def get(url: str, **query) -> dict:
    with urllib.request.urlopen(f"{url}?{urllib.parse.urlencode(query)}", timeout=30) as response:
        return json.loads(response.read())


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_the_mlflow_ui_shows_runs_curves_and_the_report(project, tmp_path):
    """What the MLflow UI will show, read through its server's REST API (the UI's own source)."""
    root, env, _ = project
    server = Server(tmp_path, backend_store=Path(env["MLFLOW_TRACKING_URI"].removeprefix("sqlite:///")))
    try:
        server.wait_until_up()
        api = f"{server.uri}/api/2.0/mlflow"
        with urllib.request.urlopen(server.uri, timeout=30) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
        experiment = get(f"{api}/experiments/get-by-name", experiment_name="zcnas")["experiment"]
        tags = {tag["key"]: tag["value"] for tag in experiment["tags"]}
        # Opens on the runs table (MLflow 3 lands on GenAI pages for other kinds), with a description.
        assert tags["mlflow.experimentKind"] == "custom_model_development" and tags["mlflow.note.content"]
        runs = post(f"{api}/runs/search", {"experiment_ids": [experiment["experiment_id"]], "max_results": 1000})["runs"]

        def tags_of(one):
            return {tag["key"]: tag["value"] for tag in one["data"].get("tags", [])}

        by_name = {one["info"]["run_name"]: one for one in runs}
        (parent,) = [one for one in runs if tags_of(one).get("zcnas.role") == "pipeline"]
        assert parent["info"]["run_name"].startswith("smoke ")  # the quick run's label
        parent_tags = tags_of(parent)
        assert parent_tags["mlflow.source.git.commit"] and parent_tags["mlflow.note.content"]
        # The parent carries the headline figures, under metrics/summary.json's keys, and no counts.
        summary = {k: v for k, v in flatten(json.loads((root / "metrics" / "summary.json").read_text())).items()
                   if v is not None}
        shown = {metric["key"]: metric["value"] for metric in parent["data"]["metrics"]}
        assert shown == pytest.approx(summary)
        # ... the report and every plot.
        listed = get(f"{api}/artifacts/list", run_id=parent["info"]["run_id"])["files"]
        assert {entry["path"] for entry in listed} == {"report.md", "plots"}
        plots = get(f"{api}/artifacts/list", run_id=parent["info"]["run_id"], path="plots")["files"]
        assert {entry["path"] for entry in plots} == {f"plots/{d.name}" for d in (root / "results" / "plots").iterdir()}
        # Curves: rho per epoch of each reduced-training setting, a run per trained cell, best-so-far per variant.
        params = yaml.safe_load((root / "params.yaml").read_text())
        epochs = params["econas"]["configs"]["econas"]["e"]
        history = get(f"{api}/metrics/get-history", run_id=by_name["curves econas"]["info"]["run_id"],
                      metric_key="spearman_test")["metrics"]
        assert sorted(point["step"] for point in history) == list(range(1, epochs + 1))
        cell = get(f"{api}/metrics/get-history", run_id=by_name["econas cell 00"]["info"]["run_id"],
                   metric_key="val_acc")["metrics"]
        assert len(cell) == epochs
        budget = params["search"]["budget"]["rs"]
        best = get(f"{api}/metrics/get-history", run_id=by_name["search rs+warmup40"]["info"]["run_id"],
                   metric_key="best_test_acc.cifar100")["metrics"]
        assert sorted(point["step"] for point in best) == list(range(1, budget + 1))
        values = [point["value"] for point in sorted(best, key=lambda point: point["step"])]
        assert values == sorted(values)  # best so far never falls
    finally:
        server.stop()


@pytest.mark.parametrize("edit", [
    lambda params: params["score"].update(batchsize=16),  # a typo'd key
    lambda params: params.update(scoer={"sample": 10}),   # a typo'd section
    lambda params: params["evaluate"].update(bootstrap="many"),
    # A value DVC compares equal to the valid one: only the file's text changes.
    lambda params: params["score"].update(batch_size=float(params["score"]["batch_size"])),
    lambda params: params["score"].update(sample=99_999),  # more cells than NB201 holds
])
def test_a_bad_param_stops_the_pipeline_before_any_output_is_removed(project, edit):
    root, env, _ = project
    params_file = root / "params.yaml"
    original = params_file.read_text()
    protected = [root / "metrics" / "correlation.json", root / "metrics" / "search.json", root / "results" / "report.md"]
    before = [path.read_bytes() for path in protected]
    params = yaml.safe_load(original)
    edit(params)
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        result = subprocess.run(["dvc", "repro"], cwd=root, env=env, capture_output=True, text=True)
    finally:
        params_file.write_text(original)
    assert result.returncode != 0
    assert "invalid parameters" in result.stdout + result.stderr
    assert [path.read_bytes() for path in protected] == before
    assert (root / "data" / "scores" / "nb201-cifar10.parquet").exists()


# Outputs that hold seconds measured on this machine (or quote them): the only ones a
# rerun may change.
MEASUREMENTS = ("data/timings/", "metrics/timings.json", "metrics/econas_timings.json",
                "results/plots/cost", "results/plots/econas/figure1-seconds", "results/report.md")


def output_hashes(root: Path) -> dict[str, str]:
    """{output path: md5} of every stage output in dvc.lock."""
    lock = yaml.safe_load((root / "dvc.lock").read_text())["stages"]
    return {out["path"]: out["md5"] for stage in lock.values() for kind in ("outs",) for out in stage.get(kind, [])}


def test_a_rerun_in_a_fresh_clone_reproduces_every_result_bit_for_bit(project, tmp_path):
    root, env, _ = project
    run(["git", "add", "-A"], root, env)
    run(["git", "commit", "-qm", "results", "--allow-empty"], root, env)
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(root), str(clone)], tmp_path, env)
    if (root / "data" / "raw").exists():
        shutil.copytree(root / "data" / "raw", clone / "data" / "raw")
    run(["dvc", "repro"], clone, {**env, "ZCNAS_TRACKING": "off"})  # the MLflow runs are the original's
    first, second = output_hashes(root), output_hashes(clone)
    assert first.keys() == second.keys()
    results = [path for path in first if not path.startswith(MEASUREMENTS)]
    assert "metrics/correlation.json" in results and "data/scores" in results
    differing = [path for path in results if first[path] != second[path]]
    assert not differing, f"a rerun changed these results: {differing}"


def output_files(root: Path) -> list[Path]:
    """Every file of every stage output in dvc.lock (a missing output is listed as itself)."""
    paths = [root / out for out in output_hashes(root)]
    files = (file for path in paths for file in (path.rglob("*") if path.is_dir() else [path]))
    return sorted(file for file in files if not file.is_dir())


def file_md5s(root: Path) -> dict[str, str]:
    """{file: md5} of the files output_files lists, as they are on disk."""
    return {file.relative_to(root).as_posix(): hashlib.md5(file.read_bytes()).hexdigest()
            for file in output_files(root)}


def locked_md5s(root: Path) -> dict[str, str]:
    """{file: md5} of every output file as the run recorded it (dvc.lock and the cache's directory listings)."""
    files = {}
    for path, md5 in output_hashes(root).items():
        listing = root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
        if md5.endswith(".dir") and listing.exists():
            files.update({f"{path}/{entry['relpath']}": entry["md5"] for entry in json.loads(listing.read_text())})
        elif md5.endswith(".dir"):  # an uncached folder (`cache: false`, in git): its files as they are
            files.update({file.relative_to(root).as_posix(): hashlib.md5(file.read_bytes()).hexdigest()
                          for file in sorted((root / path).rglob("*")) if file.is_file()})
        else:
            files[path] = md5
    return files


def test_a_teammate_pulls_the_outputs_from_a_shared_remote_and_reruns_nothing(project, tmp_path):
    """README's "Sharing outputs": push to a DVC remote (here a local directory), pull into a
    fresh clone; the clone has every output, byte for byte, and nothing to recompute."""
    root, env, _ = project
    remote = tmp_path / "remote"
    run(["dvc", "remote", "add", "-d", "team", str(remote)], root, env)  # in .dvc/config, committed
    run(["git", "add", "-A"], root, env)
    run(["git", "commit", "-qm", "results, team remote"], root, env)
    run(["dvc", "push"], root, env)
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(root), str(clone)], tmp_path, env)  # no data/raw: nothing may need it
    env = {**env, "ZCNAS_TRACKING": "off"}  # nothing should run; if something did, its MLflow runs stay apart
    run(["dvc", "pull"], clone, env)
    # Compared with what the run recorded, not with the project's files: a bad-params test above
    # leaves check_params's output deleted there (DVC clears a stage's outputs before running it).
    original, pulled = locked_md5s(root), file_md5s(clone)
    assert "data/scores/nb201-cifar10.parquet" in pulled and "metrics/correlation.json" in pulled
    assert pulled == original
    assert json.loads(run(["dvc", "status", "--json"], clone, env).stdout) == {}
    assert json.loads(run(["dvc", "status", "--cloud", "--json"], clone, env).stdout) == {}  # the remote has it all
    mtimes = {file: file.stat().st_mtime_ns for file in output_files(clone)}
    assert_repro_runs_nothing(clone, env)
    assert {file: file.stat().st_mtime_ns for file in output_files(clone)} == mtimes
    assert file_md5s(clone) == original


def test_stages_are_child_runs_of_one_parent_and_an_experiment_adds_another(project):
    root, env, _ = project
    client = mlflow.tracking.MlflowClient(env["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name("zcnas")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("zcnas.role") == "pipeline"]
    assert len(parents) == 1
    stages_parent = parents[0].info.run_id
    stages = sorted(r.data.tags["zcnas.dvc_stage"] for r in runs if r.data.tags.get("mlflow.parentRunId") == stages_parent)
    assert stages == ["econas", "econas_evaluate", "evaluate", "evaluate_space", "fetch", "report", "score",
                      "score_space", "search"]

    # An ablation of the minibatch rescores the sample but not the whole space, whose
    # data-free proxy reads no minibatch, nor the reduced training.
    output = run(["dvc", "exp", "run", "-S", "score.batch_size=8", "-n", "bs8"], root, env).stdout
    assert "Running stage 'score'" in output
    for unchanged in ("score_space", "evaluate_space", "econas", "search"):
        assert f"'{unchanged}' didn't change" in output, output
    runs = client.search_runs([experiment.experiment_id])
    parents = {r.info.run_id: r for r in runs if r.data.tags.get("zcnas.role") == "pipeline"}
    assert len(parents) == 2
    (ablation,) = [r for r in runs if r.info.run_name == "score" and r.data.params.get("score.batch_size") == "8"]
    parent = parents[ablation.data.tags["mlflow.parentRunId"]]
    assert parent.info.run_id != stages_parent
    # Named after the experiment, not dirty for the params DVC edited, described by them.
    assert parent.info.run_name.startswith("bs8 ") and "+dirty" not in parent.info.run_name
    assert parent.data.tags["zcnas.dvc_exp_name"] == "bs8"
    assert "`score.batch_size`: 16 → 8" in parent.data.tags["mlflow.note.content"]
    # Its headline figures are the experiment's summary, key for key, with nothing left blank.
    summary = {k: v for k, v in flatten(json.loads((root / "metrics" / "summary.json").read_text())).items()
               if v is not None}
    assert parent.data.metrics == pytest.approx(summary)
    assert "bs8" in run(["dvc", "exp", "show", "--json"], root, env).stdout


def test_bad_params_fail_before_any_work(project, tmp_path):
    root, env, _ = project
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["score"]["proxies"] = ["synflow", "synflw"]
    bad = tmp_path / "bad"
    shutil.copytree(root, bad, ignore=shutil.ignore_patterns("data", ".dvc"))
    (bad / "params.yaml").write_text(yaml.safe_dump(params))
    result = subprocess.run(["python", "stages/score.py", "--ground-truth", "data/benchmarks", "--data-dir",
                             "data/raw", "--out", "data/scores", "--journals", "data/journals",
                             "--timings", "data/timings/score"], cwd=bad, env=env, capture_output=True, text=True)
    assert result.returncode == 2
    assert "score.proxies" in result.stderr and "'synflw'" in result.stderr and "Traceback" not in result.stderr
    assert not (bad / "data" / "scores").exists()
