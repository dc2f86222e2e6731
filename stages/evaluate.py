"""DVC stage `evaluate`: each proxy's rank correlation with benchmark accuracy, plus plots."""

import argparse
from pathlib import Path

from zcnas.pipeline.evaluate import evaluate_stage
from zcnas.pipeline.stage import run_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ground-truth", type=Path, required=True, help="directory of ground-truth tables")
    parser.add_argument("--scores", type=Path, required=True, help="directory of proxy-score tables")
    parser.add_argument("--metrics", type=Path, required=True, help="the DVC metrics file to write")
    parser.add_argument("--tables", type=Path, required=True, help="directory for the per-proxy table")
    parser.add_argument("--plots", type=Path, required=True, help="directory for the plots")
    args = parser.parse_args()
    run_stage("evaluate", ["score", "evaluate"], lambda params, run: evaluate_stage(
        params, args.ground_truth, args.scores, args.metrics, args.tables, args.plots, run))


if __name__ == "__main__":
    main()
