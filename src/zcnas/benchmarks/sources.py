"""Where each benchmark's ground truth may come from, and finding the first available copy.

Each space has sources in order of preference: the tidy table first (small, no extra
package), then the official files. Every file is looked for in the raw-data directory,
then in the mirror (`$ZCNAS_MIRROR`), then downloaded where an official URL exists.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from ..data.loading import DEFAULT_DATA_DIR
from ..errors import ZcnasError, choice_error
from ..resources import MIRROR_ENV, Resource, locate
from ..spaces import get_space
from .nb101_official import read_nb101_tfrecord
from .nb201_official import read_nats_tss, read_nb201_pth
from .packages import NAS_201_API, NASBENCH, NATS_BENCH, OptionalPackage
from .tidy import read_nb101_sample, read_nb201_table

AUTO = "auto"
NB201_PTH = "NAS-Bench-201-v1_1-096897.pth"
NATS_TSS = "NATS-tss-v1_0-3ffb9-simple"
NB101_TFRECORD = "nasbench_only108.tfrecord"

_NB201_HELP = (
    "The official NB201 files are on Google Drive (no direct URL): get {file} via "
    "https://github.com/D-X-Y/NAS-Bench-201 or https://github.com/D-X-Y/NATS-Bench"
)


@dataclass(frozen=True)
class BenchmarkSource:
    name: str
    resource: Resource
    read: Callable[[Path], pd.DataFrame]
    package: OptionalPackage | None = None  # needed by `read`; checked before a download


def _official(filename: str, folder: str, **resource: str) -> Resource:
    """An official file: in the raw directory or under its space's folder there, at the mirror root or under it."""
    return Resource(
        filename=filename,
        alternatives=(f"{folder}/{filename}",),
        mirror_paths=(filename, f"{folder}/{filename}"),
        **resource,
    )


SOURCES: dict[str, tuple[BenchmarkSource, ...]] = {
    "nb201": (
        BenchmarkSource(
            "table",
            Resource(
                name="NB201 accuracy table",
                filename="nb201/accuracy.csv",
                alternatives=("nb201/accuracy.parquet",),
                mirror_paths=("nb201/accuracy.csv", "nb201/accuracy.parquet"),
                how_to_obtain=(
                    "The accuracy table (index, arch, cifar10_val, cifar10_test, cifar100_val, cifar100_test, "
                    f"imagenet16_val, imagenet16_test) comes with the project's shared data: set {MIRROR_ENV} to it."
                ),
            ),
            read_nb201_table,
        ),
        BenchmarkSource(
            "pth",
            _official(NB201_PTH, "nb201", name="NAS-Bench-201 file", how_to_obtain=_NB201_HELP.format(file=NB201_PTH)),
            read_nb201_pth,
            NAS_201_API,
        ),
        BenchmarkSource(
            "nats",
            _official(
                NATS_TSS,
                "nb201",
                name="NATS-Bench topology files",
                how_to_obtain=_NB201_HELP.format(file=f"{NATS_TSS}.tar (extract it)"),
            ),
            read_nats_tss,
            NATS_BENCH,
        ),
    ),
    "nb101": (
        BenchmarkSource(
            "sample",
            Resource(
                name="NB101 sample table",
                filename="nb101/sample.csv",
                mirror_paths=("nb101/sample.csv",),
                how_to_obtain=(
                    "The sample table (matrix, ops, cifar10_val, params_m, flops_m) comes with the project's shared "
                    f"data: set {MIRROR_ENV} to it."
                ),
            ),
            read_nb101_sample,
        ),
        BenchmarkSource(
            "tfrecord",
            _official(
                NB101_TFRECORD,
                "nb101",
                name="NAS-Bench-101 file",
                url=f"https://storage.googleapis.com/nasbench/{NB101_TFRECORD}",
                how_to_obtain=(
                    f"Download {NB101_TFRECORD} from https://storage.googleapis.com/nasbench/{NB101_TFRECORD} "
                    "(see https://github.com/google-research/nasbench)."
                ),
            ),
            read_nb101_tfrecord,
            NASBENCH,
        ),
    ),
}


def source_names(space: str) -> tuple[str, ...]:
    get_space(space)
    return (AUTO, *[source.name for source in SOURCES[space]])


def find_benchmark(
    space: str, source: str = AUTO, raw_dir: Path | str = DEFAULT_DATA_DIR, download: bool = True
) -> tuple[BenchmarkSource, Path]:
    """The chosen source (`auto`: the first available) and its file; downloads only when none is found anywhere."""
    names = source_names(space)
    if source not in names:
        raise choice_error(f"{space} ground-truth source", source, names)
    candidates = [s for s in SOURCES[space] if source in (AUTO, s.name)]
    failures = {}
    for candidate in candidates:
        try:
            return candidate, locate(candidate.resource, raw_dir, download=False)
        except ZcnasError as error:
            failures[candidate.name] = str(error)
    for candidate in candidates:
        if not (download and candidate.resource.url):
            continue
        # A download is large; fetching a file that cannot be read helps no one.
        if candidate.package is not None and not candidate.package.available():
            failures[candidate.name] += (
                f"\nNot downloaded: reading it needs a package. Install it with: {candidate.package.install}"
            )
            continue
        try:
            return candidate, locate(candidate.resource, raw_dir, download=True)
        except ZcnasError as error:
            failures[candidate.name] = str(error)  # now also says why the download failed
    order = ", ".join(c.name for c in candidates)
    raise ZcnasError(
        f"no {space} ground truth found (source {source!r} tries: {order}).\n\n" + "\n\n".join(failures.values())
    )
