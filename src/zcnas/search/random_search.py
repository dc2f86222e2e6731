"""Random search (without replacement), optionally warmed up by the proxy's ranking."""

from .benchmark import Benchmark
from .history import TrainingHistory
from .moves import Randomness, warmup_order
from .proxy import ProxyRanking
from .variants import RandomSearch


def random_search(config: RandomSearch, benchmark: Benchmark, proxy: ProxyRanking | None,
                  history: TrainingHistory, rng: Randomness) -> None:
    for position in warmup_order(benchmark, config.warmup, proxy, rng)[: history.budget]:
        history.train(position)
