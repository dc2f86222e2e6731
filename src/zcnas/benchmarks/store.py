"""Writing and reading a validated ground-truth table (Parquet)."""

from pathlib import Path

import pandas as pd

from ..errors import ZcnasError
from ..files import write_table
from .schema import REQUIRED_COLUMNS, validate_ground_truth
from .tidy import read_source_table


def write_ground_truth(table: pd.DataFrame, path: Path | str) -> None:
    """Write `table` (already validated) to a .parquet file, atomically."""
    check_output_path(path)
    write_table(table, path)


def check_output_path(path: Path | str) -> None:
    # Parquet keeps the column types; checked early so a long fetch does not end in this error.
    if Path(path).suffix != ".parquet":
        raise ZcnasError(f"ground-truth output {str(path)!r} must be a .parquet file")


def read_ground_truth(path: Path | str, space: str | None = None) -> pd.DataFrame:
    """A ground-truth table (.parquet, or .csv) read and validated; `space` defaults to its `space` column."""
    path = Path(path)
    if not path.exists():
        raise ZcnasError(f"ground-truth table {path} not found; create it with fetch_ground_truth (the fetch stage)")
    table = read_source_table(path, REQUIRED_COLUMNS)
    if space is None:
        spaces = table["space"].dropna().unique()
        if len(spaces) != 1:
            raise ZcnasError(f"{path}: column 'space' holds {list(spaces)}; expected a single search space")
        space = str(spaces[0])
    return validate_ground_truth(table, space, path)
