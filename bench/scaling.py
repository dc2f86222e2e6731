"""Benchmark: the execution layer on this machine, local worker processes against Ray clusters.

    python bench/scaling.py --json bench-scaling.json     # 200 cells, the paper's six proxies
    python bench/scaling.py --cells 40 --scaling-cells 20 --repeats 1
    python bench/scaling.py --parts nodes --scaling-cells 200 --repeats 1

Seconds of wall time for whole jobs, as a user waits for them (starting workers and
connecting to the cluster included), medians over --repeats:
(a) `local`: scoring --cells NB201 cells with --proxies on every core as local worker
    processes (one torch thread each);
(b) `ray_one_node`: the same on a one-node Ray cluster with as many CPUs;
    `ray_over_local` = (b) / (a), the issue's goal: at most 1.15;
(c) --scaling-cells cells on a one-node cluster of 1 CPU and on a two-node cluster of
    1 CPU per node; `two_nodes_speedup` = one node / two nodes, the goal: at least 1.8;
(d) overhead, from a job whose items do nothing: for each count in --overhead-items,
    seconds to the first result (start-up) and seconds per item after it, local and Ray.
Clusters are Ray's multi-node test helper with every process on 127.0.0.1, started and
stopped here. Input data are random normal tensors: timings do not depend on values.
"""

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

# Ray reads these when imported: every node and the driver on 127.0.0.1, no usage reports.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import torch  # noqa: E402

from zcnas.data import Minibatches  # noqa: E402
from zcnas.execution import ExecutorSettings, default_workers, execute  # noqa: E402
from zcnas.proxies import resolve_proxies  # noqa: E402
from zcnas.scoring import ScoringJob, score_architectures  # noqa: E402
from zcnas.spaces.nb201 import NB201  # noqa: E402


@contextmanager
def ray_cluster(nodes: int, cpus_per_node: int):
    """A local Ray cluster of `nodes` nodes; yields its address."""
    from ray.cluster_utils import Cluster

    cluster = Cluster()
    try:
        for _ in range(nodes):
            cluster.add_node(num_cpus=cpus_per_node, object_store_memory=200_000_000, include_dashboard=False)
        cluster.wait_for_nodes()
        yield cluster.address
    finally:
        cluster.shutdown()


def scoring_seconds(job: ScoringJob, cells, workers: int = 1, executor: ExecutorSettings | None = None) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        score_architectures(job, cells, Path(tmp) / "scores.parquet", workers=workers, progress=False,
                            **({} if executor is None else {"executor": executor}))
        return time.perf_counter() - start


def nothing(state, item) -> int:
    return item


def overhead(items: int, workers: int = 1, executor: ExecutorSettings | None = None) -> dict:
    """Seconds to the first result and per item after it, for `items` items that do nothing."""
    start = time.perf_counter()
    first = None
    for _ in execute(nothing, range(items), workers=workers, **({} if executor is None else {"executor": executor})):
        first = first or time.perf_counter() - start
    total = time.perf_counter() - start
    return {"startup_s": first, "per_item_ms": 1000 * (total - first) / max(1, items - 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--scaling-cells", type=int, default=40, help="cells for the one- vs two-node comparison")
    parser.add_argument("--proxies", default="paper", help="proxy names or groups, comma-separated")
    parser.add_argument("--overhead-items", default="1000,10000,50000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--parts", default="backends,nodes,overhead",
                        help="what to measure: backends (a, b), nodes (c), overhead (d)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()

    proxies = tuple(proxy.name for proxy in resolve_proxies(args.proxies.split(",")))
    generator = torch.Generator().manual_seed(0)
    batch = Minibatches.shared(torch.randn(64, 3, 32, 32, generator=generator),
                               torch.randint(0, 10, (64,), generator=generator))
    job = ScoringJob(NB201, proxies, batch, num_classes=10, seed=0, device="cpu")
    rng = random.Random(0)
    cells = list(dict.fromkeys(NB201.sample(rng) for _ in range(2 * args.cells)))[:args.cells]
    cores = default_workers("cpu")
    parts = set(args.parts.split(","))
    if unknown := parts - {"backends", "nodes", "overhead"}:
        parser.error(f"--parts: unknown {sorted(unknown)}; expected backends, nodes, overhead")
    if args.scaling_cells > args.cells:
        parser.error(f"--scaling-cells {args.scaling_cells} exceeds --cells {args.cells}")
    runs: dict[str, list[float]] = {name: [] for name in (
        *(("local", "ray_one_node") if "backends" in parts else ()),
        *(("one_node_one_cpu", "two_nodes_one_cpu") if "nodes" in parts else ()))}
    for repeat in range(args.repeats if runs else 0):
        if "backends" in parts:
            runs["local"].append(scoring_seconds(job, cells, workers=cores))
            with ray_cluster(1, cores) as address:
                runs["ray_one_node"].append(scoring_seconds(job, cells, executor=ExecutorSettings("ray", address)))
        for name, nodes in (("one_node_one_cpu", 1), ("two_nodes_one_cpu", 2)) if "nodes" in parts else ():
            with ray_cluster(nodes, 1) as address:
                runs[name].append(scoring_seconds(job, cells[:args.scaling_cells],
                                                  executor=ExecutorSettings("ray", address)))
        print(f"repeat {repeat + 1}: " + ", ".join(f"{name} {values[-1]:.1f} s" for name, values in runs.items()),
              flush=True)
    seconds = {name: statistics.median(values) for name, values in runs.items()}

    costs = {}
    for items in map(int, args.overhead_items.split(",")) if "overhead" in parts else ():
        costs[f"local_{items}"] = overhead(items, workers=cores)
        with ray_cluster(2, 1) as address:
            costs[f"ray_{items}"] = overhead(items, executor=ExecutorSettings("ray", address))
        print(f"{items} empty items: local {costs[f'local_{items}']}, ray {costs[f'ray_{items}']}", flush=True)

    figures = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}",
        "cells": len(cells), "scaling_cells": args.scaling_cells, "proxies": list(proxies), "repeats": args.repeats,
        "local_workers": cores, "seconds": seconds, "runs": runs,
        "overhead": costs,
    }
    if "backends" in parts:
        figures["local_cells_per_s"] = len(cells) / seconds["local"]
        figures["ray_over_local"] = seconds["ray_one_node"] / seconds["local"]
    if "nodes" in parts:
        figures["two_nodes_speedup"] = seconds["one_node_one_cpu"] / seconds["two_nodes_one_cpu"]
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
