"""DVC stage `search`: random search, aging evolution, REINFORCE and a binary-relation
predictor on the benchmark, each plain and accelerated by the zero-cost proxy."""

import argparse
from pathlib import Path

from zcnas.pipeline.search import search_stage
from zcnas.pipeline.stage import run_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ground-truth", type=Path, required=True, help="directory of ground-truth tables")
    parser.add_argument("--space-scores", type=Path, required=True, help="whole-space proxy scores")
    parser.add_argument("--metrics", type=Path, required=True, help="the DVC metrics file to write")
    parser.add_argument("--curves", type=Path, required=True, help="directory for the per-run curves")
    parser.add_argument("--plots", type=Path, required=True, help="directory for the plots")
    parser.add_argument("--comparison", type=Path,
                        help="metrics file for the proxy-driven variants under search.proxy and search.compare")
    args = parser.parse_args()
    run_stage("search", ["search", "score_space"], lambda params, run: search_stage(
        params, args.ground_truth, args.space_scores, args.metrics, args.curves, args.plots, run, args.comparison))


if __name__ == "__main__":
    main()
