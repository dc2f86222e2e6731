"""The headline figures of a pipeline run, one small file (`metrics/summary.json`) that
`dvc exp show`, `dvc metrics diff`, the MLflow pipeline run and the report's first table
all show under the same keys (`zcnas.metric_keys`).

Built from the stages' metrics files, whose keys are already spelled that way:
- `rho.<dataset>.<method>`: Spearman rho with test accuracy of every proxy, set-level
  aggregate and ensemble (`vote` has none: `vote.<dataset>` is its pairwise accuracy);
- `space.<dataset>.<protocol>.<method>`: Spearman rho of the whole-space proxies over
  all cells (`all`) and the non-isomorphic ones (`non_isomorphic`);
- `econas.<setting>`: rho of each reduced-training setting (not the zero-cost rows
  it is compared with, which are in `rho`);
- `search.<dataset>.<variant>.speedup_<target>`: speed-ups of the variants that use
  the proxy (the plain algorithms are 1 by definition);
- `nb101.<dataset>.<method>`: rho with validation accuracy, in the NAS-Bench-101 task's own
  summary (`metrics/summary_nb101.json`, nb101/dvc.yaml).
"""

from ..evaluation.published import ZERO_COST_PREFIX
from ..metric_keys import keyed


def headline_summary(correlation: dict, econas: dict | None = None, search: dict | None = None,
                     space: dict | None = None) -> dict:
    summary = {"rho": {dataset: _rhos(entries, "spearman_test") for dataset, entries in correlation.items()},
               "vote": {dataset: entries["vote"]["pairwise_test"] for dataset, entries in correlation.items()
                        if "pairwise_test" in entries.get("vote", {})}}
    if space:
        summary["space"] = {dataset: {protocol: _rhos(entries[protocol], "spearman_test")
                                      for protocol in entries if isinstance(entries[protocol], dict)}
                            for dataset, entries in space.items()}
    if econas:
        summary["econas"] = {setting: entry["spearman_test"] for setting, entry in econas.items()
                             if not setting.startswith(ZERO_COST_PREFIX) and "spearman_test" in entry}
    if search:
        summary["search"] = {dataset: speedups for dataset, variants in search.items()
                             if (speedups := _speedups(variants))}
    return keyed(summary)


def nb101_summary(nb101: dict) -> dict:
    """The NAS-Bench-101 task's headline figures: rho with validation accuracy per dataset and method."""
    return keyed({"nb101": {dataset: _rhos(entries, "spearman_val") for dataset, entries in nb101.items()
                            if isinstance(entries, dict) and _rhos(entries, "spearman_val")}})


def _rhos(entries: dict, key: str) -> dict:
    return {name: entry[key] for name, entry in entries.items()
            if isinstance(entry, dict) and isinstance(entry.get(key), (int, float))}


def _speedups(variants: dict) -> dict:
    found = {}
    for variant, entry in variants.items():
        values = {key: value for key, value in entry.items() if key.startswith("speedup_")} \
            if isinstance(entry, dict) else {}
        if any(value not in (None, 1.0) for value in values.values()):
            found[variant] = values
    return found
