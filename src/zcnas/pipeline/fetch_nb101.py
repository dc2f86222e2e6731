"""The fetch_nb101 stage (nb101/dvc.yaml): the NAS-Bench-101 task's ground truth, in a folder of
its own, so that the task's pipeline and the default one share no output."""

from pathlib import Path

from ..tracking import StageRun
from .ground_truth import fetch_table
from .nb101 import SPACE
from .params import Params


def fetch_nb101_stage(params: Params, raw_dir: Path, out_dir: Path, run: StageRun) -> None:
    fetch_table(SPACE, params.fetch.nb101_source, raw_dir, Path(out_dir), run)
