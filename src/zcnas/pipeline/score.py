"""The score stages: the paper's proxies on a sample, the search proxy on the whole space."""

from pathlib import Path

import pandas as pd

from ..benchmarks import read_ground_truth
from ..data import dataset_info, load_minibatch
from ..device import resolve_device
from ..errors import ZcnasError
from ..scoring import ScoringJob, score_architectures
from ..spaces import get_space
from ..tracking import StageRun
from .params import Params
from .sampling import sample_archs
from .stage import worker_count


def score_table_path(out_dir: Path, space: str, dataset: str) -> Path:
    return Path(out_dir) / f"{space}-{dataset}.parquet"


def score_stage(params: Params, ground_truth_dir: Path, data_dir: Path, out_dir: Path, run: StageRun,
                proxies: list[str], sample: int | str, datasets: list[str], purpose: str,
                journal_dir: Path | None = None) -> dict[str, pd.DataFrame]:
    """Score `sample` architectures of each dataset's ground truth with `proxies`.

    Everything that can fail on bad input (sample size, missing data) is checked for
    every dataset before the first architecture is scored. Journals go to
    `journal_dir`, outside the stage's outputs, so a killed stage resumes.
    """
    space = get_space(params.score.space)
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
    batches = {dataset: load_minibatch(dataset, params.score.dataload, params.score.batch_size, params.seed, data_dir)
               for dataset in datasets}
    device = resolve_device(params.device)
    workers = worker_count(params, device.type)
    tables = {}
    for dataset, archs in plans.items():
        inputs, targets = batches[dataset]
        job = ScoringJob(space, tuple(proxies), inputs, targets, dataset_info(dataset).num_classes, params.seed,
                         params.device)
        table = score_architectures(job, [space.parse(a) for a in archs], score_table_path(out_dir, space.name, dataset),
                                    workers=workers, threads_per_worker=1 if workers > 1 else None,
                                    journal_dir=journal_dir)
        run.log_metrics({dataset: {"architectures": len(table), **{
            f"seconds_per_arch.{name}": table[f"seconds_{name}"].median() for name in proxies}}})
        tables[dataset] = table
    run.set_tags({"zcnas.workers": workers, "zcnas.device_used": device})
    return tables
