"""DVC stage `report_nb101` (nb101/dvc.yaml): the NAS-Bench-101 task's report, our rho beside the paper's."""

import argparse
from pathlib import Path

from zcnas.pipeline.report_nb101 import write_nb101_report
from zcnas.pipeline.stage import run_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--metrics", type=Path, required=True, help="metrics/correlation_nb101.json")
    parser.add_argument("--timings", type=Path, required=True, help="metrics/timings_nb101.json: seconds per cell")
    parser.add_argument("--out", type=Path, required=True, help="the report to write (Markdown)")
    parser.add_argument("--summary", type=Path, required=True,
                        help="metrics/summary_nb101.json: the headline figures to write")
    args = parser.parse_args()

    def body(params, run):
        run.log_artifact(write_nb101_report(params, args.metrics, args.timings, args.out, args.summary))
        run.headline = f"{args.out}, {args.summary}"

    run_stage("report_nb101", ["score", "nb101"], body)


if __name__ == "__main__":
    main()
