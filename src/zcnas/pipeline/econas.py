"""The EcoNAS training stage: reduced training of a seeded subset of the scored
architectures under every configured setting, resumable per architecture."""

from pathlib import Path

import pandas as pd

from ..benchmarks import read_ground_truth
from ..device import resolve_device
from ..econas import train_sample
from ..tracking import StageRun
from .params import Params, training_configs
from .sampling import sample_archs
from .stage import worker_count


def econas_archs(params: Params, truth: pd.DataFrame) -> list[str]:
    """A seeded subset of the architectures the score stage scored (recomputed from the
    same seeds, so it does not depend on the score stage's output)."""
    space, dataset = params.score.space, params.econas.dataset
    known = truth.loc[truth["dataset"] == dataset, "arch"]
    what = f"the {space} ground truth for {dataset}"
    scored = sample_archs(known, params.score.sample, params.seed, f"score/{space}/{dataset}", what)
    return sample_archs(scored, params.econas.sample, params.seed, f"econas/{space}/{dataset}", "the score sample")


def econas_stage(params: Params, ground_truth_dir: Path, data_dir: Path, out: Path, run: StageRun,
                 timings_out: Path | None = None) -> pd.DataFrame:
    """Train, writing the curves to `out` and (with `timings_out`) their seconds apart."""
    truth = read_ground_truth(Path(ground_truth_dir) / f"{params.score.space}.parquet")
    device = resolve_device(params.device)
    table = train_sample(training_configs(params.econas.configs, params.econas.shortened), econas_archs(params, truth), params.econas.dataset, data_dir,
                         params.seed, params.device, out, workers=worker_count(params, device.type),
                         val_fraction=params.econas.val_fraction, timings_out=timings_out,
                         executor=params.executor.settings())
    final = table.loc[table.groupby(["config", "arch"])["epoch"].idxmax()]
    for config, group in final.groupby("config"):
        run.log_metrics({config: {"seconds_per_arch": group["seconds"].mean(),
                                  "images_per_second": group["images"].sum() / group["seconds"].sum()}})
    return table
