"""Readers for benchmark tables that are already tidy: the NB201 accuracy table and the NB101 sample."""

import csv
import json
from pathlib import Path

import pandas as pd

from ..errors import ZcnasError
from ..files import read_table
from ..spaces import get_space
from .schema import (
    OPTIONAL_COLUMNS,
    describe_row,
    require_columns,
    require_complete,
    require_numeric,
    tidy_table,
    validate_ground_truth,
)

# Project dataset name -> column prefix in the wide NB201 table.
NB201_PREFIXES = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16-120": "imagenet16"}
NB201_COLUMNS = (
    "index",
    "arch",
    *[f"{prefix}_{split}" for prefix in NB201_PREFIXES.values() for split in ("val", "test")],
)
NB101_SAMPLE_COLUMNS = ("matrix", "ops", "cifar10_val")
# Enough of a CSV's end to hold its last line (the longest NB101 rows are ~400 bytes).
_TAIL_BYTES = 1 << 16


def read_nb201_table(path: Path | str) -> pd.DataFrame:
    """The ground truth from a wide table with one row per cell (`index, arch, cifar10_val, ...`)."""
    path = Path(path)
    wide = read_source_table(path, NB201_COLUMNS)
    require_complete(wide, NB201_COLUMNS, path)
    long = pd.concat(
        [
            pd.DataFrame(
                {
                    "index": wide["index"],
                    "arch": wide["arch"],
                    "dataset": dataset,
                    "val_acc": wide[f"{prefix}_val"],
                    "test_acc": wide[f"{prefix}_test"],
                }
            )
            for dataset, prefix in NB201_PREFIXES.items()
        ],
        ignore_index=True,
    )
    return validate_ground_truth(tidy_table(long, "nb201"), "nb201", path)


def read_nb101_sample(path: Path | str) -> pd.DataFrame:
    """The ground truth from the NB101 sample (`matrix`, `ops` as JSON, `cifar10_val`, optional `params_m`, `flops_m`).

    The sample has no test accuracy, so `test_acc` is NaN. Its raw 7-vertex cells can prune
    to the same cell; such rows are repeated draws of one benchmark entry, so they become one
    row whose `val_acc` is their mean and whose `index` is the first such sample row.
    """
    path = Path(path)
    sample = read_source_table(path, NB101_SAMPLE_COLUMNS)
    require_complete(sample, NB101_SAMPLE_COLUMNS, path)
    optional = [c for c in OPTIONAL_COLUMNS if c in sample]
    sample = require_numeric(sample, ["cifar10_val", *optional], path)
    rows = pd.DataFrame(
        {
            "index": range(len(sample)),
            "arch": [_sample_arch(sample, row, path) for row in range(len(sample))],
            "val_acc": sample["cifar10_val"],
            **{column: sample[column] for column in optional},
        }
    )
    # Size and FLOPs are properties of the cell, so any of its rows will do.
    merged = rows.groupby("arch", sort=False, as_index=False).agg(
        {"index": "first", "val_acc": "mean", **{column: "first" for column in optional}}
    )
    merged["dataset"] = "cifar10"
    merged["test_acc"] = float("nan")
    return validate_ground_truth(tidy_table(merged, "nb101"), "nb101", path)


def read_source_table(path: Path, columns: "tuple[str, ...]") -> pd.DataFrame:
    """The table at `path`, holding at least `columns`, or a ZcnasError saying what is wrong with the file."""
    if path.is_file() and path.stat().st_size == 0:
        raise ZcnasError(f"{path} is empty (0 bytes); replace it with a good copy")
    try:
        frame = read_table(path)
    except (OSError, ValueError) as error:
        raise ZcnasError(
            f"cannot read {path} as a table ({type(error).__name__}: {error}); the file may be corrupt or truncated: "
            "replace it with a good copy"
        ) from None
    if path.suffix == ".csv":
        _check_last_line(path, frame)
    require_columns(frame, columns, path)
    return frame


def _check_last_line(path: Path, frame: pd.DataFrame) -> None:
    """A CSV cut mid-line still parses, its last row padded with NaN: catch that before it reads as a gap."""
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - _TAIL_BYTES))
        tail = handle.read().decode("utf-8", errors="replace")
    last_line = tail.splitlines()[-1] if tail and tail[-1] not in "\r\n" else ""
    fields = next(csv.reader([last_line]), [])
    if last_line and len(frame) and len(fields) < len(frame.columns):
        raise ZcnasError(
            f"{path} ends in the middle of a line: its last row ({describe_row(frame, len(frame) - 1)}) has "
            f"{len(fields)} of {len(frame.columns)} fields; the file is truncated: replace it with a good copy"
        )


def _sample_arch(sample: pd.DataFrame, row: int, path: Path) -> str:
    matrix, ops = _json_cell(sample, row, "matrix", path), _json_cell(sample, row, "ops", path)
    space = get_space("nb101")
    try:
        return space.format(space.spec(matrix, ops))
    except ZcnasError as error:
        raise ZcnasError(f"{path}: bad NB101 cell at row {row}: {error}") from None


def _json_cell(sample: pd.DataFrame, row: int, column: str, path: Path) -> object:
    text = sample[column].iloc[row]
    try:
        return json.loads(text)
    except (TypeError, json.JSONDecodeError) as error:
        raise ZcnasError(f"{path}: column {column!r} at row {row} is {text!r}, not valid JSON ({error})") from None
