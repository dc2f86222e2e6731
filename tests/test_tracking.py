import pytest

import subprocess

from zcnas.tracking import code_version, flatten, stage_run

mlflow = pytest.importorskip("mlflow")


@pytest.fixture
def store(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("ZCNAS_TRACKING", raising=False)
    return mlflow.tracking.MlflowClient(uri)


def test_flatten():
    assert flatten({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": "x"}) == {"a.b": 1, "a.c.d": [1, 2], "e": "x"}


def test_code_version_is_dirty_for_code_changes_but_not_for_the_pipelines_own_results(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git + ["init", "-q"], check=True)
    (tmp_path / "metrics").mkdir()
    for name in ("dvc.lock", "metrics/correlation.json", "params.yaml"):
        (tmp_path / name).write_text("old\n")
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "x"], check=True)
    assert code_version()["git_dirty"] == "false"
    (tmp_path / "dvc.lock").write_text("new\n")
    (tmp_path / "metrics/correlation.json").write_text("new\n")
    assert code_version()["git_dirty"] == "false"
    monkeypatch.chdir(tmp_path / "metrics")  # the answer does not depend on where in the tree we are
    assert code_version()["git_dirty"] == "false"
    (tmp_path / "params.yaml").write_text("new\n")
    version = code_version()
    assert version["git_dirty"] == "true" and version["git_diff_sha"]


def runs(client):
    experiment = client.get_experiment_by_name("zcnas")
    return client.search_runs([experiment.experiment_id])


def test_stages_of_one_pipeline_share_a_parent_and_ablations_get_another(store, tmp_path):
    params = {"seed": 42, "score": {"batch_size": 64}}
    with stage_run("score", params, {"score": params["score"]}) as run:
        run.log_metrics({"cifar10": {"synflow": {"spearman_test": 0.76}}, "note": "skipped"}, on_parent=True)
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
    for tag in ("zcnas.git_commit", "zcnas.git_dirty", "zcnas.dvc_stage", "zcnas.params_hash", "zcnas.device",
                "zcnas.torch_version"):
        assert tag in score.data.tags
    parent = store.get_run(score.data.tags["mlflow.parentRunId"])
    assert parent.data.metrics["cifar10.synflow.spearman_test"] == pytest.approx(0.76)
    assert [a.path for a in store.list_artifacts(score.info.run_id)] == ["table.csv"]


def test_a_failing_stage_is_marked_failed(store):
    with pytest.raises(RuntimeError):
        with stage_run("score", {"seed": 1}, {"seed": 1}):
            raise RuntimeError("boom")
    (run,) = [r for r in runs(store) if r.info.run_name == "score"]
    assert run.info.status == "FAILED"


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
