"""Few-shot: a gradient-boosted model from every proxy score to accuracy, fitted on k labelled cells.

The question is how much a handful of trained architectures adds to the zero-cost
scores. For each of `SPLITS` seeded splits, k cells of the scored sample are drawn as
labelled, a `HistGradientBoostingRegressor` learns their test accuracy from all their
proxy scores, and its predictions on the other cells are judged against their test
accuracy (Spearman's rho, Kendall's tau). The target is test accuracy, the same truth
every other row of the report is judged by; the judged cells never train the model,
so nothing leaks. The model takes a missing (NaN) score as it is: its trees learn
which side missing values go; infinities, which it rejects, become NaN first.

With a `prior`, a training-free score of every cell (the pipeline's log-rank sum), the
cells are ranked by the mean of their rank under the model and under the prior: a
model fitted on ~100 cells is noisy where the prior is not (on 200 seeded NB201 cells
kept apart from the pipeline's sample, k = 100: rho .946 with the prior, .940 without).
"""

from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

from ..errors import ZcnasError
from ..seeding import derive_seed
from .ranks import kendall, rank_average, spearman

SPLITS = 10
CURVE_K = (10, 25, 50, 100, 200, 400)
# The default of 20 cells per leaf would leave a model fitted on k < 40 cells without a
# single split (a constant prediction, no ranking). 1 ranked best at k = 100 on 200 seeded
# NB201 cells kept apart from the pipeline's sample (rho .935 against .924 with 2).
MIN_SAMPLES_LEAF = 1


def check_k(k: int, cells: int) -> None:
    """k must leave at least two cells to judge the ranking on."""
    if not 1 <= k <= cells - 2:
        raise ZcnasError(f"few-shot k={k} is out of range for a sample of {cells} cells; "
                         f"expected 1 <= k <= {cells - 2} (at least two cells left to evaluate on)")


def fewshot(table: pd.DataFrame, features: Sequence[str], k: int, seed: int, splits: int = SPLITS,
            prior: str | None = None) -> dict:
    """Mean (`spearman_test`, `kendall_test`), `_std` (over splits, ddof 1), `_min` and `_max` of
    rho and tau on the unlabelled cells of `table` (its `test_acc` and the `features` columns),
    a model fitted on k cells per split; with `prior` (a column), the cells ranked by the mean
    of their ranks under the model and under the prior."""
    check_k(k, len(table))
    x = table[list(features)].to_numpy(dtype=float, copy=True)
    x[np.isinf(x)] = np.nan
    y = table["test_acc"].to_numpy(dtype=float)
    results = {"spearman_test": [], "kendall_test": []}
    for split in range(splits):
        split_seed = derive_seed(seed, "fewshot", k, split)
        labelled = np.zeros(len(table), dtype=bool)
        labelled[np.random.default_rng(split_seed).permutation(len(table))[:k]] = True
        model = HistGradientBoostingRegressor(min_samples_leaf=MIN_SAMPLES_LEAF, random_state=split_seed % 2**32)
        predicted = model.fit(x[labelled], y[labelled]).predict(x[~labelled])
        if prior is not None:
            predicted = rank_average([predicted, table[prior].to_numpy(dtype=float)[~labelled]])
        results["spearman_test"].append(spearman(predicted, y[~labelled]))
        results["kendall_test"].append(kendall(predicted, y[~labelled]))
    # Flat keys, as a proxy's metrics (spearman_test the mean), so the report's tables read it as a row.
    summary = {"proxies": list(features), "prior": prior, "k": k, "splits": splits, "target": "test_acc",
               "n": len(table) - k}
    for metric, values in results.items():
        values = np.asarray(values)
        summary.update({metric: values.mean(), f"{metric}_std": values.std(ddof=1) if splits > 1 else np.nan,
                        f"{metric}_min": values.min(), f"{metric}_max": values.max()})
    return summary


def fewshot_curve(table: pd.DataFrame, features: Sequence[str], seed: int, ks: Sequence[int] = CURVE_K,
                  prior: str | None = None) -> dict:
    """{"points": {k: `fewshot`} for each k of `ks` the sample allows, "skipped": the others}."""
    usable = [k for k in ks if k <= len(table) - 2]
    skipped = [k for k in ks if k not in usable]
    curve = {"points": {str(k): fewshot(table, features, k, seed, prior=prior) for k in usable}, "skipped": skipped}
    if skipped:
        curve["note"] = (f"k = {', '.join(map(str, skipped))} skipped: a sample of {len(table)} cells "
                         "leaves fewer than two to evaluate on")
    return curve
