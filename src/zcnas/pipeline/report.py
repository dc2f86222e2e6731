"""The Markdown report: the paper's NAS-Bench-201 numbers beside ours."""

import json
import os
from pathlib import Path

from ..files import atomic_path, write_json
from ..metric_keys import keyed
from .params import SHORTENED, Params
from ..evaluation.published import PAPER_ECONAS, PAPER_NB201, ZERO_COST_PREFIX
from ..proxies import published_figures
from .markdown import DATASET_TITLES, headline_section, machine_description, number, ours, read_json
from .nb101 import REPORT as REPORT_NB101, REPRODUCE_WITH as REPRODUCE_NB101
from .timings import merge_timings
from .summary import headline_summary

# Published Spearman rho with NAS-Bench-201 CIFAR-10 test accuracy: (rho, or a (low, high)
# range where papers disagree; source): every proxy's and aggregate's (their `published`
# metadata), and the few-shot figure.
PUBLISHED_NB201_C10 = {
    **{name: (figure.rho, figure.source) for name, figures in published_figures("nb201").items()
       for figure in figures if figure.dataset == "cifar10"},
    "fewshot": (0.941, "NAS-Bench-Suite-Zero: 13 proxies, 400 labelled cells"),
}
# Why ours differs from the published figure by more than 0.05, where we know.
GAP_NOTES = {
    "fisher": "the reference's NB201 network keeps a random bias in every cell convolution; on an all-zero "
              "node that drives BatchNorm to zero variance and fisher up ~400x (the fisher docstring); "
              "without those cells the two agree at rho 0.9998",
}


def paper_table(metrics: dict) -> list[str]:
    datasets = list(DATASET_TITLES)
    header = "| proxy | " + " | ".join(f"paper {DATASET_TITLES[d]} | ours {DATASET_TITLES[d]}" for d in datasets) + " |"
    lines = [header, "|---|" + "---|---|" * len(datasets)]
    for proxy, paper in PAPER_NB201.items():
        key = "pairwise_test" if proxy == "vote" else "spearman_test"
        cells = [f"{number(paper[d])} | {ours(metrics.get(d, {}).get(proxy), key)}" for d in datasets]
        lines.append(f"| {proxy} | " + " | ".join(cells) + " |")
    return lines


def _published(value) -> str:
    return f"{value[0]:.2f}–{value[1]:.2f}" if isinstance(value, tuple) else number(value, 3)


def _gap(ours: float, published) -> float:
    """Ours minus the published figure, or minus the nearer end of a published range (0 inside it)."""
    low, high = published if isinstance(published, tuple) else (published, published)
    return ours - high if ours > high else ours - low if ours < low else 0.0


def state_of_the_art_table(dataset_metrics: dict) -> list[str]:
    """Every evaluated proxy and ensemble on CIFAR-10, best first, beside its published rho."""
    rows = sorted(((name, entry) for name, entry in dataset_metrics.items()
                   if isinstance(entry, dict) and entry.get("spearman_test") is not None),
                  key=lambda item: -item[1]["spearman_test"])
    lines = ["| method | ours ρ [95% CI] | Kendall τ | published ρ | gap | seconds/arch | source |",
             "|---|---|---|---|---|---|---|"]
    notes = []
    for name, entry in rows:
        published, source = PUBLISHED_NB201_C10.get(name, (None, ""))
        gap = None if published is None else _gap(entry["spearman_test"], published)
        if gap is not None and abs(gap) > 0.05:
            notes.append(f"- `{name}` ({gap:+.2f}): {GAP_NOTES.get(name, 'not explained yet')}.")
        rho = ours(entry, "spearman_test") if name != "fewshot" else (
            f"{number(entry['spearman_test'], 3)} ± {number(entry.get('spearman_test_std'), 3)}")
        lines.append(f"| {name} | {rho} | {number(entry.get('kendall_test'))} | "
                     f"{'—' if published is None else _published(published)} | "
                     f"{'—' if gap is None else f'{gap:+.2f}'} | {number(entry.get('seconds_per_arch'), 3)} | "
                     f"{source} |")
    return lines + ([""] + ["Gaps over 0.05:"] + notes if notes else []) + [""]


def detail_table(dataset_metrics: dict) -> list[str]:
    columns = ["spearman_test", "spearman_val", "kendall_test", "top10_test", "ndcg_10_test", "hits_10_test",
               "pairwise_test", "n", "nan", "seconds_per_arch"]
    lines = ["| proxy | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for proxy, entry in dataset_metrics.items():
        if proxy == "fewshot_curve":  # a table of its own, fewshot_curve_table
            continue
        values = []
        for column in columns:
            value = entry.get(column)
            if column in {"n", "nan"}:
                values.append("—" if value is None else str(int(value)))
            elif column == "seconds_per_arch":
                values.append(number(value, 3))
            elif column == "spearman_test":
                values.append(ours(entry, column))
            else:
                values.append(number(value, 3))
        lines.append(f"| {proxy} | " + " | ".join(values) + " |")
    return lines


def ensemble_notes(dataset_metrics: dict) -> list[str]:
    """What the `ensemble` and `log_rank` rows combine, from their metrics' member lists."""
    meanings = {"ensemble": "mean rank of {} (on the cells where all are finite)",
                "log_rank": "AZ-NAS's sum of log(rank / M) over {} (every cell, a missing score ranked last)"}
    notes = [f"`{method}`: {meaning.format(', '.join(dataset_metrics[method]['proxies']))}."
             for method, meaning in meanings.items() if method in dataset_metrics]
    return [" ".join(notes), ""] if notes else []


def fewshot_curve_table(dataset_metrics: dict) -> list[str]:
    """The few-shot learning curve: mean [min, max] of rho and tau over the splits at each k."""
    if "fewshot_curve" not in dataset_metrics:
        return []
    curve = dataset_metrics["fewshot_curve"]
    lines = ["Few-shot: a gradient-boosted model over every proxy, trained on k labelled cells' test accuracy, "
             "judged on the rest; mean [min, max] over the seeded splits.", "",
             "| k | ρ test | τ test |", "|---|---|---|"]
    for k, point in curve["points"].items():
        cells = [f"{number(point[m])} [{number(point[m + '_min'])}, {number(point[m + '_max'])}]"
                 for m in ("spearman_test", "kendall_test")]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return lines + ([curve["note"], ""] if "note" in curve else [""])


def econas_section(econas: dict) -> list[str]:
    synflow = econas.get(f"{ZERO_COST_PREFIX}synflow", {}).get("seconds_per_arch")
    lines = ["## Zero-cost proxies against reduced training (EcoNAS)", "",
             "Same architectures for every row (a seeded subset of the scored sample). Reduced training: "
             "validation accuracy after the last epoch, on a held-out part of the training set; its cost "
             "counts training only. `econas` and `econas+` are the paper's settings (epoch 20 and 15 of a "
             "40-epoch schedule, batch 2048); a row named `-shortened` was cut to fit a CPU (`econas.shortened` "
             "in params) and is **not** the paper's setting, though its paper ρ is the one of the setting it "
             "shortens. `full-size epochs`: training FLOPs per architecture as a multiple of one epoch of the "
             "full-size network (the paper's cost unit); `synflow speed-up`: seconds per architecture of the row "
             "over synflow's, measured here.", "",
             "| method | ρ test [95% CI] | paper ρ | Kendall τ | n | epochs | full-size epochs | seconds/arch | "
             "images/s | synflow speed-up |", "|---|---|---|---|---|---|---|---|---|---|"]
    for method, entry in econas.items():
        seconds = entry.get("seconds_per_arch")
        speedup = f"{seconds / synflow:,.0f}×" if seconds and synflow else "—"
        # A shortened run is compared with the paper's figure for the setting it shortens, and says so.
        paper = keyed(PAPER_ECONAS).get(method.removesuffix(SHORTENED))  # names as the metrics spell them
        lines.append(
            f"| {method} | {ours(entry, 'spearman_test')} | {number(paper)} | "
            f"{number(entry.get('kendall_test'))} | {entry.get('n', '—')} | {entry.get('epochs', '—')} | "
            f"{number(entry.get('full_epochs_per_arch'), 4)} | {number(seconds, 3)} | "
            f"{number(entry.get('images_per_second'), 0)} | {speedup} |")
    return lines + [""]


# The paper's Figure 2 (NAS-Bench-201 CIFAR-100), as read off its curves.
PAPER_SEARCH_CIFAR100 = {
    "rs": "~72.0% after 300 models",
    "rs+warmup3000": "~73.0% after ~40 models",
    "ae": "73.2% after ~200 models",
    "ae+warmup15625": "73.2% after ~50 models",
    "bp": "73.2% after ~80 models",
    "bp+warmup3000": "73.2% after ~40 models",
}


def search_section(metrics: dict) -> list[str]:
    lines = ["## Search with zero-cost proxies (simulated on the benchmark)", "",
             "Best test accuracy of the best-by-validation architecture after each trained model, over seeded runs. "
             "`models to t`: where the mean curve first reaches t (the paper reads its Figure 2 this way); "
             "`all runs`: mean over runs of the models each needed, — unless every run got there; "
             "`speed-up`: the plain algorithm's all-runs mean over the variant's. "
             "Each run reads the proxy scored under one weight seed of its networks (run r: seed r mod the "
             "seeds scored), so a result that rests on one initialisation shows in the spread across seeds "
             "under each table.", ""]
    for dataset, summary in metrics.items():
        # Beside the variants, a dataset's summary says which proxy rankings its runs read.
        rankings = summary.get("proxy_rankings")
        variants = {name: entry for name, entry in summary.items() if name != "proxy_rankings"}
        targets = sorted({key.removeprefix("models_to_") for entry in variants.values() for key in entry
                          if key.startswith("models_to_")}, key=float)
        header = ["variant", "runs", "budget", "best at budget"] + [
            f"models to {t} (all runs; share; speed-up)" for t in targets]
        if dataset == "cifar100":
            header.append("paper (Fig. 2)")
        lines += [f"### {DATASET_TITLES.get(dataset, dataset)}", "", "| " + " | ".join(header) + " |",
                  "|" + "---|" * len(header)]
        for variant, entry in variants.items():
            cells = [variant, str(entry["runs"]), str(entry["budget"]), number(entry["best_mean_at_budget"])]
            for t in targets:
                mean_curve, all_runs = entry.get(f"mean_curve_models_to_{t}"), entry.get(f"models_to_{t}")
                speedup = entry.get(f"speedup_{t}")
                cells.append(f"{'—' if mean_curve is None else mean_curve} ({number(all_runs, 1)}; "
                             f"{number(entry.get(f'reached_share_{t}'))}; "
                             f"{'—' if speedup is None else f'{speedup:.1f}×'})")
            if dataset == "cifar100":
                cells.append(keyed(PAPER_SEARCH_CIFAR100).get(variant, ""))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        if rankings:
            lines += seed_spread_table(variants, rankings, targets)
    return lines


def proxy_search_section(comparison: dict) -> list[str]:
    """The proxy-driven variants under each proxy compared (the search stage's comparison file)."""
    lines = ["### Which proxy drives search best", "",
             "The variants that read a proxy, run under each proxy with the same run seeds (the plain algorithms, "
             "shared, are the speed-ups' baseline). Per target: mean models over runs when every run reaches it "
             "(share of runs that do; speed-up over the plain algorithm).", ""]
    for dataset, proxies in comparison.items():
        entries = [entry for variants in proxies.values() for entry in variants.values()]
        targets = sorted({key.removeprefix("models_to_") for entry in entries for key in entry
                          if key.startswith("models_to_")}, key=float)
        lines += [f"{DATASET_TITLES.get(dataset, dataset)}:", "",
                  "| variant | proxy | best at budget | " + " | ".join(f"to {t}" for t in targets) + " |",
                  "|---|---|---|" + "---|" * len(targets)]
        variants = list(dict.fromkeys(variant for variants in proxies.values() for variant in variants))
        for variant in variants:
            for proxy, entries_of in proxies.items():
                entry = entries_of.get(variant)
                if entry is None:
                    continue
                cells = [f"{number(entry.get(f'models_to_{t}'), 1)} ({number(entry.get(f'reached_share_{t}'))}; "
                         + ("—" if entry.get(f"speedup_{t}") is None else f"{entry[f'speedup_{t}']:.1f}×") + ")"
                         for t in targets]
                lines.append(f"| {variant} | {proxy} | {number(entry['best_mean_at_budget'])} | "
                             + " | ".join(cells) + " |")
        lines.append("")
    return lines


def seed_spread_table(variants: dict, rankings: dict, targets: list[str]) -> list[str]:
    """Per weight seed, the numbers of the variants that read the proxy (plain ones do not)."""
    lines = [f"Spread across weight seeds: {rankings['proxy']} scored on {rankings['scored_on']} under "
             f"{rankings['weight_seeds']} weight seeds; the runs read {rankings['seeds_read']} of them, which rank "
             f"the cells in {rankings['distinct']} distinct order(s). Per seed: best at budget, and where the "
             "mean curve of that seed's runs first reaches t (— never); `mean ± sd` across seeds.", ""]
    spread = {name: entry for name, entry in variants.items() if entry.get("by_weight_seed")}
    if not spread:
        return lines
    header = ["variant", "rankings seen", "runs per seed", "best at budget per seed (mean ± sd)"] + [
        f"models to {t} per seed" for t in targets]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for variant, entry in spread.items():
        seeds = entry["by_weight_seed"].values()
        best = [seed["best_mean_at_budget"] for seed in seeds]
        sd = entry.get("best_mean_at_budget_sd_across_seeds")
        cells = [variant, str(entry["distinct_rankings"]), " / ".join(str(seed["runs"]) for seed in seeds),
                 " / ".join(number(value) for value in best)
                 + f" ({number(sum(best) / len(best))} ± {number(sd)})"]
        for t in targets:
            cells.append(" / ".join("—" if seed.get(f"mean_curve_models_to_{t}") is None
                                    else f"{seed[f'mean_curve_models_to_{t}']:g}" for seed in seeds))
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def nb101_pointer(out: Path) -> list[str]:
    """Where the NAS-Bench-101 task's results are: a pipeline of its own, whose report the default run
    does not read (so that `dvc repro` never runs that pipeline as an upstream of this one)."""
    link = os.path.relpath(Path(REPORT_NB101), Path(out).parent)
    return ["## NAS-Bench-101", "",
            f"The second correlation task is a pipeline of its own (`{REPRODUCE_NB101}`, about an hour on 2 CPU "
            f"cores): every proxy on the 301 distinct cells of NAS-Bench-101's 500-row sample, beside the paper's "
            f"NB101 row. Its results, committed with these: [{REPORT_NB101}]({link}).", ""]


PROTOCOLS = {"all": "all 15,625 cells",
             "non_isomorphic": "the 9,445 non-isomorphic cells (NAS-Bench-Suite-Zero, GRAF)"}
# Published whole-space figures and the protocol each used: {method: (rho by dataset, protocol, source)},
# from the proxies' and aggregates' metadata, and VKDNW's (no proxy of zcnas's).
PUBLISHED_WHOLE_SPACE = {
    **{name: ({figure.dataset: figure.rho for figure in whole}, whole[0].protocol, whole[0].source)
       for name, figures in published_figures("nb201").items()
       if (whole := [figure for figure in figures if figure.protocol in PROTOCOLS])},
    "vkdnw": ({"cifar10": 0.919}, "all", "Tybl & Neumann 2025 (VKDNW, label-free)"),
}


def whole_space_section(metrics: dict) -> list[str]:
    """The whole-space proxies under the literature's protocols, beside the published figures."""
    lines = ["## The whole space, under the literature's protocols", "",
             "The whole-space scores (`score_space`) judged against test accuracy over all 15,625 NB201 cells and "
             "over the 9,445 non-isomorphic ones (one cell per graph once edges on no input-to-output path are "
             "dropped). ρ [bootstrap 95% interval over cells] and the other figures use the global seed's weights; "
             "`ρ sd`: spread of ρ across the weight seeds scored. `cells` is fewer when `score_space.sample` is not `all`. nDCG@k: VKDNW's definition (Tybl & Neumann, "
             "CVPR 2025), accuracy as the gain of the cell at each place of the score's order, discounted by "
             "1/log2(place + 1), over the ideal order's. hits@k: share of the true top k in the score's top k.", "",
             "| dataset | cells | method | scored on | ρ [95% CI] | ρ sd | Kendall τ | nDCG@10 | nDCG@100 | "
             "hits@10 | hits@100 |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for dataset, entries in metrics.items():
        for protocol in PROTOCOLS:
            for method, entry in entries.get(protocol, {}).items():
                lines.append(
                    f"| {DATASET_TITLES.get(dataset, dataset)} | {entry['n']:,} | {method} | {entries['scored_on']} | "
                    f"{ours(entry, 'spearman_test')} | {number(entry.get('spearman_test_seed_sd'), 4)} | "
                    f"{number(entry.get('kendall_test'))} | " + " | ".join(
                        ours(entry, f"{name}_{k}_test") for name in ("ndcg", "hits") for k in (10, 100)) + " |")
    lines += ["", "Published figures and the protocol of each (Spearman ρ with test accuracy):", "",
              "| method | protocol | CIFAR-10 | CIFAR-100 | ImageNet16-120 | source |", "|---|---|---|---|---|---|"]
    for method, (rhos, protocol, source) in PUBLISHED_WHOLE_SPACE.items():
        lines.append(f"| {method} | {PROTOCOLS[protocol]} | "
                     + " | ".join(number(rhos.get(dataset), 3) for dataset in DATASET_TITLES) + f" | {source} |")
    return lines + [""]


def write_report(params: Params, correlation_json: Path, out: Path, plots_dir: Path | None = None,
                 search_json: Path | None = None, econas_json: Path | None = None,
                 timings_json: Path | None = None, econas_timings_json: Path | None = None,
                 space_json: Path | None = None,
                 search_proxies_json: Path | None = None, summary_out: Path | None = None) -> Path:
    """The report; `plots_dir` holds the stages' plots (`cost/`, `econas/`, `search/`), which it
    shows beside their sections. Seconds come from the
    timings files (measurements of this machine) and are labelled as such. With
    `summary_out`, the headline figures (`zcnas.pipeline.summary`) are written there and
    listed at the end of the report under the same keys."""
    metrics = merge_timings(json.loads(Path(correlation_json).read_text()), read_json(timings_json))

    def image(title: str, relative_path: str) -> list[str]:
        if plots_dir is None:
            return []
        return [f"![{title}]({os.path.relpath(Path(plots_dir) / relative_path, Path(out).parent)})", ""]

    lines = [
        "# zcnas report",
        "",
        "Made by `dvc repro` (the MLflow run of each stage records its commit and time). Every number is "
        "reproduced bit for bit by a rerun with the same code and params, except the seconds, measured "
        "on this machine.",
        "",
        "## Setup",
        "",
        f"- Search space: {params.score.space}; datasets: {', '.join(params.score.datasets)}",
        f"- Architectures: {params.score.sample} (seeded sample), seed {params.seed}",
        f"- Minibatch: {params.score.batch_size} images, `{params.score.dataload}` selection, "
        + ("a fresh seeded batch per architecture, as the paper's code draws one (`score.minibatch: per_arch`)"
           if params.score.minibatch == "per_arch" else
           "one per dataset, shared by all architectures (`score.minibatch: shared`)"),
        f"- Device: `{params.device}`; machine: {machine_description()}",
        "",
        "## Spearman ρ with test accuracy on NAS-Bench-201: paper vs ours",
        "",
        "Ours: ρ [bootstrap 95% interval]. `vote` is the share of architecture pairs the majority of "
        f"{', '.join(params.evaluate.vote)} orders correctly, as in the paper. A proxy whose lower scores "
        "are better is judged by its negated score, so a good proxy has a positive ρ either way. — = not computed "
        "(add the dataset to `score.datasets` when its images are available).",
        "",
        *paper_table(metrics),
        "",
    ]
    if "cifar10" in metrics:
        lines += ["## State of the art on NAS-Bench-201 CIFAR-10", "",
                  "Every proxy and ensemble we score, best first, beside its published Spearman ρ with "
                  "CIFAR-10 test accuracy. `fewshot`: mean ± sd over the seeded splits, judged on the cells it "
                  "did not learn from (k in the few-shot table below). `gap`: ours minus the published figure "
                  "(minus the nearer end of a published range). seconds/arch: on this machine; for a set-level "
                  "score or an ensemble, the sum of its members' (an upper bound: each counts the passes it "
                  "shares).", "", *state_of_the_art_table(metrics["cifar10"])]
    for dataset, dataset_metrics in metrics.items():
        lines += [f"## {DATASET_TITLES.get(dataset, dataset)} in detail", "",
                  "top10_test: share of the true top 10% in the score's top 10%; ndcg_10_test, hits_10_test: nDCG@10 "
                  "and the share of the true top 10 cells in the score's top 10 (see the whole-space section); "
                  "seconds_per_arch: median cost of the proxy alone on one architecture, network construction "
                  "excluded, on this machine.", "", *ensemble_notes(dataset_metrics), *detail_table(dataset_metrics),
                  "", *fewshot_curve_table(dataset_metrics)]
        lines += image("rho against cost", f"cost/{dataset}-rho-vs-cost.png")
    if space_json is not None:
        lines += whole_space_section(read_json(space_json))
    if econas_json is not None:
        lines += econas_section(merge_timings(read_json(econas_json), read_json(econas_timings_json)))
        lines += image("Figure 1: rho against training cost in full-size epochs", "econas/figure1-flops.png")
        lines += image("Figure 1: rho against seconds on this machine", "econas/figure1-seconds.png")
    if search_json is not None:
        searched = json.loads(Path(search_json).read_text())
        lines += search_section(searched)
        for key in searched:  # a dataset, or space/dataset off the score space
            plot = key.replace("/", "-") if "/" in key else f"{params.score.space}-{key}"
            lines += image(f"search on {key}", f"search/{plot}.png")
    if search_proxies_json is not None:
        lines += proxy_search_section(read_json(search_proxies_json))
        lines += image("share of runs reaching the highest target, per proxy", "search/proxies.png")
    lines += nb101_pointer(out)
    if summary_out is not None:
        summary = headline_summary(json.loads(Path(correlation_json).read_text()), read_json(econas_json),
                                   read_json(search_json), read_json(space_json))
        write_json(summary, summary_out)
        lines += headline_section(summary, summary_out)
    with atomic_path(out) as tmp:
        tmp.write_text("\n".join(lines))
    return Path(out)
