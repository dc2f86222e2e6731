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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Hashable, Iterable, Sequence

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
    return score_seeds(job, arch, (job.seed,), warn_on_split)[0]


def score_seeds(job: ScoringJob, arch: Hashable, seeds: Sequence[int], warn_on_split: bool = True) -> list[dict]:
    """`score_one`'s row under each of `seeds` in place of `job.seed`, the same rows as scoring
    the seeds one by one. On the CPU the network is built once and, where the space can
    re-draw its weights exactly as a fresh build would (`SearchSpace.reinitialise`),
    re-initialised for each further seed (`seconds_build` is then that re-initialisation,
    0.006 s against a build's 0.023 s per NB201 cell in score_space on a 2-core AMD EPYC)."""
    device = resolve_device(job.device)
    key = job.space.key(arch)
    batch = job.batches.batch(key)
    rows, net = [], None
    with kernels.switched(job.speed_kernels):
        for seed in seeds:
            start = time.perf_counter()
            with seeded(derive_seed(seed, key)):
                # A fresh build draws its weights on the CPU, so only a CPU network is re-drawn in place.
                if net is None or device.type != "cpu" or not job.space.reinitialise(net):
                    net = kernels.accelerated(job.space.build(arch, num_classes=job.num_classes))
                    if device.type != "cpu":  # built on the CPU; `.to` walks every module even when nothing moves
                        net = net.to(device)
            synchronize(device)
            built = time.perf_counter()
            scores = score(net, batch, job.proxies, parts=job.batch_parts, warn_on_split=warn_on_split)
            row = {"arch": job.space.format(arch), **scores}
            row.update({f"seconds_{name}": seconds for name, seconds in scores.seconds.items()})
            row["seconds_build"] = built - start
            row["seconds_total"] = time.perf_counter() - start
            row["batch_parts"] = scores.parts
            rows.append(row)
    return rows


@contextmanager
def _scoring_process(shared: tuple[ScoringJob, tuple[int, ...]]):
    # Every process that scores, this one included, with the job's exact GPU kernels and thread count.
    exact_kernels()
    with torch_threads(shared[0].threads):
        yield shared


def _score_item(shared: tuple[ScoringJob, tuple[int, ...]], arch: Hashable) -> list[dict]:
    job, seeds = shared
    return score_seeds(job, arch, seeds, warn_on_split=False)


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
    return score_under_seeds(job, (job.seed,), archs, [out], workers, progress, journal_dir,
                             None if timings_out is None else [timings_out], executor)[0]


def score_under_seeds(
    job: ScoringJob,
    seeds: Sequence[int],
    archs: Iterable[Hashable],
    outs: Sequence[Path | str],
    workers: int = 1,
    progress: bool = True,
    journal_dir: Path | str | None = None,
    timings_outs: Sequence[Path | str] | None = None,
    executor: ExecutorSettings = LOCAL,
) -> list[pd.DataFrame]:
    """`score_architectures` under each weight seed of `seeds` (in place of `job.seed`) into
    the table of `outs` at the same position (and `timings_outs`), each table the same as
    scoring its seed alone; an architecture is one work item for all the seeds
    (`score_seeds`), and each table has its own journal. The tables, in `seeds`' order."""
    check_positive_integer("workers", workers)
    seeds = tuple(seeds)
    if not seeds or len(set(seeds)) != len(seeds) or len(outs) != len(seeds):
        raise ZcnasError(f"need distinct seeds, one table for each: got seeds {list(seeds)} and {len(outs)} tables")
    outs = [check_table_path(out) for out in outs]
    if timings_outs is not None:
        if len(timings_outs) != len(seeds):
            raise ZcnasError(f"need a timings table for each of the {len(seeds)} seeds, got {len(timings_outs)}")
        timings_outs = [check_table_path(path) for path in timings_outs]
    archs = list(dict.fromkeys(archs))
    check_space_supports(job.space, job.proxies, job.num_classes, archs[:1])
    names = [job.space.format(arch) for arch in archs]
    groups = [f"seed {seed}" for seed in seeds]
    journals = {group: Path(journal_dir or out.parent) / f"{out.name}.journal.jsonl" for group, out in zip(groups, outs)}
    settings = {group: replace(job, seed=seed).settings() for group, seed in zip(groups, seeds)}
    desc = f"scoring {job.space.name}" + (f" under {len(seeds)} seeds" if len(seeds) > 1 else "")
    with ResumableJob(journals, settings, SCORING_CODE, row_keys=("arch", "seconds_total")) as resumable:
        resumable.run([(groups, name, arch) for arch, name in zip(archs, names)], _score_item, (job, seeds),
                      _scoring_process, lambda rows: zip(groups, rows), workers, executor,
                      desc=desc, unit="arch", progress=progress)
        tables = []
        for index, group in enumerate(groups):
            rows = resumable.rows(group)
            # An aggregate (AZ-NAS's ranks each row among the table's) is added over the whole table.
            table = with_aggregates(pd.DataFrame([rows[name] for name in names]))
            split = int((table["batch_parts"] > 1).sum()) if len(table) else 0
            if split:
                warnings.warn(f"{split} of {len(table)} architectures were measured with the batch split "
                              f"(column batch_parts): {SPLIT_EFFECT}", RuntimeWarning)
            timing_columns = [column for column in table if column.startswith("seconds_")]
            if timings_outs is not None:
                write_table(table[["arch", *timing_columns]], timings_outs[index])
            write_table(table.drop(columns=timing_columns) if timings_outs is not None else table, outs[index])
            tables.append(table)
    return tables


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
