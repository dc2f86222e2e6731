import itertools
import json
import math
import random

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from scipy import stats

from zcnas.econas import make_config
from zcnas.errors import ZcnasError
from zcnas.evaluation import (
    evaluate_dataset,
    join_truth,
    json_safe,
    kendall,
    metrics_table,
    pairwise_accuracy,
    rank_average,
    spearman,
    spearman_interval,
    top_overlap,
)
from zcnas.evaluation import pairs
from zcnas.evaluation.plots import CostSeries, axis_scale, plot_rho_vs_cost, plot_score_scatter
from zcnas.evaluation.training_curves import (epoch_correlations, final_epoch_summary, full_epoch_flops,
                                              setting_full_epochs)
from zcnas.pipeline.report import detail_table, econas_section, ensemble_notes
from zcnas.proxies.passes.flops import count_flops
from zcnas.spaces.nb201 import NB201
from zcnas.proxies.az_nas import log_rank_sum

# Five architectures a..e with test accuracy 1..5 and a proxy that swaps b/c and d/e.
#   proxy ranks: 10->1, 30->3, 20->2, 50->5, 40->4, i.e. [1, 3, 2, 5, 4]; d = [0, 1, -1, 1, -1]
#   Spearman:  1 - 6 * sum(d^2) / (n (n^2 - 1)) = 1 - 6 * 4 / 120 = 0.8
#   Kendall:   10 pairs, discordant only (b, c) and (d, e): (8 - 2) / 10 = 0.6 (no ties: tau-b = tau-a)
#   Pairwise:  8 of 10 pairs ordered like the truth = 0.8
#   Top 40% (k = 2): truth {d, e}, proxy {d (50), e (40)} -> 2/2 = 1.0
#   Top 20% (k = 1): truth {e}, proxy {d} -> 0.0
ACC = [1.0, 2.0, 3.0, 4.0, 5.0]
PROXY = [10.0, 30.0, 20.0, 50.0, 40.0]


def test_rank_metrics_match_the_hand_derivation():
    assert spearman(PROXY, ACC) == pytest.approx(0.8)
    assert kendall(PROXY, ACC) == pytest.approx(0.6)
    assert pairwise_accuracy(ACC, PROXY) == pytest.approx(0.8)
    assert top_overlap(PROXY, ACC, 0.4) == pytest.approx(1.0)
    assert top_overlap(PROXY, ACC, 0.2) == pytest.approx(0.0)


def test_pairwise_accuracy_skips_truth_ties_and_counts_score_ties_half():
    # Pairs of truth [1, 1, 2, 3] and score [5, 6, 6, 7]:
    #   (0,1) truth tied: skipped; (0,2) (0,3) (1,3) (2,3) ordered right: 4;
    #   (1,2) score tied: 0.5  ->  4.5 / 5 = 0.9
    assert pairwise_accuracy([1, 1, 2, 3], [5, 6, 6, 7]) == pytest.approx(0.9)
    assert math.isnan(pairwise_accuracy([2, 2, 2], [1, 2, 3]))  # no pair to judge


def brute_force_pairwise(truth, *scores):
    correct = counted = 0
    for i, j in itertools.combinations(range(len(truth)), 2):
        if truth[i] == truth[j]:
            continue
        vote = np.sign(sum(np.sign(score[j] - score[i]) for score in scores))
        counted += 1
        correct += 1.0 if vote == np.sign(truth[j] - truth[i]) else 0.5 if vote == 0 else 0.0
    return correct / counted


def test_pairwise_accuracy_in_many_blocks_matches_a_pair_by_pair_loop(monkeypatch):
    monkeypatch.setattr(pairs, "_BLOCK_ELEMENTS", 7)  # blocks of a few rows, to cross their boundaries
    rng = np.random.default_rng(3)
    truth, a, b, c = (rng.integers(0, 6, size=31).astype(float) for _ in range(4))  # plenty of ties
    assert pairwise_accuracy(truth, a) == pytest.approx(brute_force_pairwise(truth, a))
    assert pairwise_accuracy(truth, a, b, c) == pytest.approx(brute_force_pairwise(truth, a, b, c))
    assert pairwise_accuracy(truth, a, b) == pytest.approx(brute_force_pairwise(truth, a, b))


def pairwise_from_kendall(truth, score):
    """Independent route: with C - D = tau_b * sqrt((P - Tx)(P - Ty)) and score-only ties worth
    half, accuracy = (C + (P - Ty - C - D) / 2) / (P - Ty) = 1/2 + (C - D) / (2 (P - Ty))."""
    tied_pairs = lambda values: sum(c * (c - 1) / 2 for c in np.unique(values, return_counts=True)[1])  # noqa: E731
    total, tied_x, tied_y = len(truth) * (len(truth) - 1) / 2, tied_pairs(score), tied_pairs(truth)
    tau_b = stats.kendalltau(score, truth).statistic
    return 0.5 + tau_b * math.sqrt((total - tied_x) * (total - tied_y)) / (2 * (total - tied_y))


def test_pairwise_accuracy_agrees_with_kendall_tau_b():
    rng = np.random.default_rng(4)
    truth, noise = rng.integers(0, 20, size=300).astype(float), rng.integers(0, 30, size=300).astype(float)
    assert pairwise_accuracy(truth, truth + noise) == pytest.approx(pairwise_from_kendall(truth, truth + noise))


def test_top_overlap_shares_places_among_ties_at_the_cut():
    # k = 1 (25% of 4). Truth top: arch 1. Score [1, 2, 2, 0]: archs 1 and 2 tie for the one place,
    # each gets half of it, so the expected overlap is 0.5.
    assert top_overlap([1, 2, 2, 0], [0, 3, 1, 2], 0.25) == pytest.approx(0.5)
    # A constant score earns chance level k / n = 1 / 4, not full marks.
    assert top_overlap([7, 7, 7, 7], [0, 3, 1, 2], 0.25) == pytest.approx(0.25)
    with pytest.raises(ZcnasError, match="1.5"):
        top_overlap([1, 2], [1, 2], 1.5)


def test_rank_average_is_the_mean_of_average_ranks():
    # [10, 20, 30, 40] ranks [1, 2, 3, 4]; [0.4, 0.1, 0.3, 0.3] ranks [4, 1, 2.5, 2.5] (tie averaged)
    # mean: [2.5, 1.5, 2.75, 3.25]
    assert rank_average([[10, 20, 30, 40], [0.4, 0.1, 0.3, 0.3]]).tolist() == [2.5, 1.5, 2.75, 3.25]
    with pytest.raises(ZcnasError, match="equal shapes"):
        rank_average([[1, 2], [1, 2, 3]])


def tables(proxies: dict, test=ACC, val=None, seconds: dict | None = None):
    archs = [f"arch{i}" for i in range(len(test))]
    scores = pd.DataFrame({"arch": archs, **proxies, **{f"seconds_{k}": v for k, v in (seconds or {}).items()}})
    truth = pd.DataFrame({"arch": archs, "test_acc": test, "val_acc": val if val is not None else test})
    return scores, truth


def test_a_proxy_is_judged_on_its_finite_rows_only():
    # Rows 5 and 6 (nan, inf) are excluded; the remaining five are the hand example above.
    scores, truth = tables(
        {"p": PROXY + [math.nan, math.inf]},
        test=ACC + [6.0, 0.0],
        val=[5.0, 4.0, 3.0, 2.0, 1.0, 0.0, 9.0],  # reversed on the finite rows: rho = -0.8
        seconds={"p": [1, 2, 3, 4, 5, 100, 100]},
    )
    report = evaluate_dataset(scores, truth, ["p"], vote=None, ensemble=None, top_fraction=0.4, resamples=50)
    metrics = report["p"]
    assert metrics["n"] == 5 and metrics["nan"] == 2
    assert metrics["spearman_test"] == pytest.approx(0.8)
    assert metrics["spearman_val"] == pytest.approx(-0.8)
    assert metrics["kendall_test"] == pytest.approx(0.6)
    assert metrics["pairwise_test"] == pytest.approx(0.8)
    assert metrics["top10_test"] == pytest.approx(1.0)
    assert metrics["seconds_per_arch"] == pytest.approx(4.0)  # median of all 7 costs: NaN scores still cost time
    assert set(report) == {"p"}


def test_the_vote_lets_two_proxies_outvote_the_third():
    # Truth 1..4. Each proxy misorders one different adjacent pair, so alone each gets 5/6;
    # in every pair at most one proxy is wrong, so the majority is always right: 6/6.
    #   p1 swaps (2,3), p2 swaps (0,1), p3 swaps (1,2).
    # With only p1 and p2, pairs (0,1) and (2,3) are 1-1 ties worth half: (4 + 0.5 + 0.5) / 6.
    # A fifth arch with a NaN in p3 is left out of the vote (n = 4, nan = 1).
    p1, p2, p3 = [1, 2, 4, 3, 0], [2, 1, 3, 4, 0], [1, 3, 2, 4, math.nan]
    scores, truth = tables({"p1": p1, "p2": p2, "p3": p3}, test=[1, 2, 3, 4, 5])
    report = evaluate_dataset(scores, truth, vote=["p1", "p2", "p3"], ensemble=None, resamples=10)
    assert report["vote"] == {"proxies": ["p1", "p2", "p3"], "pairwise_test": 1.0, "n": 4, "nan": 1}
    assert report["p3"]["pairwise_test"] == pytest.approx(5 / 6)
    two = evaluate_dataset(scores.iloc[:4], truth, ["p1"], vote=["p1", "p2"], ensemble=None, resamples=10)
    assert two["vote"]["pairwise_test"] == pytest.approx(5 / 6)


def test_the_ensemble_ranks_only_rows_where_all_members_are_finite():
    # Members on rows 0-3 (row 4 has a NaN in q): p ranks [1, 2, 3, 4], q ranks [4, 1, 2.5, 2.5],
    # mean [2.5, 1.5, 2.75, 3.25], which orders the archs 1 < 0 < 2 < 3. Against truth 1..4:
    #   ensemble ranks [2, 1, 3, 4], d = [1, -1, 0, 0] -> rho = 1 - 6 * 2 / 60 = 0.8
    #   pairwise: only (0, 1) misordered -> 5/6
    # Cost: per-arch sums [3, 3, 3, 3, 30] -> median 3.
    scores, truth = tables(
        {"p": [10, 20, 30, 40, 50], "q": [0.4, 0.1, 0.3, 0.3, math.nan]},
        test=[1, 2, 3, 4, 5],
        seconds={"p": [1, 1, 1, 1, 10], "q": [2, 2, 2, 2, 20]},
    )
    ensemble = evaluate_dataset(scores, truth, [], vote=None, ensemble=["p", "q"], resamples=10)["ensemble"]
    assert ensemble["proxies"] == ["p", "q"]
    assert (ensemble["n"], ensemble["nan"]) == (4, 1)
    assert ensemble["spearman_test"] == pytest.approx(0.8)
    assert ensemble["pairwise_test"] == pytest.approx(5 / 6)
    assert ensemble["seconds_per_arch"] == pytest.approx(3.0)


def test_a_lower_is_better_score_given_explicitly_gets_the_metrics_of_its_negation():
    # "p" negated and declared lower-is-better must score exactly like the hand example:
    # rho 0.8, tau 0.6, pairwise 0.8, top 40% 1.0, the same interval (same data and seed).
    scores, truth = tables({"p": PROXY, "q": ACC}, val=[5.0, 4.0, 3.0, 2.0, 1.0])
    settings = dict(vote=["p", "q"], ensemble=["p", "q"], top_fraction=0.4, resamples=50)
    expected = evaluate_dataset(scores, truth, **settings)
    assert expected["p"]["spearman_test"] == pytest.approx(0.8) and expected["p"]["top10_test"] == 1.0
    negated = scores.assign(p=-scores["p"])
    assert evaluate_dataset(negated, truth, directions={"p": False}, **settings) == expected
    assert evaluate_dataset(negated, truth, **settings)["p"]["spearman_test"] == pytest.approx(-0.8)


def test_the_registry_gives_the_direction_and_an_explicit_one_overrides_it(lower_is_better_proxy):
    name = lower_is_better_proxy
    scores, truth = tables({name: [-v for v in PROXY]})
    metrics = evaluate_dataset(scores, truth, vote=None, ensemble=None, top_fraction=0.4, resamples=50)[name]
    assert metrics["spearman_test"] == pytest.approx(0.8) and metrics["kendall_test"] == pytest.approx(0.6)
    assert metrics["pairwise_test"] == pytest.approx(0.8) and metrics["top10_test"] == pytest.approx(1.0)
    assert metrics["spearman_test_ci_low"] < 0.8 < metrics["spearman_test_ci_high"]
    overridden = evaluate_dataset(scores, truth, vote=None, ensemble=None, top_fraction=0.4, resamples=50,
                                  directions={name: True})[name]
    assert overridden["spearman_test"] == pytest.approx(-0.8) and overridden["top10_test"] == 0.0


def test_the_vote_and_ensemble_orient_lower_is_better_members(lower_is_better_proxy):
    # The vote example below with p2 negated: oriented back, the majority is right on every pair.
    name = lower_is_better_proxy
    p1, p2, p3 = [1, 2, 4, 3], [-2, -1, -3, -4], [1, 3, 2, 4]
    scores, truth = tables({"p1": p1, name: p2, "p3": p3}, test=[1, 2, 3, 4])
    report = evaluate_dataset(scores, truth, vote=["p1", name, "p3"], ensemble=["p1", name], resamples=10)
    assert report["vote"]["pairwise_test"] == 1.0
    # Ensemble ranks: p1 [1, 2, 4, 3], oriented p2 = [2, 1, 3, 4] ranks [2, 1, 3, 4];
    # mean [1.5, 1.5, 3.5, 3.5]: two tied pairs, the four others right -> rho = 0.8944, pairwise 5/6.
    assert report["ensemble"]["spearman_test"] == pytest.approx(stats.spearmanr([1.5, 1.5, 3.5, 3.5], [1, 2, 3, 4])[0])
    assert report["ensemble"]["pairwise_test"] == pytest.approx(5 / 6)


def test_the_log_rank_sum_orients_members_and_ranks_a_missing_value_last(lower_is_better_proxy):
    # Three cells with test accuracy 1, 2, 3; p is higher-is-better, the other lower-is-better with
    # cell b missing. p ranks [1, 3, 2]; the other, negated to [-3, nan, -1], ranks [2, 1, 3] with the
    # missing value last. Sums of log(rank / 3): a = log(1/3) + log(2/3), b = log(1) + log(1/3),
    # c = log(2/3) + log(1): increasing, so rho = tau = 1 on all three cells.
    name = lower_is_better_proxy
    scores, truth = tables({"p": [10.0, 30.0, 20.0], name: [3.0, math.nan, 1.0]}, test=[1.0, 2.0, 3.0])
    oriented = pd.DataFrame({"p": [10.0, 30.0, 20.0], name: [-3.0, math.nan, -1.0]})
    assert log_rank_sum(oriented, ["p", name]).tolist() == pytest.approx(
        [math.log(1 / 3) + math.log(2 / 3), math.log(1 / 3), math.log(2 / 3)])
    report = evaluate_dataset(scores, truth, [], vote=None, ensemble=None, log_rank=["p", name], resamples=10)
    assert report["log_rank"]["proxies"] == ["p", name]
    assert (report["log_rank"]["n"], report["log_rank"]["nan"]) == (3, 0)
    assert report["log_rank"]["spearman_test"] == pytest.approx(1.0)
    assert report["log_rank"]["kendall_test"] == pytest.approx(1.0)
    # Unoriented (higher taken as better) the other ranks [3, 1, 2]: a and b tie at log(1/3), below c.
    unoriented = evaluate_dataset(scores, truth, [], vote=None, ensemble=None, log_rank=["p", name], resamples=0,
                                  directions={name: True})["log_rank"]
    assert unoriented["spearman_test"] == pytest.approx(stats.spearmanr([1.5, 1.5, 3], [1, 2, 3])[0])


def test_the_report_says_what_each_ensemble_combines():
    notes = ensemble_notes({"p": {}, "log_rank": {"proxies": ["p", "q"]}})
    assert notes == ["`log_rank`: AZ-NAS's sum of log(rank / M) over p, q (every cell, a missing score ranked last).",
                     ""]
    assert ensemble_notes({"p": {}}) == []


def test_the_log_rank_sum_names_an_unscored_member():
    scores, truth = tables({"p": PROXY})
    with pytest.raises(ZcnasError, match="unknown proxy column 'q'; expected one of: p"):
        evaluate_dataset(scores, truth, vote=None, ensemble=None, log_rank=["p", "q"], resamples=0)


def test_directions_must_name_evaluated_columns_and_be_booleans():
    scores, truth = tables({"p": PROXY})
    with pytest.raises(ZcnasError, match="'typo', which is not evaluated; expected one of: p"):
        evaluate_dataset(scores, truth, vote=None, ensemble=None, resamples=0, directions={"typo": False})
    with pytest.raises(ZcnasError, match="column 'p' is 'lower'; expected True"):
        evaluate_dataset(scores, truth, vote=None, ensemble=None, resamples=0, directions={"p": "lower"})


def test_score_scatter_title_gives_the_oriented_rho(tmp_path, monkeypatch):
    titles = []
    monkeypatch.setattr(Axes, "set_title", lambda self, text, **kwargs: titles.append(text))
    plot_score_scatter([-v for v in PROXY], ACC, tmp_path / "low.png", proxy="low", higher_is_better=False)
    assert titles == ["low: Spearman ρ = 0.800 (of −score), n = 5"]


def correlated(n=200, seed=5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return x, x + rng.normal(size=n)


def test_bootstrap_is_deterministic_and_covers_the_estimate():
    x, y = correlated()
    interval = spearman_interval(x, y, 300, 7, "cifar10", "synflow")
    assert interval == spearman_interval(x, y, 300, 7, "cifar10", "synflow")
    assert interval != spearman_interval(x, y, 300, 8, "cifar10", "synflow")
    assert interval != spearman_interval(x, y, 300, 7, "cifar10", "snip")
    low, high = interval
    assert low < spearman(x, y) < high
    assert 0.05 < high - low < 0.4  # n = 200, rho ~ 0.7: the standard error is ~0.04
    with pytest.raises(ZcnasError, match="resamples"):
        spearman_interval(x, y, 0, 7)


def test_results_do_not_depend_on_row_order():
    x, y = correlated(60)
    scores, truth = tables({"p": x, "q": -x + y, "r": y}, test=y)
    report = evaluate_dataset(scores, truth, vote=["p", "q", "r"], ensemble=["p", "q"], resamples=50, seed=1)
    shuffled = evaluate_dataset(
        scores.sample(frac=1, random_state=0), truth.iloc[::-1], vote=["p", "q", "r"], ensemble=["p", "q"],
        resamples=50, seed=1,
    )
    assert report == shuffled


def test_report_is_strict_json_with_nulls_for_undefined_metrics(tmp_path):
    scores, truth = tables({"constant": [3.0] * 5, "empty": [math.nan] * 5, "p": PROXY})
    report = evaluate_dataset(scores, truth, resamples=20, vote=["p", "constant"], ensemble=["p", "constant"])
    text = json.dumps({"cifar10": report}, allow_nan=False)  # raises on NaN
    assert json.loads(text)["cifar10"]["empty"]["spearman_test"] is None
    assert report["constant"]["spearman_test"] is None
    assert report["constant"]["spearman_test_ci_low"] is None and report["constant"]["spearman_test_ci_high"] is None
    assert report["empty"]["n"] == 0 and report["empty"]["nan"] == 5
    assert report["p"]["seconds_per_arch"] is None  # no seconds_p column
    assert json_safe({"a": np.float32("nan"), "b": [np.int64(2), float("inf")]}) == {"a": None, "b": [2, None]}


def test_metrics_table_has_one_row_per_method():
    scores, truth = tables({"p": PROXY, "q": ACC, "r": [1, 1, 2, 2, 3]})
    reports = {"cifar10": evaluate_dataset(scores, truth, resamples=20, vote=["p", "q", "r"], ensemble=["p", "q"])}
    table = metrics_table(reports)
    assert table["method"].tolist() == ["p", "q", "r", "vote", "ensemble"]
    assert set(table["dataset"]) == {"cifar10"}
    row = table.set_index("method").loc["p"]
    assert row["spearman_test"] == pytest.approx(0.8)
    assert row["spearman_test_ci_low"] <= row["spearman_test_ci_high"]
    assert table.set_index("method").loc["vote", "proxies"] == "p+q+r"
    unbootstrapped = metrics_table({"cifar10": evaluate_dataset(scores, truth, resamples=0, vote=None, ensemble=None)})
    assert unbootstrapped["spearman_test_ci_low"].isna().all() and unbootstrapped["spearman_test"].notna().all()


def test_intervals_are_scalar_metrics_that_the_readers_find(tmp_path, monkeypatch):
    x, y = correlated(40)
    scores, truth = tables({"p": x}, test=y, seconds={"p": [0.5] * 40})
    report = evaluate_dataset(scores, truth, vote=None, ensemble=None, resamples=50)
    metrics = report["p"]
    order = np.argsort([f"arch{i}" for i in range(40)])  # evaluate_dataset sorts rows by arch before resampling
    low, high = spearman_interval(x[order], y[order], 50, 0, "", "p")
    assert (metrics["spearman_test_ci_low"], metrics["spearman_test_ci_high"]) == (low, high)
    assert not any(isinstance(value, list) for value in metrics.values())  # MLflow and dvc show scalars only
    assert f"| p | {metrics['spearman_test']:.2f} [{low:.2f}, {high:.2f}] |" in "\n".join(detail_table(report))
    bars = []
    monkeypatch.setattr(Axes, "errorbar", lambda self, x, y, yerr=None, **kwargs: bars.append(yerr))
    plot_rho_vs_cost(report, tmp_path / "fig1.png")
    rho = metrics["spearman_test"]
    assert bars == [[[rho - low], [high - rho]]]


def test_econas_summary_carries_the_interval_as_scalars():
    x, y = correlated(30)
    archs = [f"arch{i}" for i in range(30)]
    curves = pd.DataFrame({"config": "c", "arch": archs, "epoch": 1, "val_acc": x, "minibatches": 10,
                           "images": 640, "seconds": 2.0, "flops": 1.0, "full_epochs": np.linspace(0.1, 0.3, 30)})
    correlations = epoch_correlations(curves, pd.DataFrame({"arch": archs, "test_acc": y}), 50, 0)
    summary = final_epoch_summary(correlations)["c"]
    assert summary["full_epochs_per_arch"] == pytest.approx(0.2)
    low, high = summary["spearman_test_ci_low"], summary["spearman_test_ci_high"]
    assert low < summary["spearman_test"] < high
    assert f"[{low:.2f}, {high:.2f}]" in "\n".join(econas_section({"c": summary}))


def test_bad_tables_and_names_are_reported():
    scores, truth = tables({"p": PROXY})
    with pytest.raises(ZcnasError, match="'arch4'"):
        join_truth(scores, truth.iloc[:4])
    with pytest.raises(ZcnasError, match="'arch0' more than once"):
        join_truth(pd.concat([scores, scores.iloc[:1]]), truth)
    with pytest.raises(ZcnasError, match="test_acc"):
        join_truth(scores, truth.drop(columns="test_acc"))
    with pytest.raises(ZcnasError, match="'synflow'.*expected one of: p"):
        evaluate_dataset(scores, truth)  # the default vote needs synflow, jacob_cov and snip


def test_axis_scale_follows_the_range_and_sign_of_the_scores():
    assert axis_scale([1e-2, 5.0, 1e4]) == ("log", {})
    assert axis_scale([1.0, 50.0, 900.0]) == ("linear", {})
    scale, options = axis_scale([-1e5, -3.0, 0.0, 2.0, 1e2, math.nan])
    assert scale == "symlog" and options["linthresh"] > 0
    # zeros rule out log; linear up to the decade below the 10th percentile of |x|: 1e-3 + 0.1 * (10 - 1e-3) ~ 1.0009
    assert axis_scale([0.0, 1e-3, 10.0]) == ("symlog", {"linthresh": 1.0})
    assert axis_scale([math.nan, 0.0]) == ("linear", {})


def is_png(path):
    return path.stat().st_size > 1000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("spread", ["positive_huge", "signed_huge", "narrow"])
def test_score_scatter_writes_a_png(tmp_path, spread):
    rng = np.random.default_rng(6)
    accuracy = rng.uniform(10, 94, size=200)
    score = {
        "positive_huge": 10 ** (accuracy / 10),
        "signed_huge": (accuracy - 50) ** 5,
        "narrow": accuracy + rng.normal(size=200),
    }[spread]
    score[:3] = math.nan
    path = plot_score_scatter(score, accuracy, tmp_path / "plots" / f"{spread}.png", proxy="synflow", dataset="cifar10")
    assert path == tmp_path / "plots" / f"{spread}.png" and is_png(path)
    # No temporary file left behind, and no copy of the accuracies (they are the benchmark's).
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_rho_against_cost_plot_takes_methods_costs_and_extra_series(tmp_path, monkeypatch):
    x, y = correlated(50)
    scores, truth = tables({"p": x, "q": y, "r": -x}, test=y, seconds={"p": [0.5] * 50, "q": [2.0] * 50})
    report = evaluate_dataset(scores, truth, resamples=20, vote=["p", "q", "r"], ensemble=["p", "q"])
    econas = CostSeries("reduced training", [(60.0, 0.3), (120.0, 0.5), (600.0, 0.8)],
                        intervals=[(0.1, 0.5), (0.3, 0.7), (0.7, 0.9)])
    one_epoch = CostSeries("one epoch", [(30.0, 0.2)], intervals=[(-0.1, 0.4)])
    bands = []
    fill_between = Axes.fill_between

    def recording_fill_between(self, x, low, high, **kwargs):
        bands.append((list(x), list(low), list(high)))
        return fill_between(self, x, low, high, **kwargs)

    monkeypatch.setattr(Axes, "fill_between", recording_fill_between)
    assert is_png(plot_rho_vs_cost(report, tmp_path / "fig1.png", series=[econas, one_epoch]))
    assert bands == [([60.0, 120.0, 600.0], [0.1, 0.3, 0.7], [0.5, 0.7, 0.9])]  # one point: an error bar, no band
    with pytest.raises(ZcnasError, match="3 points but 1 intervals"):
        plot_rho_vs_cost(report, tmp_path / "short.png",
                         series=[CostSeries("short", econas.points, intervals=[(0.1, 0.5)])])
    minibatches = plot_rho_vs_cost(report, tmp_path / "mb.png", costs={"p": 1, "q": 1, "r": 1},
                                   cost_label="minibatches per architecture")
    assert is_png(minibatches)
    with pytest.raises(ZcnasError, match="'r' is 0"):
        plot_rho_vs_cost(report, tmp_path / "bad.png", costs={"r": 0})
    with pytest.raises(ZcnasError, match="nothing to plot"):
        plot_rho_vs_cost(report, tmp_path / "none.png", costs={})
    assert not (tmp_path / "bad.png").exists() and not (tmp_path / "bad.csv").exists()


def test_paper_figures_and_notes_join_the_cost_plot(tmp_path, monkeypatch):
    x, y = correlated(50)
    scores, truth = tables({"p": x}, test=y, seconds={"p": [0.5] * 50})
    report = evaluate_dataset(scores, truth, resamples=20, vote=None, ensemble=None)
    labels = []
    for method in ("scatter", "plot"):
        original = getattr(Axes, method)

        def recording(self, *args, _original=original, **kwargs):
            labels.append((kwargs.get("label"), kwargs.get("facecolors")))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Axes, method, recording)
    path = plot_rho_vs_cost(report, tmp_path / "fig1.png", published={"paper: econas": (0.08, 0.61)},
                            notes=["a curve that is absent"])
    assert is_png(path)
    assert ("paper: econas", "none") in labels  # a hollow marker
    assert ("p", None) in labels
    assert all(label != "a curve that is absent" for label, _ in labels)  # a note goes in the caption, not the legend
    with pytest.raises(ZcnasError, match="'paper: x' is -1"):
        plot_rho_vs_cost(report, tmp_path / "bad.png", published={"paper: x": (-1, 0.5)})


def test_costs_in_full_size_epochs():
    archs = [NB201.format(NB201.sample(random.Random(seed))) for seed in range(2)]
    full = full_epoch_flops(archs, "cifar10")
    for name in archs:
        forward = count_flops(NB201.build(NB201.parse(name), 10, channels=16), (3, 32, 32))
        assert full[name] == 3 * forward * 50_000
    # The full-size network itself for two epochs on 90% of the images: 2 x 0.9 full epochs.
    config = make_config("r32c16e2")
    assert setting_full_epochs(config, archs, "cifar10", val_fraction=0.1) == pytest.approx(1.8, rel=1e-12)
    quarter = make_config("r32c16e1", {"s": 0.25})
    assert setting_full_epochs(quarter, archs, "cifar10", val_fraction=0.2) == pytest.approx(0.2, rel=1e-12)


def test_real_nb201_metrics_agree_with_scipy(shared_file):
    # All 15,625 cells, validation accuracy as the "proxy": a large, tie-rich check of the
    # join on real arch strings, the blocked pair matrix and the Spearman route.
    accuracy = pd.read_csv(shared_file("nb201/accuracy.csv"))
    scores = accuracy[["arch"]].assign(val=accuracy["cifar10_val"])
    truth = accuracy.rename(columns={"cifar10_test": "test_acc"})[["arch", "test_acc"]]
    metrics = evaluate_dataset(scores, truth, vote=None, ensemble=None, resamples=5)["val"]
    val, test = accuracy["cifar10_val"], accuracy["cifar10_test"]
    assert metrics["n"] == 15625 and metrics["nan"] == 0
    assert metrics["spearman_test"] == pytest.approx(stats.spearmanr(val, test).statistic)
    assert metrics["pairwise_test"] == pytest.approx(pairwise_from_kendall(test.to_numpy(), val.to_numpy()))
    assert metrics["spearman_test"] > 0.9  # validation accuracy predicts test accuracy well


def test_the_state_of_the_art_table_ranks_methods_and_flags_unexplained_gaps():
    from zcnas.pipeline.report import state_of_the_art_table

    metrics = {
        "synflow": {"spearman_test": 0.78, "kendall_test": 0.6, "seconds_per_arch": 0.03},
        "nwot": {"spearman_test": 0.76, "kendall_test": 0.57, "seconds_per_arch": 0.3},
        "zen": {"spearman_test": 0.20, "kendall_test": 0.1, "seconds_per_arch": 0.4},
        "fisher": {"spearman_test": 0.54, "kendall_test": 0.4, "seconds_per_arch": 1.0},
        "mine": {"spearman_test": 0.95, "kendall_test": 0.8},
        "vote": {"pairwise_test": 0.8},
    }
    lines = state_of_the_art_table(metrics)
    methods = [line.split(" | ")[0].removeprefix("| ") for line in lines[2:] if line.startswith("| ")]
    assert methods == ["mine", "synflow", "nwot", "fisher", "zen"]  # best first; the vote has no rho
    row = {line.split(" | ")[0].removeprefix("| "): line.split(" | ") for line in lines if line.startswith("| ")}
    assert row["synflow"][3:5] == ["0.740", "+0.04"]
    assert row["nwot"][3:5] == ["0.74–0.78", "+0.00"]  # inside the published range
    assert row["mine"][3:5] == ["—", "—"]
    notes = "\n".join(lines)
    assert "`zen` (-0.17): not explained yet" in notes
    assert "`fisher` (+0.18): the reference's NB201 network" in notes
    assert "synflow` (" not in notes


def test_the_az_nas_column_is_evaluated_when_its_components_are_scored_costing_their_seconds():
    from zcnas.proxies import with_aggregate_names
    from zcnas.proxies.az_nas import COMPONENTS

    assert with_aggregate_names(["synflow"]) == ["synflow"]
    assert with_aggregate_names([*COMPONENTS, "synflow"]) == [*COMPONENTS, "synflow", "az_nas"]
    truth = pd.DataFrame({"arch": list("abcd"), "test_acc": [1.0, 2.0, 3.0, 4.0]})
    scores = pd.DataFrame({"arch": list("abcd"), "az_nas": [-3.0, -2.0, -1.0, 0.0],
                           **{c: [1.0, 2.0, 3.0, 4.0] for c in COMPONENTS},
                           **{f"seconds_{c}": [1.0, 1.0, 1.0, 1.0] for c in COMPONENTS}})
    report = evaluate_dataset(scores, truth, with_aggregate_names(list(COMPONENTS)), vote=None, ensemble=None,
                              resamples=0)
    assert report["az_nas"]["spearman_test"] == pytest.approx(1.0)
    assert report["az_nas"]["seconds_per_arch"] == pytest.approx(4.0)


def test_the_fewshot_model_also_reads_the_log_rank_sum():
    scores, truth = tables({"p": PROXY, "q": [4.0, 3.0, 2.0, 1.0, 0.0]})
    with_log_rank = evaluate_dataset(scores, truth, ["p", "q"], vote=None, ensemble=None, log_rank=["p", "q"],
                                     fewshot_k=2, resamples=0)
    without = evaluate_dataset(scores, truth, ["p", "q"], vote=None, ensemble=None, fewshot_k=2, resamples=0)
    assert with_log_rank["fewshot"]["proxies"] == ["p", "q", "log_rank"]
    assert without["fewshot"]["proxies"] == ["p", "q"]
