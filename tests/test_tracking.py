import re
import subprocess

import pandas as pd
import pytest

from zcnas import tracking
from zcnas.errors import ZcnasError
from zcnas.evaluation import evaluate_dataset
from zcnas.pipeline.stage import run_stage
from zcnas.metric_keys import flatten
from zcnas.tracking import code_version, stage_run

mlflow = pytest.importorskip("mlflow")


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the parent run reads metrics/ and results/ from the project root, here
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("ZCNAS_TRACKING", raising=False)
    return mlflow.tracking.MlflowClient(uri)


def test_flatten():
    assert flatten({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": "x"}) == {"a.b": 1, "a.c.d": [1, 2], "e": "x"}


def test_code_version_is_dirty_for_code_changes_but_not_for_the_pipelines_own_results_or_params(tmp_path,
                                                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git + ["init", "-q"], check=True)
    (tmp_path / "metrics").mkdir()
    for name in ("dvc.lock", "metrics/correlation.json", "params.yaml", "stage.py"):
        (tmp_path / name).write_text("old\n")
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "x"], check=True)
    assert code_version()["git_dirty"] == "false"
    (tmp_path / "dvc.lock").write_text("new\n")
    (tmp_path / "metrics/correlation.json").write_text("new\n")
    assert code_version()["git_dirty"] == "false"
    monkeypatch.chdir(tmp_path / "metrics")  # the answer does not depend on where in the tree we are
    assert code_version()["git_dirty"] == "false"
    (tmp_path / "params.yaml").write_text("new\n")  # as `dvc exp run -S` edits it: logged as params instead
    assert code_version()["git_dirty"] == "false"
    (tmp_path / "stage.py").write_text("new\n")
    version = code_version()
    assert version["git_dirty"] == "true" and version["git_diff_sha"]


def runs(client):
    experiment = client.get_experiment_by_name("zcnas")
    return client.search_runs([experiment.experiment_id])


def test_stages_of_one_pipeline_share_a_parent_and_ablations_get_another(store, tmp_path):
    params = {"seed": 42, "score": {"batch_size": 64}}
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "summary.json").write_text('{"rho": {"cifar10": {"synflow": 0.75}}}')
    (tmp_path / "results" / "plots" / "cost").mkdir(parents=True)
    (tmp_path / "results" / "report.md").write_text("# report\n")
    (tmp_path / "results" / "plots" / "cost" / "rho.png").write_bytes(b"png")
    with stage_run("score", params, {"score": params["score"]}) as run:
        run.log_metrics({"cifar10": {"synflow": {"spearman_test": 0.76, "n": 20}}, "note": "skipped"})
        (tmp_path / "table.csv").write_text("a,b\n1,2\n")
        run.log_artifact(tmp_path / "table.csv")
    with stage_run("evaluate", params, {"seed": 42}):
        pass
    ablation = {"seed": 42, "score": {"batch_size": 128}}
    with stage_run("score", ablation, {"score": ablation["score"]}):
        pass

    all_runs = runs(store)
    parents = [r for r in all_runs if r.data.tags.get("zcnas.role") == "pipeline"]
    children = [r for r in all_runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 2 and len(children) == 3
    first_parent = {c.data.tags["mlflow.parentRunId"] for c in children if c.data.params.get("score.batch_size") != "128"}
    assert len(first_parent) == 1
    score = next(c for c in children if c.info.run_name == "score" and c.data.params["score.batch_size"] == "64")
    assert score.data.metrics["cifar10.synflow.spearman_test"] == pytest.approx(0.76)
    assert "note" not in score.data.metrics and "stage_seconds" in score.data.metrics
    # A count is a param of the run, not a one-bar chart.
    assert "cifar10.synflow.n" not in score.data.metrics and score.data.params["cifar10.synflow.n"] == "20"
    for tag in ("zcnas.git_commit", "zcnas.git_dirty", "zcnas.dvc_stage", "zcnas.params_hash", "zcnas.device",
                "zcnas.torch_version"):
        assert tag in score.data.tags
    assert score.data.tags["mlflow.source.git.commit"] == score.data.tags["zcnas.git_commit"]
    # The parent shows the pipeline's results after every stage: the summary's figures under
    # its own keys (and nothing of the stage's), the report and the plots.
    parent = store.get_run(score.data.tags["mlflow.parentRunId"])
    assert parent.data.metrics == {"rho.cifar10.synflow": pytest.approx(0.75)}
    assert {a.path for a in store.list_artifacts(parent.info.run_id)} == {"report.md", "plots"}
    assert [a.path for a in store.list_artifacts(parent.info.run_id, "plots")] == ["plots/cost"]
    assert [a.path for a in store.list_artifacts(score.info.run_id)] == ["table.csv"]


def test_runs_with_the_speed_kernels_off_are_tagged_and_get_a_parent_of_their_own(store, monkeypatch):
    for switch in ("on", "off"):
        monkeypatch.setenv("ZCNAS_KERNELS", switch)
        with stage_run("score", {"seed": 42}, {"seed": 42}):
            pass
    children = {run.data.tags["zcnas.speed_kernels"]: run for run in runs(store) if "mlflow.parentRunId" in run.data.tags}
    assert set(children) == {"true", "false"}  # the switch changes rounding: not the same pipeline run
    assert children["true"].data.tags["mlflow.parentRunId"] != children["false"].data.tags["mlflow.parentRunId"]


def error_text(client, run_id):
    with open(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="error.txt",
                                                  tracking_uri=client.tracking_uri)) as file:
        return file.read()


def parent_of(client, run):
    return client.get_run(run.data.tags["mlflow.parentRunId"])


def test_a_failing_stage_and_its_pipeline_run_are_marked_failed_with_the_error(store):
    with pytest.raises(RuntimeError):
        with stage_run("score", {"seed": 1}, {"seed": 1}):
            raise RuntimeError("boom")
    (run,) = [r for r in runs(store) if r.info.run_name == "score"]
    assert run.info.status == "FAILED" and run.data.tags["zcnas.error"] == "RuntimeError: boom"
    assert 'raise RuntimeError("boom")' in error_text(store, run.info.run_id)  # the traceback
    parent = parent_of(store, run)
    assert parent.info.status == "FAILED"
    assert parent.data.tags["zcnas.error"] == "score: RuntimeError: boom"
    assert f"stage score (run {run.info.run_id}): RuntimeError: boom" in error_text(store, parent.info.run_id)


def test_the_pipeline_run_is_finished_again_once_every_failed_stage_has_succeeded(store):
    params = {"seed": 1}

    def attempt(stage, error=None):
        with stage_run(stage, params, params):
            if error:
                raise error

    for error in (RuntimeError("first"), ZcnasError("second")):
        with pytest.raises(type(error)):
            attempt("score", error)
    with pytest.raises(ValueError):
        attempt("evaluate", ValueError("bad"))
    (parent,) = [r for r in runs(store) if r.data.tags.get("zcnas.role") == "pipeline"]  # retries share it
    assert parent.data.tags["zcnas.error"] == "evaluate: ValueError: bad\nscore: ZcnasError: second"
    attempt("score")
    parent = store.get_run(parent.info.run_id)
    assert parent.info.status == "FAILED" and parent.data.tags["zcnas.error"] == "evaluate: ValueError: bad"
    assert "zcnas.error.score" not in parent.data.tags
    attempt("evaluate")
    parent = store.get_run(parent.info.run_id)
    assert parent.info.status == "FINISHED"
    assert not [tag for tag in parent.data.tags if tag.startswith("zcnas.error")]
    history = error_text(store, parent.info.run_id).splitlines()  # the failed attempts stay on record
    assert [line.split(": ", 1)[1] for line in history] == ["RuntimeError: first", "ZcnasError: second",
                                                              "ValueError: bad"]


def test_the_pipeline_run_is_running_while_a_stage_runs(store):
    with stage_run("score", {"seed": 1}, {"seed": 1}):
        (parent,) = [r for r in runs(store) if r.data.tags.get("zcnas.role") == "pipeline"]
        assert parent.info.status == "RUNNING"
    assert store.get_run(parent.info.run_id).info.status == "FINISHED"


def test_pipeline_runs_are_named_by_commit_and_params(store, monkeypatch):
    monkeypatch.setattr(tracking, "code_version",
                        lambda: {"git_commit": "0123456789abcdef", "git_dirty": "true", "git_diff_sha": "5e"})
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    monkeypatch.delenv("ZCNAS_RUN_LABEL", raising=False)
    for seed in (1, 1, 2):
        with stage_run("score", {"seed": seed}, {"seed": seed}):
            pass
    parents = [r for r in runs(store) if r.data.tags.get("zcnas.role") == "pipeline"]
    names = sorted(parent.info.run_name for parent in parents)
    digests = [re.fullmatch(r"pipeline 0123456\+dirty params ([0-9a-f]{8})", name).group(1) for name in names]
    assert len(parents) == 2 and len(set(digests)) == 2  # one per params.yaml, told apart by the digest
    assert {parent.data.tags["zcnas.params_digest"] for parent in parents} == set(digests)
    assert all(parent.data.tags["mlflow.source.git.commit"] == "0123456789abcdef" for parent in parents)


def test_a_dvc_experiment_names_its_pipeline_run_and_describes_the_params_it_changed(store, tmp_path, monkeypatch):
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git + ["init", "-q"], check=True)
    (tmp_path / "params.yaml").write_text("seed: 42\nscore:\n  batch_size: 64\n")
    subprocess.run(git + ["add", "params.yaml"], check=True)
    subprocess.run(git + ["commit", "-qm", "x"], check=True)
    (tmp_path / "params.yaml").write_text("seed: 42\nscore:\n  batch_size: 32\n")  # what `-S` does
    monkeypatch.setenv("DVC_EXP_NAME", "bs32")
    with stage_run("score", {"seed": 42, "score": {"batch_size": 32}}, {"seed": 42}):
        pass
    (parent,) = [r for r in runs(store) if r.data.tags.get("zcnas.role") == "pipeline"]
    assert re.fullmatch(r"bs32 [0-9a-f]{7} params [0-9a-f]{8}", parent.info.run_name), parent.info.run_name
    assert parent.data.tags["zcnas.dvc_exp_name"] == "bs32" and parent.data.tags["zcnas.git_dirty"] == "false"
    note = parent.data.tags["mlflow.note.content"]
    assert "`dvc exp run`" in note and "`score.batch_size`: 64 → 32" in note and "uncommitted" not in note
    experiment = store.get_experiment_by_name("zcnas")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert "parent run per pipeline run" in experiment.tags["mlflow.note.content"]


def test_tracking_off_logs_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("ZCNAS_TRACKING", "off")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'never.db'}")
    with stage_run("score", {}, {}) as run:
        run.log_metrics({"x": 1.0})
    assert not (tmp_path / "never.db").exists()


def test_child_runs_nest_under_the_stage(store):
    with stage_run("search", {"seed": 1}, {"seed": 1}) as run:
        with run.child("search/rs", {"runs": 100}) as child:
            child.log_metrics({"cifar100": {"best": 72.0}})
    children = {r.info.run_name: r for r in runs(store)}
    nested = children["search/rs"]
    assert nested.data.tags["mlflow.parentRunId"] == children["search"].info.run_id
    assert nested.data.params["runs"] == "100" and nested.data.metrics["cifar100.best"] == 72.0


def test_a_failing_child_run_carries_its_error(store):
    with pytest.raises(KeyError):
        with stage_run("search", {"seed": 1}, {"seed": 1}) as run:
            with run.child("search/ae"):
                raise KeyError("cifar100")
    by_name = {r.info.run_name: r for r in runs(store)}
    child = by_name["search/ae"]
    assert child.info.status == "FAILED" and child.data.tags["zcnas.error"] == "KeyError: 'cifar100'"
    assert "KeyError: 'cifar100'" in error_text(store, child.info.run_id)
    assert by_name["search"].data.tags["zcnas.error"] == "KeyError: 'cifar100'"


def test_run_stage_logs_scalar_params_under_their_own_name_and_a_bad_input_as_the_error(store, tmp_path):
    params_path = tmp_path / "params.yaml"
    params_path.write_text("seed: 7\nevaluate:\n  bootstrap: 10\n")
    run_stage("evaluate", ["evaluate"], lambda params, run: None, params_path)
    (run,) = [r for r in runs(store) if r.info.run_name == "evaluate"]
    assert run.data.params["seed"] == "7" and run.data.params["device"] == "auto"
    assert run.data.params["evaluate.bootstrap"] == "10"
    assert not [name for name in run.data.params if name.startswith(("seed.", "device."))]

    def missing_input(params, run):
        raise ZcnasError("ground truth data/benchmarks/nb201.parquet not found")

    with pytest.raises(SystemExit) as exit_info:
        run_stage("score", ["score"], missing_input, params_path)
    assert exit_info.value.code == 2
    (failed,) = [r for r in runs(store) if r.info.run_name == "score"]
    assert failed.info.status == "FAILED"
    assert failed.data.tags["zcnas.error"] == "ZcnasError: ground truth data/benchmarks/nb201.parquet not found"


def test_a_bad_speed_kernel_switch_ends_a_stage_before_any_work_or_run(store, tmp_path, capsys, monkeypatch):
    params_path = tmp_path / "params.yaml"
    params_path.write_text("seed: 7\n")
    monkeypatch.setenv("ZCNAS_KERNELS", "fastest")
    worked = []
    with pytest.raises(SystemExit) as exit_info:
        run_stage("score", ["score"], lambda params, run: worked.append(True), params_path)
    assert exit_info.value.code == 2 and not worked
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == "zcnas score: error: ZCNAS_KERNELS='fastest': expected on or off (also 1/0, true/false, yes/no)"
    assert store.get_experiment_by_name("zcnas") is None or not runs(store)


def test_ctrl_c_ends_a_stage_in_one_line_with_status_130_and_a_failed_run(store, tmp_path, capsys):
    params_path = tmp_path / "params.yaml"
    params_path.write_text("seed: 7\n")

    def interrupted(params, run):
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as exit_info:
        run_stage("score", ["score"], interrupted, params_path)
    assert exit_info.value.code == 130
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("zcnas score: interrupted; ") and "resume" in line
    (run,) = [r for r in runs(store) if r.info.run_name == "score"]
    assert run.info.status == "FAILED" and run.data.tags["zcnas.error"].startswith("KeyboardInterrupt")


def test_confidence_intervals_reach_mlflow_as_scalar_metrics(store):
    archs = [f"arch{i}" for i in range(20)]
    scores = pd.DataFrame({"arch": archs, "p": range(20)})
    truth = pd.DataFrame({"arch": archs, "test_acc": [(i * 7) % 20 for i in range(20)]})
    report = evaluate_dataset(scores, truth, vote=None, ensemble=None, resamples=30)
    with stage_run("evaluate", {"seed": 1}, {"seed": 1}) as run:
        run.log_metrics({"cifar10": report})
    (logged,) = [r for r in runs(store) if r.info.run_name == "evaluate"]
    for key in ("spearman_test_ci_low", "spearman_test_ci_high"):
        assert logged.data.metrics[f"cifar10.p.{key}"] == pytest.approx(report["p"][key])


def test_curves_are_step_metrics(store):
    with stage_run("econas_evaluate", {"seed": 1}, {"seed": 1}) as run:
        with run.child("curves econas+") as child:
            child.log_curves({"spearman_test": {1: -0.3, 2: 0.1, 3: 0.4}})
    (child,) = [r for r in runs(store) if r.info.run_name == "curves econas+"]
    history = store.get_metric_history(child.info.run_id, "spearman_test")
    assert [(m.step, m.value) for m in history] == [(1, -0.3), (2, 0.1), (3, 0.4)]
