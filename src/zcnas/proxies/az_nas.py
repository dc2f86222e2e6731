"""AZ-NAS (Lee & Ham, CVPR 2024): four component proxies and their set-level aggregate.

Each component is a proxy of its own; `az_nas` is not a proxy of one network but an
aggregate, a column over a scored set: sum over the components of log(rank / M), ranks
ascending among the M scored cells (so the best is M, and log 0 the top). Registered as
such, it names the group of the four components, and every table that holds all four
gets the `az_nas` column (`zcnas.proxies.registry.with_aggregates`).

The components read the `az_nas` pass (`passes/az_nas.py`), which follows the reference
code's choices: re-initialised weights (Kaiming normal, fan-in), Gaussian inputs of the
batch's shape, the stem's and every cell's output. They read neither the batch's pixels
nor its labels, only its shape.
"""

import math
import numpy as np
import pandas as pd
import torch

from .registry import Published, register, register_aggregate

CITATION = "Lee & Ham 2024, AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search, CVPR"
COMPONENTS = ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity")

# The reference's guards: inside the log of the entropy, and in 1/sigma.
LOG_EPSILON = 1e-8
SIGMA_EPSILON = 1e-6


def isotropy(eigenvalues: torch.Tensor) -> float:
    """The entropy -sum p log(p + 1e-8) of the eigenvalues normalised to sum to one;
    log(C) for an isotropic C-channel covariance, 0 for rank one."""
    p = eigenvalues / eigenvalues.sum()
    return float(-(p * torch.log(p + LOG_EPSILON)).sum())


def progressivity(entropies: list[float]) -> float:
    """The smallest growth of expressivity from one block to the next."""
    return float(np.min(np.diff(entropies)))


def trainability(norms: list[float | None]) -> float:
    """Mean over block pairs of 2 - sigma - 1/(sigma + 1e-6), sigma the Jacobian's spectral-norm
    estimate: 0 at sigma = 1, lower away from it; -inf if a block is the identity (None)."""
    if any(sigma is None for sigma in norms):
        return -math.inf
    return float(np.mean([2 - sigma - 1 / (sigma + SIGMA_EPSILON) for sigma in norms]))


@register("az_expressivity", needs=["az_spectra"], higher_is_better=True, uses_labels=False, uses_data=False,
          citation=CITATION)
def az_expressivity(context) -> float:
    """Sum over the stem's and every cell's output of the `isotropy` of its channel
    covariance (over samples and positions). The reference's choices (re-initialised
    Kaiming-normal weights, Gaussian inputs of the batch's shape, every cell) are listed in
    `passes/az_nas.py`. NaN for a network whose features are all zero (an all-`none` cell),
    which the reference records as -inf."""
    return sum(isotropy(spectrum) for spectrum in context["az_spectra"])


@register("az_progressivity", needs=["az_spectra"], higher_is_better=True, uses_labels=False, uses_data=False,
          citation=CITATION)
def az_progressivity(context) -> float:
    """The `progressivity` (min of consecutive differences) of the per-block isotropies of
    `az_expressivity`, over the same blocks, weights and inputs (the reference's choices)."""
    return progressivity([isotropy(spectrum) for spectrum in context["az_spectra"]])


@register("az_trainability", needs=["az_jacobian_norms"], higher_is_better=True, uses_labels=False,
          uses_data=False, citation=CITATION)
def az_trainability(context) -> float:
    """The `trainability` of the Jacobians between consecutive blocks (stem and every
    cell), each estimated with one Rademacher probe g_out at the block output as the top
    singular value of mean(J^T g_out g_out^T) over positions, a lower-resolution output
    matched by pixel unshuffle (the reference's formula). The weights and inputs are the
    reference's (see `passes/az_nas.py`). -inf, which the engine records as NaN, for a
    network with an identity cell (the reference's -inf)."""
    return trainability(context["az_jacobian_norms"])


@register("az_complexity", needs=["flops"], higher_is_better=True, uses_labels=False, uses_data=False,
          citation=CITATION)
def az_complexity(context) -> float:
    """Forward FLOPs of one image (the `flops` result); the reference reads NB201's FLOPs
    table, which that count matches. More is better, as in the reference's ranking."""
    return context["flops"]


def log_rank_sum(table: pd.DataFrame, columns) -> pd.Series:
    """AZ-NAS's aggregate of `columns` (each higher-is-better) for each row: sum over the
    columns of log(rank / M), the ranks ascending among the table's M rows, ties averaged
    (scipy's `rankdata`, as the reference), a missing (NaN) value ranked below every other
    (the reference records NaN and -inf as -inf). So every row gets a finite score, 0 for
    the best row in every column. `zcnas.evaluation` uses it over any set of proxies."""
    total = pd.Series(0.0, index=table.index)
    for name in columns:
        ranks = table[name].astype(float).fillna(-math.inf).rank(method="average")
        total += np.log(ranks / len(table))
    return total


@register_aggregate("az_nas", COMPONENTS, citation=CITATION,
                    description="the four AZ-NAS components; a scored table gets their aggregate column az_nas",
                    published=[Published(0.913, "Lee & Ham 2024 (AZ-NAS)")])
def az_nas_scores(table: pd.DataFrame) -> pd.Series:
    """The AZ-NAS aggregate of each row: `log_rank_sum` of the four components."""
    return log_rank_sum(table, COMPONENTS)
