"""DVC stage `report`: the Markdown report, our numbers beside the paper's."""

import argparse
from pathlib import Path

from zcnas.pipeline.report import write_report
from zcnas.pipeline.stage import run_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--correlation", type=Path, required=True, help="metrics/correlation.json")
    parser.add_argument("--econas", type=Path, help="metrics/econas.json, for the reduced-training section")
    parser.add_argument("--search", type=Path, help="metrics/search.json, for the search section")
    parser.add_argument("--search-proxies", type=Path,
                        help="metrics/search_proxies.json, for the comparison of the proxies driving search")
    parser.add_argument("--space-correlation", type=Path,
                        help="metrics/space_correlation.json, for the whole-space section")
    parser.add_argument("--timings", type=Path, help="metrics/timings.json: seconds per architecture of each proxy")
    parser.add_argument("--econas-timings", type=Path, help="metrics/econas_timings.json: reduced-training seconds")
    parser.add_argument("--plots", type=Path, required=True, help="results/plots: the stages' plots, shown in the report")
    parser.add_argument("--out", type=Path, required=True, help="the report to write (Markdown)")
    parser.add_argument("--summary", type=Path, help="metrics/summary.json: the headline figures to write")
    args = parser.parse_args()

    def body(params, run):
        run.log_artifact(write_report(params, args.correlation, args.out, args.plots, search_json=args.search,
                                      econas_json=args.econas, timings_json=args.timings,
                                      econas_timings_json=args.econas_timings,
                                      space_json=args.space_correlation, search_proxies_json=args.search_proxies,
                                      summary_out=args.summary))
        run.headline = f"{args.out}" + (f", {args.summary}" if args.summary else "")

    run_stage("report", ["score", "evaluate"], body)


if __name__ == "__main__":
    main()
