"""Judging proxies against ground-truth accuracy: rank metrics, the vote, the ensembles.

Plots live in `zcnas.evaluation.plots`, imported separately so that the metrics
work without matplotlib.
"""

from .bootstrap import ci_bounds, ci_metrics, spearman_interval
from .combined import ENSEMBLE, LOG_RANK, VOTE, higher_is_better
from .pairs import pairwise_accuracy
from .ranks import kendall, rank_average, spearman, top_overlap
from .report import (
    DEFAULT_ENSEMBLE,
    DEFAULT_VOTE,
    FEWSHOT,
    FEWSHOT_CURVE,
    evaluate_dataset,
    join_truth,
    json_safe,
    metrics_table,
    proxy_columns,
)

__all__ = [
    "DEFAULT_ENSEMBLE",
    "DEFAULT_VOTE",
    "ENSEMBLE",
    "FEWSHOT",
    "FEWSHOT_CURVE",
    "LOG_RANK",
    "VOTE",
    "ci_bounds",
    "ci_metrics",
    "evaluate_dataset",
    "higher_is_better",
    "join_truth",
    "json_safe",
    "kendall",
    "metrics_table",
    "pairwise_accuracy",
    "proxy_columns",
    "rank_average",
    "spearman",
    "spearman_interval",
    "top_overlap",
]
