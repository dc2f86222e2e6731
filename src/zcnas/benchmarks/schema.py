"""The ground-truth table (one row per architecture and dataset) and its validation.

Columns: `space, index, arch, dataset, val_acc, test_acc` plus, where the source has
them, `params_m, flops_m, train_seconds`. Accuracies are percentages; `arch` is the
space's table string; `dataset` uses the project's names (`zcnas.data.DATASETS`).
"""

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ZcnasError, choice_error
from ..spaces import get_space
from ..spaces.nb201.cell import EDGES, OPS as NB201_OPS

REQUIRED_COLUMNS = ("space", "index", "arch", "dataset", "val_acc", "test_acc")
OPTIONAL_COLUMNS = ("params_m", "flops_m", "train_seconds")
ACCURACY_COLUMNS = ("val_acc", "test_acc")
SPACE_DATASETS = {"nb201": ("cifar10", "cifar100", "imagenet16-120"), "nb101": ("cifar10",)}
NB201_SIZE = len(NB201_OPS) ** len(EDGES)
# NB101's tidy sample carries validation accuracy only; the official tfrecord has both.
NULLABLE_COLUMNS = {"nb101": ("test_acc",)}

Origin = Path | str


def tidy_table(frame: pd.DataFrame, space: str) -> pd.DataFrame:
    """`frame` (index, arch, dataset, accuracies, any optional columns) in the table's column and row order."""
    columns = ["index", "arch", "dataset", *ACCURACY_COLUMNS] + [c for c in OPTIONAL_COLUMNS if c in frame.columns]
    table = frame[columns].copy()
    table.insert(0, "space", space)
    # Sorting makes the stored table independent of the order the source listed things in.
    dataset_rank = table["dataset"].map({name: rank for rank, name in enumerate(SPACE_DATASETS[space])})
    order = np.lexsort((table["index"].to_numpy(), dataset_rank.to_numpy()))
    return table.iloc[order].reset_index(drop=True)


def validate_ground_truth(frame: pd.DataFrame, space: str, origin: Origin = "ground-truth table") -> pd.DataFrame:
    """The table with numeric columns typed, or a ZcnasError prefixed by `origin` naming what is wrong."""
    if space not in SPACE_DATASETS:
        raise ZcnasError(f"{origin}: {choice_error('search space', space, tuple(SPACE_DATASETS))}")
    require_columns(frame, REQUIRED_COLUMNS, origin)
    if frame.empty:
        raise ZcnasError(f"{origin}: has no rows; expected at least one architecture")
    table = frame.reset_index(drop=True)
    nullable = NULLABLE_COLUMNS.get(space, ())
    require_complete(table, [c for c in REQUIRED_COLUMNS if c not in nullable], origin)
    table = require_numeric(table, ["index", *ACCURACY_COLUMNS, *[c for c in OPTIONAL_COLUMNS if c in table]], origin)
    table["index"] = _integer_index(table, origin)
    _check_values_in(table, "space", (space,), origin)
    _check_values_in(table, "dataset", SPACE_DATASETS[space], origin)
    _check_ranges(table, origin)
    _check_archs(table, space, origin)
    _check_unique(table, origin)
    _check_counts(table, space, origin)
    return table


def require_columns(frame: pd.DataFrame, columns: "tuple[str, ...] | list[str]", origin: Origin) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ZcnasError(
            f"{origin}: missing column(s) {', '.join(missing)}; expected columns {', '.join(columns)} "
            f"(found: {', '.join(map(str, frame.columns)) or 'none'})"
        )


def require_complete(frame: pd.DataFrame, columns: "list[str] | tuple[str, ...]", origin: Origin) -> None:
    for column in columns:
        missing = frame[column].isna().to_numpy()
        if missing.any():
            first = int(np.flatnonzero(missing)[0])
            raise ZcnasError(
                f"{origin}: column {column!r} has {int(missing.sum())} missing value(s), the first at "
                f"{describe_row(frame, first)}"
            )


def require_numeric(frame: pd.DataFrame, columns: "list[str] | tuple[str, ...]", origin: Origin) -> pd.DataFrame:
    """A copy with `columns` as float64; names the first value that is not a number."""
    table = frame.copy()
    for column in columns:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = (values.isna() & table[column].notna()).to_numpy()
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise ZcnasError(
                f"{origin}: column {column!r} holds {table[column].iloc[first]!r} at {describe_row(table, first)}; "
                "expected a number"
            )
        table[column] = values.astype("float64")
    return table


def describe_row(frame: pd.DataFrame, position: int) -> str:
    """`row N` plus whatever identifies it (index, dataset, arch)."""
    row = frame.iloc[position]
    labels = [f"{column}={row[column]!r}" for column in ("index", "dataset", "arch") if column in frame.columns]
    return f"row {position}" + (f" ({', '.join(labels)})" if labels else "")


def _integer_index(table: pd.DataFrame, origin: Origin) -> np.ndarray:
    index = table["index"].to_numpy()
    invalid = ~np.isfinite(index) | (index != np.round(index)) | (index < 0)
    if invalid.any():
        first = int(np.flatnonzero(invalid)[0])
        raise ZcnasError(
            f"{origin}: column 'index' is {index[first]} at {describe_row(table, first)}; expected an integer >= 0"
        )
    return index.astype("int64")


def _check_values_in(table: pd.DataFrame, column: str, allowed: tuple[str, ...], origin: Origin) -> None:
    unknown = (~table[column].isin(allowed)).to_numpy()
    if unknown.any():
        first = int(np.flatnonzero(unknown)[0])
        raise ZcnasError(
            f"{origin}: column {column!r} is {table[column].iloc[first]!r} at {describe_row(table, first)}; "
            f"expected one of: {', '.join(allowed)}"
        )


def _check_ranges(table: pd.DataFrame, origin: Origin) -> None:
    for column in ACCURACY_COLUMNS:
        values = table[column].to_numpy()
        outside = (values < 0) | (values > 100)
        if outside.any():
            first = int(np.flatnonzero(outside)[0])
            raise ZcnasError(
                f"{origin}: column {column!r} is {values[first]} at {describe_row(table, first)}; "
                "accuracies are percentages in [0, 100]"
            )
    # Every benchmark dataset has chance level >= 0.8%, so a table topping out at 1 holds fractions.
    if table["val_acc"].max() <= 1:
        raise ZcnasError(
            f"{origin}: every val_acc is at most 1 (max {table['val_acc'].max()}); accuracies must be percentages, "
            "not fractions"
        )
    for column in [c for c in OPTIONAL_COLUMNS if c in table]:
        values = table[column].to_numpy()
        invalid = ~np.isnan(values) & ~((values >= 0) & np.isfinite(values))
        if invalid.any():
            first = int(np.flatnonzero(invalid)[0])
            raise ZcnasError(
                f"{origin}: column {column!r} is {values[first]} at {describe_row(table, first)}; "
                "expected a finite number >= 0"
            )


def _check_archs(table: pd.DataFrame, space: str, origin: Origin) -> None:
    """Each arch must parse and be in the space's table form, or lookups by string would miss it."""
    search_space = get_space(space)
    first_rows = table.drop_duplicates("arch")
    for position, text in zip(first_rows.index, first_rows["arch"]):
        try:
            canonical = search_space.format(search_space.parse(text))
        except ZcnasError as error:
            raise ZcnasError(f"{origin}: bad arch at {describe_row(table, position)}: {error}") from None
        if canonical != text:
            raise ZcnasError(
                f"{origin}: arch at {describe_row(table, position)} is not in {space}'s table form; "
                f"expected {canonical!r}"
            )


def _check_unique(table: pd.DataFrame, origin: Origin) -> None:
    duplicated = table.duplicated(["arch", "dataset"], keep=False).to_numpy()
    if duplicated.any():
        first, second = np.flatnonzero(duplicated)[:2]
        raise ZcnasError(
            f"{origin}: (arch, dataset) appears more than once, at {describe_row(table, int(first))} and row {second}; "
            "expected one row per architecture and dataset"
        )
    # The index names an architecture, so it must pair with exactly one arch string.
    for key, other in (("arch", "index"), ("index", "arch")):
        counts = table.groupby(key, sort=False)[other].nunique()
        if (counts > 1).any():
            value = counts.index[int(np.argmax(counts.to_numpy() > 1))]
            raise ZcnasError(f"{origin}: {key} {value!r} has {counts[value]} different {other} values; expected one")


def _check_counts(table: pd.DataFrame, space: str, origin: Origin) -> None:
    if space != "nb201":
        return
    counts = table["dataset"].value_counts()
    for dataset in SPACE_DATASETS["nb201"]:
        found = int(counts.get(dataset, 0))
        if found != NB201_SIZE:
            raise ZcnasError(
                f"{origin}: has {found:,} of the {NB201_SIZE:,} NB201 architectures for {dataset}; "
                "the source is truncated or incomplete"
            )
