"""MLflow tracking: the only module that talks to MLflow.

Each DVC stage logs one child run under a parent run that stands for one pipeline
run (`dvc repro` / `dvc exp run`): same code (by content) and same params.yaml ->
same parent, so an ablation shows up as a new parent with its stages
nested under it. The parent is named `pipeline <git short sha>[+dirty] params
<digest of params.yaml> <UTC time of its first stage>`. The store defaults to SQLite
under `mlruns/` with artifacts beside it; `MLFLOW_TRACKING_URI` points elsewhere
(e.g. a shared server). Set `ZCNAS_TRACKING=off` to log nothing.

Failures: a run that raises ends FAILED with tag `zcnas.error` (`Type: message`)
and artifact `error.txt` (the traceback). Its pipeline run then ends FAILED too,
with tag `zcnas.error.<stage>` per failing stage, `zcnas.error` listing them, and a
line per failed attempt appended to its `error.txt`. A pipeline run's status and
`zcnas.error*` tags are its current state: RUNNING while a stage runs, FAILED
while the latest attempt of some stage failed, FINISHED again once a later attempt
(same code, same params, so the same parent) of every failed stage succeeds; its
`error.txt` is the history of failed attempts and stays.
"""

import hashlib
import os
import re
import platform
import subprocess
import tempfile
import time
import traceback
import warnings
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import torch

from .fingerprint import source_digest

EXPERIMENT = "zcnas"
STORE_DIR = Path("mlruns")
ERROR_TAG = "zcnas.error"
ERROR_FILE = "error.txt"
# A failing stage's tag on its pipeline run: zcnas.error.<stage>.
STAGE_ERROR_PREFIX = f"{ERROR_TAG}."
# Tags hold the message only, cut to this length (MLflow caps tags at 8000
# characters and zcnas.error joins several); error.txt keeps the full text.
_TAG_TEXT = 1000


def tracking_enabled() -> bool:
    return os.environ.get("ZCNAS_TRACKING", "on").lower() not in {"off", "0", "false", "no"}


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(STORE_DIR / 'mlflow.db').resolve()}"


def mlflow_key(name: str) -> str:
    """MLflow keys allow letters, digits and `_-. :/`; others (e.g. the `+` of `econas+`) become `_`."""
    return re.sub(r"[^\w\-. :/]", "_", name)


def flatten(data: dict, prefix: str = "") -> dict:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists stay values."""
    flat = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def code_fingerprint() -> str:
    """A hash of the code that runs: the zcnas package and the pipeline definition.

    Content, not git state, identifies a pipeline run: `dvc exp run` stages files in
    git between stages, which changes `git diff` but not the code.
    """
    digest = hashlib.sha256(source_digest(".").encode())  # the whole package, as scoring journals hash it
    for path in sorted(Path("stages").glob("*.py")) + [Path("dvc.yaml")]:
        if path.is_file():
            digest.update(f"{path}\0".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


# What `dvc repro` itself writes into tracked files while it runs: a change there is a
# result of the run, not a change to what was run.
PIPELINE_RESULTS = ("dvc.lock", "metrics", "results")


def code_version() -> dict:
    """Git commit, whether tracked files other than the pipeline's own results differ
    from it, and a hash of that difference."""
    diff = _git("diff", "HEAD", "--", ":/", *(f":(top,exclude){path}" for path in PIPELINE_RESULTS))
    return {
        "git_commit": _git("rev-parse", "HEAD") or "unknown",
        "git_dirty": str(bool(diff)).lower(),
        "git_diff_sha": hashlib.sha256(diff.encode()).hexdigest()[:12] if diff else "",
    }


class StageRun:
    """What a stage may log; a no-op when tracking is off."""

    def __init__(self, client=None, run_id: str | None = None, parent_id: str | None = None):
        self._client, self.run_id, self.parent_id = client, run_id, parent_id

    def log_metrics(self, metrics: dict, step: int | None = None, on_parent: bool = False) -> None:
        """Log (nested dicts flattened, non-numbers skipped); `on_parent` also puts
        them on the pipeline run, so runs of two ablations compare side by side."""
        if not self._client:
            return
        numbers = {k: float(v) for k, v in flatten(metrics).items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v}
        timestamp = int(time.time() * 1000)
        from mlflow.entities import Metric

        batch = [Metric(mlflow_key(k), v, timestamp, step or 0) for k, v in numbers.items()]
        for run_id in [self.run_id] + ([self.parent_id] if on_parent else []):
            for start in range(0, len(batch), 1000):  # MLflow's per-request limit
                self._client.log_batch(run_id, metrics=batch[start:start + 1000])

    def log_params(self, params: dict) -> None:
        """Counts and settings (nested dicts flattened): values a run has, not figures to chart."""
        if self._client:
            _log_params(self._client, self.run_id, params)

    def log_artifact(self, path: Path | str, folder: str | None = None) -> None:
        if self._client and Path(path).exists():
            if Path(path).is_dir():
                self._client.log_artifacts(self.run_id, str(path), folder)
            else:
                self._client.log_artifact(self.run_id, str(path), folder)

    @contextmanager
    def child(self, name: str, params: dict | None = None):
        """A run nested under this one (e.g. one per search algorithm)."""
        if not self._client:
            yield StageRun()
            return
        parent = self._client.get_run(self.run_id)
        tags = {k: v for k, v in parent.data.tags.items() if k.startswith("zcnas.")}
        run = self._client.create_run(parent.info.experiment_id, run_name=name,
                                      tags={**tags, "mlflow.parentRunId": self.run_id})
        _log_params(self._client, run.info.run_id, params or {})
        error = None
        try:
            yield StageRun(self._client, run.info.run_id, self.parent_id)
        except BaseException as exc:
            error = _log_error(self._client, run.info.run_id, exc)
            raise
        finally:
            self._client.set_terminated(run.info.run_id, "FINISHED" if error is None else "FAILED")

    def set_tags(self, tags: dict) -> None:
        if self._client:
            for key, value in tags.items():
                self._client.set_tag(self.run_id, key, str(value))


@contextmanager
def stage_run(stage: str, all_params: dict, stage_params: dict, device: str = "auto"):
    """A child run for `stage` under this pipeline run's parent; yields a StageRun.

    `all_params` identifies the pipeline run (with the code version); `stage_params`
    (the stage's own sections) are logged flattened as the run's params.
    """
    if not tracking_enabled():
        yield StageRun()
        return
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        warnings.warn("mlflow is not installed: nothing is tracked (pip install -e '.[pipeline]')", RuntimeWarning)
        yield StageRun()
        return

    client = MlflowClient(tracking_uri())
    experiment_id = _experiment_id(client)
    version = code_version()
    pipeline_key = hashlib.sha256(repr((sorted(flatten(all_params).items()), code_fingerprint())).encode()).hexdigest()[:16]
    tags = {
        **{f"zcnas.{k}": v for k, v in version.items()},
        "zcnas.pipeline_key": pipeline_key,
        "zcnas.params_hash": hashlib.sha256(repr(sorted(flatten(stage_params).items())).encode()).hexdigest()[:12],
        "zcnas.device": device,
        "zcnas.torch_version": torch.__version__,
        "zcnas.machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus",
    }
    parent_id = _parent_run(client, experiment_id, pipeline_key, all_params, tags)
    client.update_run(parent_id, status="RUNNING")
    run = client.create_run(
        experiment_id, run_name=stage,
        tags={**tags, "zcnas.dvc_stage": stage, "mlflow.parentRunId": parent_id},
    )
    _log_params(client, run.info.run_id, stage_params)
    started = time.perf_counter()
    error = None
    try:
        yield StageRun(client, run.info.run_id, parent_id)
    except BaseException as exc:
        error = _log_error(client, run.info.run_id, exc)
        raise
    finally:
        client.log_metric(run.info.run_id, "stage_seconds", time.perf_counter() - started)
        client.set_terminated(run.info.run_id, "FINISHED" if error is None else "FAILED")
        _end_stage_on_parent(client, parent_id, stage, run.info.run_id, error)


def _log_error(client, run_id: str, exc: BaseException) -> str:
    """Tag the run with the error and store its traceback as error.txt; returns `Type: message`."""
    message = f"{type(exc).__name__}: {exc}"
    client.set_tag(run_id, ERROR_TAG, message[:_TAG_TEXT])
    client.log_text(run_id, "".join(traceback.format_exception(exc)), ERROR_FILE)
    return message


def _end_stage_on_parent(client, parent_id: str, stage: str, run_id: str, error: str | None) -> None:
    """Record this attempt of `stage` on the pipeline run and set its status (see the module docstring)."""
    stage_tag = STAGE_ERROR_PREFIX + mlflow_key(stage)
    tags = client.get_run(parent_id).data.tags
    if error is not None:
        tags[stage_tag] = error[:_TAG_TEXT]
        client.set_tag(parent_id, stage_tag, tags[stage_tag])
        when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        _append_text(client, parent_id, ERROR_FILE, f"{when} stage {stage} (run {run_id}): {error}\n")
    elif stage_tag in tags:
        del tags[stage_tag]
        client.delete_tag(parent_id, stage_tag)
    failing = {key.removeprefix(STAGE_ERROR_PREFIX): value for key, value in sorted(tags.items())
               if key.startswith(STAGE_ERROR_PREFIX)}
    if failing:
        client.set_tag(parent_id, ERROR_TAG, "\n".join(f"{name}: {text}" for name, text in failing.items()))
    elif ERROR_TAG in tags:
        client.delete_tag(parent_id, ERROR_TAG)
    client.set_terminated(parent_id, "FAILED" if failing else "FINISHED")


def _append_text(client, run_id: str, name: str, text: str) -> None:
    """Append `text` to the run's text artifact `name`, creating it if absent."""
    previous = ""
    if any(entry.path == name for entry in client.list_artifacts(run_id)):
        from mlflow.artifacts import download_artifacts

        with tempfile.TemporaryDirectory() as folder:
            previous = Path(download_artifacts(run_id=run_id, artifact_path=name, dst_path=folder,
                                               tracking_uri=tracking_uri())).read_text()
    client.log_text(run_id, previous + text, name)


def _log_params(client, run_id: str, params: dict) -> None:
    from mlflow.entities import Param

    entries = [Param(mlflow_key(k), str(v)) for k, v in flatten(params).items()]
    for start in range(0, len(entries), 100):  # MLflow's per-request limit for params
        client.log_batch(run_id, params=entries[start:start + 100])


def _experiment_id(client) -> str:
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is not None:
        return experiment.experiment_id
    artifacts = None
    uri = tracking_uri()
    if uri.startswith("sqlite:///"):  # a local store: artifacts beside the database, not in the cwd
        artifacts = (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").resolve().as_uri()
    return client.create_experiment(EXPERIMENT, artifact_location=artifacts)


def _parent_run(client, experiment_id: str, pipeline_key: str, all_params: dict, tags: dict) -> str:
    found = client.search_runs([experiment_id], f"tags.`zcnas.pipeline_key` = '{pipeline_key}' "
                                                f"and tags.`zcnas.role` = 'pipeline'", max_results=1)
    if found:
        return found[0].info.run_id
    params_digest = hashlib.sha256(repr(sorted(flatten(all_params).items())).encode()).hexdigest()[:8]
    commit = tags["zcnas.git_commit"][:7] + ("+dirty" if tags["zcnas.git_dirty"] == "true" else "")
    name = f"pipeline {commit} params {params_digest} {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC"
    run = client.create_run(experiment_id, run_name=name,
                            tags={**tags, "zcnas.role": "pipeline", "zcnas.params_digest": params_digest})
    _log_params(client, run.info.run_id, all_params)
    return run.info.run_id
