"""Benchmark: the paper's six proxies in zcnas against the paper's public code, whole process timed.

    python bench/versus_reference.py --reference ~/src/zero-cost-nas             # 20 cells, 3 pairs
    python bench/versus_reference.py --reference DIR --cells 40 --repeats 5 --json bench-reference.json

DIR is a checkout of github.com/SamsungLabs/zero-cost-nas (measured at a43bfbc); it is
imported from there at run time, none of its code is in this repository. Each side scores
the same seeded NB201 cells, each cell on one random batch of 64 CIFAR-10-shaped images,
in a fresh Python process with one torch thread:
- zcnas: `zcnas.scoring.score_one` with the six in one shared-pass run per cell (a seeded
  network built per cell, as the scoring job does);
- reference: `foresight.pruners.predictive.find_measures` with the six on its own NB201
  model (`get_model_from_arch_str`), one network per cell.
The processes run in turn, zcnas then reference, `--repeats` times, so a drift in the
machine's speed reaches both. Reported: each side's median wall seconds, and `speedup`,
the median over pairs of reference seconds / zcnas seconds.
"""

import argparse
import json
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from zcnas.proxies import PAPER_PROXIES

BATCH_SIZE = 64


def cells(count: int) -> list[str]:
    from zcnas.spaces.nb201 import NB201

    rng = random.Random(0)
    return [NB201.format(NB201.sample(rng)) for _ in range(count)]


def batch():
    import torch

    generator = torch.Generator().manual_seed(0)
    return (torch.randn(BATCH_SIZE, 3, 32, 32, generator=generator),
            torch.randint(0, 10, (BATCH_SIZE,), generator=generator))


def score_with_zcnas(archs: list[str]) -> None:
    from zcnas.data import Minibatches
    from zcnas.scoring import ScoringJob, score_one
    from zcnas.spaces.nb201 import NB201

    inputs, targets = batch()
    job = ScoringJob(NB201, tuple(PAPER_PROXIES), Minibatches.shared(inputs, targets), num_classes=10, seed=42,
                     device="cpu")
    for arch in archs:
        score_one(job, NB201.parse(arch))


def score_with_reference(archs: list[str], reference: Path) -> None:
    import torch

    sys.path.insert(0, str(reference))
    from foresight.models.nasbench2 import get_model_from_arch_str
    from foresight.pruners.predictive import find_measures

    inputs, targets = batch()
    for arch in archs:
        find_measures(get_model_from_arch_str(arch, 10), [(inputs, targets)], ("random", 1, 10),
                      torch.device("cpu"), measure_names=list(PAPER_PROXIES))


def timed_process(side: str, args) -> float:
    command = [sys.executable, __file__, "--side", side, "--cells", str(args.cells),
               "--reference", str(args.reference)]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", type=Path, required=True,
                        help="a checkout of github.com/SamsungLabs/zero-cost-nas")
    parser.add_argument("--cells", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--side", choices=["zcnas", "reference"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not (args.reference / "foresight" / "pruners" / "predictive.py").is_file():
        parser.error(f"--reference {args.reference} is not a checkout of SamsungLabs/zero-cost-nas "
                     "(no foresight/pruners/predictive.py under it)")
    if args.side:
        import torch

        torch.set_num_threads(1)
        if args.side == "zcnas":
            score_with_zcnas(cells(args.cells))
        else:
            score_with_reference(cells(args.cells), args.reference)
        return

    pairs = []
    for repeat in range(args.repeats):
        ours, theirs = timed_process("zcnas", args), timed_process("reference", args)
        pairs.append((ours, theirs))
        print(f"repeat {repeat + 1}: zcnas {ours:.1f} s, reference {theirs:.1f} s, {theirs / ours:.2f}x", flush=True)
    results = {
        "machine": f"{platform.processor() or platform.machine()}, one torch thread per process",
        "cells": args.cells, "batch_size": BATCH_SIZE, "repeats": args.repeats,
        "zcnas_seconds": statistics.median(ours for ours, _ in pairs),
        "reference_seconds": statistics.median(theirs for _, theirs in pairs),
        "speedup": statistics.median(theirs / ours for ours, theirs in pairs),
    }
    print(f"median: zcnas {results['zcnas_seconds']:.1f} s, reference {results['reference_seconds']:.1f} s "
          f"for {args.cells} cells; speedup {results['speedup']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
