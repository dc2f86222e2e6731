"""A figure like the zero-cost NAS paper's Figure 2: one panel per algorithm, plain vs its variants."""

from pathlib import Path
from typing import Mapping

import numpy as np

from ..errors import ZcnasError
from ..files import atomic_path
from .summary import mean_band
from .variants import ALGORITHMS, parse_variant

TITLES = {"rs": "Random search", "ae": "Aging evolution", "rl": "REINFORCE", "bp": "Binary predictor"}


def plot_search(curves: Mapping[str, np.ndarray], path: Path | str, optimum: float | None = None,
                title: str | None = None, log_x: bool = True, ylim: tuple[float, float] | None = None) -> None:
    """Write a PNG: mean test accuracy with its 95% band against trained models, per algorithm.

    The default y range runs from the lowest mean after 10 trained models (so the first
    few models do not squash the interesting end) to just above the optimum.
    """
    # Figure without pyplot: no global backend or figure registry to disturb (Agg canvas).
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not curves:
        raise ZcnasError("no curves to plot")
    algorithms = [name for name in ALGORITHMS if any(parse_variant(v).algorithm == name for v in curves)]
    figure = Figure(figsize=(4.2 * len(algorithms), 3.6), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(algorithms), squeeze=False)[0]
    bands = {name: mean_band(variant_curves) for name, variant_curves in curves.items()}
    if ylim is None:
        low = min(mean[min(9, len(mean) - 1)] for mean, _, _ in bands.values())
        high = optimum if optimum is not None else max(mean.max() for mean, _, _ in bands.values())
        ylim = (low - 0.2, high + 0.3)
    for axis, algorithm in zip(axes, algorithms):
        for name, (mean, lower, upper) in bands.items():
            if parse_variant(name).algorithm != algorithm:
                continue
            trained = np.arange(1, len(mean) + 1)
            line, = axis.plot(trained, mean, label=name)
            axis.fill_between(trained, lower, upper, color=line.get_color(), alpha=0.2, linewidth=0)
        if optimum is not None:
            axis.axhline(optimum, color="black", linestyle="--", linewidth=1, label=f"optimum {optimum:.2f}")
        if log_x:
            axis.set_xscale("log")
        axis.set(title=TITLES[algorithm], xlabel="trained models", ylabel="test accuracy (%)", ylim=ylim)
        axis.grid(alpha=0.3)
        axis.legend(fontsize="small", loc="lower right")
    if title:
        figure.suptitle(title)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=120)
