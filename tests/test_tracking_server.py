"""A shared MLflow tracking server: a real `mlflow server` on 127.0.0.1 (SQLite backend,
proxied artifacts), a pipeline run by `dvc repro` with MLFLOW_TRACKING_URI pointing at it.

The stage's runs, params and metrics land in the server's database and its artifacts in
the server's artifact root, uploaded over HTTP: nothing is written beside the project.
Synthetic data (a generated NB201 table, a few random images) keeps it to seconds: what
is checked is where things land, not the numbers.
"""

import json
import os
import sys
from pathlib import Path

import pytest

mlflow = pytest.importorskip("mlflow")
pytest.importorskip("dvc")

from mlflow_server import Server  # noqa: E402
from test_pipeline import copy_pipeline, run  # noqa: E402
from zcnas.metric_keys import flatten, is_count, metric_key  # noqa: E402
from zcnas.pipeline.params import load_params  # noqa: E402
from zcnas.tracking import EXPERIMENT  # noqa: E402

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A starting `mlflow server`; `wait_until_up()` before use (it starts while the project is built)."""
    started = Server(tmp_path_factory.mktemp("mlflow-server"))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def project(tmp_path_factory, server):
    """`dvc repro evaluate` (check_params, fetch, score, evaluate) in a fresh copy of the
    pipeline, on synthetic data, tracked by the server."""
    from zcnas.benchmarks import write_synthetic_nb201
    from zcnas.data.synthetic import write_image_folder

    root = tmp_path_factory.mktemp("project")
    copy_pipeline(root)
    write_synthetic_nb201(root / "data" / "raw" / "nb201" / "accuracy.csv", seed=0)
    write_image_folder(root / "data" / "raw", "cifar10", per_class=4)
    (root / ".gitignore").write_text("/data/raw\n")
    env = {**os.environ, "MLFLOW_TRACKING_URI": server.uri, "ZCNAS_TRACKING": "on",
           # dvc.yaml's `python` and the `dvc` below: this interpreter's environment.
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    env.pop("ZCNAS_MIRROR", None)
    run(["git", "init", "-q"], root, env)
    run(["dvc", "init", "-q"], root, env)
    run(["git", "add", "-A"], root, env)
    run(["git", "commit", "-qm", "smoke"], root, env)
    server.wait_until_up()
    run(["dvc", "repro", "evaluate"], root, env)
    return root


def test_a_stages_runs_metrics_and_artifacts_land_on_the_server(server, project):
    uri, artifact_root, root = server.uri, server.artifacts, project
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None, f"no experiment {EXPERIMENT!r} on {uri}"
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("zcnas.role") == "pipeline"]
    assert len(parents) == 1
    stages = {r.info.run_name: r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id}
    assert sorted(stages) == ["evaluate", "fetch", "score"]
    assert {r.info.status for r in stages.values()} == {"FINISHED"}
    evaluate = stages["evaluate"]

    # Params: the stage's sections of the project's params.yaml (and the counts, below).
    everything = load_params(root / "params.yaml").model_dump()
    expected = flatten({section: everything[section] for section in ("seed", "device", "score", "evaluate")})
    assert {metric_key(k): str(v) for k, v in expected.items()}.items() <= evaluate.data.params.items()

    # Metrics: every number the stage wrote to its metrics files, under the same keys; counts as params.
    written = {}
    for name in ("correlation.json", "timings.json"):
        written.update({k: v for k, v in flatten(json.loads((root / "metrics" / name).read_text())).items()
                        if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v})
    assert written and "cifar10.synflow.spearman_test" in written
    counts = {k: v for k, v in written.items() if is_count(k)}
    assert counts["cifar10.synflow.n"] == 20
    assert {k: evaluate.data.metrics.get(k) for k in written if k not in counts} == \
        pytest.approx({k: v for k, v in written.items() if k not in counts})
    assert {k: evaluate.data.params.get(k) for k in counts} == {k: str(v) for k, v in counts.items()}

    # Artifacts: listed by the server, and files in its artifact root (uploaded, not
    # written by the client into the project), the same bytes as the stage's outputs.
    assert evaluate.info.artifact_uri.startswith("mlflow-artifacts:"), evaluate.info.artifact_uri
    assert {a.path for a in client.list_artifacts(evaluate.info.run_id)} == {"correlation.csv", "plots"}
    plots = sorted(p.name for folder in ("correlation", "cost") for p in (root / "results" / "plots" / folder).iterdir())
    assert sorted(Path(a.path).name for a in client.list_artifacts(evaluate.info.run_id, "plots")) == plots
    stored = {p.relative_to(artifact_root).as_posix(): p for p in artifact_root.rglob("*") if p.is_file()}
    run_folder = f"{experiment.experiment_id}/{evaluate.info.run_id}/artifacts"
    assert stored[f"{run_folder}/correlation.csv"].read_bytes() == \
        (root / "data" / "evaluation" / "correlation.csv").read_bytes()
    for name in plots:
        assert stored[f"{run_folder}/plots/{name}"].stat().st_size > 0
    for local in ("mlruns", "mlartifacts"):
        assert not (root / local).exists(), f"the client wrote {local}/ beside the project"
