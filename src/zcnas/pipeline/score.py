"""The score stages: the paper's proxies on a sample, the search proxy on the whole space."""

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..benchmarks import read_ground_truth
from ..data import dataset_info, load_minibatches
from ..device import resolve_device
from ..errors import ZcnasError
from ..scoring import ScoringJob, score_under_seeds
from ..seeding import derive_seed
from ..spaces import get_space
from ..tracking import StageRun
from .params import Params
from .sampling import sample_archs
from .stage import worker_count
from .tables import score_table_path


def weight_seed(global_seed: int, replicate: int) -> int:
    """The seed of replicate k's weights. Replicate 0 uses the global seed itself, so its
    networks (and so its scores, on the same minibatch) are the score stage's."""
    return global_seed if replicate == 0 else derive_seed(global_seed, "weights", replicate)


def score_stage(params: Params, ground_truth_dir: Path, data_dir: Path, out_dir: Path, run: StageRun,
                space: str, proxies: list[str], sample: int | str, datasets: list[str], purpose: str,
                minibatch: "MinibatchSettings | None",
                journal_dir: Path | None = None, replicates: int | None = None,
                timings_dir: Path | None = None) -> dict[Path, pd.DataFrame]:
    """Score `sample` architectures of each dataset's `space` ground truth with `proxies`; the tables, by path.

    With `timings_dir`, each table's seconds go to a table of the same name there, so
    that the score tables are the same bit for bit on every rerun.
    `minibatch`: the batch settings of proxies that read data; None where every proxy is data-free, which read only the input shape.
    `replicates` None: one table per dataset, weights from the global seed. k: k tables
    per dataset, the same architectures and minibatch under `weight_seed(seed, 0..k-1)`.
    Everything that can fail on bad input (sample size, missing data) is checked for
    every dataset before the first architecture is scored. Journals go to
    `journal_dir`, outside the stage's outputs, so a killed stage resumes.
    """
    if replicates is not None and (isinstance(replicates, bool) or not isinstance(replicates, int)
                                   or replicates < 1):
        raise ZcnasError(f"replicates must be None or an integer >= 1, got {replicates!r}")
    space = get_space(space)
    truth = read_ground_truth(Path(ground_truth_dir) / f"{space.name}.parquet")
    plans = {}
    for dataset in datasets:
        known = truth.loc[truth["dataset"] == dataset, "arch"]
        if known.empty:
            raise ZcnasError(f"the {space.name} ground truth has no rows for dataset {dataset!r}; "
                             f"it has: {', '.join(sorted(truth['dataset'].unique()))}")
        archs = sample_archs(known, sample, params.seed, f"{purpose}/{space.name}/{dataset}",
                             f"the {space.name} ground truth for {dataset}")
        plans[dataset] = archs
    batches = {dataset: _minibatches(dataset, minibatch, params.seed, data_dir) for dataset in datasets}
    device = resolve_device(params.device)
    workers = worker_count(params, device.type)
    executor = params.executor.settings()
    tables = {}
    for dataset, archs in plans.items():
        job = ScoringJob(space, tuple(proxies), batches[dataset], dataset_info(dataset).num_classes, params.seed,
                         params.device)
        # Each replicate's table has its own name, hence its own journal; a cell is scored under
        # every weight seed at once (one build, see zcnas.scoring.score_seeds).
        order = [None] if replicates is None else list(range(replicates))
        seeds = [params.seed if replicate is None else weight_seed(params.seed, replicate) for replicate in order]
        paths = [score_table_path(out_dir, space.name, dataset, replicate) for replicate in order]
        timings = None if timings_dir is None else [score_table_path(timings_dir, space.name, dataset, replicate)
                                                    for replicate in order]
        scored = score_under_seeds(job, seeds, [space.parse(a) for a in archs], paths, workers=workers,
                                   journal_dir=journal_dir, timings_outs=timings, executor=executor)
        for replicate, path, table in zip(order, paths, scored):
            timing = {f"seconds_per_arch.{name}": table[f"seconds_{name}"].median() for name in proxies}
            prefix = dataset if replicate is None else f"{dataset}.seed{replicate}"
            run.log_metrics({prefix: timing})
            run.log_params({f"{prefix}.architectures": len(table)})
            tables[path] = table
    run.set_tags({"zcnas.workers": workers, "zcnas.executor": executor.backend, "zcnas.device_used": device})
    return tables


@dataclass(frozen=True)
class MinibatchSettings:
    """How proxies that read data get their minibatch (params.score's keys of that name)."""

    batch_size: int
    dataload: str
    minibatch: str


def _minibatches(dataset: str, settings: MinibatchSettings | None, seed: int, data_dir: Path):
    if settings is None:  # one image, shared: a data-free proxy reads only its shape
        return load_minibatches(dataset, "random", 1, seed, "shared", data_dir)
    return load_minibatches(dataset, settings.dataload, settings.batch_size, seed, settings.minibatch, data_dir)
