"""Benchmark: the score_space stage's work on this machine, in seconds per cell and weight seed.

    python bench/score_space.py                         # 400 cells, 2 seeds, 2 workers, 3 repeats
    python bench/score_space.py --cells 200 --seeds 3 --repeats 5 --json bench-score-space.json

Scores --cells seeded NB201 cells with the stage's proxies (synflow, meco, params) under
--seeds weight seeds, with --workers local worker processes of one torch thread, two ways
taking turns --repeats times:
(a) `together`: as the stage does, a cell is one work item for all its seeds
    (`zcnas.scoring.score_under_seeds`: one build, then a re-initialisation per further seed);
(b) `one_seed_at_a_time`: a job per seed (`score_architectures`), a fresh build per cell and seed.
Reported: wall seconds per cell and seed of each whole job (worker start-up included; medians),
`together_over_separate` = (a) / (b), and the stage's minutes for all 15,625 cells that (a)
projects. Both give the same scores, which the script checks. The minibatch is drawn per cell
from random uint8 images, as the stage draws CIFAR-10's: timings do not depend on the values.
"""

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from zcnas.data import Minibatches
from zcnas.scoring import ScoringJob, score_architectures, score_under_seeds
from zcnas.spaces.nb201 import NB201

PROXIES = ("synflow", "meco", "params")


def timed(score) -> tuple[float, list[pd.DataFrame]]:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        tables = score(Path(tmp))
        return time.perf_counter() - start, tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=400)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    rng = random.Random(0)
    cells = list(dict.fromkeys(NB201.sample(rng) for _ in range(args.cells)))
    generator = np.random.default_rng(0)
    images = generator.integers(0, 256, size=(2000, 32, 32, 3), dtype=np.uint8)
    labels = generator.integers(0, 10, size=2000)
    job = ScoringJob(NB201, PROXIES, Minibatches.per_arch(images, labels, "cifar10", "random", 64, 0),
                     num_classes=10, seed=0, device="cpu")
    seeds = list(range(args.seeds))

    def together(tmp: Path) -> list[pd.DataFrame]:
        return score_under_seeds(job, seeds, cells, [tmp / f"{seed}.parquet" for seed in seeds],
                                 workers=args.workers, progress=False)

    def one_seed_at_a_time(tmp: Path) -> list[pd.DataFrame]:
        return [score_architectures(replace(job, seed=seed), cells, tmp / f"{seed}.parquet", workers=args.workers,
                                    progress=False) for seed in seeds]

    seconds = {"together": [], "one_seed_at_a_time": []}
    for _ in range(args.repeats):
        for name, score in (("together", together), ("one_seed_at_a_time", one_seed_at_a_time)):
            elapsed, tables = timed(score)
            seconds[name].append(elapsed / (len(cells) * len(seeds)))
            scores = [table[list(PROXIES)] for table in tables]
            if name == "together":
                expected = scores
            elif not all(a.equals(b) for a, b in zip(expected, scores)):
                raise SystemExit("the two ways gave different scores")
    per_cell_seed = {name: statistics.median(values) for name, values in seconds.items()}
    figures = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}",
        "cells": len(cells), "seeds": args.seeds, "workers": args.workers, "repeats": args.repeats,
        "seconds_per_cell_and_seed": per_cell_seed,
        "together_over_separate": per_cell_seed["together"] / per_cell_seed["one_seed_at_a_time"],
        "projected_stage_minutes": per_cell_seed["together"] * NB201.size * args.seeds / 60,
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
