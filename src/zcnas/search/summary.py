"""Summaries of search curves: mean with a 95% band, models needed to reach targets, speed-ups.

The band is the t-interval of the mean curve across runs (it says how well the runs pin
the mean down, as needed to compare variants; it collapses to the mean for one run).
Runs that read different proxy replicates (weight seeds) are also summarised per
replicate, so a result that holds for one proxy ranking only shows as such.
"""

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ZcnasError
from .proxy import ProxyRanking, count_distinct_rankings, replicate_of
from .variants import parse_variant, uses_proxy


def mean_band(curves: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean curve and the lower and upper ends of its `confidence` t-interval, over runs (rows)."""
    curves = _checked(curves)
    mean = curves.mean(axis=0)
    if len(curves) == 1:
        return mean, mean.copy(), mean.copy()
    half_width = stats.t.ppf(0.5 + confidence / 2, len(curves) - 1) * stats.sem(curves, axis=0)
    return mean, mean - half_width, mean + half_width


def models_to_target(curves: np.ndarray, target: float) -> tuple[float | None, float]:
    """Mean number of trained models until the curve reaches `target` (None unless every run
    reaches it) and the share of runs that reach it."""
    curves = _checked(curves)
    reached = curves >= target
    hit = reached.any(axis=1)
    if not hit.all():
        return None, float(hit.mean())
    return float((reached.argmax(axis=1) + 1).mean()), 1.0


def target_label(target: float) -> str:
    """72.5 -> '72.5', 73.0 -> '73' (the suffix of the summary keys)."""
    return f"{float(target):g}"


def summarize(curves: Mapping[str, np.ndarray], targets: Sequence[float],
              rankings: Sequence[ProxyRanking] | None = None) -> dict:
    """JSON-safe {variant: {runs, budget, best_mean_at_budget, and per target t: models_to_<t>,
    reached_share_<t>, mean_curve_models_to_<t>, speedup_<t>}}.

    mean_curve_models_to_<t> is where the mean curve first reaches t (how the paper reads
    its Figure 2; None if never). speedup_<t> is the plain algorithm's mean
    models-to-target over the variant's (None when either does not reach t in every run,
    or the plain one was not run).

    `rankings`: the proxy replicates the runs read (run r read rankings[replicate_of(r, n)]).
    With them, every variant that reads the proxy also gets the `seed_spread` keys.
    """
    summary = {name: _statistics(_checked(variant_curves), targets) for name, variant_curves in curves.items()}
    for name, entry in summary.items():
        plain = summary.get(parse_variant(name).algorithm)
        for target in targets:
            key = f"models_to_{target_label(target)}"
            ours, theirs = entry[key], plain[key] if plain else None
            entry[f"speedup_{target_label(target)}"] = theirs / ours if ours and theirs else None
    if rankings:
        for name, variant_curves in curves.items():
            if uses_proxy(parse_variant(name)):
                summary[name].update(seed_spread(variant_curves, targets, rankings))
    return summary


def seed_spread(curves: np.ndarray, targets: Sequence[float], rankings: Sequence[ProxyRanking]) -> dict:
    """How one variant's results vary with the proxy replicate its runs read.

    {distinct_rankings: how many different orderings the runs saw (fewer than the
    replicates when runs are fewer, or when two replicates order the cells alike),
    by_weight_seed: {seed<k>: runs, budget, best_mean_at_budget and the per-target
    numbers of `summarize` over the runs that read replicate k}, best_mean_at_budget_sd_across_seeds:
    the standard deviation of the per-replicate best_mean_at_budget (None for one)}.
    """
    curves = _checked(curves)
    if not rankings:
        raise ZcnasError("seed_spread needs the proxy replicates the runs read; got none")
    seen = min(len(rankings), len(curves))
    replicate = replicate_of(np.arange(len(curves)), len(rankings))
    by_seed = {f"seed{k}": _statistics(curves[replicate == k], targets) for k in range(seen)}
    best = [entry["best_mean_at_budget"] for entry in by_seed.values()]
    return {"distinct_rankings": count_distinct_rankings(rankings[:seen]), "by_weight_seed": by_seed,
            "best_mean_at_budget_sd_across_seeds": float(np.std(best, ddof=1)) if seen > 1 else None}


def _statistics(curves: np.ndarray, targets: Sequence[float]) -> dict:
    entry = {"runs": int(curves.shape[0]), "budget": int(curves.shape[1]),
             "best_mean_at_budget": float(curves[:, -1].mean())}
    for target in targets:
        label = target_label(target)
        entry[f"models_to_{label}"], entry[f"reached_share_{label}"] = models_to_target(curves, target)
        entry[f"mean_curve_models_to_{label}"] = models_to_target(curves.mean(axis=0)[None], target)[0]
    return entry


def curves_frame(curves: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Tidy table of curves: variant, run, trained (1..budget), test_acc."""
    rows = [pd.DataFrame({"variant": name, "run": run, "trained": np.arange(1, len(curve) + 1), "test_acc": curve})
            for name, variant_curves in curves.items() for run, curve in enumerate(_checked(variant_curves))]
    return pd.concat(rows, ignore_index=True)


def curves_from_frame(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The curves a `curves_frame` table holds, variants in order of appearance."""
    missing = {"variant", "run", "trained", "test_acc"} - set(frame.columns)
    if missing:
        raise ZcnasError(f"curves table lacks column(s) {sorted(missing)}; expected variant, run, trained, test_acc")
    curves = {}
    for name, rows in frame.groupby("variant", sort=False):
        table = rows.pivot(index="run", columns="trained", values="test_acc").sort_index().sort_index(axis=1)
        curves[name] = table.to_numpy(dtype=float)
    return curves


def _checked(curves: np.ndarray) -> np.ndarray:
    curves = np.asarray(curves, dtype=float)
    if curves.ndim != 2 or 0 in curves.shape:
        raise ZcnasError(f"curves must be a non-empty [runs, budget] array, got shape {curves.shape}")
    return curves
