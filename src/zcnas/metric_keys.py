"""The one spelling of a metric's name, shared by the metrics files DVC reads, the MLflow
runs and the report, so a figure is found under the same key in all three.

MLflow allows letters, digits and `_-. :/` in a key. Our names use `+` (the paper's
`econas+`, search variants such as `ae+move`), which becomes `_plus_`:
`econas+-shortened` -> `econas_plus-shortened`, `rs+warmup3000` -> `rs_plus_warmup3000`.
"""

import re

# Quantities that count things rather than measure them: a run's params, not its metrics
# (MLflow draws a chart for every metric; a count has nothing to chart).
COUNTS = frozenset({"n", "nan", "runs", "budget", "epochs", "architectures", "rows", "k", "splits",
                    "distinct_rankings", "weight_seeds", "seeds_read", "distinct"})


def metric_key(name: str) -> str:
    """`name` spelled as every metric key is (see the module docstring); idempotent."""
    spelled = re.sub(r"_*\+_*", "_plus_", str(name))
    spelled = re.sub(r"_plus_(?=-|\.|/|$)", "_plus", spelled)
    return re.sub(r"[^\w\-. :/]", "_", spelled)


def keyed(data):
    """`data` with every mapping key, at any depth, spelled by `metric_key`."""
    if isinstance(data, dict):
        return {metric_key(key): keyed(value) for key, value in data.items()}
    if isinstance(data, list):
        return [keyed(value) for value in data]
    return data


def flatten(data: dict, prefix: str = "") -> dict:
    """{"a": {"b": 1}} -> {"a.b": 1}, the way `dvc metrics show` names nested keys; lists stay values."""
    flat = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def is_count(flat_key: str) -> bool:
    return flat_key.rpartition(".")[2] in COUNTS
