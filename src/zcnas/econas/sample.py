"""Training a sample of NB201 architectures under several reduced-training configs:
resumable per (config, architecture), optionally in parallel processes.

Work runs architecture by architecture, each under every config in turn, so an early
stop leaves all configs with results for the same architectures and the progress bar's
rate (and so its ETA) is steady from the start. Each config keeps its own journal
(`<out>.<config>.journal.jsonl`): changing one config retrains only that config.
"""

import multiprocessing
import os
import warnings
from pathlib import Path
from typing import Hashable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ..data import DEFAULT_DATA_DIR, load_split
from ..device import resolve_device
from ..errors import ZcnasError
from ..files import write_table
from ..journal import Journal
from . import training
from .config import TrainingConfig, configs_from_params
from .data import TrainingData, data_digest, prepare_data

COLUMNS = ["config", "arch", "epoch", "val_acc", "train_loss", "minibatches", "images", "seconds", "flops"]
# Wall-clock seconds are a measurement of the machine, not a result (see `train_sample`).
TIMING_COLUMNS = ["config", "arch", "epoch", "seconds"]
DEFAULT_VAL_FRACTION = 0.1

Configs = Sequence[TrainingConfig] | Mapping[str, Mapping | None]


def train_sample(
    configs: Configs,
    archs: Iterable[Hashable | str],
    dataset: str,
    data_dir: Path | str = DEFAULT_DATA_DIR,
    seed: int = 42,
    device: str = "auto",
    out: Path | str = "econas.parquet",
    workers: int | None = None,
    threads_per_worker: int = 1,
    val_fraction: float = DEFAULT_VAL_FRACTION,
    progress: bool = True,
    download: bool = True,
    timings_out: Path | str | None = None,
) -> pd.DataFrame:
    """Train every arch under every config on `dataset`'s training split (validation held
    out from it) and write the per-epoch table `out` (.parquet or .csv) atomically.
    With `timings_out`, the measured `seconds` go to that table (config, arch, epoch,
    seconds) instead, so that `out` is the same bit for bit on every rerun.

    `workers` None: one process per CPU core (see `default_workers`). Results are
    bit-identical whatever the workers, order or resumption, for a given
    `threads_per_worker` (threads change the order of float sums) and device.
    """
    configs = _as_configs(configs, dataset)
    images, labels = load_split(dataset, "train", data_dir, download)
    return train_archs(configs, archs, images, labels, dataset, seed, device, out, workers, threads_per_worker,
                       val_fraction, progress, timings_out)


def default_workers(device: torch.device) -> int:
    """One process per CPU core on the CPU, one process on a GPU.

    Measured on a shared 2-core machine (images/s, 2 single-thread processes vs 1 process
    with 2 threads): while other jobs held a core, r8c4 1198 vs 144, r16c8 140 vs 50,
    r32c16 27 vs 16 (intra-op threads of these small networks stall at every sync); when
    it was quiet, r8c4 2744 vs 2395, r16c8 681 vs 717, r32c16 95 vs 118. Processes risk
    losing ~20% and may gain 3-10x.
    """
    if device.type == "cuda":
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def train_archs(
    configs: Configs,
    archs: Iterable[Hashable | str],
    images: np.ndarray,
    labels: np.ndarray,
    dataset: str,
    seed: int,
    device: str,
    out: Path | str,
    workers: int | None = None,
    threads_per_worker: int = 1,
    val_fraction: float = DEFAULT_VAL_FRACTION,
    progress: bool = True,
    timings_out: Path | str | None = None,
) -> pd.DataFrame:
    """`train_sample` on training images given in memory (uint8 N×H×W×3, int64 labels).

    The table has one row per (config, arch, epoch), configs and archs in the order given.
    """
    configs = _as_configs(configs, dataset)
    torch_device = resolve_device(device)
    workers = default_workers(torch_device) if workers is None else workers
    for name, value in (("workers", workers), ("threads_per_worker", threads_per_worker)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ZcnasError(f"{name} must be a positive integer, got {value!r}")
    archs = list(dict.fromkeys(_parse(arch) for arch in archs))
    names = [training.SPACE.format(arch) for arch in archs]
    # Prepared before any journal is opened, so bad settings fail without leaving files behind.
    data = {config.name: prepare_data(images, labels, dataset, config, seed, val_fraction)[0] for config in configs}
    out = Path(out)
    digest = data_digest(images, labels)
    journals = {
        config.name: Journal(
            out.with_name(f"{out.name}.{config.name}.journal.jsonl"),
            {"config": config.fields(), "dataset": dataset, "seed": seed, "val_fraction": val_fraction, "data": digest},
        )
        for config in configs
    }
    try:
        done = {(name, row["arch"]) for name, journal in journals.items() for row in journal.rows}
        todo = [(config.name, arch) for arch in archs for config in configs
                if (config.name, training.SPACE.format(arch)) not in done]
        total = len(archs) * len(configs)
        with tqdm(total=total, initial=total - len(todo), desc="reduced training", unit="net",
                  disable=not progress) as bar:
            for config_name, arch_name, rows in _run(configs, data, todo, seed, torch_device, workers,
                                                     threads_per_worker, progress):
                journals[config_name].append({"arch": arch_name, "rows": rows})
                bar.set_postfix(last=config_name)
                bar.update()
    finally:
        for journal in journals.values():
            journal.close()
    rows = []
    for config in configs:
        trained = {record["arch"]: record["rows"] for record in journals[config.name].rows}
        rows.extend(row for name in names for row in trained[name])
    table = pd.DataFrame(rows, columns=COLUMNS)
    if timings_out is not None:
        write_table(table[TIMING_COLUMNS], timings_out)
    write_table(table.drop(columns="seconds") if timings_out is not None else table, out)
    for journal in journals.values():
        journal.remove()
    return table


def _as_configs(configs: Configs, dataset: str) -> list[TrainingConfig]:
    if isinstance(configs, Mapping):
        return configs_from_params(configs, dataset)
    configs = list(configs)
    if not configs:
        raise ZcnasError("no reduced-training configs given")
    for config in configs:
        config.check_dataset(dataset)
    names = [config.name for config in configs]
    if len(set(names)) != len(names):
        raise ZcnasError(f"reduced-training config names must be unique, got {names}")
    return configs


def _parse(arch: Hashable | str) -> Hashable:
    return training.SPACE.parse(arch) if isinstance(arch, str) else arch


def _train_unit(configs: dict[str, TrainingConfig], data: dict[str, TrainingData], seed: int, config_name: str,
                arch: Hashable, progress: bool, position: int | None) -> tuple[str, str, list[dict]]:
    rows = training.train_arch(configs[config_name], arch, data[config_name], seed, progress, position)
    return config_name, training.SPACE.format(arch), rows


def _run(configs: list[TrainingConfig], data: dict[str, TrainingData], todo: list, seed: int,
         device: torch.device, workers: int, threads_per_worker: int, progress: bool):
    by_name = {config.name: config for config in configs}
    if workers == 1 or len(todo) <= 1:
        on_device = {name: part.to(device) for name, part in data.items()}
        caller_threads = torch.get_num_threads()
        torch.set_num_threads(threads_per_worker)
        try:
            for config_name, arch in todo:
                yield _train_unit(by_name, on_device, seed, config_name, arch, progress, None)
        finally:
            torch.set_num_threads(caller_threads)
        return
    if device.type == "cuda":
        warnings.warn("several workers on one GPU contend for it; consider workers=1", RuntimeWarning)
    # spawn, not fork: forking after torch has started its thread pools can deadlock.
    context = multiprocessing.get_context("spawn")
    shared = {name: part.share_memory() for name, part in data.items()}
    with context.Pool(workers, initializer=_start_worker,
                      initargs=(by_name, shared, seed, str(device), threads_per_worker, progress, context.RLock())
                      ) as pool:
        yield from pool.imap_unordered(_train_in_worker, todo, chunksize=1)


_worker: dict = {}


def _start_worker(configs, data, seed: int, device: str, threads: int, progress: bool, bar_lock) -> None:
    torch.set_num_threads(threads)
    # One lock for all workers' bars, owned by the parent: bars take turns at the terminal, and
    # no worker leaves a lock of its own behind when the pool is terminated.
    tqdm.set_lock(bar_lock)
    target = torch.device(device)
    # Pool workers are numbered from 1, and line 0 is the outer bar: one line per worker's epoch bar.
    position = multiprocessing.current_process()._identity[0]
    _worker.update(configs=configs, data={name: part.to(target) for name, part in data.items()}, seed=seed,
                   progress=progress, position=position)


def _train_in_worker(task: tuple[str, Hashable]) -> tuple[str, str, list[dict]]:
    config_name, arch = task
    return _train_unit(_worker["configs"], _worker["data"], _worker["seed"], config_name, arch,
                       _worker["progress"], _worker["position"])
