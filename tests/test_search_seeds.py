"""Search over several weight seeds of the proxy: replicate tables, runs spread over them, the spread reported."""

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from zcnas.benchmarks import synthetic_nb201, write_ground_truth
from zcnas.errors import ZcnasError
from zcnas.files import write_table
from zcnas.pipeline.params import parse_params
from zcnas.pipeline.report import proxy_search_section, search_section
from zcnas.metric_keys import metric_key
from zcnas.pipeline.score import MinibatchSettings, score_stage, score_table_path, weight_seed
from zcnas.pipeline.search import search_stage
from zcnas.pipeline.space_scores import proxy_scores_for
from zcnas.search import (Benchmark, count_distinct_rankings, proxy_ranking, proxy_replicates, run_search,
                          run_variants, seed_spread, summarize)
from zcnas.seeding import derive_seed
from zcnas.spaces import get_space
from zcnas.tracking import StageRun

NB201 = get_space("nb201")
SMALL_OPS = ("skip_connect", "nor_conv_1x1", "nor_conv_3x3")


@pytest.fixture(scope="module")
def small():
    """A 729-cell benchmark, and two proxies that rank it in opposite orders."""
    cells = list(itertools.product(SMALL_OPS, repeat=6))
    val = np.random.default_rng(0).uniform(50, 90, len(cells))
    table = pd.DataFrame({"arch": [NB201.format(cell) for cell in cells], "val_acc": val, "test_acc": val - 1})
    benchmark = Benchmark(NB201, table)
    oracle = pd.Series(benchmark.test, index=benchmark.names)
    return benchmark, proxy_ranking(benchmark, oracle, "p"), proxy_ranking(benchmark, -oracle, "p")


# --- runs and replicates ------------------------------------------------------------

def test_run_r_reads_replicate_r_mod_n(small):
    benchmark, best_first, worst_first = small
    # A whole-space warm-up trains the proxy's top cell first: the optimum under the
    # oracle, the worst cell under its reverse. So the first model tells the ranking read.
    curves = run_variants(["rs+warmup729"], benchmark, [best_first, worst_first], 5, runs=4, seed=3)["rs+warmup729"]
    assert curves[:, 0].tolist() == [benchmark.optimum, benchmark.test.min()] * 2
    for run in range(4):
        ranking = (best_first, worst_first)[run % 2]
        assert np.array_equal(curves[run], run_search("rs+warmup729", benchmark, ranking, 5, seed=3, run_index=run))


def test_a_single_ranking_still_runs_every_run(small):
    benchmark, best_first, _ = small
    single = run_variants(["ae+move", "rs"], benchmark, best_first, 70, runs=3, seed=1)
    listed = run_variants(["ae+move", "rs"], benchmark, [best_first], 70, runs=3, seed=1)
    for name in single:
        assert np.array_equal(single[name], listed[name])
    assert proxy_replicates(benchmark, None) is None
    with pytest.raises(ZcnasError, match="empty list"):
        run_variants(["rs+warmup10"], benchmark, [], 10, runs=1, seed=1)
    with pytest.raises(ZcnasError, match=r"replicate\(s\) \[1\] are None"):
        run_variants(["rs+warmup10"], benchmark, [best_first, None], 10, runs=2, seed=1)


def test_replicated_runs_do_not_depend_on_worker_count(small):
    benchmark, best_first, worst_first = small
    variants = ["rs+warmup100", "ae+move"]
    serial = run_variants(variants, benchmark, [best_first, worst_first], 70, runs=3, seed=9)
    parallel = run_variants(variants, benchmark, [best_first, worst_first], 70, runs=3, seed=9, workers=2)
    for name in variants:
        assert np.array_equal(serial[name], parallel[name])


def test_distinct_rankings_count_orderings_not_score_values(small):
    benchmark, best_first, worst_first = small
    oracle = pd.Series(benchmark.test, index=benchmark.names)
    rescaled = proxy_ranking(benchmark, np.exp(oracle / 10), "p")  # other numbers, same order
    assert count_distinct_rankings([best_first, best_first]) == 1
    assert count_distinct_rankings([best_first, rescaled]) == 1
    assert count_distinct_rankings([best_first, worst_first, rescaled]) == 2
    # A NaN ranks below every number: it orders like the lowest score, not like the cell's own.
    assert oracle.iloc[0] > oracle.min()
    holed, lowest = oracle.copy(), oracle.copy()
    holed.iloc[0], lowest.iloc[0] = np.nan, oracle.min() - 1
    holed, lowest, oracle = (proxy_ranking(benchmark, scores, "p") for scores in (holed, lowest, oracle))
    assert count_distinct_rankings([holed, lowest]) == 1
    assert count_distinct_rankings([holed, oracle]) == 2


# --- summaries --------------------------------------------------------------------------

def test_seed_spread_splits_runs_by_the_replicate_they_read(small):
    _, best_first, worst_first = small
    # Runs 0 and 2 read replicate 0, runs 1 and 3 replicate 1.
    curves = np.array([[72.0, 74.0], [70.0, 71.0], [73.0, 74.0], [70.0, 73.0]])
    spread = seed_spread(curves, [73.0], [best_first, worst_first])
    first, second = spread["by_weight_seed"]["seed0"], spread["by_weight_seed"]["seed1"]
    assert (first["runs"], first["best_mean_at_budget"], first["mean_curve_models_to_73"]) == (2, 74.0, 2)
    assert (second["runs"], second["best_mean_at_budget"], second["mean_curve_models_to_73"]) == (2, 72.0, None)
    assert second["reached_share_73"] == 0.5
    assert spread["distinct_rankings"] == 2
    assert spread["best_mean_at_budget_sd_across_seeds"] == pytest.approx(np.std([74.0, 72.0], ddof=1))
    # Fewer runs than replicates: only the replicates read count; identical ones count once.
    one_run = seed_spread(curves[:1], [73.0], [best_first, worst_first, best_first])
    assert list(one_run["by_weight_seed"]) == ["seed0"] and one_run["distinct_rankings"] == 1
    assert one_run["best_mean_at_budget_sd_across_seeds"] is None
    assert seed_spread(curves, [73.0], [best_first, best_first])["distinct_rankings"] == 1
    with pytest.raises(ZcnasError, match="needs the proxy replicates"):
        seed_spread(curves, [73.0], [])


def test_summary_adds_the_spread_to_proxy_variants_only(small):
    _, best_first, worst_first = small
    curves = {"rs": np.full((4, 3), 70.0), "rs+warmup10": np.full((4, 3), 72.0)}
    summary = summarize(curves, [71.0], [best_first, worst_first])
    json.dumps(summary, allow_nan=False)
    assert "by_weight_seed" not in summary["rs"] and "distinct_rankings" not in summary["rs"]
    assert set(summary["rs+warmup10"]["by_weight_seed"]) == {"seed0", "seed1"}
    assert summarize(curves, [71.0]) == {name: {key: value for key, value in entry.items()
                                                if key not in ("by_weight_seed", "distinct_rankings",
                                                               "best_mean_at_budget_sd_across_seeds")}
                                         for name, entry in summary.items()}


# --- params -----------------------------------------------------------------------------

def test_score_space_seeds_is_validated():
    assert parse_params({}).score_space.seeds == 2
    assert parse_params({"score_space": {"seeds": 1}}).score_space.seeds == 1
    for bad in (0, -2, "3", 2.5, True):
        with pytest.raises(ZcnasError) as error:
            parse_params({"score_space": {"seeds": bad}})
        assert "score_space.seeds" in str(error.value) and repr(bad) in str(error.value), str(error.value)


# --- the stages -------------------------------------------------------------------------

def test_replicate_tables_are_named_and_seeded_apart(tmp_path):
    assert score_table_path(tmp_path, "nb201", "cifar10") == tmp_path / "nb201-cifar10.parquet"
    assert score_table_path(tmp_path, "nb201", "cifar10", 2) == tmp_path / "nb201-cifar10-seed2.parquet"
    assert weight_seed(42, 0) == 42
    assert weight_seed(42, 1) == derive_seed(42, "weights", 1) != weight_seed(42, 2)


def test_score_space_writes_one_table_per_seed_and_seed_0_is_the_global_seeds(tmp_path, synthetic_data_dir,
                                                                              no_mirror):
    truth = synthetic_nb201(0)
    write_ground_truth(truth, tmp_path / "truth" / "nb201.parquet")
    params = parse_params({"device": "cpu", "workers": 1, "score": {"batch_size": 8}})
    common = dict(params=params, ground_truth_dir=tmp_path / "truth", data_dir=synthetic_data_dir, run=StageRun(),
                  space="nb201", proxies=["synflow"], sample=3, datasets=["cifar10"], purpose="score_space",
                  minibatch=None)
    replicated = score_stage(out_dir=tmp_path / "space", journal_dir=tmp_path / "journals", replicates=2, **common)
    single = score_stage(out_dir=tmp_path / "single", journal_dir=tmp_path / "journals", **common)
    paths = [score_table_path(tmp_path / "space", "nb201", "cifar10", k) for k in range(2)]
    assert list(replicated) == paths and all(path.exists() for path in paths)
    (only,) = single.values()
    assert replicated[paths[0]]["synflow"].tolist() == only["synflow"].tolist()
    assert replicated[paths[1]]["arch"].tolist() == only["arch"].tolist()
    assert replicated[paths[1]]["synflow"].tolist() != only["synflow"].tolist()
    # A data-free proxy reads only the input shape: no minibatch setting moves its scores,
    # which is why the whole-space stage depends on none.
    batched = score_stage(out_dir=tmp_path / "batched", journal_dir=tmp_path / "journals",
                          **{**common, "minibatch": MinibatchSettings(8, "random", "per_arch")})
    assert next(iter(batched.values()))["synflow"].tolist() == only["synflow"].tolist()
    with pytest.raises(ZcnasError, match="replicates must be None or an integer >= 1, got 0"):
        score_stage(out_dir=tmp_path / "none", replicates=0, **common)


@pytest.fixture(scope="module")
def search_dirs(tmp_path_factory):
    """Ground truth of the whole (synthetic) NB201 space and two weight seeds' tables that
    order the cells alike (the second is the first doubled), plus a third that reverses them."""
    root = tmp_path_factory.mktemp("search")
    truth = synthetic_nb201(0)
    write_ground_truth(truth, root / "truth" / "nb201.parquet")
    cifar10 = truth[truth["dataset"] == "cifar10"]
    # `params` here is the oracle reversed, a proxy to compare synflow with.
    scores = pd.DataFrame({"arch": cifar10["arch"].to_numpy(), "synflow": cifar10["test_acc"].to_numpy(),
                           "params": -cifar10["test_acc"].to_numpy()})
    for k, factor in enumerate((1.0, 2.0, -1.0)):
        write_table(scores.assign(synflow=scores["synflow"] * factor, params=scores["params"] * factor),
                    score_table_path(root / "space", "nb201", "cifar10", k))
    return root


def search_params(seeds: int):
    return parse_params({"workers": 1, "score_space": {"seeds": seeds}, "search": {
        "datasets": ["cifar10"], "variants": ["rs", "rs+warmup15625"], "budget": {"rs": 5}, "runs": {"rs": 4},
        "targets": {"cifar10": [90.0]}}})


# The variant as the metrics, MLflow and the report spell it.
WARM = metric_key("rs+warmup15625")


@pytest.mark.parametrize("seeds, distinct", [(2, 1), (3, 2)])
def test_search_stage_reports_the_spread_and_the_distinct_rankings(search_dirs, tmp_path, seeds, distinct):
    summaries = search_stage(search_params(seeds), search_dirs / "truth", search_dirs / "space",
                             tmp_path / "search.json", tmp_path / "curves", tmp_path / "plots", StageRun())
    assert json.loads((tmp_path / "search.json").read_text()) == summaries
    cifar10 = summaries["cifar10"]
    assert cifar10["proxy_rankings"] == {"proxy": "synflow", "scored_on": "cifar10", "weight_seeds": seeds,
                                         "seeds_read": seeds, "distinct": distinct}
    warm = cifar10[WARM]
    assert warm["distinct_rankings"] == distinct and len(warm["by_weight_seed"]) == seeds
    # The oracle's first pick is the optimum; the reversed oracle's (seed 2) the worst cell.
    optimum = cifar10[WARM]["by_weight_seed"]["seed0"]["mean_curve_models_to_90"]
    assert optimum == 1
    if seeds == 3:
        assert warm["by_weight_seed"]["seed2"]["best_mean_at_budget"] < warm["by_weight_seed"]["seed0"][
            "best_mean_at_budget"]
    text = "\n".join(search_section(summaries))
    assert f"under {seeds} weight seeds; the runs read {seeds} of them" in text
    assert f"in {distinct} distinct order(s)" in text
    assert f"| {WARM} | " + str(distinct) + " | " in text


def test_search_stage_names_a_missing_seed_table(search_dirs, tmp_path):
    with pytest.raises(ZcnasError, match="nb201-cifar10-seed3.parquet.*score_space.seeds is 4"):
        proxy_scores_for(search_dirs / "space", "nb201", "cifar10", "cifar10", 4)
    paths, source = proxy_scores_for(search_dirs / "space", "nb201", "cifar100", "cifar10", 2)
    assert source == "cifar10" and [path.name for path in paths] == [
        "nb201-cifar10-seed0.parquet", "nb201-cifar10-seed1.parquet"]


def test_compared_proxies_run_the_proxy_variants_with_the_same_run_seeds(search_dirs, tmp_path):
    params = parse_params({"workers": 1, "score_space": {"seeds": 2, "proxies": ["synflow", "params"]}, "search": {
        "datasets": ["cifar10"], "variants": ["rs", "rs+warmup15625"], "budget": {"rs": 5}, "runs": {"rs": 4},
        "targets": {"cifar10": [90.0]}, "compare": ["log_rank:synflow", "params"]}})
    summaries = search_stage(params, search_dirs / "truth", search_dirs / "space", tmp_path / "search.json",
                             tmp_path / "curves", tmp_path / "plots", StageRun(), tmp_path / "proxies.json")
    compared = json.loads((tmp_path / "proxies.json").read_text())["cifar10"]
    assert list(compared) == ["synflow", "log_rank:synflow", "params"]
    assert all(list(variants) == [WARM] for variants in compared.values())  # the plain one reads no proxy
    assert compared["synflow"][WARM] == summaries["cifar10"][WARM]
    # A monotone transform of synflow ranks the cells alike: paired runs give the same curves.
    for key in ("best_mean_at_budget", "models_to_90", "speedup_90"):
        assert compared["log_rank:synflow"][WARM][key] == compared["synflow"][WARM][key]
    # The reversed oracle warms up on the worst cells.
    assert compared["params"][WARM]["best_mean_at_budget"] < compared["synflow"][WARM]["best_mean_at_budget"]
    assert (tmp_path / "plots" / "proxies.png").stat().st_size > 0
    drawn = pd.read_csv(tmp_path / "plots" / "proxies.csv")
    assert set(drawn["proxy"]) == {"synflow", "log_rank:synflow", "params"} and set(drawn["target"]) == {90.0}
    text = "\n".join(proxy_search_section({"cifar10": compared}))
    assert f"| {WARM} | params | {compared['params'][WARM]['best_mean_at_budget']:.2f} |" in text
