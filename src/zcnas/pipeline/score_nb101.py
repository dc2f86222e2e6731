"""The score_nb101 stage: the NAS-Bench-101 task's cells scored by `nb101.proxies`."""

from pathlib import Path

import pandas as pd

from ..benchmarks import SPACE_DATASETS
from ..tracking import StageRun
from .nb101 import SPACE
from .params import Params
from .score import MinibatchSettings, score_stage


def score_nb101_stage(params: Params, ground_truth_dir: Path, data_dir: Path, out_dir: Path, journal_dir: Path,
                      timings_dir: Path, run: StageRun) -> dict[Path, pd.DataFrame]:
    """`score_stage` on the task's ground truth, with the score section's minibatch, seed and device."""
    return score_stage(params, ground_truth_dir, data_dir, out_dir, run, space=SPACE, proxies=params.nb101.proxies,
                       sample=params.nb101.sample, datasets=list(SPACE_DATASETS[SPACE]), purpose="score_nb101",
                       minibatch=MinibatchSettings(params.score.batch_size, params.score.dataload,
                                                   params.score.minibatch),
                       journal_dir=journal_dir, timings_dir=timings_dir)
