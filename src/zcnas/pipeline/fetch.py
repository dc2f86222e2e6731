"""The fetch stage: one validated ground-truth table per search space."""

from pathlib import Path

from ..benchmarks import fetch_ground_truth
from ..tracking import StageRun
from .params import Params


def fetch_stage(params: Params, raw_dir: Path, out_dir: Path, run: StageRun) -> None:
    sources = {"nb201": params.fetch.nb201_source, "nb101": params.fetch.nb101_source}
    for space in params.fetch.spaces:
        table = fetch_ground_truth(space, sources[space], raw_dir, out=Path(out_dir) / f"{space}.parquet")
        run.log_metrics({space: {"rows": len(table), "architectures": table["arch"].nunique()}})
        run.set_tags({f"zcnas.{space}_datasets": ",".join(sorted(table["dataset"].unique()))})
