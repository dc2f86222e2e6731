"""The fetch stage: one validated ground-truth table per search space."""

from pathlib import Path

from ..benchmarks import fetch_ground_truth
from ..tracking import StageRun
from .nb101 import SPACE as NB101, write_disabled_marker
from .params import Params


def fetch_stage(params: Params, raw_dir: Path, out_dir: Path, nb101_dir: Path, run: StageRun) -> None:
    """The tables of `fetch.spaces` into `out_dir`; the NB101 task's (`nb101.enabled`) into `nb101_dir`,
    apart, so that switching the task on or off leaves the other stages' ground truth untouched."""
    sources = {"nb201": params.fetch.nb201_source, "nb101": params.fetch.nb101_source}
    wanted = [(space, Path(out_dir)) for space in params.fetch.spaces]
    if params.nb101.enabled:
        wanted.append((NB101, Path(nb101_dir)))
    else:
        write_disabled_marker(nb101_dir)
    for space, directory in wanted:
        table = fetch_ground_truth(space, sources[space], raw_dir, out=directory / f"{space}.parquet")
        run.log_metrics({space: {"rows": len(table), "architectures": table["arch"].nunique()}})
        run.set_tags({f"zcnas.{space}_datasets": ",".join(sorted(table["dataset"].unique()))})
