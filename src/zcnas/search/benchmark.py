"""A benchmark to search against: "training" a cell is looking its accuracies up.

The cells of the ground-truth table are the searchable space: a cell the table lacks
cannot be trained, so searches only ever propose cells it knows (on NB101, where the
table is a sample, that is a small subset of the space). Cells are identified by the
space's `key` (NB101: the isomorphism-invariant hash), so a mutation that yields an
isomorphic copy of a known cell still finds its row.
"""

from functools import cached_property
from typing import Hashable

import numpy as np
import pandas as pd

from ..errors import ZcnasError
from ..spaces import SearchSpace
from .encodings import GraphTensors, decision_codes, graph_tensors


class Benchmark:
    """Validation and test accuracies (%) of every known cell, by position 0..size-1."""

    def __init__(self, space: SearchSpace, table: pd.DataFrame, val_column: str = "val_acc",
                 test_column: str = "test_acc"):
        missing = [column for column in ("arch", val_column, test_column) if column not in table.columns]
        if missing:
            raise ZcnasError(
                f"benchmark table lacks column(s) {missing}; expected 'arch', {val_column!r} and {test_column!r}, "
                f"found: {', '.join(map(str, table.columns))}"
            )
        if table.empty:
            raise ZcnasError("benchmark table has no rows; expected at least one cell with its accuracies")
        self.space = space
        self.archs: list[Hashable] = [space.parse(text) for text in table["arch"]]
        self.names: list[str] = [space.format(arch) for arch in self.archs]
        self.val = table[val_column].to_numpy(dtype=float)
        self.test = table[test_column].to_numpy(dtype=float)
        for column, values in ((val_column, self.val), (test_column, self.test)):
            if not np.isfinite(values).all():
                bad = int(np.flatnonzero(~np.isfinite(values))[0])
                raise ZcnasError(
                    f"benchmark column {column!r} is {values[bad]} for {self.names[bad]}; expected a number")
        self._positions: dict[str, int] = {}
        for position, arch in enumerate(self.archs):
            key = space.key(arch)
            if key in self._positions:
                first = self.names[self._positions[key]]
                raise ZcnasError(
                    f"benchmark table lists the same cell twice: {self.names[position]} and {first} "
                    f"(key {key}); expected one row per cell"
                )
            self._positions[key] = position

    @property
    def size(self) -> int:
        return len(self.archs)

    @property
    def optimum(self) -> float:
        """The best test accuracy of any known cell."""
        return float(self.test.max())

    def position(self, arch: Hashable) -> int | None:
        """The row of a cell (an arch value, not a string), or None if the benchmark lacks it."""
        return self._positions.get(self.space.key(arch))

    def lookup(self, text: str) -> tuple[float, float]:
        """(validation, test) accuracy of a cell given by its table string."""
        position = self.position(self.space.parse(text))
        if position is None:
            raise ZcnasError(f"cell {text!r} is not in the benchmark ({self.size} cells of {self.space.name})")
        return float(self.val[position]), float(self.test[position])

    @cached_property
    def covers_space(self) -> bool:
        """Whether the table knows every cell of its space (only a space that lists its cells can tell)."""
        return hasattr(self.space, "all") and self.size == len(self.space.all())

    @cached_property
    def decisions(self) -> tuple[np.ndarray, tuple[int, ...]]:
        """Each cell as one choice per decision (for policies), and the choices per decision."""
        return decision_codes(self.space, self.archs)

    @cached_property
    def graphs(self) -> GraphTensors:
        """Each cell as a graph (for graph networks)."""
        return graph_tensors(self.space, self.archs)
