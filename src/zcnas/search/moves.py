"""Proposals shared by the searches: warm-up order, proxy picks and mutations among known, untrained cells."""

import random
from dataclasses import dataclass

import numpy as np

from .benchmark import Benchmark
from .history import TrainingHistory
from .proxy import ProxyRanking


@dataclass(frozen=True)
class Randomness:
    """A run's random streams: Python's for the spaces' own sampling and mutation, numpy's for the rest."""

    py: random.Random
    np: np.random.Generator

    @classmethod
    def from_seed(cls, seed: int) -> "Randomness":
        return cls(random.Random(seed), np.random.default_rng(seed))


def warmup_order(benchmark: Benchmark, warmup: int, proxy: ProxyRanking | None, rng: Randomness) -> np.ndarray:
    """Every cell once: `warmup` random cells best proxy first, then the others in random order."""
    order = rng.np.permutation(benchmark.size)
    if not warmup:
        return order
    # A stable sort of a random order breaks proxy ties at random.
    ranked = order[:warmup][np.argsort(-proxy.order_key[order[:warmup]], kind="stable")]
    return np.concatenate([ranked, order[warmup:]])


def best_by_proxy(candidates: np.ndarray, proxy: ProxyRanking, rng: Randomness) -> int:
    """The candidate the proxy ranks highest, ties broken at random."""
    shuffled = rng.np.permutation(candidates)
    return int(shuffled[np.argmax(proxy.order_key[shuffled])])


def mutate_untrained(benchmark: Benchmark, history: TrainingHistory, parent: int, tries: int, rng: Randomness) -> int:
    """An untrained mutation of the parent.

    On a table covering the whole space this is the space's own mutation, redrawn while
    it lands on a trained cell. On a partial table (an NB101 sample knows 500 of 423k
    cells) a mutation would almost never land on a known cell, so it is a random one of
    the known untrained cells nearest the parent, which is also the fallback when
    `tries` draws all hit trained cells.
    """
    if benchmark.covers_space:
        for _ in range(tries):
            child = benchmark.position(benchmark.space.mutate(benchmark.archs[parent], rng.py))
            if not history.trained[child]:
                return child
    return int(rng.np.choice(nearest_untrained(benchmark, history, parent)))


def nearest_untrained(benchmark: Benchmark, history: TrainingHistory, parent: int) -> np.ndarray:
    """The untrained cells that differ from the parent in the fewest decisions.

    On the full NB201 table these are its untrained single-edge mutations (6 edges x 4
    other ops, while any is left untrained).
    """
    codes, _ = benchmark.decisions
    candidates = history.untrained()
    differences = (codes[candidates] != codes[parent]).sum(axis=1)
    return candidates[differences == differences.min()]
