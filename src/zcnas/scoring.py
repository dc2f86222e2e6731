"""Scoring many architectures: seeded per architecture, resumable, optionally in parallel.

Each architecture's weights come from a seed derived from (global seed, architecture
key), its minibatch is the shared one or one seeded by the same identity, and every
worker runs the same number of torch threads with the driver's speed-kernel switch
(`zcnas.kernels`), so a score does not depend on the order, the process or the number
of workers that computed it.
"""

import random
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Hashable, Iterable

import pandas as pd

from . import kernels
from .data import Minibatches
from .device import exact_kernels, resolve_device, synchronize
from .errors import ZcnasError, check_positive_integer
from .execution import LOCAL, ExecutorSettings, torch_threads
from .files import check_table_path, write_table
from .proxies import check_supported, resolve_proxies, score, with_aggregates
from .proxies.engine import SPLIT_EFFECT
from .resumable import ResumableJob
from .seeding import derive_seed, seeded
from .spaces import SearchSpace

# The code a score row depends on: a change to any of it makes a journal stale.
SCORING_CODE = ("proxies", "spaces", "kernels", "data", "seeding.py", "device.py", "scoring.py")
SCORES = "scores"  # the job's one journal group


@dataclass(frozen=True)
class ScoringJob:
    """Everything that determines the scores, apart from the architectures.

    `threads` is torch's intra-op thread count in every worker: a float sum split over
    a different number of threads rounds differently, so it is part of the result's
    identity (and fixed whatever the number of workers). `batch_parts` is the number of
    parts the batch is measured in (see `zcnas.proxies.engine.SPLIT_EFFECT`). `speed_kernels`:
    whether the speed kernels run (`zcnas.kernels`; by default the process's switch), which
    changes float rounding.
    """

    space: SearchSpace
    proxies: tuple[str, ...]
    batches: Minibatches
    num_classes: int
    seed: int
    device: str = "auto"
    threads: int = 1
    batch_parts: int = 1
    speed_kernels: bool = field(default_factory=kernels.enabled)

    def __post_init__(self):
        for name in ("threads", "batch_parts"):
            check_positive_integer(name, getattr(self, name))

    def settings(self) -> dict:
        """What a journal must match to be resumed: everything that determines a row, but the
        code (`SCORING_CODE`) and torch's version, which `ResumableJob` adds."""
        return {
            "space": self.space.name,
            "proxies": list(self.proxies),
            "num_classes": self.num_classes,
            "seed": self.seed,
            "minibatch": self.batches.convention,
            "batch_sha": self.batches.digest(),
            "device_type": resolve_device(self.device).type,
            "threads": self.threads,
            "batch_parts": self.batch_parts,
            "speed_kernels": self.speed_kernels,
        }


def score_one(job: ScoringJob, arch: Hashable, warn_on_split: bool = True) -> dict:
    """One table row: arch, one column per proxy, `seconds_<proxy>`, build and total seconds,
    and `batch_parts`, the parts the batch was measured in."""
    device = resolve_device(job.device)
    key = job.space.key(arch)
    start = time.perf_counter()
    with kernels.switched(job.speed_kernels):
        with seeded(derive_seed(job.seed, key)):
            net = job.space.build(arch, num_classes=job.num_classes)
        net = kernels.accelerated(net).to(device)
        synchronize(device)
        built = time.perf_counter()
        scores = score(net, job.batches.batch(key), job.proxies, parts=job.batch_parts,
                       warn_on_split=warn_on_split)
    row = {"arch": job.space.format(arch), **scores}
    row.update({f"seconds_{name}": seconds for name, seconds in scores.seconds.items()})
    row["seconds_build"] = built - start
    row["seconds_total"] = time.perf_counter() - start
    row["batch_parts"] = scores.parts
    return row


@contextmanager
def _scoring_process(job: ScoringJob):
    # Every process that scores, this one included, with the job's exact GPU kernels and thread count.
    exact_kernels()
    with torch_threads(job.threads):
        yield job


def _score_item(job: ScoringJob, arch: Hashable) -> dict:
    return score_one(job, arch, warn_on_split=False)


def score_architectures(
    job: ScoringJob,
    archs: Iterable[Hashable],
    out: Path | str,
    workers: int = 1,
    progress: bool = True,
    journal_dir: Path | str | None = None,
    timings_out: Path | str | None = None,
    executor: ExecutorSettings = LOCAL,
) -> pd.DataFrame:
    """Score `archs` into the table `out` (Parquet or CSV), resuming a killed run.

    Finished rows go to `<out>.journal.jsonl` (in `journal_dir` if given: DVC deletes a
    stage's outputs before rerunning it) as they complete; a rerun with the same
    job skips them. The table, written atomically at the end, has exactly one row per
    architecture, in the order given. `workers` processes of `job.threads` torch
    threads each score in parallel (or Ray actors, with a `ray` executor); the table
    depends neither on their number nor on the backend.

    A table holding every member of a registered aggregate (e.g. the four AZ-NAS
    components) also gets its set-level column, computed over its rows
    (`zcnas.proxies.registry.with_aggregates`).

    Seconds are measurements of the machine, not results: with `timings_out` the
    `seconds_*` columns go to that table (with `arch`) instead of `out`, so that `out`
    is the same bit for bit on every rerun. The returned table has them all.
    """
    check_positive_integer("workers", workers)
    out = check_table_path(out)
    if timings_out is not None:
        timings_out = check_table_path(timings_out)
    archs = list(dict.fromkeys(archs))
    check_space_supports(job.space, job.proxies, job.num_classes, archs[:1])
    names = [job.space.format(arch) for arch in archs]
    journal = Path(journal_dir or out.parent) / f"{out.name}.journal.jsonl"
    with ResumableJob({SCORES: journal}, {SCORES: job.settings()}, SCORING_CODE,
                      row_keys=("arch", "seconds_total")) as resumable:
        resumable.run([(SCORES, name, arch) for arch, name in zip(archs, names)], _score_item, job,
                      _scoring_process, lambda row: (SCORES, row), workers, executor,
                      desc=f"scoring {job.space.name}", unit="arch", progress=progress)
        rows = resumable.rows(SCORES)
        # An aggregate (AZ-NAS's ranks each row among the table's) is added over the whole table.
        table = with_aggregates(pd.DataFrame([rows[name] for name in names]))
        split = int((table["batch_parts"] > 1).sum()) if len(table) else 0
        if split:
            warnings.warn(f"{split} of {len(table)} architectures were measured with the batch split "
                          f"(column batch_parts): {SPLIT_EFFECT}", RuntimeWarning)
        timing_columns = [column for column in table if column.startswith("seconds_")]
        if timings_out is not None:
            write_table(table[["arch", *timing_columns]], timings_out)
        write_table(table.drop(columns=timing_columns) if timings_out is not None else table, out)
    return table


def check_space_supports(space: SearchSpace, proxies: Iterable[str], num_classes: int, archs: list) -> None:
    """Before any work: ZcnasError for an unknown proxy or group, or for proxies the space's
    networks cannot serve (checked on the first of `archs`, or a sampled one)."""
    resolve_proxies(proxies)
    with seeded(0):
        arch = archs[0] if archs else space.sample(random.Random(0))
        net = space.build(arch, num_classes=num_classes)
    try:
        check_supported(net, proxies)
    except ZcnasError as exc:
        raise ZcnasError(f"space {space.name}: {exc}") from None
