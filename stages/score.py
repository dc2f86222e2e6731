"""DVC stage `score`: the paper's zero-cost proxies on a seeded sample of the benchmark."""

import argparse
from pathlib import Path

from zcnas.pipeline.score import MinibatchSettings, score_stage
from zcnas.pipeline.stage import run_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ground-truth", type=Path, required=True, help="directory of ground-truth tables")
    parser.add_argument("--data-dir", type=Path, required=True, help="where datasets are looked for")
    parser.add_argument("--out", type=Path, required=True, help="directory for one score table per dataset")
    parser.add_argument("--journals", type=Path, required=True, help="where unfinished work is journalled")
    parser.add_argument("--timings", type=Path, required=True,
                        help="directory for the seconds of each table (a measurement, kept apart from the scores)")
    args = parser.parse_args()
    run_stage("score", ["score"], lambda params, run: score_stage(
        params, args.ground_truth, args.data_dir, args.out, run, space=params.score.space,
        proxies=params.score.proxies, sample=params.score.sample, datasets=params.score.datasets, purpose="score",
        minibatch=MinibatchSettings(params.score.batch_size, params.score.dataload, params.score.minibatch),
        journal_dir=args.journals, timings_dir=args.timings))


if __name__ == "__main__":
    main()
