"""One space's ground-truth table fetched, validated and written, as both fetch stages do it."""

from pathlib import Path

from ..benchmarks import fetch_ground_truth
from ..tracking import StageRun


def fetch_table(space: str, source: str, raw_dir: Path, out_dir: Path, run: StageRun) -> None:
    table = fetch_ground_truth(space, source, raw_dir, out=Path(out_dir) / f"{space}.parquet")
    run.log_metrics({space: {"rows": len(table), "architectures": table["arch"].nunique()}})
    run.set_tags({f"zcnas.{space}_datasets": ",".join(sorted(table["dataset"].unique()))})
