"""How well a score finds the best cells, the part of a ranking search lives on: nDCG@k
and the top-k hit rate, each with a bootstrap interval over cells."""

from typing import Sequence

from .bootstrap import ci_metrics, statistic_intervals
from .ranks import ndcg, top_hits

# The handful of cells a search trains, and a hundred.
TOP_K = (10, 100)


def top_ranking_metrics(score, accuracy, resamples: int, seed: int, *identity: object,
                        top_k: Sequence[int] = TOP_K) -> dict:
    """`ndcg_<k>_test` and `hits_<k>_test` (share of the true top k in the score's top k) of
    finite `score` against `accuracy` for each k, with `_ci_low`/`_ci_high` bounds from
    `resamples` resamples seeded by (seed, *identity); `resamples=0` leaves the bounds None."""
    statistics = {f"ndcg_{k}_test": (lambda x, y, k=k: ndcg(x, y, k)) for k in top_k}
    statistics.update({f"hits_{k}_test": (lambda x, y, k=k: top_hits(x, y, k)) for k in top_k})
    metrics = {name: statistic(score, accuracy) for name, statistic in statistics.items()}
    intervals = (statistic_intervals(statistics, score, accuracy, resamples, seed, *identity) if resamples
                 else dict.fromkeys(statistics, (None, None)))
    for name, interval in intervals.items():
        metrics.update(ci_metrics(name, interval))
    return metrics
