"""A figure like the zero-cost NAS paper's Figure 2: one panel per algorithm, plain vs its variants."""

from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from ..errors import ZcnasError
from .summary import mean_band
from .variants import ALGORITHMS, parse_variant

TITLES = {"rs": "Random search", "ae": "Aging evolution", "rl": "REINFORCE", "bp": "Binary predictor"}
_PANEL_INCHES = 4.2


def plot_search(curves: Mapping[str, np.ndarray], path: Path | str, optimum: float | None = None,
                title: str | None = None, log_x: bool = True, ylim: tuple[float, float] | None = None) -> None:
    """Write a PNG: mean test accuracy with its 95% band against trained models, per algorithm.

    The default y range runs from the lowest mean after 10 trained models (so the first
    few models do not squash the interesting end) to just above the optimum. Each
    panel's legend sits below it, off the curves. Beside the PNG goes a CSV of the
    curves drawn, long format: `variant, models, best_accuracy` (the mean best-so-far
    accuracy over runs), `low, high` (its band) and `curve` (the variant again: the
    field that the project's `dvc plots` template colours by).
    """
    # Figure without pyplot: no global backend or figure registry to disturb (Agg canvas).
    # Imported here, with the plotting helpers, so that searching works without matplotlib.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..figures import (characters_across, declutter_ticks, legend_below, legend_columns, save_figure,
                           wrap_text)

    if not curves:
        raise ZcnasError("no curves to plot")
    algorithms = [name for name in ALGORITHMS if any(parse_variant(v).algorithm == name for v in curves)]
    bands = {name: mean_band(variant_curves) for name, variant_curves in curves.items()}
    panels = {algorithm: [name for name in bands if parse_variant(name).algorithm == algorithm]
              for algorithm in algorithms}
    optimum_label = None if optimum is None else f"optimum {optimum:.2f}"
    legends = {algorithm: names + ([optimum_label] if optimum_label else []) for algorithm, names in panels.items()}
    columns = {algorithm: legend_columns(labels, _PANEL_INCHES - 0.3, 8) for algorithm, labels in legends.items()}
    legend_rows = max(-(-len(labels) // columns[algorithm]) for algorithm, labels in legends.items())
    width = _PANEL_INCHES * len(algorithms)
    title_text = wrap_text(title, characters_across(width - 0.4, 11)) if title else None
    height = 3.4 + 0.2 * legend_rows + 0.3 + (0.22 * (title_text.count("\n") + 1) if title_text else 0)
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(algorithms), squeeze=False)[0]
    if ylim is None:
        low = min(mean[min(9, len(mean) - 1)] for mean, _, _ in bands.values())
        high = optimum if optimum is not None else max(mean.max() for mean, _, _ in bands.values())
        ylim = (low - 0.2, high + 0.3)
    if title_text:
        figure.suptitle(title_text, fontsize=11)
    rows = []
    for axis, algorithm in zip(axes, algorithms):
        for name in panels[algorithm]:
            mean, lower, upper = bands[name]
            trained = np.arange(1, len(mean) + 1)
            line, = axis.plot(trained, mean, label=name)
            axis.fill_between(trained, lower, upper, color=line.get_color(), alpha=0.2, linewidth=0)
            rows.append(pd.DataFrame({"variant": name, "models": trained, "best_accuracy": mean,
                                      "low": lower, "high": upper, "curve": name}))
        if optimum is not None:
            axis.axhline(optimum, color="black", linestyle="--", linewidth=1, label=optimum_label)
        if log_x:
            axis.set_xscale("log")
        axis.set(title=TITLES[algorithm], xlabel="trained models", ylabel="test accuracy (%)", ylim=ylim)
        axis.grid(alpha=0.3)
    for axis, algorithm in zip(axes, algorithms):
        legend_below(axis, ncols=columns[algorithm], fontsize=8)
    for axis in axes:
        declutter_ticks(axis.xaxis)
    save_figure(figure, path, pd.concat(rows, ignore_index=True), dpi=120)
