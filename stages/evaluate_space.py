"""DVC stage `evaluate_space`: the whole-space proxies judged over every NB201 cell and over
the 9,445 non-isomorphic ones (rho, tau, nDCG@k, top-k hits), on every benchmark dataset."""

import argparse
from pathlib import Path

from zcnas.pipeline.evaluate_space import evaluate_space_stage
from zcnas.pipeline.stage import run_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ground-truth", type=Path, required=True, help="directory of ground-truth tables")
    parser.add_argument("--space-scores", type=Path, required=True, help="whole-space proxy scores")
    parser.add_argument("--metrics", type=Path, required=True, help="the metrics file to write")
    args = parser.parse_args()
    run_stage("evaluate_space", ["score_space", "evaluate"], lambda params, run: evaluate_space_stage(
        params, args.ground_truth, args.space_scores, args.metrics, run))


if __name__ == "__main__":
    main()
