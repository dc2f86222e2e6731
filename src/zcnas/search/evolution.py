"""Aging (regularised) evolution, Real et al. (2019), with zero-cost warm-up and move proposal.

The move proposal trains, of the parent's nearest untrained cells (on NB201 its 24
single-edge mutations), the one the proxy ranks highest.
"""

from collections import deque

import numpy as np

from .benchmark import Benchmark
from .history import TrainingHistory
from .moves import Randomness, best_by_proxy, mutate_untrained, nearest_untrained, warmup_order
from .proxy import ProxyRanking
from .variants import AgingEvolution


def aging_evolution(config: AgingEvolution, benchmark: Benchmark, proxy: ProxyRanking | None,
                    history: TrainingHistory, rng: Randomness) -> None:
    # With a warm-up the first cells are the proxy's top ones among `warmup` random cells.
    population: deque[int] = deque()
    for position in warmup_order(benchmark, config.warmup, proxy, rng)[: config.population]:
        history.train(position)
        population.append(int(position))
    while history.remaining > 0:
        contenders = [population[i] for i in rng.np.choice(len(population), config.tournament, replace=False)]
        parent = contenders[int(np.argmax(benchmark.val[contenders]))]
        child = _proposal(config, benchmark, proxy, history, parent, rng)
        history.train(child)
        population.append(child)
        population.popleft()


def _proposal(config: AgingEvolution, benchmark: Benchmark, proxy: ProxyRanking | None, history: TrainingHistory,
              parent: int, rng: Randomness) -> int:
    if config.move:
        return best_by_proxy(nearest_untrained(benchmark, history, parent), proxy, rng)
    return mutate_untrained(benchmark, history, parent, config.mutation_tries, rng)
