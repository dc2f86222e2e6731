"""Turning a NAS benchmark into a validated ground-truth table on disk."""

from pathlib import Path

import pandas as pd

from ..data.loading import DEFAULT_DATA_DIR
from .sources import AUTO, find_benchmark
from .store import check_output_path, write_ground_truth

DEFAULT_OUT_DIR = Path("data/benchmarks")


def default_output(space: str) -> Path:
    return DEFAULT_OUT_DIR / f"{space}.parquet"


def fetch_ground_truth(
    space: str,
    source: str = AUTO,
    raw_dir: Path | str = DEFAULT_DATA_DIR,
    out: Path | str | None = None,
    download: bool = True,
) -> pd.DataFrame:
    """Find `space`'s benchmark, convert and validate it, and write it to `out` (a .parquet file).

    `out` defaults to data/benchmarks/<space>.parquet; `raw_dir` is where local copies are looked for first.
    """
    out = default_output(space) if out is None else Path(out)
    check_output_path(out)
    chosen, path = find_benchmark(space, source, raw_dir, download)
    table = chosen.read(path)
    write_ground_truth(table, out)
    return table
