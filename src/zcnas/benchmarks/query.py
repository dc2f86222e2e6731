"""Looking up benchmark accuracies by arch string, in the spirit of NATS-Bench's query API."""

from typing import Iterable

import pandas as pd

from ..errors import ZcnasError, choice_error
from .schema import ACCURACY_COLUMNS


def accuracy_by_arch(table: pd.DataFrame, dataset: str, metric: str = "test_acc") -> pd.Series:
    """`metric` (val_acc or test_acc) of every architecture on `dataset`, indexed by arch string."""
    if metric not in ACCURACY_COLUMNS:
        raise choice_error("accuracy metric", metric, ACCURACY_COLUMNS)
    rows = table[table["dataset"] == dataset]
    if rows.empty:
        raise choice_error("dataset in this ground-truth table", dataset, sorted(table["dataset"].unique()))
    return pd.Series(rows[metric].to_numpy(), index=pd.Index(rows["arch"], name="arch"), name=metric)


def lookup_accuracy(table: pd.DataFrame, dataset: str, archs: Iterable[str], metric: str = "test_acc") -> pd.Series:
    """`metric` of each arch string in `archs`, in that order; a ZcnasError names archs the table lacks."""
    known = accuracy_by_arch(table, dataset, metric)
    wanted = pd.Index(list(archs), name="arch")
    absent = wanted[~wanted.isin(known.index)]
    if len(absent):
        shown = ", ".join(map(repr, absent[:3])) + (f" and {len(absent) - 3} more" if len(absent) > 3 else "")
        raise ZcnasError(f"{len(absent)} arch(s) not in the {dataset} ground truth: {shown}")
    return known.reindex(wanted)
