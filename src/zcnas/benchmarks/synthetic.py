"""Synthetic NB201 ground truth for smoke runs without the real benchmark.

Accuracies follow the broad shape of the real NB201: convolutions on live paths (edges
on an input-to-output route) help, 3x3 more than 1x1, a live skip helps a little, and a
cell whose output is cut off from the input by `none` edges sits at chance level. Seeded
noise spreads architectures of equal make-up. Not a model of the real numbers: never
report results on it.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from ..data import dataset_info
from ..seeding import derive_seed
from ..spaces.nb201 import NB201
from ..spaces.nb201.cell import EDGES, Cell, nodes_reaching_output
from .schema import SPACE_DATASETS, tidy_table, validate_ground_truth
from ..files import write_table
from .tidy import NB201_PREFIXES

# How much one live edge of each op adds to a cell's capacity.
OP_WEIGHTS = {"nor_conv_3x3": 1.0, "nor_conv_1x1": 0.55, "avg_pool_3x3": 0.1, "skip_connect": 0.0}
SKIP_BONUS = 0.4  # once for any live skip: the residual path that eases training
CAPACITY_SCALE = 1.5  # capacity at which a cell gets 63% of the way from floor to ceiling
DEAD_CELL_NOISE = 0.05
# Per dataset: (test accuracy of a live cell without capacity, best reachable, test - val, noise sd).
PROFILES = {
    "cifar10": (55.0, 94.0, 3.7, 0.8),
    "cifar100": (20.0, 73.3, 0.0, 1.2),
    "imagenet16-120": (10.0, 47.0, 0.0, 1.2),
}


def synthetic_nb201(seed: int) -> pd.DataFrame:
    """A validated ground-truth table of all 15,625 NB201 cells on the three datasets; `index` is NB201.all() order."""
    cells = NB201.all()
    archs = [NB201.format(cell) for cell in cells]
    live = np.array([0 in nodes_reaching_output(cell) for cell in cells])
    quality = 1 - np.exp(-np.array([_capacity(cell) for cell in cells]) / CAPACITY_SCALE)
    frames = []
    for dataset in SPACE_DATASETS["nb201"]:
        floor, ceiling, val_gap, noise = PROFILES[dataset]
        chance = 100 / dataset_info(dataset).num_classes
        # Cut-off cells output a constant, so they score chance on every split, nearly exactly.
        spread = np.where(live, noise, DEAD_CELL_NOISE)
        # A generator per dataset keeps each dataset's numbers independent of the others.
        rng = np.random.default_rng(derive_seed(seed, "synthetic-ground-truth", "nb201", dataset))
        test = np.where(live, floor + (ceiling - floor) * quality, chance) + rng.normal(0, spread)
        val = test - np.where(live, val_gap, 0.0) + rng.normal(0, spread / 2)
        frames.append(
            pd.DataFrame(
                {
                    "index": np.arange(len(cells)),
                    "arch": archs,
                    "dataset": dataset,
                    "val_acc": np.clip(val, 0, 100),
                    "test_acc": np.clip(test, 0, 100),
                }
            )
        )
    table = tidy_table(pd.concat(frames, ignore_index=True), "nb201")
    return validate_ground_truth(table, "nb201", f"synthetic NB201 ground truth (seed {seed})")


def write_synthetic_nb201(path: Path | str, seed: int) -> pd.DataFrame:
    """Write `synthetic_nb201(seed)` as an NB201 source table (the wide layout of the
    shared accuracy.csv, so the fetch stage reads it like the real one); returns the tidy table."""
    table = synthetic_nb201(seed)
    wide = table.pivot(index=["index", "arch"], columns="dataset", values=["val_acc", "test_acc"])
    source = pd.DataFrame({"index": wide.index.get_level_values("index"), "arch": wide.index.get_level_values("arch")})
    for dataset, prefix in NB201_PREFIXES.items():
        source[f"{prefix}_val"] = wide[("val_acc", dataset)].to_numpy()
        source[f"{prefix}_test"] = wide[("test_acc", dataset)].to_numpy()
    write_table(source.sort_values("index", ignore_index=True), path)
    return table


def _capacity(cell: Cell) -> float:
    """What the ops on live edges (on some input-to-output route) add up to."""
    reaching_output = nodes_reaching_output(cell)
    reached = _nodes_reached_from_input(cell)
    live = [
        op
        for (target, source), op in zip(EDGES, cell)
        if op != "none" and source in reached and target in reaching_output
    ]
    return sum(OP_WEIGHTS[op] for op in live) + SKIP_BONUS * ("skip_connect" in live)


def _nodes_reached_from_input(cell: Cell) -> set[int]:
    reached = {0}
    for (target, source), op in zip(EDGES, cell):  # EDGES lists each node's inputs before later nodes
        if op != "none" and source in reached:
            reached.add(target)
    return reached
