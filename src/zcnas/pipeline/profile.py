"""A quick run of the whole DVC pipeline under a profile (`zcnas pipeline --profile smoke`).

A profile, `profiles/<name>.yaml` in the project root, overrides params.yaml key by
key (nested mappings merge, anything else replaces). A quick run copies the pipeline
(dvc.yaml, stages/, src/) into a directory of its own (default `runs/<name>`, which
the project's git and DVC ignore) with params.yaml under the profile, makes that
directory a git + DVC repository and runs `dvc repro` there, so the project's own
outputs and dvc.lock are never touched. Run again into the same directory, it
refreshes the copy and DVC reruns only the stages whose code or params changed.

Data: $ZCNAS_MIRROR when set, else the project's data/raw when present, else
synthetic stand-ins of the same schema (a generated NB201 table, random CIFAR-10
images), whose numbers are not results. MLflow: $MLFLOW_TRACKING_URI when set, else
the project's own store (mlruns/mlflow.db), so the run shows up in its MLflow UI.

DVC and git run as subprocesses: importing this module needs neither DVC nor MLflow.
"""

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import ZcnasError
from ..resources import MIRROR_ENV

PROFILES_DIR = "profiles"
RUNS_DIR = "runs"
# What a quick run copies from the project: the pipeline and the code its stages hash.
PIPELINE_FILES = ("dvc.yaml", "stages", "src")
PLOT_TEMPLATES = Path(".dvc") / "plots"
# Written into a quick run's directory; its presence marks the directory as one.
MARKER = ".zcnas-run.json"
RUN_LABEL_ENV = "ZCNAS_RUN_LABEL"
# The synthetic stand-ins: enough images that the smoke profile's smallest shares
# (s 0.002, val 0.01) hold some.
SYNTHETIC_NB201_SEED = 0
SYNTHETIC_IMAGES_PER_CLASS = 100
_COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
_GIT_IDENTITY = ("-c", "user.name=zcnas", "-c", "user.email=zcnas@localhost")


class RunFailed(ZcnasError):
    """A step of the quick run (git, DVC or a stage) failed; its own output says why."""


@dataclass(frozen=True)
class QuickRun:
    """A finished quick run: where it ran, on what data, with which environment."""

    directory: Path
    profile: str
    data: str  # "mirror", "project" (the project's data/raw) or "synthetic"
    env: dict[str, str]

    @property
    def real_data(self) -> bool:
        return self.data != "synthetic"

    @property
    def report(self) -> Path:
        return self.directory / "results" / "report.md"

    @property
    def metrics(self) -> Path:
        return self.directory / "metrics"


def merged(base: Mapping, overrides: Mapping) -> dict:
    """`base` with `overrides` on top: nested mappings merge key by key, other values replace."""
    result = dict(base)
    for key, value in overrides.items():
        previous = base.get(key)
        result[key] = merged(previous if isinstance(previous, Mapping) else {}, value) \
            if isinstance(value, Mapping) else value
    return result


def find_project(path: Path | str = ".") -> Path:
    """The project root `path` (absolute): the directory holding dvc.yaml, params.yaml and profiles/."""
    root = Path(path).resolve()
    missing = [name for name in ("dvc.yaml", "params.yaml", PROFILES_DIR) if not (root / name).exists()]
    if missing:
        raise ZcnasError(f"{root} is not the zcnas project root (no {' or '.join(missing)} here); "
                         "run this from the directory holding dvc.yaml, params.yaml and profiles/")
    return root


def profile_names(project: Path) -> list[str]:
    return sorted(path.stem for path in (project / PROFILES_DIR).glob("*.yaml"))


def load_profile(project: Path, name: str) -> dict:
    """The overrides of `profiles/<name>.yaml`; an error listing the profiles there if there is none."""
    path = project / PROFILES_DIR / f"{name}.yaml"
    if not path.is_file():
        names = profile_names(project)
        raise ZcnasError(f"unknown profile {name!r}; expected one of: {', '.join(names) or '(none)'} "
                         f"(the files {project / PROFILES_DIR}/<name>.yaml)")
    overrides = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(overrides, dict):
        raise ZcnasError(f"{path} must hold a mapping of params.yaml keys to override, "
                         f"not a {type(overrides).__name__}")
    return overrides


def profile_params(project: Path, name: str) -> dict:
    """params.yaml of `project` under profile `name`."""
    base = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8")) or {}
    return merged(base, load_profile(project, name))


def copy_pipeline(project: Path, root: Path, profile: str) -> None:
    """The pipeline (dvc.yaml, stages/, src/) of `project` into `root`, replacing an earlier
    copy, with params.yaml under `profile`."""
    params = profile_params(project, profile)
    root.mkdir(parents=True, exist_ok=True)
    for name in PIPELINE_FILES:
        source, target = project / name, root / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        if source.is_dir():
            shutil.copytree(source, target, ignore=_COPY_IGNORE)
        else:
            shutil.copy2(source, target)
    text = yaml.safe_dump(params, sort_keys=False)
    params_file = root / "params.yaml"
    if not params_file.exists() or params_file.read_text(encoding="utf-8") != text:
        params_file.write_text(text, encoding="utf-8")


def default_directory(project: Path, profile: str) -> Path:
    return project / RUNS_DIR / profile


def run_environment(project: Path, profile: str, base: Mapping[str, str] | None = None,
                    directory: Path | None = None) -> dict[str, str]:
    """The environment `dvc repro` runs in: `base` (default os.environ) with MLflow pointed
    at the project's store unless MLFLOW_TRACKING_URI is set, the run labelled `profile`,
    this interpreter first on PATH (dvc.yaml's `python`) and, with `directory`, its copy of
    the code first on PYTHONPATH (the code the stages' deps hash is the code they run)."""
    env = dict(os.environ if base is None else base)
    if not env.get("MLFLOW_TRACKING_URI"):
        env["MLFLOW_TRACKING_URI"] = f"sqlite:///{project / 'mlruns' / 'mlflow.db'}"
    env[RUN_LABEL_ENV] = profile
    env["PATH"] = os.pathsep.join(filter(None, [str(Path(sys.executable).parent), env.get("PATH")]))
    if directory is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(directory / "src"), env.get("PYTHONPATH")]))
    return env


def quick_run(project: Path | str, profile: str, directory: Path | str | None = None,
              env: Mapping[str, str] | None = None, echo: Callable[[str], None] = print) -> QuickRun:
    """Run the whole pipeline of `project` under `profile` in `directory` (default runs/<profile>).

    `env` (default os.environ) is the environment: its ZCNAS_MIRROR and MLFLOW_TRACKING_URI
    count as described in the module docstring. `echo` receives the run's one-line notes;
    git's and DVC's output goes to this process's stdout and stderr. Raises ZcnasError
    for a bad project, profile or directory and RunFailed when a step fails.
    """
    project = find_project(project)
    load_profile(project, profile)  # an unknown profile fails before anything is written
    root = _check_directory(project, Path(directory) if directory is not None else
                            default_directory(project, profile))
    _check_tools()
    env = run_environment(project, profile, env, root)
    data, source = _data_source(project, env)
    marker = _read_marker(root)
    copy_pipeline(project, root, profile)
    _ignore_files(root)
    changed_data = marker is not None and marker.get("data") != source
    _place_data(project, root, data, source, marker)
    if data == "synthetic":
        echo(f"zcnas: no ${MIRROR_ENV} and no {project / 'data' / 'raw'}: running on synthetic stand-in data "
             "(a generated NB201 table, random images); its numbers are from synthetic data, not results")
    (root / MARKER).write_text(json.dumps({"profile": profile, "project": str(project), "data": source},
                                          indent=2) + "\n", encoding="utf-8")
    if not (root / ".git").exists():
        _run(["git", "init", "-q"], root, env)
    if not (root / ".dvc").exists():
        _run([sys.executable, "-m", "dvc", "init", "-q"], root, env)
        # DVC stages what it changes (.gitignore files, dvc.lock) instead of printing a `git add` hint.
        with open(root / ".dvc" / "config", "a", encoding="utf-8") as config:
            config.write("[core]\n    autostage = true\n")
    if (project / PLOT_TEMPLATES).is_dir():  # dvc.yaml's plots name the project's own templates
        shutil.copytree(project / PLOT_TEMPLATES, root / PLOT_TEMPLATES, dirs_exist_ok=True)
    _run(["git", "add", "-A"], root, env)
    if _run(["git", "status", "--porcelain"], root, env).stdout.strip():
        _run(["git", *_GIT_IDENTITY, "commit", "-q", "-m", f"zcnas pipeline --profile {profile}"], root, env)
    command = [sys.executable, "-m", "dvc", "repro"]
    if changed_data:
        # data/raw is no DVC dependency, so DVC cannot see that the data changed.
        echo(f"zcnas: the data changed since the last run in {root} ({marker.get('data')} -> {source}): "
             "rerunning every stage")
        command.append("--force")
    code = subprocess.run(command, cwd=root, env=env).returncode
    if code != 0:
        raise RunFailed(f"dvc repro failed (exit status {code}) in {root}; the failing stage's output is above")
    return QuickRun(root, profile, data, env)


def _check_tools() -> None:
    import importlib.util

    missing = [name for name in ("dvc", "mlflow") if importlib.util.find_spec(name) is None]
    if missing:
        raise ZcnasError(f"the pipeline needs {' and '.join(missing)}, not installed here: "
                         "pip install -e '.[pipeline]'")
    if shutil.which("git") is None:
        raise ZcnasError("the pipeline needs git (DVC keeps its runs in a git repository), not found on PATH")


def _check_directory(project: Path, directory: Path) -> Path:
    root = directory.resolve()
    if root == project or root in project.parents:
        raise ZcnasError(f"--dir {directory} is the project or holds it; a quick run needs a directory of its own")
    for name in PIPELINE_FILES:
        if root.is_relative_to(project / name):
            raise ZcnasError(f"--dir {directory} is inside the project's {name}, which the run copies")
    if root.exists():
        if not root.is_dir():
            raise ZcnasError(f"--dir {directory} is a file; expected a directory")
        if any(root.iterdir()) and not (root / MARKER).exists():
            raise ZcnasError(f"--dir {directory} is not empty and holds no earlier quick run ({MARKER}); "
                             "name a new or empty directory, or one an earlier `zcnas pipeline` ran in")
    return root


def _data_source(project: Path, env: Mapping[str, str]) -> tuple[str, str]:
    """(kind, description) of the data the run reads."""
    mirror = env.get(MIRROR_ENV)
    if mirror:
        path = Path(mirror).expanduser().resolve()
        if not path.is_dir():
            raise ZcnasError(f"${MIRROR_ENV} is {mirror}, which is not a directory")
        return "mirror", f"mirror {path}"
    raw = project / "data" / "raw"
    if raw.is_dir():
        return "project", f"project {raw}"
    return "synthetic", "synthetic"


def _place_data(project: Path, root: Path, data: str, source: str, marker: dict | None) -> None:
    """The run's data/raw: none (the stages read the mirror), a link to the project's, or synthetic files."""
    raw = root / "data" / "raw"
    if marker is not None and marker.get("data") == source and (raw.exists() or data == "mirror"):
        return
    if raw.is_symlink() or raw.is_file():
        raw.unlink()
    elif raw.is_dir():
        shutil.rmtree(raw)
    if data == "project":
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.symlink_to(project / "data" / "raw", target_is_directory=True)
    elif data == "synthetic":
        write_synthetic_data(raw)


def write_synthetic_data(raw: Path) -> None:
    """Stand-ins for the real inputs under `raw`: an NB201 accuracy table and random CIFAR-10 images."""
    from ..benchmarks import write_synthetic_nb201
    from ..data.synthetic import write_image_folder

    write_synthetic_nb201(raw / "nb201" / "accuracy.csv", seed=SYNTHETIC_NB201_SEED)
    write_image_folder(raw, "cifar10", per_class=SYNTHETIC_IMAGES_PER_CLASS)


def _ignore_files(root: Path) -> None:
    """The run's own data and Python's bytecode stay out of its git commits and DVC hashes
    (lines added where missing: DVC adds its own to .gitignore files)."""
    for name, lines in ((".gitignore", ["/data/raw", "__pycache__/"]), (".dvcignore", ["__pycache__/"])):
        path = root / name
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        missing = [line for line in lines if line not in text.splitlines()]
        if missing:
            path.write_text(text + ("\n" if text and not text.endswith("\n") else "") + "\n".join(missing) + "\n",
                            encoding="utf-8")


def _read_marker(root: Path) -> dict | None:
    try:
        return json.loads((root / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _run(command: list[str], cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        name = "dvc" if command[:3] == [sys.executable, "-m", "dvc"] else command[0]
        shown = " ".join([name, *command[3 if name == "dvc" else 1:]])
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise RunFailed(f"`{shown}` failed in {cwd} (exit status {result.returncode})"
                        + (f": {detail[-1]}" if detail else ""))
    return result
