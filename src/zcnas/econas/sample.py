"""Training a sample of NB201 architectures under several reduced-training configs:
resumable per (config, architecture), optionally in parallel processes.

Work runs architecture by architecture, each under every config in turn, so an early
stop leaves all configs with results for the same architectures and the progress bar's
rate (and so its ETA) is steady from the start. Each config keeps its own journal
(`<out>.<config>.journal.jsonl`): changing one config retrains only that config.
"""

from contextlib import contextmanager
from pathlib import Path
from typing import Hashable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from .. import kernels
from ..data import DEFAULT_DATA_DIR, load_split
from ..device import exact_kernels, resolve_device
from ..errors import ZcnasError, check_positive_integer
from ..execution import LOCAL, ExecutorSettings, default_workers, torch_threads, worker_position
from ..files import write_table
from ..resumable import ResumableJob
from . import training
from .config import TrainingConfig, configs_from_params
from .data import data_digest, prepare_data

# The code a trained row depends on: a change to any of it makes a journal stale.
TRAINING_CODE = ("econas", "spaces", "kernels", "data", "seeding.py", "device.py")
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
    executor: ExecutorSettings = LOCAL,
) -> pd.DataFrame:
    """Train every arch under every config on `dataset`'s training split (validation held
    out from it) and write the per-epoch table `out` (.parquet or .csv) atomically.
    With `timings_out`, the measured `seconds` go to that table (config, arch, epoch,
    seconds) instead, so that `out` is the same bit for bit on every rerun.

    `workers` None: one process per CPU core (see `zcnas.execution.default_workers`).
    Results are bit-identical whatever the workers, backend (`executor`), order or
    resumption, for a given `threads_per_worker` (threads change the order of float
    sums), device and speed-kernel switch (`zcnas.kernels`, the driver's in every worker).
    """
    configs = _as_configs(configs, dataset)
    images, labels = load_split(dataset, "train", data_dir, download)
    return train_archs(configs, archs, images, labels, dataset, seed, device, out, workers, threads_per_worker,
                       val_fraction, progress, timings_out, executor)


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
    executor: ExecutorSettings = LOCAL,
) -> pd.DataFrame:
    """`train_sample` on training images given in memory (uint8 N×H×W×3, int64 labels).

    The table has one row per (config, arch, epoch), configs and archs in the order given.
    """
    configs = _as_configs(configs, dataset)
    torch_device = resolve_device(device)
    workers = default_workers(torch_device.type) if workers is None else workers
    check_positive_integer("workers", workers)
    check_positive_integer("threads_per_worker", threads_per_worker)
    speed_kernels = kernels.enabled()
    archs = list(dict.fromkeys(_parse(arch) for arch in archs))
    names = [training.SPACE.format(arch) for arch in archs]
    # Prepared before any journal is opened, so bad settings fail without leaving files behind.
    data = {config.name: prepare_data(images, labels, dataset, config, seed, val_fraction)[0] for config in configs}
    out = Path(out)
    digest = data_digest(images, labels)
    journals = {config.name: out.with_name(f"{out.name}.{config.name}.journal.jsonl") for config in configs}
    settings = {config.name: {"config": config.fields(), "dataset": dataset, "seed": seed, "val_fraction": val_fraction,
                              "data": digest, "device_type": torch_device.type,
                              "threads": threads_per_worker, "speed_kernels": speed_kernels}
                for config in configs}
    with ResumableJob(journals, settings, TRAINING_CODE, row_keys=("arch", "rows")) as resumable:
        tasks = [((config.name,), training.SPACE.format(arch), (config.name, arch)) for arch in archs for config in configs]
        # Epoch bars of their own where a worker has a line for them: not from Ray's workers.
        shared = ({config.name: config for config in configs}, data, seed, str(torch_device), threads_per_worker,
                  speed_kernels, progress and executor.backend == "local")
        resumable.run(tasks, _train_item, shared, _training_process,
                      lambda result: [(result[0], {"arch": result[1], "rows": result[2]})], workers, executor,
                      desc="reduced training", unit="net", progress=progress)
        rows = []
        for config in configs:
            trained = {name: record["rows"] for name, record in resumable.rows(config.name).items()}
            rows.extend(row for name in names for row in trained[name])
        table = pd.DataFrame(rows, columns=COLUMNS)
        if timings_out is not None:
            write_table(table[TIMING_COLUMNS], timings_out)
        write_table(table.drop(columns="seconds") if timings_out is not None else table, out)
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


@contextmanager
def _training_process(shared: tuple):
    # Every process that trains, this one included: exact GPU kernels (on an H200, PyTorch's
    # default cuDNN choices gave two runs of one cell different weights after three steps),
    # the job's thread count and speed-kernel switch, the data on the device.
    configs, data, seed, device, threads, speed_kernels, progress = shared
    exact_kernels()
    with torch_threads(threads), kernels.switched(speed_kernels):
        yield {"configs": configs, "data": {name: part.to(torch.device(device)) for name, part in data.items()},
               "seed": seed, "progress": progress, "position": worker_position()}


def _train_item(state: dict, task: tuple[str, Hashable]) -> tuple[str, str, list[dict]]:
    config_name, arch = task
    rows = training.train_arch(state["configs"][config_name], arch, state["data"][config_name], state["seed"],
                               state["progress"], state["position"])
    return config_name, training.SPACE.format(arch), rows
