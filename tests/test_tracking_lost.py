"""A tracking server that fails never costs a stage its results: one that does not answer
stops the stage before any work, with one line; one lost mid-stage stops only the
logging, and its runs are marked FAILED when a server answers at that address again.
A real `mlflow server` on 127.0.0.1, started and stopped here."""

import json
import time

import pytest

mlflow = pytest.importorskip("mlflow")

from mlflow_server import Server, free_port  # noqa: E402
from zcnas import tracking  # noqa: E402
from zcnas.pipeline.stage import run_stage  # noqa: E402


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder as the working directory, with a params.yaml; request retries as a
    stage sets them (restored afterwards)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ZCNAS_TRACKING", raising=False)
    for variable, value in tracking.REQUEST_DEFAULTS.items():
        monkeypatch.setenv(variable, value)
    (tmp_path / "params.yaml").write_text("seed: 7\n")
    return tmp_path


def test_a_server_that_does_not_answer_stops_the_stage_before_any_work_in_one_line(project, monkeypatch, capsys):
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    worked = []
    started = time.monotonic()
    with pytest.raises(SystemExit) as exit_info:
        run_stage("score", ["score"], lambda params, run: worked.append(True), project / "params.yaml")
    assert exit_info.value.code == 2 and not worked
    assert time.monotonic() - started < 3 * tracking.SERVER_CHECK_SECONDS
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"zcnas score: error: MLflow server at {uri} does not answer")


def test_a_server_lost_mid_stage_keeps_the_outputs_and_its_runs_fail_when_it_is_back(project, monkeypatch, capsys):
    (project / "server-1").mkdir()
    first = Server(project / "server-1")
    try:
        first.wait_until_up()
        monkeypatch.setenv("MLFLOW_TRACKING_URI", first.uri)

        def body(params, run):
            run.log_metrics({"before": 1.0})
            first.stop()
            (project / "scores.csv").write_text("arch,synflow\na,1\n")  # the stage's output
            run.log_metrics({"after": 2.0})
            with run.child("variant") as child:
                child.log_metrics({"inside": 3.0})
            run.set_tags({"zcnas.note": "never reaches the server"})

        started = time.monotonic()
        run_stage("score", ["score"], body, project / "params.yaml")  # no SystemExit: the stage succeeded
        assert time.monotonic() - started < 60
    finally:
        first.stop()
    assert (project / "scores.csv").read_text() == "arch,synflow\na,1\n"
    err = capsys.readouterr().err
    assert f"the MLflow server at {first.uri} stopped answering" in err and "Traceback" not in err
    lost = [json.loads(line) for line in (project / tracking.LOST_RUNS).read_text().splitlines()]
    assert {entry["stage"] for entry in lost} == {"score"} and len(lost) == 2  # the stage's run and its parent

    (project / "server-2").mkdir()
    port = int(first.uri.rsplit(":", 1)[1])
    second = Server(project / "server-2", backend_store=project / "server-1" / "server.db", port=port)
    try:
        second.wait_until_up()
        run_stage("evaluate", ["evaluate"], lambda params, run: None, project / "params.yaml")
        client = mlflow.tracking.MlflowClient(second.uri)
        runs = {run.info.run_name: run for run in client.search_runs(
            [client.get_experiment_by_name(tracking.EXPERIMENT).experiment_id])}
    finally:
        second.stop()
    score = runs["score"]
    assert score.info.status == "FAILED" and score.data.tags["zcnas.error"].startswith("tracking lost: ")
    assert score.data.metrics == {"before": 1.0}
    parent = runs[next(name for name in runs if name.startswith("pipeline"))]
    assert parent.info.status == "FAILED"  # until the score stage succeeds again
    assert parent.data.tags["zcnas.error.score"].startswith("tracking lost: ")
    assert runs["evaluate"].info.status == "FINISHED"
    assert (project / tracking.LOST_RUNS).read_text() == ""
