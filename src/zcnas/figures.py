"""Figure layout shared by every plot: text wrapped to the space it has, legends that
fit, tick labels that do not collide, and PNGs written atomically with their data.

Figures are drawn on bare `matplotlib.figure.Figure` objects (Agg), never through
pyplot, so no display or global figure state is involved.
"""

import textwrap
from pathlib import Path
from typing import Sequence

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter
from matplotlib.transforms import ScaledTranslation

from .files import atomic_path, write_table

DPI = 150
FONT = 8  # legends and captions, in points; titles and axis labels are larger
TITLE_FONT = 10
LABEL_FONT = 10
# Average width of a character in ems (DejaVu Sans, a little generous), to wrap text
# and size legends before anything is drawn.
CHAR_EM = 0.6


def wrap_text(text: str, width: int) -> str:
    """`text` with each of its paragraphs (lines) wrapped to at most `width` characters;
    only a single word longer than `width` is split."""
    return "\n".join(textwrap.fill(line, width, break_on_hyphens=False) or line for line in text.split("\n"))


def characters_across(inches: float, fontsize: float) -> int:
    """About how many characters of text in `fontsize` points fit across `inches`."""
    return max(10, int(inches * 72 / (fontsize * CHAR_EM)))


def plot_data_path(png_path: Path | str) -> Path:
    """Where the data of the plot at `png_path` goes: the same stem, `.csv`."""
    return Path(png_path).with_suffix(".csv")


def write_plot_data(frame: pd.DataFrame, png_path: Path | str) -> Path:
    """Write a plot's data as a tidy CSV beside its PNG (atomically) and return its path."""
    path = plot_data_path(png_path)
    write_table(frame, path)
    return path


def save_figure(figure: Figure, path: Path | str, data: pd.DataFrame | None, *, dpi: int = DPI) -> Path:
    """Write `figure` as a PNG at `path` and `data` (if any) as the CSV beside it, each atomically.

    Saved with a tight bounding box, so nothing that sticks out of the figure is cut off.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.08)
    if data is not None:
        write_plot_data(data, path)
    return path


def legend_columns(labels: Sequence[str], inches: float, fontsize: float = FONT) -> int:
    """How many legend columns of `labels` fit across `inches` (at least one)."""
    longest = max((len(line) for label in labels for line in str(label).split("\n")), default=1)
    # The handle, the pad after it and the space between columns: about 5 ems.
    column = (longest * CHAR_EM + 5) * fontsize / 72
    return max(1, min(len(labels), int(inches // column)))


def legend_below(axes, *, ncols: int, fontsize: float = FONT, **kwargs):
    """A legend centred under `axes`, below its tick labels and x label, so it covers no data.

    Constrained layout makes room for it, as for any part of the axes.
    """
    figure = axes.figure
    figure.draw_without_rendering()  # the size of the tick labels and x label
    decorations = axes.xaxis.get_tightbbox()
    gap = (axes.bbox.y0 - decorations.y0) / figure.dpi + 0.1 if decorations is not None else 0.5
    anchor = axes.transAxes + ScaledTranslation(0, -gap, figure.dpi_scale_trans)
    return axes.legend(loc="upper center", bbox_to_anchor=(0.5, 0), bbox_transform=anchor, ncols=ncols,
                       fontsize=fontsize, **kwargs)


def add_caption(figure: Figure, lines: Sequence[str], inches: float, fontsize: float = FONT) -> str | None:
    """Put `lines` (notes such as a curve that could not be drawn) as a caption in the
    figure's footer, below everything else, each wrapped to `inches`; returns its text."""
    if not lines:
        return None
    width = characters_across(inches, fontsize)
    text = "\n".join(wrap_text(" ".join(line.split()), width) for line in lines)
    figure.supxlabel(text, x=0.01, ha="left", fontsize=fontsize)
    return text


def declutter_ticks(axis, pad_em: float = 0.5) -> None:
    """Keep the tick labels of `axis` from running into each other.

    Draws the figure as laid out, then, if labels overlap: labels of minor ticks go
    (where at least two major ticks are labelled), then every second major label, or
    third, and so on (a symlog axis keeps its 0), until none overlap.
    """
    figure = axis.axes.figure
    figure.draw_without_rendering()
    labelled = _labelled_ticks(axis)
    if not labelled:
        return
    pad = pad_em * labelled[0][3] * figure.dpi / 72
    if not _overlap(labelled, pad):
        return
    candidates = [tick for tick in labelled if tick[4]]
    if len(candidates) < 2:  # a narrow log axis labelled at minor ticks: label plainly, as majors
        candidates = labelled
        axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())
    zeros = [i for i, tick in enumerate(candidates) if tick[0] == 0]
    anchor = zeros[0] if zeros else 0
    for stride in range(1, len(candidates) + 1):
        kept = [tick for i, tick in enumerate(candidates) if (i - anchor) % stride == 0]
        if not _overlap(kept, pad):
            break
    axis.set_major_locator(FixedLocator([tick[0] for tick in kept]))


def _labelled_ticks(axis) -> list[tuple[float, float, float, float, bool]]:
    """(location, start, end along the axis in pixels, font size, is major) of each tick label drawn."""
    low, high = sorted(axis.get_view_interval())
    slack = 1e-9 * max(abs(low), abs(high), 1e-300)
    along = 0 if axis.axis_name == "x" else 1
    found = []
    for major, locations in ((True, axis.get_majorticklocs()), (False, axis.get_minorticklocs())):
        ticks = axis.get_major_ticks(len(locations)) if major else axis.get_minor_ticks(len(locations))
        for location, tick in zip(locations, ticks):
            label = tick.label1
            if not (label.get_visible() and label.get_text() and low - slack <= location <= high + slack):
                continue
            extent = label.get_window_extent()
            found.append((float(location), extent.min[along], extent.max[along], label.get_fontsize(), major))
    return sorted(found)  # by location


def _overlap(ticks, pad: float) -> bool:
    ticks = sorted(ticks, key=lambda tick: tick[1])
    return any(after[1] < before[2] + pad for before, after in zip(ticks, ticks[1:]))
