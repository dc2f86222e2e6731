"""DVC stage `evaluate`: each proxy's rank correlation with benchmark accuracy, plus plots."""

import argparse
from pathlib import Path

from zcnas.pipeline.evaluate import evaluate_stage
from zcnas.pipeline.stage import run_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ground-truth", type=Path, required=True, help="directory of ground-truth tables")
    parser.add_argument("--scores", type=Path, required=True, help="directory of proxy-score tables")
    parser.add_argument("--timings", type=Path, required=True, help="directory of the scores' seconds")
    parser.add_argument("--metrics", type=Path, required=True, help="the DVC metrics file to write")
    parser.add_argument("--timings-metrics", type=Path, required=True,
                        help="the metrics file for seconds per architecture (a measurement of this machine)")
    parser.add_argument("--tables", type=Path, required=True, help="directory for the per-proxy table")
    parser.add_argument("--plots", type=Path, required=True, help="directory for the score-vs-accuracy plots")
    parser.add_argument("--cost-plots", type=Path, required=True, help="directory for the rho-against-seconds plots")
    parser.add_argument("--rho-plots", type=Path, required=True,
                        help="directory for each dataset's rho per method, the data of a DVC bar plot")
    args = parser.parse_args()
    run_stage("evaluate", ["score", "evaluate"], lambda params, run: evaluate_stage(
        params, args.ground_truth, args.scores, args.timings, args.metrics, args.timings_metrics, args.tables,
        args.plots, args.cost_plots, args.rho_plots, run))


if __name__ == "__main__":
    main()
