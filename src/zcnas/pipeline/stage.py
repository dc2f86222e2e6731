"""Running a DVC stage: params validated first, one MLflow child run, clean errors."""

import sys
import time
from pathlib import Path
from typing import Callable

from .. import kernels
from ..errors import INTERRUPTED, ZcnasError
from ..execution import default_workers
from ..tracking import StageRun, stage_run
from .params import DEFAULT_PARAMS, Params, load_params


def run_stage(name: str, sections: list[str], body: Callable[[Params, StageRun], None],
              params_path: Path | str = DEFAULT_PARAMS) -> None:
    """Validate params.yaml, then run `body` inside the stage's tracked run.

    A ZcnasError (bad input, missing data) ends the process with its message and
    exit status 2, without a traceback; Ctrl-C with one line and status 130.
    """
    try:
        params = load_params(params_path)
        kernels.enabled()  # a bad ZCNAS_KERNELS, before any work
        # From the full dump rather than params.section(), which wraps a scalar as {name: value}:
        # MLflow would show `seed` as `seed.seed`.
        everything = params.model_dump()
        stage_params = {section: everything[section] for section in ["seed", "device", *sections]}
        started = time.perf_counter()
        with stage_run(name, everything, stage_params, device=params.device) as run:
            body(params, run)
        print(result_line(name, run, time.perf_counter() - started))
    except ZcnasError as exc:
        print(f"zcnas {name}: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"zcnas {name}: interrupted; {INTERRUPTED}", file=sys.stderr)
        sys.exit(130)


def result_line(name: str, run: StageRun, seconds: float) -> str:
    """One line a stage ends with: its headline, its time and where MLflow holds its run."""
    parts = [f"zcnas {name}: done in {seconds / 60:.1f} min" if seconds >= 60 else
             f"zcnas {name}: done in {seconds:.1f} s"]
    if run.headline:
        parts.append(run.headline)
    if run.run_id:
        parts.append(f"MLflow run {run.run_id}")
    return "; ".join(parts)


def worker_count(params: Params, device_type: str) -> int:
    """The local worker processes: `workers`, where `auto` is `zcnas.execution.default_workers`."""
    return default_workers(device_type) if params.workers == "auto" else params.workers
