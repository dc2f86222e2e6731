"""The fetch stage: one validated ground-truth table per search space of `fetch.spaces`."""

from pathlib import Path

from ..tracking import StageRun
from .ground_truth import fetch_table
from .params import Params


def fetch_stage(params: Params, raw_dir: Path, out_dir: Path, run: StageRun) -> None:
    sources = {"nb201": params.fetch.nb201_source, "nb101": params.fetch.nb101_source}
    for space in params.fetch.spaces:
        fetch_table(space, sources[space], raw_dir, Path(out_dir), run)
