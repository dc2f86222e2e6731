"""Pairwise ranking accuracy of one score, or of the majority vote of several.

Each unordered pair of architectures is compared once (the upper triangle of the
pair matrix). The matrix is built in row blocks so that memory stays bounded for
the whole NAS-Bench-201 space (15,625 architectures, 122M pairs).
"""

import numpy as np

from ..errors import ZcnasError

# Pair-matrix elements per block: ~4M int8 signs per score keeps a block in a few tens of MB.
_BLOCK_ELEMENTS = 4_000_000


def pairwise_accuracy(truth, *scores) -> float:
    """Share of pairs with different `truth` that the scores order the same way.

    With several scores, each pair is ordered by the majority of their orderings
    (the sign of the summed signs): the paper's vote. A tie, in one score or in the
    vote, counts as half a correct pair. NaN when no pair has different truth.
    """
    truth = np.asarray(truth, dtype=float)
    columns = [np.asarray(score, dtype=float) for score in scores]
    if not columns:
        raise ZcnasError("pairwise accuracy needs at least one score; got none")
    if any(column.shape != truth.shape for column in columns):
        shapes = [column.shape for column in columns]
        raise ZcnasError(f"scores of shapes {shapes} do not match the truth's shape {truth.shape}")
    n = len(truth)
    correct, counted = 0.0, 0
    for start, stop in _row_blocks(n):
        true_sign = _signs(truth, start, stop)
        vote = np.sign(sum(_signs(column, start, stop).astype(np.int16) for column in columns))
        compared = _above_diagonal(n, start, stop) & (true_sign != 0)
        correct += np.count_nonzero(compared & (vote == true_sign)) + 0.5 * np.count_nonzero(compared & (vote == 0))
        counted += np.count_nonzero(compared)
    return correct / counted if counted else float("nan")


def _row_blocks(n: int):
    rows = max(1, _BLOCK_ELEMENTS // max(n, 1))
    for start in range(0, n, rows):
        yield start, min(start + rows, n)


def _signs(values: np.ndarray, start: int, stop: int) -> np.ndarray:
    """sign(values[j] - values[i]) for rows i in [start, stop) and columns j > start.

    Compares instead of subtracting, so huge scores (synflow reaches 1e300) cannot overflow.
    """
    rows, columns = values[start:stop, None], values[None, start + 1:]
    return (columns > rows).astype(np.int8) - (columns < rows).astype(np.int8)


def _above_diagonal(n: int, start: int, stop: int) -> np.ndarray:
    return np.arange(start + 1, n)[None, :] > np.arange(start, stop)[:, None]
