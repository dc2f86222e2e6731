"""What a search has trained so far, and the curve it yields.

The budget counts distinct cells trained: a search never proposes a cell it has
already trained (a repeat lookup would be free), as in the zero-cost NAS paper's
count of unique trainings.
"""

import numpy as np

from ..errors import choice_error
from .benchmark import Benchmark

SELECT_BY = ("val", "test")


class TrainingHistory:
    def __init__(self, benchmark: Benchmark, budget: int):
        self.benchmark = benchmark
        self.budget = budget
        self.trained = np.zeros(benchmark.size, dtype=bool)
        self.order: list[int] = []

    @property
    def remaining(self) -> int:
        return self.budget - len(self.order)

    def untrained(self) -> np.ndarray:
        return np.flatnonzero(~self.trained)

    def train(self, position: int) -> float:
        """Spend one unit of budget on a new cell; its validation accuracy."""
        if self.trained[position] or self.remaining <= 0:
            raise RuntimeError(f"search bug: cell {position} trained twice or beyond the budget of {self.budget}")
        self.trained[position] = True
        self.order.append(int(position))
        return float(self.benchmark.val[position])

    def curve(self, select_by: str = "val") -> np.ndarray:
        """Test accuracy after each trained cell of the best cell so far, chosen by `select_by` accuracy."""
        if select_by not in SELECT_BY:
            raise choice_error("selection criterion", select_by, SELECT_BY)
        return best_so_far(self.benchmark.val[self.order] if select_by == "val" else self.benchmark.test[self.order],
                           self.benchmark.test[self.order])


def best_so_far(selection: np.ndarray, reported: np.ndarray) -> np.ndarray:
    """`reported` of the running argmax of `selection` (an earlier cell wins a tie)."""
    curve = np.empty(len(selection))
    best = 0
    for index, value in enumerate(selection):
        if value > selection[best]:
            best = index
        curve[index] = reported[best]
    return curve
