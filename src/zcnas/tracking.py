"""MLflow tracking: the only module that talks to MLflow.

Each DVC stage logs one child run under a parent run that stands for one pipeline
run (`dvc repro` / `dvc exp run`): same code (by content), same params.yaml and same
DVC experiment name -> same parent, so an ablation shows up as a new parent with its
stages nested under it. The parent is named `<DVC experiment name, or pipeline>
<git short sha>[+dirty] params <digest of params.yaml>`; its description
(`mlflow.note.content`) says which params differ from the commit's params.yaml. After
every stage the parent gets the pipeline's current results: the headline figures of
`metrics/summary.json` as metrics (the same keys: `zcnas.metric_keys`), the report and
its plots as artifacts, so a stage DVC skipped leaves no blanks. Counts (`n`, `runs`,
`budget`, ...) are logged as params, not metrics. The experiment is of MLflow 3's
"custom model development" kind, which earlier 3.x UIs read to open it on its runs;
3.17's follows a per-browser switch instead, which the link of `runs_table_url` sets.

The store defaults to SQLite under `mlruns/` with artifacts beside it;
`MLFLOW_TRACKING_URI` points elsewhere (e.g. a shared server). Set `ZCNAS_TRACKING=off`
to log nothing.

Failures: a run that raises ends FAILED with tag `zcnas.error` (`Type: message`)
and artifact `error.txt` (the traceback). Its pipeline run then ends FAILED too,
with tag `zcnas.error.<stage>` per failing stage, `zcnas.error` listing them, and a
line per failed attempt appended to its `error.txt`. A pipeline run's status and
`zcnas.error*` tags are its current state: RUNNING while a stage runs, FAILED
while the latest attempt of some stage failed, FINISHED again once a later attempt
(same code, same params, so the same parent) of every failed stage succeeds; its
`error.txt` is the history of failed attempts and stays.

A tracking server never decides a stage's results. One that does not answer when a
stage starts stops it at once, before any work, with one line (exit 2). One lost while
the stage runs stops only the logging: the stage finishes and writes its outputs (DVC
records them), says in one line that its runs are incomplete, and leaves their ids in
`mlruns/lost-runs.jsonl`; the next stage that reaches that server marks them FAILED.
"""

import functools
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
import warnings
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path

import torch
import yaml

from . import kernels
from .errors import ZcnasError
from .files import atomic_path
from .fingerprint import source_digest
from .metric_keys import flatten, is_count, metric_key

EXPERIMENT = "zcnas"
EXPERIMENT_DESCRIPTION = (
    "Zero-cost proxies for lightweight NAS (Abdelfattah et al., ICLR 2021), reproduced and extended by "
    "zcnas.\n\nOne **parent run per pipeline run** (`dvc repro`, or `dvc exp run -n NAME`: the run is named "
    "after the experiment), with a **child run per DVC stage**. The parent carries the report (`report.md`), "
    "every plot (`plots/`) and the headline figures as metrics, under the keys of `metrics/summary.json` "
    "(e.g. `rho.cifar10.synflow`). Curves: the `econas_evaluate` stage has a run per reduced-training "
    "setting (`spearman_test` per epoch) with a run per trained cell below it (`val_acc`, `train_loss` per epoch); "
    "the `search` stage has a run per search variant (`best_test_acc.<dataset>` per trained model): select "
    "those runs and open Chart view to overlay them.")
# MLflow 3's kind for runs that train models (earlier 3.x UIs open such an experiment on its runs).
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
# What the parent run shows of the pipeline's results, as DVC left them (paths from the project root):
# the NB201 pipeline's and the NAS-Bench-101 one's (nb101/dvc.yaml).
SUMMARIES = (Path("metrics") / "summary.json", Path("metrics") / "summary_nb101.json")
REPORTS = (Path("results") / "report.md", Path("results") / "nb101.md")
PLOTS = Path("results") / "plots"
PARAMS_FILE = Path("params.yaml")
STORE_DIR = Path("mlruns")
ERROR_TAG = "zcnas.error"
ERROR_FILE = "error.txt"
GIT_COMMIT_TAG = "mlflow.source.git.commit"
NOTE_TAG = "mlflow.note.content"
LABEL_TAG = "zcnas.run_label"
DVC_EXPERIMENT_TAG = "zcnas.dvc_exp_name"
# A failing stage's tag on its pipeline run: zcnas.error.<stage>.
STAGE_ERROR_PREFIX = f"{ERROR_TAG}."
# Tags hold the message only, cut to this length (MLflow caps tags at 8000
# characters and zcnas.error joins several); error.txt keeps the full text.
_TAG_TEXT = 1000
# Seconds a stage waits for a tracking server's /health before it stops (one line, exit 2).
SERVER_CHECK_SECONDS = 5.0
# MLflow retries a failed request 7 times with a doubling wait (about 4 min) by default;
# a stage that loses its server gives up within seconds instead (unless these are set).
REQUEST_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}
# Runs a lost server left RUNNING, one JSON object per line: marked FAILED when it answers again.
LOST_RUNS = STORE_DIR / "lost-runs.jsonl"


def tracking_enabled() -> bool:
    return os.environ.get("ZCNAS_TRACKING", "on").lower() not in {"off", "0", "false", "no"}


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(STORE_DIR / 'mlflow.db').resolve()}"


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
# result of the run, not a change to what was run. params.yaml too: `dvc exp run -S`
# edits it, and the params are logged in full (and their changes described) anyway.
PIPELINE_RESULTS = ("dvc.lock", "metrics", "results", str(PARAMS_FILE))


def code_version() -> dict:
    """Git commit, whether tracked files other than the pipeline's own results and
    params differ from it, and a hash of that difference."""
    diff = _git("diff", "HEAD", "--", ":/", *(f":(top,exclude){path}" for path in PIPELINE_RESULTS))
    return {
        "git_commit": _git("rev-parse", "HEAD") or "unknown",
        "git_dirty": str(bool(diff)).lower(),
        "git_diff_sha": hashlib.sha256(diff.encode()).hexdigest()[:12] if diff else "",
    }


class TrackingLost(Exception):
    """The tracking server stopped answering: logging stops, the stage's work goes on."""


class _GuardedClient:
    """An MLflow client whose first failed call marks tracking as lost (and raises
    TrackingLost), after which every call raises TrackingLost at once. It keeps the ids
    of the runs it opened and has not ended, to be marked FAILED later."""

    def __init__(self, client):
        self._client = client
        self.lost: str | None = None
        self.open_runs: list[str] = []

    def __getattr__(self, name):
        method = getattr(self._client, name)

        def call(*args, **kwargs):
            from mlflow.exceptions import MlflowException

            if self.lost is not None:
                raise TrackingLost(self.lost)
            try:
                result = method(*args, **kwargs)
            except (MlflowException, OSError) as exc:  # requests' errors are OSErrors
                self.lost = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
                raise TrackingLost(self.lost) from exc
            if name == "create_run":
                self.open_runs.append(result.info.run_id)
            elif name == "set_terminated" and args[0] in self.open_runs:
                self.open_runs.remove(args[0])
            return result

        return call


def _untracked_when_lost(method):
    """A StageRun method that does nothing once the server is lost (see `_GuardedClient`)."""

    @functools.wraps(method)
    def guarded(*args, **kwargs):
        with suppress(TrackingLost):
            return method(*args, **kwargs)

    return guarded


class StageRun:
    """What a stage may log; a no-op when tracking is off, or once its server is lost."""

    def __init__(self, client=None, run_id: str | None = None, parent_id: str | None = None):
        self._client, self.run_id, self.parent_id = client, run_id, parent_id
        self.headline = ""  # the stage's result in a few words, printed when it ends (tracked or not)

    @_untracked_when_lost
    def log_metrics(self, metrics: dict, step: int | None = None) -> None:
        """Log numbers (nested dicts flattened, keys spelled by `metric_key`, non-numbers
        skipped); counts (`zcnas.metric_keys.COUNTS`) go to the run's params instead."""
        if not self._client:
            return
        flat = {metric_key(k): v for k, v in flatten(metrics).items()
                if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v}
        counts = {k: v for k, v in flat.items() if is_count(k)}
        if counts and step is None:
            self.log_params(counts)
        self.log_curves({k: {step or 0: float(v)} for k, v in flat.items() if k not in counts})

    @_untracked_when_lost
    def log_curves(self, curves: dict[str, dict[int, float]]) -> None:
        """Step metrics: for each key, its value at each step (an epoch, a trained model)."""
        if not self._client:
            return
        from mlflow.entities import Metric

        timestamp = int(time.time() * 1000)
        batch = [Metric(metric_key(key), float(value), timestamp, int(step))
                 for key, points in curves.items() for step, value in points.items() if value == value]
        for start in range(0, len(batch), 1000):  # MLflow's per-request limit
            self._client.log_batch(self.run_id, metrics=batch[start:start + 1000])

    @_untracked_when_lost
    def log_params(self, params: dict) -> None:
        """Counts and settings (nested dicts flattened): values a run has, not figures to chart."""
        if self._client:
            _log_params(self._client, self.run_id, params)

    @_untracked_when_lost
    def log_artifact(self, path: Path | str, folder: str | None = None) -> None:
        if self._client and Path(path).exists():
            if Path(path).is_dir():
                self._client.log_artifacts(self.run_id, str(path), folder)
            else:
                self._client.log_artifact(self.run_id, str(path), folder)

    @contextmanager
    def child(self, name: str, params: dict | None = None, description: str | None = None):
        """A run nested under this one (e.g. one per search variant)."""
        if not self._client:
            yield StageRun()
            return
        try:
            parent = self._client.get_run(self.run_id)
            tags = {k: v for k, v in parent.data.tags.items() if k.startswith("zcnas.") or k == GIT_COMMIT_TAG}
            if description:
                tags[NOTE_TAG] = description
            run = self._client.create_run(parent.info.experiment_id, run_name=name,
                                          tags={**tags, "mlflow.parentRunId": self.run_id})
            _log_params(self._client, run.info.run_id, params or {})
        except TrackingLost:
            yield StageRun()
            return
        error = None
        try:
            yield StageRun(self._client, run.info.run_id, self.parent_id)
        except BaseException as exc:
            error = _log_error(self._client, run.info.run_id, exc)
            raise
        finally:
            with suppress(TrackingLost):
                self._client.set_terminated(run.info.run_id, "FINISHED" if error is None else "FAILED")

    @_untracked_when_lost
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

    uri = tracking_uri()
    check_server(uri)
    for variable, value in REQUEST_DEFAULTS.items():
        os.environ.setdefault(variable, value)
    client = _GuardedClient(MlflowClient(uri))
    try:
        with _stopping_when_lost(client, uri, stage):
            _fail_lost_runs(client, uri)
            yield from _tracked_stage(client, stage, all_params, stage_params, device)
    finally:
        if client.lost is not None and client.open_runs:
            _remember_lost_runs(uri, stage, client.open_runs, client.lost)


def _tracked_stage(client, stage: str, all_params: dict, stage_params: dict, device: str):
    experiment_id = _experiment_id(client)
    version = code_version()
    label = run_label()
    pipeline_key = hashlib.sha256(repr((sorted(flatten(all_params).items()), code_fingerprint(), label,
                                        kernels.enabled()))
                                  .encode()).hexdigest()[:16]
    tags = {
        **{f"zcnas.{k}": v for k, v in version.items()},
        GIT_COMMIT_TAG: version["git_commit"],
        **({LABEL_TAG: label} if label else {}),
        **({DVC_EXPERIMENT_TAG: os.environ["DVC_EXP_NAME"]} if os.environ.get("DVC_EXP_NAME") else {}),
        "zcnas.pipeline_key": pipeline_key,
        "zcnas.params_hash": hashlib.sha256(repr(sorted(flatten(stage_params).items())).encode()).hexdigest()[:12],
        "zcnas.device": device,
        "zcnas.torch_version": torch.__version__,
        "zcnas.speed_kernels": str(kernels.enabled()).lower(),
        "zcnas.machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus",
    }
    parent_id = _parent_run(client, experiment_id, pipeline_key, all_params, tags)
    client.update_run(parent_id, status="RUNNING")
    if parent_id not in client.open_runs:  # found, not created here
        client.open_runs.append(parent_id)
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
        with suppress(TrackingLost):
            client.log_metric(run.info.run_id, "stage_seconds", time.perf_counter() - started)
            client.set_terminated(run.info.run_id, "FINISHED" if error is None else "FAILED")
            if error is None:
                _show_results(client, parent_id)
            _end_stage_on_parent(client, parent_id, stage, run.info.run_id, error)


@contextmanager
def _stopping_when_lost(client: _GuardedClient, uri: str, stage: str):
    """Before the stage's work (while its runs are set up) a lost server stops the stage
    with a ZcnasError; once the work began, it goes on and one line says what was lost."""
    try:
        yield
    except TrackingLost as exc:
        raise ZcnasError(f"MLflow server at {uri} stopped answering ({exc}); nothing was computed") from None
    if client.lost is not None:
        print(f"zcnas {stage}: the MLflow server at {uri} stopped answering ({client.lost}); the stage's outputs "
              "are written, its MLflow runs are incomplete and are marked FAILED when the server answers again",
              file=sys.stderr)


def check_server(uri: str) -> None:
    """A ZcnasError unless the tracking server at `uri` (http or https) answers within
    SERVER_CHECK_SECONDS; other stores (SQLite, files) are not checked."""
    if not uri.startswith(("http://", "https://")):
        return
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=SERVER_CHECK_SECONDS):
            return
    except urllib.error.HTTPError:
        return  # it answers (behind a proxy or a login, /health may be refused)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ZcnasError(f"MLflow server at {uri} does not answer ({reason}); start it, point MLFLOW_TRACKING_URI "
                         "at one that runs, or set ZCNAS_TRACKING=off to track nothing") from None


def _remember_lost_runs(uri: str, stage: str, run_ids: list[str], reason: str) -> None:
    kept = LOST_RUNS.read_text() if LOST_RUNS.is_file() else ""
    lines = "".join(json.dumps({"uri": uri, "stage": stage, "run_id": run_id, "reason": reason}) + "\n"
                    for run_id in run_ids)
    LOST_RUNS.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(LOST_RUNS) as tmp:
        tmp.write_text(kept + lines)


def _fail_lost_runs(client: _GuardedClient, uri: str) -> None:
    """Mark FAILED the runs a lost server left open at `uri` (see the module docstring). A
    pipeline run also gets its stage's error tag, so it stays FAILED until that stage succeeds."""
    if not LOST_RUNS.is_file():
        return
    entries = [json.loads(line) for line in LOST_RUNS.read_text().splitlines() if line.strip()]
    for entry in (entry for entry in entries if entry["uri"] == uri):
        message = f"tracking lost: {entry['reason']}"[:_TAG_TEXT]
        tags = client.get_run(entry["run_id"]).data.tags
        if tags.get("zcnas.role") == "pipeline":
            client.set_tag(entry["run_id"], STAGE_ERROR_PREFIX + metric_key(entry["stage"]), message)
        client.set_tag(entry["run_id"], ERROR_TAG, message)
        client.set_terminated(entry["run_id"], "FAILED")
    remaining = "".join(json.dumps(entry) + "\n" for entry in entries if entry["uri"] != uri)
    with atomic_path(LOST_RUNS) as tmp:
        tmp.write_text(remaining)


def runs_table_url(server: str) -> str:
    """The link that opens the experiment on its runs table at `server` (the UI's address).

    MLflow 3.17's UI picks GenAI or model-training pages by a per-browser switch, not by
    the experiment's kind (which earlier 3.x releases read): the link sets the switch.
    """
    from mlflow.tracking import MlflowClient

    experiment = MlflowClient(tracking_uri()).get_experiment_by_name(EXPERIMENT)
    page = f"experiments/{experiment.experiment_id}" if experiment else "experiments"
    return f"{server.rstrip('/')}/#/{page}?workflowType=machine_learning"


def run_label() -> str:
    """The name of this pipeline run: the DVC experiment's (`dvc exp run` sets DVC_EXP_NAME),
    else ZCNAS_RUN_LABEL (e.g. `zcnas pipeline --profile smoke`), else empty."""
    return os.environ.get("DVC_EXP_NAME") or os.environ.get("ZCNAS_RUN_LABEL", "")


def params_changes(path: Path = PARAMS_FILE) -> dict[str, tuple]:
    """Keys of `path` whose value differs from the committed file's: key -> (committed, now)."""
    try:
        now = flatten(yaml.safe_load(Path(path).read_text()) or {})
        committed = flatten(yaml.safe_load(_git("show", f"HEAD:./{Path(path).as_posix()}") or "{}") or {})
    except (OSError, yaml.YAMLError):
        return {}
    return {key: (committed.get(key), now.get(key)) for key in sorted(set(now) | set(committed))
            if committed.get(key) != now.get(key)}


def pipeline_description(label: str, version: dict, changes: dict[str, tuple]) -> str:
    """The parent run's description (Markdown): what was run, and how it differs from the commit."""
    commit = version["git_commit"]
    lines = [f"**{label or 'pipeline'}**: {'`dvc exp run`' if os.environ.get('DVC_EXP_NAME') else '`dvc repro`'} "
             f"at commit `{commit[:7]}`" + (" with uncommitted code changes" if version["git_dirty"] == "true"
                                            else "") + "."]
    if changes:
        lines += ["", "Params changed from the commit's params.yaml:", ""]
        lines += [f"- `{key}`: {committed!r} → {now!r}" for key, (committed, now) in changes.items()]
    else:
        lines += ["", "Params: the commit's params.yaml."]
    lines += ["", "Report: artifact `report.md`, plots under `plots/`; headline metrics use the keys of "
              "`metrics/summary.json`."]
    return "\n".join(lines)


def _show_results(client, parent_id: str) -> None:
    """The pipeline's current headline figures, report and plots on its run (see the module docstring)."""
    for summary in filter(Path.is_file, SUMMARIES):
        StageRun(client, parent_id).log_metrics(json.loads(summary.read_text()))
    for report in filter(Path.is_file, REPORTS):
        client.log_artifact(parent_id, str(report))
    if PLOTS.is_dir():
        client.log_artifacts(parent_id, str(PLOTS), "plots")


def _log_error(client, run_id: str, exc: BaseException) -> str:
    """Tag the run with the error and store its traceback as error.txt (unless the server
    is lost); returns `Type: message`."""
    message = f"{type(exc).__name__}: {exc}"
    with suppress(TrackingLost):
        client.set_tag(run_id, ERROR_TAG, message[:_TAG_TEXT])
        client.log_text(run_id, "".join(traceback.format_exception(exc)), ERROR_FILE)
    return message


def _end_stage_on_parent(client, parent_id: str, stage: str, run_id: str, error: str | None) -> None:
    """Record this attempt of `stage` on the pipeline run and set its status (see the module docstring)."""
    stage_tag = STAGE_ERROR_PREFIX + metric_key(stage)
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

    entries = [Param(metric_key(k), str(v)) for k, v in flatten(params).items()]
    for start in range(0, len(entries), 100):  # MLflow's per-request limit for params
        client.log_batch(run_id, params=entries[start:start + 100])


def _experiment_id(client) -> str:
    """The experiment, created if absent, with its kind and description (set on older ones too)."""
    tags = {**EXPERIMENT_KIND, NOTE_TAG: EXPERIMENT_DESCRIPTION}
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        artifacts = None
        uri = tracking_uri()
        if uri.startswith("sqlite:///"):  # a local store: artifacts beside the database, not in the cwd
            artifacts = (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").resolve().as_uri()
        return client.create_experiment(EXPERIMENT, artifact_location=artifacts, tags=tags)
    for key, value in tags.items():
        if experiment.tags.get(key) != value:
            client.set_experiment_tag(experiment.experiment_id, key, value)
    return experiment.experiment_id


def _parent_run(client, experiment_id: str, pipeline_key: str, all_params: dict, tags: dict) -> str:
    found = client.search_runs([experiment_id], f"tags.`zcnas.pipeline_key` = '{pipeline_key}' "
                                                f"and tags.`zcnas.role` = 'pipeline'", max_results=1)
    if found:
        return found[0].info.run_id
    params_digest = hashlib.sha256(repr(sorted(flatten(all_params).items())).encode()).hexdigest()[:8]
    commit = tags["zcnas.git_commit"][:7] + ("+dirty" if tags["zcnas.git_dirty"] == "true" else "")
    label = tags.get(LABEL_TAG, "")
    name = f"{label or 'pipeline'} {commit} params {params_digest}"
    version = {key.removeprefix("zcnas."): value for key, value in tags.items() if key.startswith("zcnas.git_")}
    description = pipeline_description(label, version, params_changes())
    run = client.create_run(experiment_id, run_name=name,
                            tags={**tags, "zcnas.role": "pipeline", "zcnas.params_digest": params_digest,
                                  NOTE_TAG: description})
    _log_params(client, run.info.run_id, all_params)
    return run.info.run_id
