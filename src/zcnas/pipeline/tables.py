"""Where the pipeline's stages put their tables, so that readers need not import the writers."""

from pathlib import Path


def score_table_path(out_dir: Path, space: str, dataset: str, replicate: int | None = None) -> Path:
    """The table of one dataset (scores, or their timings in a timings directory); with
    `replicate` k, the one scored under weight seed k."""
    suffix = "" if replicate is None else f"-seed{replicate}"
    return Path(out_dir) / f"{space}-{dataset}{suffix}.parquet"
