"""The same search variants driven by different proxies: which proxy gets there first.

Every proxy's variants run with the same run seeds, so run r of `ae+warmup15625` under
synflow and under meco differ only in the ranking they read (a paired comparison);
the plain algorithms read no proxy and are shared.
"""

from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from ..errors import ZcnasError
from .summary import target_label


def comparison_frame(comparison: Mapping[str, Mapping[str, Mapping[str, dict]]], target: float) -> pd.DataFrame:
    """One row per (proxy, variant) of {proxy: {variant: summary}}: the mean models to `target`
    over runs (NaN unless every run reaches it), the share of runs that do, and the speed-up
    over the plain algorithm (NaN where undefined)."""
    label = target_label(target)
    rows = [{"proxy": proxy, "variant": variant, "models": _number(entry.get(f"models_to_{label}")),
             "reached_share": _number(entry.get(f"reached_share_{label}")),
             "speedup": _number(entry.get(f"speedup_{label}"))}
            for proxy, variants in comparison.items() for variant, entry in variants.items()]
    if not rows:
        raise ZcnasError("no proxy-driven variants to compare")
    return pd.DataFrame(rows)


def _number(value) -> float:
    return float("nan") if value is None else float(value)


def plot_comparison(comparisons: Mapping[str, Mapping[str, Mapping[str, dict]]], targets: Mapping[str, float],
                    path: Path | str, title: str) -> None:
    """Write a PNG (and its CSV): one panel per dataset, a group of bars per variant, one bar
    per proxy, its height the share of runs that reach that dataset's target in `targets`
    within the budget (near the optimum the plain algorithms rarely all do, so a speed-up
    is often undefined while this share still separates the proxies); above a bar whose
    runs all get there, their mean models to the target."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..figures import characters_across, legend_below, legend_columns, save_figure, wrap_text

    frames = {dataset: comparison_frame(comparison, targets[dataset]) for dataset, comparison in comparisons.items()}
    proxies = list(dict.fromkeys(proxy for frame in frames.values() for proxy in frame["proxy"]))
    width = 4.6 * len(frames)
    columns = legend_columns(proxies, width - 0.5, 8)
    title_text = wrap_text(title, characters_across(width - 0.4, 11))
    height = 3.8 + 0.2 * -(-len(proxies) // columns) + 0.22 * (title_text.count("\n") + 1)
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(frames), squeeze=False)[0]
    figure.suptitle(title_text, fontsize=11)
    bar = 0.8 / len(proxies)
    rows = []
    for axis, (dataset, frame) in zip(axes, frames.items()):
        variants = list(dict.fromkeys(frame["variant"]))
        for index, proxy in enumerate(proxies):
            rows_of = frame[frame["proxy"] == proxy].set_index("variant").reindex(variants)
            x = np.arange(len(variants)) - 0.4 + bar * (index + 0.5)
            shares = rows_of["reached_share"].to_numpy(dtype=float)
            axis.bar(x, np.nan_to_num(shares), bar, label=proxy, color=f"C{index}")
            for position, share, models in zip(x, shares, rows_of["models"]):
                if np.isfinite(models):
                    axis.text(position, share + 0.01, f"{models:.0f}", rotation=90, ha="center", va="bottom",
                              fontsize=6)
            rows.append(rows_of.reset_index().assign(dataset=dataset, target=targets[dataset], proxy=proxy))
        axis.set_xticks(np.arange(len(variants)), variants, rotation=30, ha="right", fontsize=8)
        axis.set(title=f"{dataset}: to {target_label(targets[dataset])}%", ylim=(0, 1.18),
                 ylabel="share of runs that reach it")
        axis.grid(axis="y", alpha=0.3)
    legend_below(axes[len(axes) // 2], ncols=columns, fontsize=8)
    save_figure(figure, path, pd.concat(rows, ignore_index=True), dpi=120)
