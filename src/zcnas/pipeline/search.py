"""The search stage: NAS algorithms with and without the zero-cost proxy, simulated on the benchmark."""

from pathlib import Path

import numpy as np

from ..benchmarks import read_ground_truth
from ..files import read_table, write_json, write_table
from ..metric_keys import keyed
from ..search import (Benchmark, check_search, count_distinct_rankings, curves_frame, plot_search, proxy_ranking,
                      run_variants, summarize, uses_proxy, variant_name)
from ..search.comparison import plot_comparison
from ..spaces import get_space
from ..tracking import StageRun
from .params import Params
from .space_scores import proxy_scores_for
from .tables import score_table_path
from .stage import worker_count


def nb101_skip_reason(ground_truth_dir: Path, space_scores_dir: Path, seeds: int) -> str | None:
    """Why NB101 search cannot run here, or None when it can."""
    path = Path(ground_truth_dir) / "nb101.parquet"
    if not path.exists():
        return (f"NB101 search skipped: no NB101 ground truth at {path} (add nb101 to fetch.spaces with the "
                "official nasbench_only108.tfrecord)")
    cells = read_ground_truth(path)["arch"].nunique()
    if cells < get_space("nb101").size:  # a smaller table (the 500-cell sample) is no search space
        return (f"NB101 search skipped: {path} holds {cells} cells, not the full {get_space('nb101').size} "
                "(the tidy sample is for correlation only; fetch the official tfrecord)")
    missing = [str(path) for path in (score_table_path(space_scores_dir, "nb101", "cifar10", k) for k in range(seeds))
               if not path.exists()]
    if missing:
        return f"NB101 search skipped: no whole-space NB101 proxy scores at {', '.join(missing)}"
    return None


def search_stage(params: Params, ground_truth_dir: Path, space_scores_dir: Path, metrics_path: Path,
                 curves_dir: Path, plots_dir: Path, run: StageRun, comparison_path: Path | None = None) -> dict:
    """Every variant on every dataset (`_search_space`) into `metrics_path`; with
    `comparison_path`, the proxy-driven variants under `search.proxy` and each of
    `search.compare` side by side there ({dataset: {proxy: {variant: summary}}}), and
    the share of runs reaching each dataset's highest target in `plots_dir`/proxies.png."""
    spaces = [params.score.space]
    if params.score.space != "nb101":
        if reason := nb101_skip_reason(ground_truth_dir, space_scores_dir, params.score_space.seeds):
            print(reason)
            run.set_tags({"zcnas.nb101_search": reason})
        else:
            spaces.append("nb101")
    summaries, comparisons = {}, {}
    for space_name in spaces:
        searched, compared = _search_space(params, get_space(space_name), ground_truth_dir, space_scores_dir,
                                           curves_dir, plots_dir, run)
        summaries.update(searched)
        comparisons.update(compared)
    summaries = keyed(summaries)  # names as metric keys spell them, in the file, MLflow and what is returned
    write_json(summaries, metrics_path)
    run.log_metrics(summaries)
    if comparison_path is not None:
        comparisons = keyed(comparisons)
        write_json(comparisons, comparison_path)
        run.log_metrics({"proxies": comparisons})
        config = params.search
        plot_comparison({key: compared for key, compared in comparisons.items() if "/" not in key},
                        {key: max(config.targets[key]) for key in comparisons if "/" not in key},
                        Path(plots_dir) / "proxies.png",
                        f"{params.score.space}: share of runs that reach each dataset's highest target within "
                        "the budget, per proxy-driven variant and proxy (paired runs; above a bar, the mean models "
                        "when every run gets there)")
    run.headline = ", ".join(filter(None, (fastest(key, summary) for key, summary in summaries.items())))
    run.log_artifact(plots_dir, "plots")
    return summaries


def _search_space(params: Params, space, ground_truth_dir: Path, space_scores_dir: Path, curves_dir: Path,
                  plots_dir: Path, run: StageRun) -> tuple[dict, dict]:
    """Every variant on every dataset of one space, and the proxy comparison; keys are
    datasets ("nb101/cifar10" off NB201).

    Run r of every variant reads the proxy under weight seed r mod score_space.seeds. A
    dataset's summary holds its variants and `proxy_rankings`: the proxy, the dataset it
    was scored on, the weight seeds scored, how many of them the runs read and how many
    distinct rankings those gave. All settings are checked against every dataset
    (budgets, warm-up sizes against the space) before the first run starts.
    """
    config = params.search
    truth = read_ground_truth(Path(ground_truth_dir) / f"{space.name}.parquet")
    groups: dict[str, list] = {}
    for variant in config.variants:
        search_config = config.config(variant)
        groups.setdefault(search_config.algorithm, []).append(search_config)
    plans = {}
    for dataset in [d for d in config.datasets if (truth["dataset"] == d).any()]:
        benchmark = Benchmark(space, truth[truth["dataset"] == dataset])
        paths, source = proxy_scores_for(space_scores_dir, space.name, dataset, params.score_space.datasets[0],
                                         params.score_space.seeds)
        # The weight seeds' tables score the same cells: one warning about missing ones is enough.
        rankings = [proxy_ranking(benchmark, read_table(path), config.proxy, warn_missing=seed == 0)
                    for seed, path in enumerate(paths)]
        for variants in groups.values():
            for variant in variants:
                check_search(variant, benchmark, config.budget[variant.algorithm], rankings[0], config.select_by)
        compared = {spec: [proxy_ranking(benchmark, read_table(path), spec, warn_missing=False) for path in paths]
                    for spec in config.compare}
        plans[dataset] = (benchmark, rankings, source, compared)
    workers = worker_count(params, "cpu")
    # Runs cycle through the weight seeds, so the runs read as many as the most runs of a
    # variant that reads the proxy at all.
    proxy_runs = max((config.runs[algorithm] for algorithm, variants in groups.items()
                      if any(map(uses_proxy, variants))), default=0)
    summaries, comparisons, curves_by_variant = {}, {}, {}
    for dataset, (benchmark, rankings, source, compared) in plans.items():
        curves: dict[str, np.ndarray] = {}
        for algorithm, variants in groups.items():
            curves.update(run_variants(variants, benchmark, rankings, config.budget, config.runs[algorithm],
                                       params.seed, config.proxy, config.select_by, workers, progress=True,
                                       executor=params.executor.settings()))
        key = dataset if space.name == params.score.space else f"{space.name}/{dataset}"
        seen = rankings[:proxy_runs]
        summaries[key] = {**summarize(curves, config.targets[dataset], rankings),
                          "proxy_rankings": {"proxy": config.proxy, "scored_on": source, "weight_seeds": len(rankings),
                                             "seeds_read": len(seen), "distinct": count_distinct_rankings(seen)}}
        comparisons[key] = _compare_proxies(params, groups, benchmark, curves, summaries[key], compared,
                                            config.targets[dataset], workers)
        write_table(curves_frame(curves), Path(curves_dir) / f"{space.name}-{dataset}.parquet")
        for variant, variant_curves in curves.items():
            curves_by_variant.setdefault(variant, {})[key] = variant_curves
        plot_search(curves, Path(plots_dir) / f"{space.name}-{dataset}.png", optimum=benchmark.optimum,
                    title=f"{space.name} {dataset}: {config.proxy}-accelerated search "
                          f"(best by {config.select_by} accuracy; proxy scored on {source}, "
                          f"{len(rankings)} weight seeds)")
    for algorithm, variants in groups.items():
        for variant in map(variant_name, variants):
            with run.child(f"search {variant}" + ("" if space.name == params.score.space else f" ({space.name})"),
                           {"variant": variant, "runs": config.runs[algorithm], "budget": config.budget[algorithm],
                            "settings": config.settings.get(algorithm, {})},
                           f"Search variant `{variant}`: mean best test accuracy after each trained model "
                           "(metric `best_test_acc.<dataset>`, step = models trained).") as child:
                child.log_metrics({key: summary[variant] for key, summary in summaries.items()})
                child.log_curves({f"best_test_acc.{key}": dict(enumerate(np.nanmean(curves, axis=0), start=1))
                                  for key, curves in curves_by_variant[variant].items()})
    run.set_tags({f"zcnas.search_proxy_scored_on.{space.name}.{d}": plan[2] for d, plan in plans.items()})
    return summaries, comparisons


def _compare_proxies(params: Params, groups: dict, benchmark: Benchmark, curves: dict, summary: dict,
                     compared: dict, targets: list[float], workers: int) -> dict:
    """{proxy: {variant: summary}} of the proxy-driven variants: `search.proxy`'s from `summary`,
    each of `compared`'s (spec: its rankings per weight seed) run here with the same run seeds,
    its speed-ups over the plain algorithms' `curves`."""
    config = params.search
    driven = {algorithm: [variant for variant in variants if uses_proxy(variant)] for algorithm, variants in groups.items()}
    names = [variant_name(variant) for variants in driven.values() for variant in variants]
    comparison = {config.proxy: {name: summary[name] for name in names}}
    plain = {name: variant_curves for name, variant_curves in curves.items() if name not in names}
    for spec, rankings in compared.items():
        spec_curves = {}
        for algorithm, variants in driven.items():
            if variants:
                spec_curves.update(run_variants(variants, benchmark, rankings, config.budget, config.runs[algorithm],
                                                params.seed, spec, config.select_by, workers, progress=True,
                                                executor=params.executor.settings()))
        spec_summary = summarize({**plain, **spec_curves}, targets, rankings)
        comparison[spec] = {name: spec_summary[name] for name in spec_curves}
    return comparison


def fastest(dataset: str, summary: dict) -> str:
    """`dataset: variant N× to t` for the largest speed-up at the dataset's first target, or ''."""
    speedups = {(variant, key.removeprefix("speedup_")): value for variant, entry in summary.items()
                if isinstance(entry, dict) for key, value in entry.items()
                if key.startswith("speedup_") and isinstance(value, (int, float))}
    if not speedups:
        return ""
    first = min((target for _, target in speedups), key=float)
    variant, value = max(((v, x) for (v, t), x in speedups.items() if t == first), key=lambda item: item[1])
    return f"{dataset}: {variant} {value:.1f}× to {first}"

