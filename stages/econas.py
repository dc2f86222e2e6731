"""DVC stage `econas`: reduced training (EcoNAS-style) of a seeded subset of the scored architectures."""

import argparse
from pathlib import Path

from zcnas.pipeline.econas import econas_stage
from zcnas.pipeline.stage import run_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ground-truth", type=Path, required=True, help="directory of ground-truth tables")
    parser.add_argument("--data-dir", type=Path, required=True, help="where datasets are looked for")
    parser.add_argument("--out", type=Path, required=True, help="the per-epoch training table to write")
    parser.add_argument("--timings", type=Path, required=True, help="the per-epoch training seconds to write")
    args = parser.parse_args()
    run_stage("econas", ["score", "econas"], lambda params, run: econas_stage(
        params, args.ground_truth, args.data_dir, args.out, run, args.timings))


if __name__ == "__main__":
    main()
