"""Bootstrap percentile interval for Spearman's rho, and how metrics files carry intervals."""

from typing import Callable, Iterator, Mapping

import numpy as np

from ..errors import ZcnasError
from ..seeding import derive_seed
from .ranks import resampled_spearman

# Resampled elements per block: bounds memory when n is the whole NB201 space.
_BLOCK_ELEMENTS = 2_000_000


def ci_metrics(metric: str, interval: tuple[float | None, float | None]) -> dict:
    """An interval as two scalar metrics, `<metric>_ci_low` and `<metric>_ci_high`: MLflow and
    `dvc metrics show` display numbers only, never a list."""
    low, high = interval
    return {f"{metric}_ci_low": low, f"{metric}_ci_high": high}


def ci_bounds(entry: Mapping, metric: str) -> tuple[float, float] | None:
    """The (low, high) interval of `metric` in a metrics entry, or None when a bound is missing."""
    low, high = entry.get(f"{metric}_ci_low"), entry.get(f"{metric}_ci_high")
    return None if low is None or high is None else (low, high)


def spearman_interval(
    x, y, resamples: int, seed: int, *identity: object, confidence: float = 0.95
) -> tuple[float, float]:
    """Percentile interval of Spearman's rho over `resamples` resamplings of the rows.

    Rows (architectures) are drawn with replacement from a generator seeded by
    derive_seed(seed, "bootstrap", *identity), so the interval depends only on the
    data, the seed and the identity (e.g. dataset and proxy), never on call order.
    Resamples whose rho is undefined (a constant resample) are left out; the interval
    is (NaN, NaN) when none is defined.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    blocks = _resampled_rows(len(x), resamples, seed, identity, confidence)
    return _percentiles(np.concatenate([resampled_spearman(x, y, rows) for rows in blocks] or [[]]), confidence)


def statistic_intervals(statistics: Mapping[str, Callable[[np.ndarray, np.ndarray], float]], x, y,
                        resamples: int, seed: int, *identity: object,
                        confidence: float = 0.95) -> dict[str, tuple[float, float]]:
    """{name: percentile interval} of each `statistic(x, y)` over the same `resamples`
    resamplings of the rows, drawn as `spearman_interval` draws them (one statistic call
    per resample: for statistics such as nDCG that have no vectorised form)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    values = {name: [] for name in statistics}
    for rows in _resampled_rows(len(x), resamples, seed, identity, confidence):
        for resample in rows:
            for name, statistic in statistics.items():
                values[name].append(statistic(x[resample], y[resample]))
    return {name: _percentiles(np.asarray(drawn, dtype=float), confidence) for name, drawn in values.items()}


def _resampled_rows(n: int, resamples: int, seed: int, identity: tuple, confidence: float) -> Iterator[np.ndarray]:
    """Blocks of row indices, one resample per row, from the generator the identity seeds
    (drawn block by block, to bound memory); none when there are fewer than two rows."""
    if resamples < 1:
        raise ZcnasError(f"bootstrap resamples must be >= 1, got {resamples!r}")
    if not 0 < confidence < 1:
        raise ZcnasError(f"confidence must be in (0, 1), got {confidence!r}")
    rng = np.random.default_rng(derive_seed(seed, "bootstrap", *identity))
    block = max(1, _BLOCK_ELEMENTS // max(n, 1))
    return (rng.integers(0, n, size=(min(block, resamples - start), n))
            for start in (range(0, resamples, block) if n >= 2 else ()))


def _percentiles(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """The central `confidence` interval of the finite values; (NaN, NaN) when there are none."""
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan"), float("nan")
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)
