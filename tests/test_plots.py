"""Plots: the data written beside each PNG, captions instead of legend notes, wrapped titles."""

import numpy as np
import pandas as pd
import pytest

from zcnas import figures as layout
from zcnas.errors import ZcnasError
from zcnas.evaluation import plots
from zcnas.evaluation.plots import INTERVAL_CAPTION, CostSeries, plot_rho_vs_cost, plot_score_scatter
from zcnas.figures import characters_across, legend_columns, plot_data_path, wrap_text
from zcnas.search import plot_search

LONG_TITLE = ("nb201 cifar10: zero-cost proxies vs reduced training on the same 1000 architectures "
              "(zero-cost proxies at one pass of their minibatch; hollow black: the paper's figures)")


@pytest.fixture
def figures(monkeypatch):
    """The figures that the plot functions save, to look into."""
    saved = []
    save_figure = layout.save_figure

    def recording(figure, path, data, **kwargs):
        saved.append(figure)
        return save_figure(figure, path, data, **kwargs)

    for module in (plots, layout):  # the evaluation plots hold their own name for it; search looks it up
        monkeypatch.setattr(module, "save_figure", recording)
    return saved


def report(n_methods, seconds=True):
    rng = np.random.default_rng(3)
    entries = {}
    for i in range(n_methods):
        rho = float(rng.uniform(-0.2, 0.8))
        entries[f"a_proxy_with_a_long_name_{i}"] = {
            "spearman_test": rho, "spearman_test_ci_low": rho - 0.05, "spearman_test_ci_high": rho + 0.05,
            "kendall_test": rho / 2, **({"seconds_per_arch": float(10 ** rng.uniform(-3, 1))} if seconds else {})}
    return entries


def test_wrap_text_keeps_lines_under_the_width_and_every_word():
    text = "a sentence of several words, " * 8 + "unbreakable_" * 10
    wrapped = wrap_text(text + "\nsecond paragraph", 40)
    assert all(len(line) <= 40 for line in wrapped.split("\n"))
    assert wrapped.split("\n")[-1] == "second paragraph"  # paragraphs stay apart
    assert "".join(wrapped.split()) == "".join((text + "second paragraph").split())
    assert wrap_text("short", 40) == "short" and wrap_text("", 40) == ""


def test_legend_columns_fit_the_width():
    assert legend_columns(["a"] * 30, 10) > 3
    assert legend_columns(["x" * 200], 10) == 1
    assert legend_columns(["x" * 40] * 6, 10) < legend_columns(["x" * 10] * 6, 10)


def test_cost_plot_writes_its_points_beside_the_png(tmp_path, figures):
    methods = report(25)
    series = [CostSeries("reduced training, a long label (by epoch)", [(1.0, 0.3), (2.0, 0.4), (4.0, 0.6)],
                         intervals=[(0.2, 0.4), (0.3, 0.5), (0.5, 0.7)]),
              CostSeries("no intervals", [(8.0, 0.5), (16.0, 0.7)])]
    published = {"paper: econas": (0.08, 0.61), "paper: synflow": (0.01, 0.74)}
    path = plot_rho_vs_cost(methods, tmp_path / "fig1.png", series=series, published=published, title=LONG_TITLE)
    assert path == tmp_path / "fig1.png" and plot_data_path(path) == tmp_path / "fig1.csv"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig1.csv", "fig1.png"]  # no temporary file left
    data = pd.read_csv(tmp_path / "fig1.csv")
    assert list(data.columns) == ["method", "seconds_per_arch", "spearman_test", "low", "high"]
    assert len(data) == 25 + 3 + 2 + 2  # as many rows as points drawn
    assert list(data["method"]) == [*methods, *[s.label for s in series for _ in s.points], *published]
    first = data.iloc[0]
    entry = methods[first["method"]]
    assert (first["seconds_per_arch"], first["spearman_test"], first["low"], first["high"]) == pytest.approx(
        (entry["seconds_per_arch"], entry["spearman_test"], entry["spearman_test_ci_low"],
         entry["spearman_test_ci_high"]))
    assert data.loc[data["method"] == "no intervals", ["low", "high"]].isna().all().all()
    assert data.loc[data["method"] == "paper: econas", "seconds_per_arch"].item() == 0.08
    axes = figures[0].axes[0]
    drawn = sum(len(s.get_offsets()) for s in axes.collections if s.get_label() in data["method"].values)
    assert drawn == 25 + 2  # one marker per method and per published figure


def test_cost_plot_columns_follow_the_metric_and_the_cost(tmp_path):
    methods = report(3)
    plot_rho_vs_cost(methods, tmp_path / "kendall.png", metric="kendall_test")
    assert list(pd.read_csv(tmp_path / "kendall.csv").columns) == ["method", "seconds_per_arch", "kendall_test"]
    plot_rho_vs_cost(methods, tmp_path / "minibatches.png", costs=dict.fromkeys(methods, 1))
    assert list(pd.read_csv(tmp_path / "minibatches.csv").columns)[:2] == ["method", "cost_per_arch"]
    plot_rho_vs_cost(methods, tmp_path / "flops.png", costs=dict.fromkeys(methods, 0.01),
                     cost_column="full_epochs_per_arch")
    data = pd.read_csv(tmp_path / "flops.csv")
    assert list(data.columns)[:3] == ["method", "full_epochs_per_arch", "spearman_test"] and len(data) == 3


def test_cost_plot_notes_go_in_a_caption_not_the_legend(tmp_path, figures):
    note = "NB201's own training curve (epochs 1-12):\nnot drawn, zcnas does not read\nthe official NB201 file's epochs"
    for count in (3, 25):  # legend beside the axes and below them
        figures.clear()
        plot_rho_vs_cost(report(count), tmp_path / f"{count}.png", notes=[note], title=LONG_TITLE)
        figure, = figures
        legend = figure.axes[0].get_legend()
        entries = [text.get_text() for text in legend.get_texts()]
        assert len(entries) == count and not any("NB201" in entry for entry in entries)
        assert legend.get_title().get_text() == ""
        caption = figure.get_supxlabel()
        assert caption.startswith(INTERVAL_CAPTION)
        assert "NB201's own training curve (epochs 1-12): not drawn, zcnas does not read" in caption


def test_long_titles_and_labels_are_wrapped(tmp_path, figures):
    plot_rho_vs_cost(report(25), tmp_path / "fig1.png", title=LONG_TITLE,
                     cost_label="training cost per architecture, in epochs of the full-size network (FLOPs)")
    plot_score_scatter([1.0, 2.0, 3.0], [4.0, 6.0, 5.0], tmp_path / "scatter.png",
                       proxy="log_rank_sum(synflow+jacob_cov+snip+fisher)", dataset="ImageNet16-120")
    cost_axes, scatter_axes = (figure.axes[0] for figure in figures)
    for axes, width in ((cost_axes, 10), (scatter_axes, 6.4)):
        assert "\n" in axes.get_title()
        for text in (axes.get_title(), axes.get_xlabel()):
            assert max(map(len, text.split("\n"))) <= characters_across(width, text_size(axes, text))
    assert " ".join(cost_axes.get_title().split()) == LONG_TITLE


def text_size(axes, text):
    return axes.title.get_fontsize() if text == axes.get_title() else axes.xaxis.label.get_fontsize()


def test_score_scatter_writes_no_copy_of_the_benchmarks_accuracies(tmp_path):
    score = [1.0, np.nan, 3.0, 2.0, np.inf]
    accuracy = [50.0, 60.0, np.nan, 70.0, 80.0]
    path = plot_score_scatter(score, accuracy, tmp_path / "s.png", proxy="p")
    assert path.stat().st_size > 0 and sorted(p.name for p in tmp_path.iterdir()) == ["s.png"]
    with pytest.raises(ZcnasError, match="5 scores but 2 accuracies"):
        plot_score_scatter(score, accuracy[:2], tmp_path / "bad.png", proxy="p")
    assert not (tmp_path / "bad.png").exists()


def test_search_plot_writes_its_mean_curves_in_long_format(tmp_path, figures):
    rng = np.random.default_rng(4)
    names = ["rs", "rs+warmup1000", "rs+warmup3000", "ae", "ae+warmup1000", "ae+move", "ae+warmup1000+move",
             "rl", "rl+move10", "bp+warmup15625"]
    curves = {name: np.maximum.accumulate(rng.normal(70, 2, size=(3, 30 + i)), axis=1)
              for i, name in enumerate(names)}
    title = "nb201 cifar100: synflow-accelerated search (best by val accuracy; proxy scored on cifar100, " * 2
    path = tmp_path / "search.png"
    assert plot_search(curves, path, optimum=73.51, title=title) is None  # unchanged: returns nothing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["search.csv", "search.png"]
    data = pd.read_csv(tmp_path / "search.csv")
    assert list(data.columns) == ["variant", "models", "best_accuracy", "low", "high", "curve"]
    assert (data["curve"] == data["variant"]).all()
    assert len(data) == sum(c.shape[1] for c in curves.values())
    for name, runs in curves.items():
        rows = data[data["variant"] == name]
        assert rows["models"].tolist() == list(range(1, runs.shape[1] + 1))
        assert rows["best_accuracy"].to_numpy() == pytest.approx(runs.mean(axis=0))
        assert (rows["low"] <= rows["best_accuracy"]).all() and (rows["best_accuracy"] <= rows["high"]).all()
    figure, = figures
    lines = sum(len([l for l in axes.get_lines() if l.get_label() in curves]) for axes in figure.axes)
    assert lines == len(curves)  # a curve drawn per row group
    suptitle = figure.get_suptitle()
    assert " ".join(suptitle.split()) == " ".join(title.split())
    width = figure.get_figwidth()
    assert max(map(len, suptitle.split("\n"))) <= characters_across(width, 11)
    for axes in figure.axes:  # each panel's legend hangs below its axes, off the curves
        legend = axes.get_legend()
        assert legend is not None and legend.get_bbox_to_anchor().y1 < axes.bbox.y0
