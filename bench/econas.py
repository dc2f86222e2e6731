"""Benchmark: reduced-training throughput with the speed kernels on and off.

    python bench/econas.py                          # r8c4, batch 2048, 6 seeded NB201 cells, 3 repeats
    python bench/econas.py --resolution 16 --channels 8 --json bench-econas.json

Both loops are `zcnas.econas.training.train_network`, the loop the econas stage runs, on
the same seeded networks and images, one process with one torch thread (so images per
second are per core), timed in turn within each repeat:
- stock: with the switch off (`ZCNAS_KERNELS=off`, `zcnas.kernels`), PyTorch's own ops in
  NCHW memory: the textbook loop (crop-and-flip, forward, cross-entropy, backward, SGD step);
- kernels: with the switch on, as the stage runs by default (channels-last memory, NB201's
  pooling summed by a depthwise convolution, and on the CPU the batch's images interleaved
  four to a row with the wide BatchNorm).
Throughput per cell is images / training seconds; a repeat's figure is the harmonic mean
over the cells (total images over total seconds, as a sample of cells trains), and
`speedup` is kernels over stock within a repeat. Reported: the median over repeats.
Input data are random tensors: timings do not depend on pixel values.
"""

import argparse
import json
import platform
import random
import statistics
from pathlib import Path

import torch
from torch import nn

from zcnas import kernels
from zcnas.econas import make_config, train_network
from zcnas.econas.data import TrainingData
from zcnas.econas.training import batch_generator, build_network
from zcnas.spaces.nb201 import NB201


def train_seconds(net: nn.Module, config, data: TrainingData, speed_kernels: bool) -> float:
    """Seconds `train_network` takes over one epoch, with the kernels on or off."""
    with kernels.switched(speed_kernels):
        (record,) = train_network(net, config, data, batch_generator(config, 0))
    return record["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", type=int, default=8)
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--steps", type=int, default=4, help="minibatches per cell and loop (one epoch)")
    parser.add_argument("--cells", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(1)

    config = make_config("bench", {"r": args.resolution, "c": args.channels, "e": 1, "batch_size": args.batch_size})
    count = args.batch_size * args.steps
    generator = torch.Generator().manual_seed(0)
    data = TrainingData(torch.randn(count, 3, args.resolution, args.resolution, generator=generator),
                        torch.randint(0, 10, (count,), generator=generator),
                        torch.randn(256, 3, args.resolution, args.resolution, generator=generator),
                        torch.randint(0, 10, (256,), generator=generator), torch.zeros(3), 10)
    rng = random.Random(0)
    cells = [NB201.sample(rng) for _ in range(args.cells)]
    loops = {"stock": False, "kernels": True}
    repeats = []
    for _ in range(args.repeats):
        seconds = {name: 0.0 for name in loops}
        for cell in cells:
            for name, speed_kernels in loops.items():
                seconds[name] += train_seconds(build_network(config, cell, 10, seed=0), config, data, speed_kernels)
        rates = {name: count * len(cells) / total for name, total in seconds.items()}
        repeats.append({**{f"{name}_images_per_second": rate for name, rate in rates.items()},
                        "speedup": rates["kernels"] / rates["stock"]})
        print("  ".join(f"{key} {value:,.2f}" for key, value in repeats[-1].items()), flush=True)
    results = {
        "machine": f"{platform.processor() or platform.machine()}, 1 torch thread, torch {torch.__version__}",
        "config": {"r": args.resolution, "c": args.channels, "batch_size": args.batch_size},
        "cells": args.cells, "images_per_cell": count, "repeats": repeats,
        **{key: statistics.median(repeat[key] for repeat in repeats) for key in repeats[0]},
    }
    print(f"median over {args.repeats} repeats: stock {results['stock_images_per_second']:,.0f} images/s, "
          f"kernels {results['kernels_images_per_second']:,.0f} images/s per core, "
          f"speedup {results['speedup']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
