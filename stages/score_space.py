"""DVC stage `score_space`: the cheap proxies that search and the whole-space protocols use,
over the whole search space, once per weight seed (`score_space.seeds`)."""

import argparse
from pathlib import Path

from zcnas.pipeline.score import MinibatchSettings, score_stage
from zcnas.pipeline.stage import run_stage
from zcnas.proxies import resolve_proxies


def space_minibatch(params) -> MinibatchSettings | None:
    """score_space's minibatch settings, or None when every proxy is data-free (those read only
    the input's shape, so the batch settings cannot change a score)."""
    if not any(proxy.uses_data for proxy in resolve_proxies(params.score_space.proxies)):
        return None
    return MinibatchSettings(params.score_space.batch_size, params.score_space.dataload, params.score_space.minibatch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ground-truth", type=Path, required=True, help="directory of ground-truth tables")
    parser.add_argument("--data-dir", type=Path, required=True, help="where datasets are looked for")
    parser.add_argument("--out", type=Path, required=True,
                        help="directory for one score table per dataset and weight seed")
    parser.add_argument("--journals", type=Path, required=True, help="where unfinished work is journalled")
    parser.add_argument("--timings", type=Path, required=True,
                        help="directory for the seconds of each table (a measurement, kept apart from the scores)")
    args = parser.parse_args()
    run_stage("score_space", ["score_space"], lambda params, run: score_stage(
        params, args.ground_truth, args.data_dir, args.out, run, space=params.score.space,
        proxies=params.score_space.proxies, sample=params.score_space.sample,
        datasets=params.score_space.datasets, purpose="score_space",
        minibatch=space_minibatch(params),
        journal_dir=args.journals, timings_dir=args.timings,
        replicates=params.score_space.seeds))


if __name__ == "__main__":
    main()
