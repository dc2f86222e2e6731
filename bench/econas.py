"""Benchmark: reduced-training throughput, zcnas's training loop against a plain PyTorch loop.

    python bench/econas.py                          # r8c4, batch 2048, 6 seeded NB201 cells, 3 repeats
    python bench/econas.py --resolution 16 --channels 8 --json bench-econas.json

Both loops train the same seeded networks on the same images, one process with one torch
thread (so images per second are per core), and are timed in turn within each repeat:
- plain: the textbook loop over the network as PyTorch's stock modules build it
  (`nn.AvgPool2d` for NB201's 3x3 average pooling): crop-and-flip, forward, cross-entropy,
  backward, SGD step;
- zcnas: `zcnas.econas.training.train_network`, the loop the econas stage runs (channels-last
  memory, NB201's pooling summed by a depthwise convolution there, and on the CPU the
  batch's images interleaved four to a row with the wide BatchNorm: `zcnas.econas.interleaved`).
Throughput per cell is images / training seconds; a repeat's figure is the harmonic mean
over the cells (total images over total seconds, as a sample of cells trains), and
`speedup` is zcnas over plain within a repeat. Reported: the median over repeats.
Input data are random tensors: timings do not depend on pixel values.
"""

import argparse
import json
import platform
import random
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from zcnas.econas import make_config, train_network
from zcnas.econas.augment import crop_padding, random_crop_flip
from zcnas.econas.data import TrainingData
from zcnas.econas.training import batch_generator, build_network
from zcnas.spaces.nb201 import NB201
from zcnas.spaces.nb201.pooling import AvgPool3x3


def with_stock_pooling(net: nn.Module) -> nn.Module:
    """The network with PyTorch's own 3x3 average pooling, as a plain build would have it."""
    for module in net.modules():
        for name, child in module.named_children():
            if isinstance(child, AvgPool3x3):
                setattr(module, name, nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False))
    return net


def plain_loop(net: nn.Module, config, data: TrainingData, generator: torch.Generator) -> float:
    """Seconds to train one epoch the textbook way."""
    optimizer = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay, nesterov=True)
    padding = crop_padding(data.resolution)
    net.train()
    start = time.perf_counter()
    for batch in torch.randperm(len(data.train_labels), generator=generator).split(config.batch_size):
        inputs = random_crop_flip(data.train_images[batch], padding, data.fill, generator)
        loss = F.cross_entropy(net(inputs), data.train_labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def zcnas_loop(net: nn.Module, config, data: TrainingData, generator: torch.Generator) -> float:
    (record,) = train_network(net, config, data, generator)
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
    loops = {"plain": (plain_loop, with_stock_pooling), "zcnas": (zcnas_loop, lambda net: net)}
    repeats = []
    for _ in range(args.repeats):
        seconds = {name: 0.0 for name in loops}
        for cell in cells:
            for name, (loop, prepare) in loops.items():
                net = prepare(build_network(config, cell, 10, seed=0))
                seconds[name] += loop(net, config, data, batch_generator(config, 0))
        rates = {name: count * len(cells) / total for name, total in seconds.items()}
        repeats.append({**{f"{name}_images_per_second": rate for name, rate in rates.items()},
                        "speedup": rates["zcnas"] / rates["plain"]})
        print("  ".join(f"{key} {value:,.2f}" for key, value in repeats[-1].items()), flush=True)
    results = {
        "machine": f"{platform.processor() or platform.machine()}, 1 torch thread, torch {torch.__version__}",
        "config": {"r": args.resolution, "c": args.channels, "batch_size": args.batch_size},
        "cells": args.cells, "images_per_cell": count, "repeats": repeats,
        **{key: statistics.median(repeat[key] for repeat in repeats) for key in repeats[0]},
    }
    print(f"median over {args.repeats} repeats: plain {results['plain_images_per_second']:,.0f} images/s, "
          f"zcnas {results['zcnas_images_per_second']:,.0f} images/s per core, "
          f"speedup {results['speedup']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
