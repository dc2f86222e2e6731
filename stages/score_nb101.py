"""DVC stage `score_nb101` (nb101/dvc.yaml): every proxy on NAS-Bench-101's sample, a second
correlation task."""

import argparse
from pathlib import Path

from zcnas.pipeline.score_nb101 import score_nb101_stage
from zcnas.pipeline.stage import run_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ground-truth", type=Path, required=True, help="directory of the NB101 ground-truth table")
    parser.add_argument("--data-dir", type=Path, required=True, help="where datasets are looked for")
    parser.add_argument("--out", type=Path, required=True, help="directory for the score table")
    parser.add_argument("--journals", type=Path, required=True, help="where unfinished work is journalled")
    parser.add_argument("--timings", type=Path, required=True,
                        help="directory for the seconds of the table (a measurement, kept apart from the scores)")
    args = parser.parse_args()
    run_stage("score_nb101", ["score", "nb101"], lambda params, run: score_nb101_stage(
        params, args.ground_truth, args.data_dir, args.out, args.journals, args.timings, run))


if __name__ == "__main__":
    main()
