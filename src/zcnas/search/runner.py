"""Running searches: one seeded run, or many runs of many variants, optionally in parallel.

Run r of a variant is seeded with derive_seed(seed, algorithm, variant name, r), reads
proxy replicate r mod (number of replicates), and torch runs single-threaded inside it,
so a curve is the same whatever the order, the process or the worker that computed it.
"""

from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..errors import ZcnasError, check_positive_integer, choice_error
from ..execution import LOCAL, ExecutorSettings, execute, torch_threads
from ..seeding import derive_seed, seeded
from .benchmark import Benchmark
from .evolution import aging_evolution
from .history import SELECT_BY, TrainingHistory
from .moves import Randomness
from .predictor import binary_predictor
from .proxy import ProxyRanking, proxy_ranking, replicate_of
from .random_search import random_search
from .reinforce import reinforce
from .variants import ALGORITHMS, SearchConfig, parse_variant, uses_proxy, variant_name

SEARCHES: dict[str, Callable] = {"rs": random_search, "ae": aging_evolution, "rl": reinforce, "bp": binary_predictor}
ProxyScores = ProxyRanking | pd.DataFrame | pd.Series | Mapping[str, float] | None
# Several replicates of the scores (e.g. one per weight seed of the proxy's networks).
ProxyReplicates = list[ProxyScores] | tuple[ProxyScores, ...]


def run_search(variant: str | SearchConfig, benchmark: Benchmark, proxy_scores: ProxyScores, budget: int, seed: int,
               run_index: int = 0, proxy: str = "synflow", select_by: str = "val") -> np.ndarray:
    """One run's curve: test accuracy of the best cell so far after each of `budget` trained cells.

    `select_by="val"` picks the best by validation accuracy (what a search can see);
    "test" by test accuracy (the paper's plotting choice). Raw scores are aligned to the
    benchmark on every call; pass a `ProxyRanking` to align them once for many runs.
    """
    config = parse_variant(variant) if isinstance(variant, str) else variant
    ranking = _ranking(benchmark, proxy_scores, proxy) if uses_proxy(config) else None
    check_search(config, benchmark, budget, ranking, select_by)
    _require_count("run_index", run_index, 0)
    return search_history(config, benchmark, ranking, budget, seed, run_index).curve(select_by)


def run_variants(variants: Sequence[str | SearchConfig], benchmark: Benchmark,
                 proxy_scores: ProxyScores | ProxyReplicates, budget: int | Mapping[str, int], runs: int, seed: int,
                 proxy: str = "synflow", select_by: str = "val", workers: int = 1,
                 progress: bool = False, executor: ExecutorSettings = LOCAL) -> dict[str, np.ndarray]:
    """Curves of `runs` runs of each variant: {variant name: array [runs, budget]}.

    `proxy_scores` is one set of scores, or a list of replicates (e.g. the proxy under
    several weight seeds), of which run r of every variant reads `replicate_of(r, len)`.
    `budget` is one number or one per algorithm (e.g. {"rs": 300, "bp": 100}). All
    settings are checked before any run starts. The runs go to `workers` processes (or
    Ray actors, with a `ray` executor); the curves do not depend on either.
    """
    configs = [parse_variant(variant) if isinstance(variant, str) else variant for variant in variants]
    names = [variant_name(config) for config in configs]
    if len(set(names)) < len(names):
        raise ZcnasError(f"variants must be distinct, got {names}")
    _require_count("runs", runs, 1)
    check_positive_integer("workers", workers)
    rankings = proxy_replicates(benchmark, proxy_scores, proxy) if any(map(uses_proxy, configs)) else None
    budgets = [_budget_of(budget, config.algorithm) for config in configs]
    for config, config_budget in zip(configs, budgets):
        check_search(config, benchmark, config_budget, rankings[0] if rankings else None, select_by)
    tasks = [(config, config_budget, run_index)
             for config, config_budget in zip(configs, budgets) for run_index in range(runs)]
    curves: list[np.ndarray | None] = [None] * len(tasks)
    with tqdm(total=len(tasks), desc="search runs", unit="run", disable=not progress) as bar:
        for index, curve in execute(_run_task, tasks, (benchmark, rankings, seed, select_by), workers=workers,
                                    executor=executor):
            curves[index] = curve
            bar.update()
    return {name: np.stack(curves[i * runs:(i + 1) * runs]) for i, name in enumerate(names)}


def proxy_replicates(benchmark: Benchmark, proxy_scores: ProxyScores | ProxyReplicates,
                     proxy: str = "synflow") -> list[ProxyRanking] | None:
    """The replicates aligned to the benchmark (one for a single set of scores); None for no scores."""
    if proxy_scores is None:
        return None
    if not isinstance(proxy_scores, (list, tuple)):
        return [_ranking(benchmark, proxy_scores, proxy)]
    if not proxy_scores:
        raise ZcnasError("proxy replicates: got an empty list; give at least one set of scores")
    missing = [index for index, scores in enumerate(proxy_scores) if scores is None]
    if missing:
        raise ZcnasError(f"proxy replicate(s) {missing} are None; every replicate needs scores")
    return [_ranking(benchmark, scores, proxy) for scores in proxy_scores]


def search_history(config: SearchConfig, benchmark: Benchmark, ranking: ProxyRanking | None, budget: int, seed: int,
                   run_index: int = 0) -> TrainingHistory:
    """The cells one run trains, in order (unchecked settings: see `check_search`)."""
    run_seed = derive_seed(seed, config.algorithm, variant_name(config), run_index)
    history = TrainingHistory(benchmark, budget)
    # Tiny models gain nothing from threads, and a fixed thread count keeps float sums reproducible.
    with seeded(run_seed), torch_threads(1):
        SEARCHES[config.algorithm](config, benchmark, ranking, history, Randomness.from_seed(run_seed))
    return history


def check_search(config: SearchConfig, benchmark: Benchmark, budget: int, proxy: ProxyRanking | None,
                 select_by: str = "val") -> None:
    """ZcnasError for settings that cannot run against this benchmark."""
    name = variant_name(config)
    _require_count("budget", budget, 1)
    if budget > benchmark.size:
        raise ZcnasError(f"budget {budget} of {name} exceeds the {benchmark.size} cells the benchmark knows "
                         "(each cell is trained at most once)")
    if config.warmup > benchmark.size:
        raise ZcnasError(f"warm-up size {config.warmup} of {name} exceeds the {benchmark.size} cells the "
                         f"benchmark knows; expected 1 to {benchmark.size}")
    population = getattr(config, "population", None)
    if population is not None and population > budget:
        raise ZcnasError(f"population {population} of {name} exceeds its budget {budget}; "
                         "expected tournament <= population <= budget")
    if uses_proxy(config) and proxy is None:
        raise ZcnasError(f"variant {name} uses a zero-cost proxy but no proxy scores were given")
    if select_by not in SELECT_BY:
        raise choice_error("selection criterion", select_by, SELECT_BY)


def _require_count(what: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ZcnasError(f"{what} must be an integer >= {minimum}, got {value!r}")


def _ranking(benchmark: Benchmark, scores: ProxyScores, proxy: str) -> ProxyRanking | None:
    if scores is None or isinstance(scores, ProxyRanking):
        return scores
    return proxy_ranking(benchmark, scores, proxy)


def _budget_of(budget: int | Mapping[str, int], algorithm: str) -> int:
    if not isinstance(budget, Mapping):
        return budget
    if algorithm not in budget:
        raise ZcnasError(f"no budget for algorithm {algorithm!r}; budgets given for: {', '.join(budget)} "
                         f"(algorithms: {', '.join(ALGORITHMS)})")
    return budget[algorithm]


def _run_task(context: tuple, task: tuple) -> np.ndarray:
    benchmark, rankings, seed, select_by = context
    config, budget, run_index = task
    ranking = rankings[replicate_of(run_index, len(rankings))] if rankings else None
    return search_history(config, benchmark, ranking, budget, seed, run_index).curve(select_by)
