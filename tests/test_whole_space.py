"""The literature's whole-space protocols: nDCG@k, top-k hits, the 9,445-cell dedupe and the
per-protocol metrics the evaluate_space stage reports."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from zcnas.errors import ZcnasError
from zcnas.evaluation import evaluate_dataset
from zcnas.evaluation.bootstrap import spearman_interval, statistic_intervals
from zcnas.evaluation.ranks import ndcg, spearman, top_hits
from zcnas.evaluation.whole_space import protocol_metrics, without_dead_edges
from zcnas.pipeline.report import whole_space_section
from zcnas.pipeline.summary import headline_summary
from zcnas.spaces.nb201 import NB201, all_cells

LOG2_3 = math.log2(3)


def test_ndcg_matches_the_hand_computation():
    # Score order c, b, a gains 1, 2, 3 at places 1, 2, 3; the ideal order 3, 2, 1.
    #   DCG@2 = 1/1 + 2/log2(3); IDCG@2 = 3/1 + 2/log2(3)
    assert ndcg([3, 2, 1], [1, 2, 3], 2) == pytest.approx((1 + 2 / LOG2_3) / (3 + 2 / LOG2_3))
    # k past n is n: DCG@3 adds 3/log2(4) = 1.5, IDCG@3 adds 1/2.
    assert ndcg([3, 2, 1], [1, 2, 3], 10) == pytest.approx((1 + 2 / LOG2_3 + 1.5) / (3 + 2 / LOG2_3 + 0.5))
    assert ndcg([1, 2, 3], [1, 2, 3], 2) == pytest.approx(1.0)


def test_ndcg_shares_the_places_of_tied_scores():
    # a and b tie for places 1-2; at k = 1 only place 1 counts: their mean gain (2 + 0) / 2 = 1, over IDCG 2.
    assert ndcg([1, 1, 0], [2, 0, 1], 1) == pytest.approx(0.5)
    # At k = 2 both places count: (2 + 0) / 2 * (1 + 1/log2(3)) over 2 + 1/log2(3).
    assert ndcg([1, 1, 0], [2, 0, 1], 2) == pytest.approx((1 + 1 / LOG2_3) / (2 + 1 / LOG2_3))
    # Row order cannot change it.
    assert ndcg([0, 1, 1], [1, 0, 2], 1) == pytest.approx(0.5)


def test_top_hits_counts_the_true_top_k_in_the_scores_top_k():
    # Truth top 2: rows 3, 4; score top 2: rows 3, 1.
    assert top_hits([10, 30, 20, 50, 15], [1, 2, 3, 4, 5], 2) == pytest.approx(0.5)
    assert top_hits([10, 30, 20, 50, 15], [1, 2, 3, 4, 5], 1) == pytest.approx(0.0)
    assert top_hits([1, 1, 1, 1], [1, 2, 3, 4], 1) == pytest.approx(0.25)  # a constant score: chance


@pytest.mark.parametrize("k", [0, -1, 2.5, True, "10"])
def test_a_bad_k_names_the_value(k):
    for metric in (ndcg, top_hits):
        with pytest.raises(ZcnasError, match="top k must be a whole number >= 1, got"):
            metric([1, 2], [1, 2], k)


def test_statistic_intervals_draw_the_resamples_spearman_interval_draws():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=50), rng.normal(size=50)
    intervals = statistic_intervals({"rho": spearman}, x, y, 200, 7, "cifar10", "synflow")
    assert intervals["rho"] == pytest.approx(spearman_interval(x, y, 200, 7, "cifar10", "synflow"))
    assert intervals != statistic_intervals({"rho": spearman}, x, y, 200, 8, "cifar10", "synflow")


def test_the_non_isomorphic_protocol_keeps_9445_cells():
    forms = {without_dead_edges(cell) for cell in all_cells()}
    assert len(forms) == 9_445
    assert all(without_dead_edges(form) == form for form in forms)  # each class's representative


def test_edges_off_every_input_output_path_become_none():
    # 1<-0 is none, so node 1 holds nothing from the input: 2<-1 and 3<-1 carry no signal.
    cell = ("none", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "nor_conv_1x1", "nor_conv_1x1")
    assert without_dead_edges(cell) == ("none", "nor_conv_3x3", "none", "skip_connect", "none", "nor_conv_1x1")
    # 3<-2 is none, so node 2 reaches no output: 2<-0 and 2<-1 are dead; 1<-0 still feeds 3<-1.
    cell = ("nor_conv_3x3", "avg_pool_3x3", "skip_connect", "none", "nor_conv_1x1", "none")
    assert without_dead_edges(cell) == ("nor_conv_3x3", "none", "none", "none", "nor_conv_1x1", "none")


def _tables():
    cells = [NB201.format(cell) for cell in all_cells()[:60]]
    rng = np.random.default_rng(1)
    truth = pd.DataFrame({"arch": cells, "test_acc": rng.uniform(10, 90, len(cells))})
    noisy = [pd.DataFrame({"arch": cells[::-1], "synflow": (truth["test_acc"] + rng.normal(0, 20, len(cells)))[::-1],
                           "params": rng.normal(size=len(cells))}) for _ in range(2)]
    return truth, noisy


def test_protocol_metrics_judge_the_global_seeds_table_and_report_the_seeds_spread():
    truth, tables = _tables()
    metrics = protocol_metrics(tables, truth, ["synflow", "ensemble:synflow+params"], 50, 0, "cifar10", "all", top_k=[5])
    first = truth.merge(tables[0], on="arch")
    entry = metrics["synflow"]
    assert entry["n"] == 60
    assert entry["spearman_test"] == pytest.approx(stats.spearmanr(first["synflow"], first["test_acc"]).statistic)
    assert entry["ndcg_5_test"] == pytest.approx(ndcg(first["synflow"], first["test_acc"], 5))
    assert entry["hits_5_test"] == pytest.approx(top_hits(first["synflow"], first["test_acc"], 5))
    rhos = [stats.spearmanr(t["synflow"], t["test_acc"]).statistic for t in (truth.merge(tab, on="arch")
                                                                                for tab in tables)]
    assert entry["spearman_test_seed_sd"] == pytest.approx(np.std(rhos))
    assert entry["ndcg_5_test_ci_low"] <= entry["ndcg_5_test_ci_high"]
    assert set(metrics) == {"synflow", "ensemble:synflow+params"}
    # Fewer truth cells (a protocol's subset): only those are judged.
    assert protocol_metrics(tables, truth.iloc[:30], ["synflow"], 10, 0, top_k=[5])["synflow"]["n"] == 30


def test_tables_of_different_cells_are_refused():
    truth, tables = _tables()
    with pytest.raises(ZcnasError, match="score different cells"):
        protocol_metrics([tables[0], tables[1].iloc[:40]], truth, ["synflow"], 10, 0)


def test_the_report_and_summary_show_every_protocol_and_dataset():
    truth, tables = _tables()
    entries = {protocol: protocol_metrics(tables, truth, ["synflow"], 20, 0)
               for protocol in ("all", "non_isomorphic")}
    space = {"cifar100": {"scored_on": "cifar10", **entries}}
    section = "\n".join(whole_space_section(space))
    assert section.count("| CIFAR-100 | 60 | synflow | cifar10 |") == 2
    assert "| synflow | all 15,625 cells | 0.740 | 0.760 | 0.750 | Abdelfattah et al. 2021, Table 2 |" in section
    summary = headline_summary({}, space=space)
    assert summary["space"]["cifar100"]["non_isomorphic"]["synflow"] == entries["non_isomorphic"]["synflow"][
        "spearman_test"]


def test_the_sample_evaluation_ranks_the_top_by_the_oriented_score():
    truth = pd.DataFrame({"arch": list("abcdef"), "test_acc": [1.0, 2, 3, 4, 5, 6]})
    scores = pd.DataFrame({"arch": list("abcdef"), "cost": [6.0, 5, 4, 3, 1, 2]})  # lower is better
    entry = evaluate_dataset(scores, truth, ["cost"], vote=None, ensemble=None, resamples=20,
                             directions={"cost": False})["cost"]
    # Oriented: e (acc 5) first, then f (6), d, c, b, a: not the ideal order, so nDCG < 1.
    assert entry["hits_10_test"] == pytest.approx(1.0)  # k capped at the 6 cells
    assert entry["ndcg_10_test"] == pytest.approx(ndcg([-6, -5, -4, -3, -1, -2], [1, 2, 3, 4, 5, 6], 10))
    assert entry["ndcg_10_test"] < 1
    assert entry["ndcg_10_test_ci_low"] <= entry["ndcg_10_test_ci_high"]
