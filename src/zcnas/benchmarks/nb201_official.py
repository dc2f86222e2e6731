"""NB201 ground truth from the official APIs: NAS-Bench-201 (`nas_201_api`) and NATS-Bench (`nats_bench`).

Both answer the same queries (`len(api)`, `api.arch(i)`, `api.get_more_info`,
`api.get_cost_info`), so one conversion serves both. It takes the API object rather than
a path, so the tests can hand it a small stand-in.
"""

from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ZcnasError
from .packages import NAS_201_API, NATS_BENCH
from .schema import Origin, tidy_table, validate_ground_truth

# Project dataset -> (API dataset giving the validation accuracy, API dataset giving the test
# accuracy, cost and training time). CIFAR-10 has a validation split only in the
# 'cifar10-valid' runs (trained on half the training set); its test accuracy is that of the
# 'cifar10' runs (trained on all of it), as NATS-Bench reports it.
API_DATASETS = {
    "cifar10": ("cifar10-valid", "cifar10"),
    "cifar100": ("cifar100", "cifar100"),
    "imagenet16-120": ("ImageNet16-120", "ImageNet16-120"),
}
API_NAMES = tuple(dict.fromkeys(name for names in API_DATASETS.values() for name in names))
# The 200-epoch schedule gives the benchmark's reported figures; `is_random=False` averages the seeds.
HP = "200"


def convert_nb201_api(api: Any, origin: Origin = "NB201 API") -> pd.DataFrame:
    """The validated ground-truth table of every architecture in a NASBench201API / NATS-Bench 'tss' API."""
    rows = []
    for index in range(len(api)):
        arch = api.arch(index)
        infos = {name: api.get_more_info(index, name, hp=HP, is_random=False) for name in API_NAMES}
        for dataset, (valid_name, test_name) in API_DATASETS.items():
            valid, test = infos[valid_name], infos[test_name]
            cost = api.get_cost_info(index, test_name, hp=HP)
            rows.append(
                {
                    "index": index,
                    "arch": arch,
                    "dataset": dataset,
                    "val_acc": _field(valid, "valid-accuracy", index, valid_name, origin),
                    "test_acc": _field(test, "test-accuracy", index, test_name, origin),
                    "params_m": _field(cost, "params", index, test_name, origin),
                    "flops_m": _field(cost, "flops", index, test_name, origin),
                    "train_seconds": _field(test, "train-all-time", index, test_name, origin),
                }
            )
    return validate_ground_truth(tidy_table(pd.DataFrame(rows), "nb201"), "nb201", origin)


def read_nb201_pth(path: Path | str) -> pd.DataFrame:
    """The ground truth in the official NAS-Bench-201-v1_1-096897.pth.

    nas_201_api loads the file with `torch.load`; torch >= 2.6 defaults to `weights_only=True`,
    which older nas_201_api releases may not expect: if loading fails that way, use the
    NATS-Bench files or the tidy table instead.
    """
    api = NAS_201_API.open(path, lambda module: module.NASBench201API(str(path), verbose=False))
    return convert_nb201_api(api, origin=path)


def read_nats_tss(path: Path | str) -> pd.DataFrame:
    """The ground truth in the NATS-Bench topology directory (e.g. NATS-tss-v1_0-3ffb9-simple)."""
    api = NATS_BENCH.open(path, lambda module: module.create(str(path), "tss", fast_mode=True, verbose=False))
    return convert_nb201_api(api, origin=path)


def _field(info: dict, key: str, index: int, dataset: str, origin: Origin) -> float:
    try:
        return info[key]
    except (KeyError, TypeError):
        found = ", ".join(map(str, info)) if isinstance(info, dict) else repr(info)
        raise ZcnasError(f"{origin}: architecture {index} on {dataset!r} has no {key!r} (found: {found})") from None
