"""Scoring many architectures: seeded per architecture, resumable, optionally in parallel.

Each architecture's weights come from a seed derived from (global seed, architecture
key), and every architecture is scored on the same minibatch, so a score does not
depend on the order, the process or the worker that computed it.
"""

import hashlib
import multiprocessing
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Hashable, Iterable

import pandas as pd
import torch
from tqdm.auto import tqdm

from .device import resolve_device
from .errors import ZcnasError
from .files import write_table
from .journal import Journal
from .proxies import resolve_proxies, score
from .seeding import derive_seed, seeded
from .spaces import SearchSpace


@dataclass(frozen=True)
class ScoringJob:
    """Everything that determines the scores, apart from the architectures."""

    space: SearchSpace
    proxies: tuple[str, ...]
    inputs: torch.Tensor
    targets: torch.Tensor
    num_classes: int
    seed: int
    device: str = "auto"

    def settings(self) -> dict:
        """What a journal must match to be resumed (the batch is identified by its content)."""
        return {
            "space": self.space.name,
            "proxies": list(self.proxies),
            "num_classes": self.num_classes,
            "seed": self.seed,
            "batch_sha": _tensor_digest(self.inputs, self.targets),
        }


def _tensor_digest(*tensors: torch.Tensor) -> str:
    digest = hashlib.sha256()
    for tensor in tensors:
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def score_one(job: ScoringJob, arch: Hashable) -> dict:
    """One table row: arch, one column per proxy, `seconds_<proxy>`, build and total seconds."""
    start = time.perf_counter()
    with seeded(derive_seed(job.seed, job.space.key(arch))):
        net = job.space.build(arch, num_classes=job.num_classes)
    net = net.to(resolve_device(job.device))
    built = time.perf_counter()
    scores = score(net, (job.inputs, job.targets), job.proxies)
    row = {"arch": job.space.format(arch), **scores}
    row.update({f"seconds_{name}": seconds for name, seconds in scores.seconds.items()})
    row["seconds_build"] = built - start
    row["seconds_total"] = time.perf_counter() - start
    return row


_worker_job: ScoringJob | None = None


def _start_worker(job: ScoringJob, threads: int) -> None:
    global _worker_job
    torch.set_num_threads(threads)
    _worker_job = job


def _score_in_worker(arch: Hashable) -> dict:
    return score_one(_worker_job, arch)


def score_architectures(
    job: ScoringJob,
    archs: Iterable[Hashable],
    out: Path | str,
    workers: int = 1,
    threads_per_worker: int | None = None,
    progress: bool = True,
    journal_dir: Path | str | None = None,
) -> pd.DataFrame:
    """Score `archs` into the table `out` (Parquet or CSV), resuming a killed run.

    Finished rows go to `<out>.journal.jsonl` (in `journal_dir` if given: DVC deletes a
    stage's outputs before rerunning it) as they complete; a rerun with the same
    job skips them. The table, written atomically at the end, has exactly one row per
    architecture, in the order given.
    """
    resolve_proxies(job.proxies)  # fail on a bad name before any work
    out = Path(out)
    archs = list(dict.fromkeys(archs))
    names = [job.space.format(arch) for arch in archs]
    journal = Journal(Path(journal_dir or out.parent) / f"{out.name}.journal.jsonl", job.settings())
    done = {row["arch"] for row in journal.rows}
    todo = [arch for arch, name in zip(archs, names) if name not in done]
    try:
        with tqdm(total=len(archs), initial=len(archs) - len(todo), desc=f"scoring {job.space.name}",
                  unit="arch", disable=not progress) as bar:
            for row in _run(job, todo, workers, threads_per_worker):
                journal.append(row)
                bar.update()
    finally:
        journal.close()
    rows = {row["arch"]: row for row in reversed(journal.rows)}  # first occurrence wins
    table = pd.DataFrame([rows[name] for name in names])
    write_table(table, out)
    journal.remove()
    return table


def _run(job: ScoringJob, archs: list, workers: int, threads_per_worker: int | None):
    if workers < 1:
        raise ZcnasError(f"workers must be >= 1, got {workers}")
    if workers == 1 or len(archs) <= 1:
        if threads_per_worker:
            torch.set_num_threads(threads_per_worker)
        for arch in archs:
            yield score_one(job, arch)
        return
    if resolve_device(job.device).type == "cuda":
        warnings.warn("several workers on one GPU contend for it; consider workers=1", RuntimeWarning)
    threads = threads_per_worker or max(1, torch.get_num_threads() // workers)
    # spawn, not fork: forking after torch has started its thread pools can deadlock.
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_start_worker, initargs=(job, threads)) as pool:
        yield from pool.imap_unordered(_score_in_worker, archs, chunksize=1)
