"""DVC stage `fetch_nb101` (nb101/dvc.yaml): the NAS-Bench-101 task's ground-truth table."""

import argparse
from pathlib import Path

from zcnas.pipeline.fetch_nb101 import fetch_nb101_stage
from zcnas.pipeline.stage import run_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--raw", type=Path, required=True, help="local copies of benchmark files (then $ZCNAS_MIRROR)")
    parser.add_argument("--out", type=Path, required=True, help="directory for the NB101 table")
    args = parser.parse_args()
    run_stage("fetch_nb101", ["fetch"], lambda params, run: fetch_nb101_stage(params, args.raw, args.out, run))


if __name__ == "__main__":
    main()
