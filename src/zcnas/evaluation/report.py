"""How well each proxy predicts accuracy, in the shape of `metrics/correlation.json`.

The inputs are a proxy-score table (`arch`, one column per proxy, optional
`seconds_<proxy>` costs) and a ground-truth table for one dataset (`arch`,
`test_acc`, optional `val_acc`). Each proxy is judged on the rows where its score
is finite; the excluded rows are counted as `nan`.

Direction: every metric judges a proxy's *oriented* score, the score itself when
higher is better and its negation when lower is better (as the proxy registry or
the caller declares). So a proxy that ranks architectures well has a positive rho
and tau and a pairwise accuracy above one half whichever way it points, and the
vote, the ensemble and the top-k retrieval order architectures the way it means.
"""

import math
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import ZcnasError
from ..proxies import cost_members
from .bootstrap import ci_metrics, spearman_interval
from .combined import ENSEMBLE, LOG_RANK, VOTE, all_finite, combined_score, oriented
from .fewshot import fewshot, fewshot_curve
from .pairs import pairwise_accuracy
from .ranks import kendall, spearman, top_overlap
from .top_ranking import top_ranking_metrics

# The paper's vote (Abdelfattah et al. 2021, Sec. 5): the three best proxies on NB201.
DEFAULT_VOTE = ("synflow", "jacob_cov", "snip")
DEFAULT_ENSEMBLE = DEFAULT_VOTE
FEWSHOT, FEWSHOT_CURVE = "fewshot", "fewshot_curve"
_SECONDS = "seconds_"


def join_truth(scores: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """The score table with the truth's `test_acc` (and `val_acc`) columns, matched on `arch`.

    Every scored architecture must have ground truth: a miss usually means the two
    tables write architectures differently, which would silently shrink the sample.
    """
    for name, table, needed in (("score", scores, ["arch"]), ("ground-truth", truth, ["arch", "test_acc"])):
        if missing := [column for column in needed if column not in table]:
            raise ZcnasError(f"the {name} table lacks column(s) {missing}; it has {list(table.columns)}")
    for name, table in (("score", scores), ("ground-truth", truth)):
        if (repeated := table["arch"][table["arch"].duplicated()]).any():
            raise ZcnasError(f"the {name} table lists architecture {repeated.iloc[0]!r} more than once")
    accuracy = truth[[column for column in ("arch", "test_acc", "val_acc") if column in truth]]
    joined = scores.merge(accuracy, on="arch", how="left", validate="one_to_one")
    if (unmatched := joined["arch"][joined["test_acc"].isna()]).any():
        raise ZcnasError(
            f"{len(unmatched)} scored architecture(s) have no test accuracy in the ground truth, "
            f"e.g. {unmatched.iloc[0]!r}; expected every scored arch to appear there with a test_acc"
        )
    return joined


def proxy_columns(scores: pd.DataFrame) -> list[str]:
    """The score table's proxy columns: every numeric column but `arch`, accuracies and costs."""
    return [
        column for column in scores.columns
        if column not in ("arch", "test_acc", "val_acc") and not column.startswith(_SECONDS)
        and pd.api.types.is_numeric_dtype(scores[column])
    ]




def evaluate_dataset(
    scores: pd.DataFrame,
    truth: pd.DataFrame,
    proxies: Sequence[str] | None = None,
    *,
    vote: Sequence[str] | None = DEFAULT_VOTE,
    ensemble: Sequence[str] | None = DEFAULT_ENSEMBLE,
    log_rank: Sequence[str] | None = None,
    fewshot_k: int | None = None,
    top_fraction: float = 0.1,
    resamples: int = 1000,
    seed: int = 0,
    dataset: str = "",
    directions: Mapping[str, bool] | None = None,
) -> dict[str, dict]:
    """Metrics of each proxy, the vote, the rank-average ensemble and the log-rank sum on one dataset.

    Returns {proxy: {"spearman_test", "spearman_val", "kendall_test", "top10_test",
    "pairwise_test", "spearman_test_ci_low", "spearman_test_ci_high", the nDCG@k and top-k
    hits of `top_ranking.top_ranking_metrics` with their intervals, "n", "nan",
    "seconds_per_arch"}, "vote": {"proxies", "pairwise_test", "n", "nan"},
    "ensemble": {"proxies", ...as a proxy}, "log_rank": {"proxies", ...as a proxy}}.
    The ensemble ranks only rows where every member is finite; the log-rank sum (AZ-NAS's
    aggregate, `log_rank_sum`) ranks every row, a missing member value last. Every metric is of the oriented score
    (see the module docstring); `directions` ({column: higher_is_better}) overrides
    the registry. `top10_test` keeps its name whatever `top_fraction` is (the JSON key
    the stage reads); `dataset` only seeds the bootstrap; `resamples=0` skips it
    (interval bounds None). `vote`, `ensemble` or `log_rank` None
    leaves it out (`log_rank` by default: the pipeline names its members in `evaluate.log_rank`).
    `fewshot_k` adds "fewshot" (`fewshot.fewshot` over `proxies` and the log-rank sum, if
    any, which is also its prior; k = `fewshot_k`) and
    "fewshot_curve" (`fewshot.fewshot_curve`), both seeded by `seed`; None leaves them out.
    """
    # A canonical row order, so that bootstrap resamples do not depend on how the tables were sorted.
    table = join_truth(scores, truth).sort_values("arch", ignore_index=True)
    proxies = list(proxy_columns(table) if proxies is None else proxies)
    used = [*proxies, *(vote or ()), *(ensemble or ()), *(log_rank or ())]
    _require_columns(table, used)
    table = _oriented(table, set(used), directions or {})
    settings = dict(top_fraction=top_fraction, resamples=resamples, seed=seed, dataset=dataset)
    report = {proxy: _evaluate_score(table, proxy, table[proxy], [proxy], **settings) for proxy in proxies}
    if vote:
        report[VOTE] = _evaluate_vote(table, list(vote))
    combined = {}
    for combination, members in ((ENSEMBLE, ensemble), (LOG_RANK, log_rank)):
        if members:
            combined[combination] = combined_score(table, combination, members)
            report[combination] = {"proxies": list(members),
                                   **_evaluate_score(table, combination, combined[combination], members, **settings)}
    features, prior = proxies, None
    if LOG_RANK in combined:
        # A training-free score of every cell: the few-shot model reads it and is averaged with it.
        table = table.assign(**{LOG_RANK: combined[LOG_RANK]})
        features, prior = [*proxies, LOG_RANK], LOG_RANK
    if fewshot_k is not None:
        report[FEWSHOT] = json_safe(fewshot(table, features, fewshot_k, seed, prior=prior))
        report[FEWSHOT_CURVE] = json_safe(fewshot_curve(table, features, seed, prior=prior))
    return report


def _require_columns(table: pd.DataFrame, names: Iterable[str]) -> None:
    available = proxy_columns(table)
    for name in names:
        if name not in available:
            raise ZcnasError(f"unknown proxy column {name!r}; expected one of: {', '.join(available)}")


def _oriented(table: pd.DataFrame, used: set[str], directions: Mapping[str, bool]) -> pd.DataFrame:
    """The table with each used lower-is-better column negated, so that higher is better throughout."""
    for name, value in directions.items():
        if name not in used:
            raise ZcnasError(f"a direction is given for column {name!r}, which is not evaluated; "
                             f"expected one of: {', '.join(sorted(used))}")
        if not isinstance(value, (bool, np.bool_)):
            raise ZcnasError(f"the direction of column {name!r} is {value!r}; expected True (higher is better) "
                             "or False (lower is better)")
    return oriented(table, used, directions)


def _evaluate_score(table, name, score, members, *, top_fraction, resamples, seed, dataset) -> dict:
    finite = np.isfinite(score.to_numpy(dtype=float))
    x, test = score.to_numpy(dtype=float)[finite], table["test_acc"].to_numpy(dtype=float)[finite]
    metrics = {
        "spearman_test": spearman(x, test),
        "spearman_val": _spearman_val(table, score, finite),
        "kendall_test": kendall(x, test),
        "top10_test": top_overlap(x, test, top_fraction),
        "pairwise_test": pairwise_accuracy(test, x),
        **ci_metrics("spearman_test", spearman_interval(x, test, resamples, seed, dataset, name)
                     if resamples else (None, None)),
        **top_ranking_metrics(x, test, resamples, seed, dataset, name),
        "n": int(finite.sum()),
        "nan": int((~finite).sum()),
        "seconds_per_arch": _seconds_per_arch(table, members),
    }
    return json_safe(metrics)


def _spearman_val(table: pd.DataFrame, score: pd.Series, finite: np.ndarray) -> float:
    if "val_acc" not in table:
        return float("nan")
    val = table["val_acc"].to_numpy(dtype=float)
    rows = finite & np.isfinite(val)
    return spearman(score.to_numpy(dtype=float)[rows], val[rows])


def _seconds_per_arch(table: pd.DataFrame, members: Sequence[str]) -> float:
    """Median over architectures of the members' summed `seconds_<proxy>` (a set-level
    column's: its components'); NaN if any is missing.

    For several members the sum is an upper bound: each proxy's seconds include
    the shared passes it read, which a joint run performs only once.
    """
    columns = [_SECONDS + cost for member in members for cost in cost_members(member)]
    if any(column not in table for column in columns):
        return float("nan")
    per_arch = table[columns].to_numpy(dtype=float).sum(axis=1)
    per_arch = per_arch[np.isfinite(per_arch)]
    return float(np.median(per_arch)) if len(per_arch) else float("nan")


def _evaluate_vote(table: pd.DataFrame, members: list[str]) -> dict:
    rows = all_finite(table, members)
    accuracy = pairwise_accuracy(table.loc[rows, "test_acc"], *(table.loc[rows, member] for member in members))
    return json_safe({"proxies": members, "pairwise_test": accuracy, "n": int(rows.sum()), "nan": int((~rows).sum())})


def json_safe(value):
    """`value` with NaN and infinities as None and numpy scalars as Python ones, for strict JSON."""
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_safe(item) for item in value]
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def metrics_table(reports: Mapping[str, Mapping[str, Mapping]]) -> pd.DataFrame:
    """One row per (dataset, method) of `{dataset: evaluate_dataset(...)}`, for CSV output.

    Member lists become `a+b+c`; metrics a method lacks (e.g. the vote's correlations) are empty.
    Each point of the few-shot curve is a row `fewshot_curve/<k>` (its skipped k are in the JSON).
    """
    rows = []
    for dataset, report in reports.items():
        methods = {method: metrics for method, metrics in report.items() if method != FEWSHOT_CURVE}
        curve = report.get(FEWSHOT_CURVE, {"points": {}})["points"]
        methods.update({f"{FEWSHOT_CURVE}/{k}": point for k, point in curve.items()})
        for method, metrics in methods.items():
            row = {"dataset": dataset, "method": method}
            for key, value in metrics.items():
                row[key] = "+".join(value) if key == "proxies" else value
            rows.append(row)
    return pd.DataFrame(rows)
