"""Figures of proxy quality: score-vs-accuracy scatters and rho against evaluation cost.

Figures are drawn on bare `matplotlib.figure.Figure` objects (Agg), never through
pyplot, so no display or global figure state is involved. Each function writes a
PNG atomically and returns its path; beside it, under the same stem with `.csv`,
goes the plotted data as a tidy table (also written atomically) for `dvc plots`.
"""

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..errors import ZcnasError
from ..figures import wrap_text, characters_across, save_figure, legend_columns, legend_below, add_caption, declutter_ticks, FONT, TITLE_FONT, LABEL_FONT, CHAR_EM
from .bootstrap import ci_bounds
from .ranks import spearman

# Scores spanning more decades than this get a logarithmic axis.
# Scores spanning more decades than this get a logarithmic axis.
_DECADES_FOR_LOG = 3
_METRIC_LABELS = {
    "spearman_test": "Spearman ρ (test accuracy)",
    "spearman_val": "Spearman ρ (validation accuracy)",
    "kendall_test": "Kendall τ (test accuracy)",
}
# Up to ten methods get distinct colours; markers tell apart those that share one
# (7 markers against 10 colours: 70 distinct pairs).
_COLOURS = [f"C{i}" for i in range(10)]
_MARKERS = "osD^vPX"
_PUBLISHED_MARKERS = "osD^vPXph*<>"  # all black: one marker each
_LEGEND_BESIDE = 14  # up to this many legend entries go beside the axes, more go below them
INTERVAL_CAPTION = "Bars and bands: 95% bootstrap confidence intervals."


def axis_scale(values) -> tuple[str, dict]:
    """The axis scale that shows `values` best, with its matplotlib keyword arguments.

    Positive values spanning more than three orders of magnitude get `log`; values
    with zeros or negatives and such a span of magnitudes get `symlog`, linear up
    to the decade below the 10th percentile of magnitudes; anything else stays `linear`.
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    magnitudes = np.abs(values[values != 0])
    if not len(magnitudes) or magnitudes.max() <= 10**_DECADES_FOR_LOG * magnitudes.min():
        return "linear", {}
    if (values > 0).all():
        return "log", {}
    # A power of ten, so the ticks at the edges of the linear band fall on decades.
    return "symlog", {"linthresh": float(10 ** np.floor(np.log10(np.percentile(magnitudes, 10))))}


def plot_score_scatter(
    score, accuracy, path: Path | str, *, proxy: str, dataset: str = "", accuracy_label: str = "test accuracy (%)",
    higher_is_better: bool = True,
) -> Path:
    """Scatter of a proxy's scores (x) against accuracy (y), titled with Spearman's rho and n.

    The x axis shows the raw score; the title's rho is of the oriented score (negated
    when lower is better), the figure that `metrics/correlation.json` reports.
    Rows where either value is not finite are left out and counted in the title.
    No CSV of the points goes beside it, unlike the other plots: they are the benchmark's
    own accuracies, which must not be copied into the results that git keeps.
    """
    score, accuracy = np.asarray(score, dtype=float), np.asarray(accuracy, dtype=float)
    if score.shape != accuracy.shape:
        raise ZcnasError(
            f"{proxy}: {score.shape[0]} scores but {accuracy.shape[0]} accuracies; expected one per architecture"
        )
    finite = np.isfinite(score) & np.isfinite(accuracy)
    x, y = score[finite], accuracy[finite]
    width = 6.4
    figure = Figure(figsize=(width, 4.8), layout="constrained")
    axes = figure.add_subplot()
    axes.scatter(x, y, s=6, alpha=0.4, linewidths=0)
    scale, options = axis_scale(x)
    axes.set_xscale(scale, **options)
    direction = "" if higher_is_better else ", lower is better"
    text_width = characters_across(width - 1, LABEL_FONT)
    axes.set_xlabel(wrap_text(f"{proxy} score" + ("" if scale == "linear" else f" ({scale} scale)") + direction,
                              text_width), fontsize=LABEL_FONT)
    axes.set_ylabel(accuracy_label, fontsize=LABEL_FONT)
    excluded = f", {int((~finite).sum())} non-finite left out" if (~finite).any() else ""
    where = f" on {dataset}" if dataset else ""
    rho = spearman(x if higher_is_better else -x, y)
    title = f"{proxy}{where}: Spearman ρ = {rho:.3f}{direction and ' (of −score)'}, n = {len(x)}{excluded}"
    axes.set_title(wrap_text(title, characters_across(width - 1, TITLE_FONT)), fontsize=TITLE_FONT)
    axes.grid(True, alpha=0.3)
    if scale != "linear":  # decades labelled as powers: wide labels
        declutter_ticks(axes.xaxis)
    return save_figure(figure, path, None)


@dataclass(frozen=True)
class CostSeries:
    """A labelled curve of (cost, rho) points, e.g. a reduced-training baseline by epoch,
    with an optional (low, high) interval per point, drawn as a shaded band."""

    label: str
    points: Sequence[tuple[float, float]]
    intervals: Sequence[tuple[float, float]] | None = None


def plot_rho_vs_cost(
    report: Mapping[str, Mapping],
    path: Path | str,
    *,
    costs: Mapping[str, float] | None = None,
    cost_label: str = "evaluation cost (seconds per architecture)",
    series: Sequence[CostSeries] = (),
    metric: str = "spearman_test",
    title: str = "Rank correlation against evaluation cost",
    published: Mapping[str, tuple[float, float]] | None = None,
    notes: Sequence[str] = (),
    cost_column: str | None = None,
) -> Path:
    """The paper's Figure 1: each method's rank correlation (y) against its cost (x, log).

    `report` is one dataset's `evaluate_dataset` result: each method with a finite
    `metric` and `seconds_per_arch` becomes a point in the legend, with its bootstrap
    interval as an error bar when `metric` is `spearman_test`. `costs` replaces the
    seconds (only the methods it names are drawn, so units never mix; say the unit in
    `cost_label`); `series` adds curves such as EcoNAS-style reduced training;
    `published` adds label -> (cost, rho) figures from a paper as hollow black markers;
    `notes` go in a caption under the plot (e.g. a curve that could not be drawn).

    Beside the PNG goes a CSV with a row per point drawn: `method`, the cost (column
    `cost_column`: by default `seconds_per_arch`, or `cost_per_arch` with `costs`),
    `metric`, and `low`, `high` (the interval; empty where none) when any is drawn.
    """
    points = _method_points(report, costs, metric)
    if not points and not any(line.points for line in series) and not published:
        raise ZcnasError(f"nothing to plot: no method has both a finite {metric!r} and a cost, and no series was given")
    cost_column = cost_column or ("seconds_per_arch" if costs is None else "cost_per_arch")
    published = dict(published or {})
    labels = [method for method, _, _ in points] + [line.label for line in series] + list(published)
    below = len(labels) > _LEGEND_BESIDE
    width = 10.0 if below else 9.0
    columns = legend_columns(labels, width - 0.4) if below else 1
    legend_inches = 0 if below else (max(map(len, labels)) * CHAR_EM + 5) * FONT / 72
    axes_inches = width - 1.2 - legend_inches
    title_text = wrap_text(title, characters_across(axes_inches, TITLE_FONT))
    label_text = wrap_text(f"{cost_label}, log scale", characters_across(axes_inches, LABEL_FONT))
    rows, captions = [], []
    height = 4.4 + 0.2 * title_text.count("\n") + 0.18 * label_text.count("\n")
    if below:
        height += 0.2 * math.ceil(len(labels) / columns) + 0.3
    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.add_subplot()
    styles = zip(itertools.cycle(_COLOURS), itertools.cycle(_MARKERS))
    for (method, cost, rho), (colour, marker) in zip(points, styles):
        interval = ci_bounds(report[method], metric) if metric == "spearman_test" else None
        if interval:
            error = [[rho - interval[0]], [interval[1] - rho]]
            axes.errorbar(cost, rho, yerr=error, color=colour, capsize=3, alpha=0.6)
        axes.scatter(cost, rho, s=40, color=colour, marker=marker, zorder=3, label=method)
        rows.append((method, cost, rho, *(interval or (math.nan, math.nan))))
    for line, colour in zip(series, itertools.cycle(_COLOURS[::-1])):
        line_costs = [_positive_cost(line.label, cost) for cost, _ in line.points]
        line_rhos = [rho for _, rho in line.points]
        axes.plot(line_costs, line_rhos, color=colour, linestyle="--", marker=".", label=line.label)
        lows = highs = [math.nan] * len(line_costs)
        if line.intervals is not None:
            if len(line.intervals) != len(line.points):
                raise ZcnasError(f"series {line.label!r} has {len(line.points)} points but "
                                 f"{len(line.intervals)} intervals; expected one interval per point")
            lows, highs = zip(*line.intervals) if line.intervals else ((), ())
            if len(line_costs) == 1:  # a band needs two points: show a single epoch's interval as an error bar
                axes.errorbar(line_costs, line_rhos, yerr=[[line_rhos[0] - lows[0]], [highs[0] - line_rhos[0]]],
                              color=colour, capsize=3, alpha=0.6)
            elif line_costs:
                axes.fill_between(line_costs, lows, highs, color=colour, alpha=0.15, linewidth=0)
        rows.extend(zip([line.label] * len(line_costs), line_costs, line_rhos, lows, highs))
    for (label, (cost, rho)), marker in zip(published.items(), itertools.cycle(_PUBLISHED_MARKERS)):
        cost = _positive_cost(label, cost)
        axes.scatter(cost, rho, s=70, marker=marker, facecolors="none", edgecolors="black",
                     linewidths=1.2, zorder=4, label=label)
        rows.append((label, cost, rho, math.nan, math.nan))
    data = pd.DataFrame(rows, columns=["method", cost_column, metric, "low", "high"])
    if data[["low", "high"]].isna().all().all():
        data = data.drop(columns=["low", "high"])
    else:
        captions.append(INTERVAL_CAPTION)
    axes.set_xscale("log")
    axes.set_xlabel(label_text, fontsize=LABEL_FONT)
    axes.set_ylabel(_METRIC_LABELS.get(metric, metric), fontsize=LABEL_FONT)
    axes.set_title(title_text, fontsize=TITLE_FONT)
    axes.grid(True, which="both", alpha=0.3)
    if below:
        legend_below(axes, ncols=columns)
    else:
        axes.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=FONT)
    add_caption(figure, [*captions, *notes], width - 0.3)
    declutter_ticks(axes.xaxis)
    return save_figure(figure, path, data)


def _method_points(report, costs, metric) -> list[tuple[str, float, float]]:
    points = []
    for method, metrics in report.items():
        rho = metrics.get(metric)
        cost = metrics.get("seconds_per_arch") if costs is None else costs.get(method)
        if rho is None or cost is None or not math.isfinite(rho):
            continue
        points.append((method, _positive_cost(method, cost), rho))
    return points


def _positive_cost(label: str, cost: float) -> float:
    if not (math.isfinite(cost) and cost > 0):
        raise ZcnasError(f"cost of {label!r} is {cost!r}; expected a positive number for the log-scale axis")
    return float(cost)
