"""DVC stage `fetch`: ground-truth tables (one row per architecture and dataset) into data/."""

import argparse
from pathlib import Path

from zcnas.pipeline.fetch import fetch_stage
from zcnas.pipeline.stage import run_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--raw", type=Path, required=True, help="local copies of benchmark files (then $ZCNAS_MIRROR)")
    parser.add_argument("--out", type=Path, required=True, help="directory for one table per search space")
    args = parser.parse_args()
    run_stage("fetch", ["fetch"], lambda params, run: fetch_stage(params, args.raw, args.out, run))


if __name__ == "__main__":
    main()
