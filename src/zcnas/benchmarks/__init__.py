"""Ground-truth benchmark tables: one row per (architecture, dataset) with its accuracies.

`fetch_ground_truth` finds a benchmark (tidy table or official file), converts and
validates it and writes Parquet; `read_ground_truth` reads one back, validated;
`accuracy_by_arch` / `lookup_accuracy` query it; `write_synthetic_nb201` makes a stand-in.
"""

from .fetch import DEFAULT_OUT_DIR, default_output, fetch_ground_truth
from .nb101_official import convert_nb101_api, read_nb101_tfrecord
from .nb201_official import convert_nb201_api, read_nats_tss, read_nb201_pth
from .query import accuracy_by_arch, lookup_accuracy
from .schema import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, SPACE_DATASETS, validate_ground_truth
from .sources import SOURCES, find_benchmark, source_names
from .store import read_ground_truth, write_ground_truth
from .synthetic import synthetic_nb201, write_synthetic_nb201
from .tidy import read_nb101_sample, read_nb201_table

__all__ = [
    "DEFAULT_OUT_DIR",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "SOURCES",
    "SPACE_DATASETS",
    "accuracy_by_arch",
    "convert_nb101_api",
    "convert_nb201_api",
    "default_output",
    "fetch_ground_truth",
    "find_benchmark",
    "lookup_accuracy",
    "read_ground_truth",
    "read_nats_tss",
    "read_nb101_sample",
    "read_nb101_tfrecord",
    "read_nb201_pth",
    "read_nb201_table",
    "source_names",
    "synthetic_nb201",
    "validate_ground_truth",
    "write_ground_truth",
    "write_synthetic_nb201",
]
