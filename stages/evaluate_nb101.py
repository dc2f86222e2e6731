"""DVC stage `evaluate_nb101`: each proxy's rank correlation with NAS-Bench-101 validation accuracy,
beside the paper's figures (nb101/dvc.yaml)."""

import argparse
from pathlib import Path

from zcnas.pipeline.evaluate_nb101 import evaluate_nb101_stage
from zcnas.pipeline.stage import run_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ground-truth", type=Path, required=True, help="directory of the NB101 ground-truth table")
    parser.add_argument("--scores", type=Path, required=True, help="directory of the NB101 score table")
    parser.add_argument("--timings", type=Path, required=True, help="directory of the scores' seconds")
    parser.add_argument("--metrics", type=Path, required=True, help="the DVC metrics file to write")
    parser.add_argument("--timings-metrics", type=Path, required=True,
                        help="the metrics file for seconds per architecture (a measurement of this machine)")
    args = parser.parse_args()
    run_stage("evaluate_nb101", ["evaluate", "nb101"], lambda params, run: evaluate_nb101_stage(
        params, args.ground_truth, args.scores, args.timings, args.metrics, args.timings_metrics, run))


if __name__ == "__main__":
    main()
