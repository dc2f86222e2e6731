"""Benchmark: seconds per NB201 architecture for each proxy alone and the paper's six together.

    python bench/proxies.py                      # 20 cells, batch 64, CPU, 1 and 2 threads
    python bench/proxies.py --threads 1 --cells 30 --json bench-proxies.json

Every timing includes building the network (seeded, as the scoring job does). Reported:
(a) each proxy alone, one process with 1 and with 2 torch threads;
(b) the six paper proxies: the shared-pass engine vs one proxy at a time (a fresh
    network per proxy, as scoring them separately would); and every proxy in one
    shared-pass run, against the six (`all_over_paper`, the issue's goal: at most 1.6);
(c) throughput of the scoring job with 2 worker processes x 1 thread, per cell, on enough
    cells that starting the workers (a few seconds: each imports torch) is amortised, as
    it is in the pipeline.
Medians over cells. Input data are random normal tensors: timings do not depend on values.
"""

import argparse
import json
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path

import torch

from zcnas.data import Minibatches
from zcnas.proxies import PAPER_PROXIES, proxy_names
from zcnas.scoring import ScoringJob, score_architectures, score_one
from zcnas.spaces.nb201 import NB201


def median_seconds(job: ScoringJob, cells) -> float:
    return statistics.median(score_one(job, cell)["seconds_total"] for cell in cells)


def one_at_a_time(job_for, cells) -> float:
    """Per cell: build a network and score it for each proxy separately; summed."""
    return statistics.median(
        sum(score_one(job_for((name,)), cell)["seconds_total"] for name in PAPER_PROXIES) for cell in cells
    )


def throughput(job: ScoringJob, cells, workers: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        score_architectures(job, cells, Path(tmp) / "scores.parquet", workers=workers,
                            progress=False)
        return (time.perf_counter() - start) / len(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--paper-throughput-cells", type=int, default=60,
                        help="cells for the six-proxy throughput run")
    parser.add_argument("--throughput-cells", type=int, default=2000, help="cells for the synflow throughput run")
    parser.add_argument("--threads", default="1,2",
                        help="comma-separated torch thread counts to time (a) and (b) under")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    rng = random.Random(0)
    cells = [NB201.sample(rng) for _ in range(args.cells)]
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(args.batch_size, 3, 32, 32, generator=generator)
    targets = torch.randint(0, 10, (args.batch_size,), generator=generator)

    def job_for(proxies):
        return ScoringJob(NB201, tuple(proxies), Minibatches.shared(inputs, targets), num_classes=10, seed=42, device="cpu")

    results: dict = {"machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads "
                                f"available, torch {torch.__version__}", "cells": args.cells,
                     "batch_size": args.batch_size}
    thread_counts = [int(count) for count in args.threads.split(",")]
    for threads in thread_counts:
        torch.set_num_threads(threads)
        for name in proxy_names():
            results.setdefault("alone", {}).setdefault(name, {})[threads] = median_seconds(job_for((name,)), cells)
            print(f"{name:>10} alone, {threads} thread(s): {results['alone'][name][threads]:.3f} s", flush=True)
        results.setdefault("paper_shared", {})[threads] = median_seconds(job_for(PAPER_PROXIES), cells)
        results.setdefault("paper_one_at_a_time", {})[threads] = one_at_a_time(job_for, cells)
        results.setdefault("all_shared", {})[threads] = median_seconds(job_for(proxy_names()), cells)
        results.setdefault("all_over_paper", {})[threads] = (results["all_shared"][threads]
                                                             / results["paper_shared"][threads])
        print(f"paper six, {threads} thread(s): shared {results['paper_shared'][threads]:.3f} s, "
              f"one at a time {results['paper_one_at_a_time'][threads]:.3f} s; every proxy shared "
              f"{results['all_shared'][threads]:.3f} s ({results['all_over_paper'][threads]:.2f}x the six)",
              flush=True)
    paper_cells = [NB201.sample(rng) for _ in range(args.paper_throughput_cells)]
    results["paper_shared_2_workers"] = throughput(job_for(PAPER_PROXIES), paper_cells, workers=2)
    synflow_cells = [NB201.sample(rng) for _ in range(args.throughput_cells)]
    results["synflow_2_workers"] = throughput(job_for(("synflow",)), synflow_cells, workers=2)
    print(f"2 workers x 1 thread: paper six {results['paper_shared_2_workers']:.3f} s/cell, "
          f"synflow {results['synflow_2_workers'] * 1000:.1f} ms/cell "
          f"(whole NB201 space: {results['synflow_2_workers'] * 15625 / 60:.1f} min)")

    print("\n| proxy | " + " | ".join(f"{t} thread(s) (s)" for t in thread_counts) + " |\n|---|"
          + "---|" * len(thread_counts))
    for name, by_threads in [*results["alone"].items(),
                             *((key.replace("_", " "), results[key]) for key in
                               ("paper_shared", "paper_one_at_a_time", "all_shared", "all_over_paper"))]:
        print(f"| {name} | " + " | ".join(f"{by_threads[t]:.3f}" for t in thread_counts) + " |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
