"""NAS algorithms against benchmark tables: synthetic spaces with known optima, hand-made curves."""

import itertools
import json
import random
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from zcnas.errors import ZcnasError
from zcnas.search import (AgingEvolution, Benchmark, BinaryPredictor, RandomSearch, Reinforce, check_search,
                          curves_frame, curves_from_frame, mean_band, models_to_target, parse_variant, plot_search,
                          proxy_ranking, run_search, run_variants, search_history, summarize, variant_name)
from zcnas.search.encodings import decision_codes, graph_tensors
from zcnas.search.history import best_so_far
from zcnas.search.moves import Randomness
from zcnas.search.reinforce import Policy
from zcnas.spaces import get_space

NB201 = get_space("nb201")
NB101 = get_space("nb101")
# Three of NB201's five ops: a 729-cell space in which every single-edge mutation to
# another of the three stays in the table (and mutations to the other two do not).
SMALL_OPS = ("skip_connect", "nor_conv_1x1", "nor_conv_3x3")


def additive_table(cells, space, seed=7) -> pd.DataFrame:
    """Accuracies that add up per-decision contributions: a smooth landscape with one optimum.

    Test accuracy is validation minus one, so the best-by-validation cell is the optimum.
    """
    codes, choices = decision_codes(space, cells)
    weights = np.random.default_rng(seed).uniform(0, 2, (codes.shape[1], max(choices)))
    val = 50 + 3 * weights[np.arange(codes.shape[1]), codes].sum(axis=1)
    return pd.DataFrame({"arch": [space.format(cell) for cell in cells], "val_acc": val, "test_acc": val - 1})


@pytest.fixture(scope="module")
def small():
    table = additive_table(list(itertools.product(SMALL_OPS, repeat=6)), NB201)
    benchmark = Benchmark(NB201, table)
    oracle = proxy_ranking(benchmark, pd.Series(table["test_acc"].to_numpy(), index=table["arch"]), "oracle")
    return benchmark, oracle


def reached_at(curve: np.ndarray, target: float) -> int | None:
    hits = np.flatnonzero(curve >= target)
    return int(hits[0]) + 1 if len(hits) else None


# --- variant names -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["rs", "rs+warmup3000", "ae", "ae+warmup15625", "ae+move", "ae+warmup100+move",
                                  "rl", "rl+warmup500", "rl+move10", "bp", "bp+warmup3000"])
def test_variant_names_round_trip(name):
    assert variant_name(parse_variant(name)) == name


def test_variant_names_select_settings():
    assert parse_variant("rs+warmup3000") == RandomSearch(warmup=3000)
    assert parse_variant("ae+move") == AgingEvolution(move=True)
    assert parse_variant("rl+move10", {"learning_rate": 0.1}) == Reinforce(move=10, learning_rate=0.1)
    assert parse_variant("bp+warmup50", {"top_k": 5}) == BinaryPredictor(warmup=50, top_k=5)


@pytest.mark.parametrize("name, words", [
    ("rs+warmup0", ["rs+warmup0", ">= 1"]),
    ("ae+move3", ["ae+move", "no number"]),
    ("rl+move", ["rl+move", "k >= 1"]),
    ("rl+move0", ["rl+move0", ">= 1"]),
    ("rs+move", ["rs has no move proposal", "rs+warmup<N>"]),
    ("bp+move5", ["bp has no move proposal"]),
    ("ga", ["'ga'", "rs, ae, rl, bp"]),
    ("rs+warmup", ["malformed", "rs+warmup<N>"]),
    ("rs+warmup007", ["'rs+warmup7'"]),
    ("ae+move+warmup10", ["malformed", "ae+warmup<N>+move"]),
])
def test_bad_variant_names_are_explained(name, words):
    with pytest.raises(ZcnasError) as error:
        parse_variant(name)
    for word in words:
        assert word in str(error.value)


def test_bad_settings_are_explained():
    with pytest.raises(ZcnasError, match="'popsize'.*population, tournament"):
        parse_variant("ae", {"popsize": 10})
    with pytest.raises(ZcnasError, match="'warmup' comes from the variant name"):
        parse_variant("rs", {"warmup": 10})
    with pytest.raises(ZcnasError, match=r"tournament \(20\) must not exceed population \(10\)"):
        parse_variant("ae", {"population": 10, "tournament": 20})
    with pytest.raises(ZcnasError, match="'rmsprop'.*adam, sgd"):
        parse_variant("rl", {"optimizer": "rmsprop"})
    with pytest.raises(ZcnasError, match="top_k must be an integer >= 1, got 0"):
        parse_variant("bp", {"top_k": 0})


# --- run validation ------------------------------------------------------------------

def test_runs_check_their_settings_against_the_benchmark(small):
    benchmark, oracle = small
    with pytest.raises(ZcnasError, match="budget must be an integer >= 1, got 0"):
        run_search("rs", benchmark, None, 0, seed=1)
    with pytest.raises(ZcnasError, match="budget 730 of rs exceeds the 729 cells"):
        run_search("rs", benchmark, None, 730, seed=1)
    with pytest.raises(ZcnasError, match="warm-up size 3000 of rs\\+warmup3000 exceeds the 729 cells.*1 to 729"):
        run_search("rs+warmup3000", benchmark, oracle, 10, seed=1)
    with pytest.raises(ZcnasError, match="population 64 of ae exceeds its budget 20"):
        run_search("ae", benchmark, None, 20, seed=1)
    with pytest.raises(ZcnasError, match="ae\\+move uses a zero-cost proxy but no proxy scores"):
        run_search("ae+move", benchmark, None, 100, seed=1)
    with pytest.raises(ZcnasError, match="'best'.*val, test"):
        run_search("rs", benchmark, None, 10, seed=1, select_by="best")
    with pytest.raises(ZcnasError, match="runs must be an integer >= 1, got 0"):
        run_variants(["rs"], benchmark, None, 10, runs=0, seed=1)
    with pytest.raises(ZcnasError, match="no budget for algorithm 'ae'; budgets given for: rs"):
        run_variants(["rs", "ae"], benchmark, None, {"rs": 10}, runs=1, seed=1)
    check_search(parse_variant("rs+warmup729"), benchmark, 729, oracle)  # the limits themselves are fine


def test_a_missing_proxy_is_named_with_the_available_ones(small):
    benchmark, _ = small
    scores = pd.DataFrame({"arch": benchmark.names, "snip": 1.0, "grad_norm": 2.0, "seconds_snip": 0.1})
    with pytest.raises(ZcnasError, match="proxy 'synflow' is not in the scores table; available: snip, grad_norm$"):
        run_search("rs+warmup10", benchmark, scores, 10, seed=1)
    with pytest.raises(ZcnasError, match="none of the 1 scored cells"):
        proxy_ranking(benchmark, {NB201.format(("none",) * 6): 1.0}, "synflow")


def test_benchmark_rejects_bad_tables():
    table = additive_table([("skip_connect",) * 6, ("nor_conv_3x3",) * 6], NB201)
    with pytest.raises(ZcnasError, match="lacks column.*'val_acc'.*found: arch, accuracy"):
        Benchmark(NB201, table.rename(columns={"val_acc": "accuracy"}).drop(columns="test_acc"))
    with pytest.raises(ZcnasError, match="lists the same cell twice"):
        Benchmark(NB201, pd.concat([table, table.iloc[:1]]))
    with pytest.raises(ZcnasError, match="'test_acc' is nan for"):
        Benchmark(NB201, table.assign(test_acc=[1.0, np.nan]))
    benchmark = Benchmark(NB201, table)
    assert benchmark.lookup(table["arch"][1]) == (table["val_acc"][1], table["test_acc"][1])
    with pytest.raises(ZcnasError, match="not in the benchmark \\(2 cells of nb201\\)"):
        benchmark.lookup(NB201.format(("none",) * 6))


# --- the algorithms ------------------------------------------------------------------

def test_random_search_trains_every_cell_once_and_so_finds_the_optimum(small):
    benchmark, _ = small
    curve = run_search("rs", benchmark, None, benchmark.size, seed=3)
    assert len(curve) == benchmark.size and curve[-1] == benchmark.optimum
    # Without replacement, the optimum arrives at a uniformly random step, not always the last.
    steps = [reached_at(run_search("rs", benchmark, None, benchmark.size, seed=3, run_index=r), benchmark.optimum)
             for r in range(1, 6)]
    assert len(set(steps)) > 1


@pytest.mark.parametrize("variant, settings", [
    ("ae", {"population": 10, "tournament": 5}),
    ("rl", {"learning_rate": 0.1}),
    ("bp", {"steps": 20}),
])
def test_each_algorithm_climbs_to_the_optimum_of_a_smooth_space(small, variant, settings):
    benchmark, _ = small
    # Random search finds the optimum within 120 of the 729 cells in 16% of runs, so in
    # 3 of 4 runs with probability 1.5%; these searches climb the smooth landscape.
    found = [reached_at(run_search(parse_variant(variant, settings), benchmark, None, 120, seed=11, run_index=run),
                        benchmark.optimum) for run in range(4)]
    assert sum(step is not None for step in found) >= 3, found


@pytest.mark.parametrize("variant", ["rs", "ae", "rl+move5", "ae+move", "bp"])
def test_searches_train_distinct_known_cells_within_budget(small, variant):
    benchmark, oracle = small
    config = parse_variant(variant, {"steps": 5} if variant == "bp" else None)
    history = search_history(config, benchmark, oracle, 70, seed=5)
    assert len(history.order) == 70 and len(set(history.order)) == 70


def test_warmup_with_an_oracle_proxy_trains_the_optimum_first(small):
    benchmark, oracle = small
    for variant in ("rs+warmup729", "ae+warmup729"):
        curve = run_search(variant, benchmark, oracle, 100, seed=2)
        assert curve[0] == benchmark.optimum, variant
    # A warm-up of 100 random cells starts from the best of those 100: above the 90th percentile.
    firsts = [run_search("rs+warmup100", benchmark, oracle, 1, seed=2, run_index=r)[0] for r in range(10)]
    assert min(firsts) >= np.percentile(benchmark.test, 90)


def test_warmed_up_policy_and_predictor_start_near_the_top(small):
    benchmark, oracle = small
    top_decile = np.percentile(benchmark.test, 90)
    rl = run_search(parse_variant("rl+warmup729", {"learning_rate": 0.1}), benchmark, oracle, 5, seed=4)
    assert rl[-1] >= top_decile
    bp = run_search(parse_variant("bp+warmup729", {"steps": 20}), benchmark, oracle, 10, seed=4)
    assert bp[0] >= top_decile and bp[-1] == benchmark.optimum


def test_move_proposal_with_an_oracle_proxy_beats_plain_on_average(small):
    benchmark, oracle = small
    pairs = [(parse_variant("ae", {"population": 10, "tournament": 5}),
              parse_variant("ae+move", {"population": 10, "tournament": 5})),
             (parse_variant("rl", {"learning_rate": 0.1}), parse_variant("rl+move10", {"learning_rate": 0.1}))]
    for plain, move in pairs:
        plain_curves, move_curves = ([run_search(config, benchmark, oracle, 60, seed=8, run_index=r) for r in range(5)]
                                     for config in (plain, move))
        # Unreached counts as one past the budget.
        plain_steps, move_steps = ([reached_at(curve, benchmark.optimum) or 61 for curve in curves]
                                   for curves in (plain_curves, move_curves))
        assert np.mean(move_curves) > np.mean(plain_curves) + 0.3, variant_name(move)
        assert np.mean(move_steps) < np.mean(plain_steps), (variant_name(move), move_steps, plain_steps)


def test_nan_proxy_scores_rank_last(small):
    benchmark, _ = small
    scores = pd.Series(benchmark.test, index=benchmark.names)
    scores[benchmark.names[int(np.argmax(benchmark.test))]] = np.nan
    curve = run_search("rs+warmup729", benchmark, scores, benchmark.size, seed=1, proxy="oracle")
    assert reached_at(curve, benchmark.optimum) == benchmark.size
    with pytest.warns(RuntimeWarning, match="no score for 725 of 729 benchmark cells; they rank last"):
        ranking = proxy_ranking(benchmark, dict(zip(benchmark.names[:4], [3.0, np.nan, 1.0, 2.0])), "p")
    assert ranking.rank_normalised()[:4].tolist() == [1.0, 0.0, 1 / 3, 2 / 3]
    with warnings.catch_warnings():  # a further table of the same sample: already said once
        warnings.simplefilter("error")
        quiet = proxy_ranking(benchmark, dict(zip(benchmark.names[:4], [3.0, np.nan, 1.0, 2.0])), "p",
                              warn_missing=False)
    assert quiet.rank_normalised().tolist() == ranking.rank_normalised().tolist()


def test_nb101_searches_stay_inside_a_sampled_table():
    rng = random.Random(0)
    cells = list({NB101.key(cell): cell for cell in (NB101.sample(rng) for _ in range(40))}.values())
    benchmark = Benchmark(NB101, additive_table(cells, NB101))
    proxy = pd.Series(benchmark.test, index=benchmark.names)
    for variant in ("rs+warmup20", "ae+move", "rl+move3", "bp+warmup20"):
        config = parse_variant(variant, {"population": 5, "tournament": 2} if variant.startswith("ae")
                               else {"steps": 5, "top_k": 5} if variant.startswith("bp") else None)
        history = search_history(config, benchmark, proxy_ranking(benchmark, proxy, "oracle"), 25, seed=1)
        assert len(set(history.order)) == 25, variant
    curve = run_search(f"rs+warmup{benchmark.size}", benchmark, proxy, 1, seed=0, proxy="oracle")
    assert curve[0] == benchmark.optimum


def test_policy_draws_follow_the_policy_restricted_to_allowed_cells():
    full = Benchmark(NB201, additive_table(NB201.all(), NB201))
    assert full.covers_space
    codes, choices = full.decisions
    allowed = codes[:, 0] != 0  # no 'none' on the first edge
    # Logits 3, 1, 0, 0, 0 on the first edge; without choice 0 the rest are in proportion e : 1 : 1 : 1.
    expected = np.array([0.0, np.e, 1.0, 1.0, 1.0]) / (np.e + 3)
    # Covering the space, draws are one decision at a time with redraws; otherwise among allowed cells.
    for covers_space in (True, False):
        policy = Policy(codes, choices, Reinforce(), covers_space)
        with torch.no_grad():
            policy.logits[0] = torch.tensor([3.0, 1.0, 0.0, 0.0, 0.0])
        draws = policy.sample(allowed, 2000, Randomness.from_seed(0))
        assert allowed[draws].all()
        assert np.abs(np.bincount(codes[draws, 0], minlength=5) / 2000 - expected).max() < 0.035
        assert np.abs(np.bincount(codes[draws, 3], minlength=5) / 2000 - 0.2).max() < 0.035


# --- determinism ---------------------------------------------------------------------

def test_curves_depend_only_on_seed_variant_and_run_index(small):
    benchmark, oracle = small
    for variant in ("ae+move", "rl+move3"):
        first = run_search(variant, benchmark, oracle, 80, seed=5, run_index=0)
        assert np.array_equal(first, run_search(variant, benchmark, oracle, 80, seed=5, run_index=0))
        assert not np.array_equal(first, run_search(variant, benchmark, oracle, 80, seed=5, run_index=1))
    bp = parse_variant("bp", {"steps": 10})
    assert np.array_equal(run_search(bp, benchmark, None, 30, seed=5), run_search(bp, benchmark, None, 30, seed=5))


def test_run_order_and_worker_processes_do_not_change_curves(small):
    benchmark, oracle = small
    variants = ["rs+warmup50", "ae+move", "rl"]
    serial = run_variants(variants, benchmark, oracle, 70, runs=2, seed=9)
    reordered = run_variants(variants[::-1], benchmark, oracle, 70, runs=2, seed=9)
    parallel = run_variants(variants, benchmark, oracle, 70, runs=2, seed=9, workers=2)
    assert list(serial) == variants
    for name in variants:
        assert serial[name].shape == (2, 70)
        assert np.array_equal(serial[name], reordered[name]) and np.array_equal(serial[name], parallel[name])
        assert np.array_equal(serial[name][1], run_search(name, benchmark, oracle, 70, seed=9, run_index=1))


# --- curves and summaries ------------------------------------------------------------

def test_best_so_far_follows_validation_or_test():
    val, test = np.array([1.0, 3.0, 2.0, 3.0]), np.array([5.0, 4.0, 9.0, 8.0])
    assert best_so_far(val, test).tolist() == [5.0, 4.0, 4.0, 4.0]  # a later tie does not replace the best
    assert best_so_far(test, test).tolist() == [5.0, 5.0, 9.0, 9.0]


def test_select_by_test_is_never_below_select_by_val(small):
    benchmark, _ = small
    table = pd.DataFrame({"arch": benchmark.names, "val_acc": benchmark.val,
                          "test_acc": benchmark.test + np.random.default_rng(0).normal(0, 2, benchmark.size)})
    noisy = Benchmark(NB201, table)
    by_val = run_search("rs", noisy, None, 200, seed=1)
    by_test = run_search("rs", noisy, None, 200, seed=1, select_by="test")
    assert (by_test >= by_val).all() and (by_test > by_val).any()
    assert by_test[-1] == noisy.test[np.isin(noisy.test, by_test)].max()


HAND_CURVES = {
    "rs": np.array([[70.0, 71.0, 72.0, 73.0], [70.0, 70.0, 71.0, 72.0]]),
    "rs+warmup10": np.array([[72.0, 73.0, 73.0, 73.5], [71.0, 72.0, 73.0, 73.0]]),
    "ae": np.array([[70.0, 70.0, 70.0, 70.0], [70.0, 73.0, 73.0, 73.0]]),
}


def test_models_to_target_and_reached_share():
    assert models_to_target(HAND_CURVES["rs"], 72.0) == (3.5, 1.0)  # runs reach 72 at models 3 and 4
    assert models_to_target(HAND_CURVES["rs"], 73.0) == (None, 0.5)
    assert models_to_target(HAND_CURVES["ae"], 80.0) == (None, 0.0)


def test_summary_numbers_and_speedups():
    summary = summarize(HAND_CURVES, [72.0, 72.5, 73.0])
    json.dumps(summary, allow_nan=False)
    rs, warm, ae = summary["rs"], summary["rs+warmup10"], summary["ae"]
    assert (rs["runs"], rs["budget"], rs["best_mean_at_budget"]) == (2, 4, 72.5)
    assert warm["best_mean_at_budget"] == 73.25
    # rs reaches 72 at 3 and 4 (mean 3.5), the warm-up at 1 and 2 (mean 1.5): 3.5 / 1.5 faster.
    assert warm["models_to_72"] == 1.5 and warm["speedup_72"] == pytest.approx(3.5 / 1.5)
    assert rs["speedup_72"] == 1.0
    assert warm["models_to_72.5"] == 2.5 and rs["models_to_72.5"] is None and warm["speedup_72.5"] is None
    assert (warm["models_to_73"], warm["reached_share_73"]) == (2.5, 1.0)
    assert (ae["models_to_72"], ae["reached_share_72"], ae["speedup_72"]) == (None, 0.5, None)
    # Mean curves: rs 70, 70.5, 71.5, 72.5; warm-up 71.5, 72.5, 73, 73.25; ae 70, 71.5, 71.5, 71.5.
    assert rs["mean_curve_models_to_72"] == 4
    assert (warm["mean_curve_models_to_72"], warm["mean_curve_models_to_73"]) == (2, 3)
    assert ae["mean_curve_models_to_72"] is None


def test_mean_band_is_the_t_interval_of_the_mean():
    mean, low, high = mean_band(np.array([[1.0, 5.0], [3.0, 5.0]]))
    # Two runs: sem = |1 - 3| / 2 = 1 and t(0.975, 1 d.o.f.) = 12.706 (from a t table).
    assert mean.tolist() == [2.0, 5.0]
    assert low[0] == pytest.approx(2 - 12.706, abs=1e-3) and high[0] == pytest.approx(2 + 12.706, abs=1e-3)
    assert low[1] == high[1] == 5.0
    single = mean_band(np.array([[1.0, 2.0]]))
    assert all(part.tolist() == [1.0, 2.0] for part in single)


def test_curves_table_round_trip():
    frame = curves_frame(HAND_CURVES)
    assert list(frame.columns) == ["variant", "run", "trained", "test_acc"] and len(frame) == 3 * 2 * 4
    back = curves_from_frame(frame)
    assert list(back) == list(HAND_CURVES)
    assert all(np.array_equal(back[name], HAND_CURVES[name]) for name in HAND_CURVES)


def test_plot_is_written_whole(tmp_path):
    path = tmp_path / "figures" / "search.png"
    plot_search(HAND_CURVES, path, optimum=73.51, title="CIFAR-100")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["search.csv", "search.png"]
    with pytest.raises(ZcnasError, match="no curves"):
        plot_search({}, tmp_path / "empty.png")


# --- encodings -----------------------------------------------------------------------

def test_nb201_graph_has_the_op_node_dag():
    graphs = graph_tensors(NB201, [("nor_conv_3x3",) * 6])
    # Nodes: 0 input, 1..6 the edges (1<-0)(2<-0)(2<-1)(3<-0)(3<-1)(3<-2), 7 output.
    # An edge's op feeds the ops on edges leaving its target node; node-3 edges feed the output.
    dag = {(0, 1), (0, 2), (0, 4), (1, 3), (1, 5), (2, 6), (3, 6), (4, 7), (5, 7), (6, 7)}
    linked = {(a, b) for a, b in zip(*np.nonzero(graphs.neighbour_mean[0].numpy()))}
    assert linked == dag | {(b, a) for a, b in dag}
    assert graphs.features[0].argmax(1).tolist() == [0, 4, 4, 4, 4, 4, 4, 6]


def test_nb101_cells_are_laid_out_on_seven_slots():
    spec = NB101.parse('{"matrix":[[0,1,1],[0,0,1],[0,0,0]],"ops":["input","conv1x1-bn-relu","output"]}')
    graphs = graph_tensors(NB101, [spec])
    assert graphs.mask[0].tolist() == [1, 1, 0, 0, 0, 0, 1]
    linked = {(a, b) for a, b in zip(*np.nonzero(graphs.neighbour_mean[0].numpy()))}
    assert linked == {(0, 1), (1, 0), (0, 6), (6, 0), (1, 6), (6, 1)}
    codes, choices = decision_codes(NB101, [spec])
    assert choices == (2,) * 21 + (4,) * 5
    upper = [(a, b) for a in range(7) for b in range(a + 1, 7)]
    assert {upper[i] for i in np.flatnonzero(codes[0][:21])} == {(0, 1), (0, 6), (1, 6)}
    assert codes[0][21:].tolist() == [1, 3, 3, 3, 3]  # conv1x1 is op 1; 3 marks an empty slot
