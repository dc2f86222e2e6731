"""NB101 ground truth from the official `nasbench_only108.tfrecord` through the `nasbench` API.

The conversion takes the API object rather than a path, so the tests can hand it a small stand-in.
"""

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ZcnasError
from ..spaces import get_space
from .packages import NASBENCH
from .schema import Origin, tidy_table, validate_ground_truth

EPOCHS = 108  # the only budget in nasbench_only108


def convert_nb101_api(nb: Any, origin: Origin = "NB101 API") -> pd.DataFrame:
    """The validated ground-truth table of every cell in a `nasbench.api.NASBench`, averaging its 3 runs.

    `index` is the cell's position in hash order: NB101 has no official index, and sorting
    makes it independent of the order the API iterates in.
    """
    space = get_space("nb101")
    rows = []
    for index, module_hash in enumerate(sorted(nb.hash_iterator())):
        fixed, computed = nb.get_metrics_from_hash(module_hash)
        try:
            runs = computed[EPOCHS]
            matrix, ops = fixed["module_adjacency"], fixed["module_operations"]
            row = {
                "index": index,
                "val_acc": 100 * np.mean([run["final_validation_accuracy"] for run in runs]),
                "test_acc": 100 * np.mean([run["final_test_accuracy"] for run in runs]),
                "params_m": fixed["trainable_parameters"] / 1e6,
                "train_seconds": np.mean([run["final_training_time"] for run in runs]),
            }
        except (KeyError, TypeError) as error:
            raise ZcnasError(
                f"{origin}: the metrics of cell {module_hash} are missing or malformed "
                f"({type(error).__name__}: {error})"
            ) from None
        try:
            row["arch"] = space.format(space.spec(matrix, ops))
        except ZcnasError as error:
            raise ZcnasError(f"{origin}: cell {module_hash}: {error}") from None
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["index", "arch", "val_acc", "test_acc", "params_m", "train_seconds"])
    frame["dataset"] = "cifar10"
    return validate_ground_truth(tidy_table(frame, "nb101"), "nb101", origin)


def read_nb101_tfrecord(path: Path | str) -> pd.DataFrame:
    """The ground truth in the official nasbench_only108.tfrecord."""
    return convert_nb101_api(NASBENCH.open(path, lambda module: module.NASBench(str(path))), origin=path)
