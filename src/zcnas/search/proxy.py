"""Zero-cost proxy scores aligned to a benchmark's cells; free to consult during search.

The proxy is a proxy name or an ensemble spec such as `ensemble:synflow+snip`
(`zcnas.evaluation.combined`), computed over all rows of a scores table. Higher is
better (a registered proxy that is lower-is-better is negated); a NaN score (the
proxy failed, or the scores table lacks the cell) ranks below every number.
"""

import warnings
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from ..errors import ZcnasError
from ..evaluation.combined import higher_is_better, parse_spec, spec_score
from .benchmark import Benchmark

# Columns of a scoring table that are not proxies (see zcnas.scoring.score_one).
_NOT_PROXIES = ("arch", "seconds_build", "seconds_total")


class ProxyRanking:
    """One proxy's score for every benchmark cell, by position."""

    def __init__(self, name: str, scores: np.ndarray):
        self.name = name
        self.scores = np.asarray(scores, dtype=float)
        # -inf sorts NaN below every real score while keeping argmax/argsort usable.
        self.order_key = np.where(np.isnan(self.scores), -np.inf, self.scores)

    def rank_normalised(self) -> np.ndarray:
        """Each cell's rank among the scored cells, scaled to (0, 1]; NaN scores get 0."""
        ranks = np.zeros_like(self.scores)
        scored = ~np.isnan(self.scores)
        if scored.any():
            ranks[scored] = rankdata(self.scores[scored]) / scored.sum()
        return ranks

    def order(self) -> np.ndarray:
        """Each cell's rank, ties sharing the lowest (NaN scores tie below every number).

        The searches read a ranking only through comparisons of its cells, so two rankings
        with equal `order()` steer a seeded run identically, whatever their score values.
        """
        return rankdata(self.order_key, method="min").astype(np.int64)


def replicate_of(run_index: int | np.ndarray, replicates: int) -> int | np.ndarray:
    """The proxy replicate run `run_index` reads: runs cycle through the replicates, so the
    first `replicates` runs see every one and each gets an equal share, give or take one."""
    return run_index % replicates


def count_distinct_rankings(rankings: Sequence[ProxyRanking]) -> int:
    """How many different orderings of the cells `rankings` hold (replicates may coincide)."""
    return len({ranking.order().tobytes() for ranking in rankings})


def proxy_ranking(benchmark: Benchmark, scores: pd.DataFrame | pd.Series | Mapping[str, float],
                  proxy: str = "synflow", warn_missing: bool = True) -> ProxyRanking:
    """Align scores to the benchmark: a table with `arch` and a column per proxy `proxy` names
    (a proxy or an ensemble spec), or arch string -> score of `proxy`. `warn_missing`: warn
    when some benchmark cells have no score (off for the further tables of one sample)."""
    if isinstance(scores, pd.DataFrame):
        available = [column for column in scores.columns
                     if column not in _NOT_PROXIES and not str(column).startswith("seconds_")]
        if "arch" not in scores.columns:
            raise ZcnasError(
                f"proxy scores table lacks the 'arch' column; found: {', '.join(map(str, scores.columns))}")
        for name in parse_spec(proxy)[1]:
            if name not in available:
                raise ZcnasError(f"proxy {name!r} is not in the scores table; available: "
                                 f"{', '.join(map(str, available))}")
        scores = pd.Series(spec_score(scores, proxy).to_numpy(dtype=float), index=scores["arch"])
    elif not higher_is_better(proxy):
        scores = {text: -value for text, value in dict(scores).items()}
    by_position = np.full(benchmark.size, np.nan)
    matched = 0
    for text, value in dict(scores).items():
        position = benchmark.position(benchmark.space.parse(text))
        if position is not None:
            by_position[position] = value
            matched += 1
    if matched == 0:
        raise ZcnasError(
            f"none of the {len(scores)} scored cells of proxy {proxy!r} is in the benchmark "
            f"({benchmark.size} {benchmark.space.name} cells); are they scores for another space?"
        )
    if matched < benchmark.size and warn_missing:
        warnings.warn(f"proxy {proxy!r} has no score for {benchmark.size - matched} of {benchmark.size} benchmark "
                      "cells; they rank last", RuntimeWarning)
    return ProxyRanking(proxy, by_position)
