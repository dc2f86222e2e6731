"""Rank statistics between a score and the accuracy it should predict.

Every function takes equal-length arrays that are already finite (the caller
chooses and counts the rows) and returns NaN where the statistic is undefined,
e.g. for fewer than two rows or a constant input. Higher scores mean better: a
lower-is-better proxy is negated before it gets here (see `report.py`).
"""

import math
import warnings

import numpy as np
from scipy import stats

from ..errors import ZcnasError


def spearman(x, y) -> float:
    """Spearman's rho (Pearson correlation of average ranks)."""
    x, y = _pair(x, y)
    return float(resampled_spearman(x, y, np.arange(len(x))[None, :])[0])


def resampled_spearman(x: np.ndarray, y: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Spearman's rho of `x[r]` against `y[r]` for each row `r` of the index array `rows`.

    Vectorised for the bootstrap: no per-resample sort, see `_resample_ranks`.
    """
    if rows.shape[1] < 2:
        return np.full(len(rows), np.nan)
    x_ranks, y_ranks = _centred(_resample_ranks(x, rows)), _centred(_resample_ranks(y, rows))
    with np.errstate(invalid="ignore", divide="ignore"):  # a constant resample has no correlation: NaN
        return (x_ranks * y_ranks).sum(axis=1) / np.sqrt((x_ranks**2).sum(axis=1) * (y_ranks**2).sum(axis=1))


def _resample_ranks(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Average ranks of `values[r]` within each resample `r`, from counts instead of sorting.

    Values are sorted once into groups of equal values; within a resample, a group
    counted c times after `below` smaller draws holds ranks below+1..below+c, whose
    average is cumulative_count - (c - 1) / 2.
    """
    group_of = np.unique(values, return_inverse=True)[1]
    groups = group_of.max() + 1
    drawn = group_of[rows]
    offsets = groups * np.arange(len(rows))[:, None]
    counts = np.bincount((drawn + offsets).ravel(), minlength=groups * len(rows)).reshape(len(rows), groups)
    average_rank = np.cumsum(counts, axis=1) - (counts - 1) / 2
    return np.take_along_axis(average_rank, drawn, axis=1)


def _centred(ranks: np.ndarray) -> np.ndarray:
    return ranks - ranks.mean(axis=1, keepdims=True)


def kendall(x, y) -> float:
    """Kendall's tau-b, which corrects for ties in either input."""
    x, y = _pair(x, y)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.kendalltau(x, y).statistic)


def top_overlap(score, truth, fraction: float = 0.1) -> float:
    """Share of the true top `fraction` that the score also puts in its top `fraction`:
    `top_hits` with k = round(fraction * n) rows (at least one)."""
    score, truth = _pair(score, truth)
    if not 0 < fraction <= 1:
        raise ZcnasError(f"top fraction must be in (0, 1], got {fraction!r}")
    if len(score) == 0:
        return float("nan")
    return top_hits(score, truth, max(1, math.floor(fraction * len(score) + 0.5)))


def top_hits(score, truth, k: int) -> float:
    """Share of the true top k rows that the score also puts in its top k (k capped at n).

    Rows tied at the cut get an equal share of the places left, i.e. the expected
    overlap under random tie-breaking, so the result does not depend on row order
    and a constant score gets the chance level `k / n` rather than full marks.
    """
    score, truth = _pair(score, truth)
    k = _top_count(k, len(score))
    if len(score) == 0:
        return float("nan")
    return float(np.dot(_top_membership(score, k), _top_membership(truth, k)) / k)


def ndcg(score, truth, k: int) -> float:
    """Normalised discounted cumulative gain of the score's top k rows (k capped at n).

    The definition VKDNW reports (Tybl & Neumann, CVPR 2025, and its released
    evaluation, which calls scikit-learn's `ndcg_score`): rows ordered by score, the
    row at position i (from 1) gains its accuracy `truth` discounted by 1 / log2(i + 1);
    DCG@k over the ideal order's DCG@k. Rows tied in score share their positions'
    discounts equally (the expectation over tie orders), so row order cannot change it.
    NaN when the ideal DCG is not positive.
    """
    score, truth = _pair(score, truth)
    k = _top_count(k, len(score))
    if len(score) == 0:
        return float("nan")
    discount = np.zeros(len(score))
    discount[:k] = 1 / np.log2(np.arange(2, k + 2))
    order = np.argsort(-score, kind="stable")
    ordered = score[order]
    tie_group = np.concatenate([[0], np.cumsum(ordered[1:] != ordered[:-1])])
    mean_gain = np.bincount(tie_group, weights=truth[order]) / np.bincount(tie_group)
    dcg = mean_gain @ np.bincount(tie_group, weights=discount)
    ideal = np.sort(truth)[::-1][:k] @ discount[:k]
    return float(dcg / ideal) if ideal > 0 else float("nan")


def _top_count(k: int, n: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ZcnasError(f"top k must be a whole number >= 1, got {k!r}")
    return min(int(k), n)


def _top_membership(values: np.ndarray, k: int) -> np.ndarray:
    """1 for rows certainly in the top k, a fraction for rows tied at the cut, else 0."""
    cut = np.sort(values)[-k]
    above, tied = values > cut, values == cut
    membership = above.astype(float)
    membership[tied] = (k - above.sum()) / tied.sum()
    return membership


def rank_average(columns) -> np.ndarray:
    """Mean of the columns' average ranks (1 = lowest), so higher is better, like its inputs."""
    columns = [np.asarray(column, dtype=float) for column in columns]
    if not columns:
        raise ZcnasError("a rank average needs at least one score column; got none")
    if len({column.shape for column in columns}) > 1:
        raise ZcnasError(f"rank-averaged columns must have equal shapes, got {[column.shape for column in columns]}")
    return np.mean([stats.rankdata(column) for column in columns], axis=0)


def _pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ZcnasError(f"expected two 1-D arrays of equal length, got shapes {x.shape} and {y.shape}")
    return x, y
