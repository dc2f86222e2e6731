"""DVC stage `econas_evaluate`: reduced training's rank correlation against its cost, epoch by
epoch, beside the zero-cost proxies on the same architectures (the paper's Figure 1)."""

import argparse
from pathlib import Path

from zcnas.pipeline.econas_evaluate import econas_evaluate_stage
from zcnas.pipeline.stage import run_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ground-truth", type=Path, required=True, help="directory of ground-truth tables")
    parser.add_argument("--curves", type=Path, required=True, help="the econas stage's per-epoch table")
    parser.add_argument("--curve-timings", type=Path, required=True, help="the econas stage's per-epoch seconds")
    parser.add_argument("--scores", type=Path, required=True, help="directory of proxy-score tables")
    parser.add_argument("--score-timings", type=Path, required=True, help="directory of the scores' seconds")
    parser.add_argument("--metrics", type=Path, required=True, help="the DVC metrics file to write")
    parser.add_argument("--timings-metrics", type=Path, required=True,
                        help="the metrics file for seconds (a measurement of this machine)")
    parser.add_argument("--table", type=Path, required=True, help="per-epoch correlations (CSV, for dvc plots)")
    parser.add_argument("--plots", type=Path, required=True,
                        help="directory for the paper's Figure 1, by FLOPs and by seconds (PNG)")
    args = parser.parse_args()
    run_stage("econas_evaluate", ["score", "econas", "evaluate"], lambda params, run: econas_evaluate_stage(
        params, args.ground_truth, args.curves, args.curve_timings, args.scores, args.score_timings, args.metrics,
        args.timings_metrics, args.table, args.plots, run))


if __name__ == "__main__":
    main()
