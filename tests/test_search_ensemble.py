"""Search steered by a training-free ensemble (`ensemble:a+b`, `log_rank:a+b`) instead of one proxy."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from zcnas.metric_keys import metric_key
from zcnas.benchmarks import synthetic_nb201, write_ground_truth
from zcnas.errors import ZcnasError
from zcnas.evaluation.combined import parse_spec, spec_score
from zcnas.files import write_table
from zcnas.pipeline.params import parse_params
from zcnas.pipeline.score import score_table_path
from zcnas.pipeline.search import search_stage
from zcnas.search import Benchmark, proxy_ranking, run_search
from zcnas.spaces import get_space
from zcnas.tracking import StageRun

NB201 = get_space("nb201")
A, B, C, X = (NB201.format((op,) * 6) for op in ("skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"))


@pytest.fixture
def scores(lower_is_better_proxy) -> pd.DataFrame:
    """synflow ranks A first, lowproxy (lower is better, see conftest) ranks B first; X is second for both.

    Oriented ranks (4 = best): synflow A4 X3 C2 B1, lowproxy B4 X3 C2 A1.
    """
    return pd.DataFrame({"arch": [A, B, C, X], "synflow": [9.0, 0.2, 1.5, 5.0], "lowproxy": [7.0, 0.1, 2.0, 0.4],
                         "seconds_synflow": 0.1})


# Worked by hand from the ranks above: the mean rank, and the sum of log(rank / 4).
BY_HAND = {"ensemble:synflow+lowproxy": {A: 2.5, B: 2.5, C: 2.0, X: 3.0},
           "log_rank:synflow+lowproxy": {A: math.log(1 / 4), B: math.log(1 / 4), C: 2 * math.log(2 / 4),
                                         X: 2 * math.log(3 / 4)}}


@pytest.mark.parametrize("spec", sorted(BY_HAND))
def test_an_ensemble_scores_each_arch_from_its_members_oriented_ranks(scores, spec):
    by_arch = dict(zip(scores["arch"], spec_score(scores, spec)))
    assert by_arch == pytest.approx(BY_HAND[spec])
    shuffled = scores.sample(frac=1, random_state=3)
    assert dict(zip(shuffled["arch"], spec_score(shuffled, spec))) == by_arch


@pytest.mark.parametrize("spec", sorted(BY_HAND))
def test_search_reads_the_ensemble_score(scores, spec):
    benchmark = Benchmark(NB201, pd.DataFrame({"arch": [A, B, C, X], "val_acc": [81.0, 82.0, 83.0, 84.0],
                                               "test_acc": [80.0, 81.0, 82.0, 83.0]}))
    ranking = proxy_ranking(benchmark, scores, spec)
    assert dict(zip(benchmark.names, ranking.scores)) == pytest.approx(BY_HAND[spec])
    # A warm-up over every cell trains the proxy's top cell first; its test accuracy names it.
    first = {proxy: run_search("rs+warmup4", benchmark, scores, 1, seed=5, proxy=proxy)[0]
             for proxy in ("synflow", "lowproxy", spec)}
    assert first == {"synflow": 80.0, "lowproxy": 81.0, spec: 83.0}


def test_a_missing_member_is_named_with_the_available_proxies(scores):
    benchmark = Benchmark(NB201, pd.DataFrame({"arch": [A, X], "val_acc": [81.0, 84.0], "test_acc": [80.0, 83.0]}))
    with pytest.raises(ZcnasError, match="proxy 'snip' is not in the scores table; available: synflow, lowproxy$"):
        proxy_ranking(benchmark, scores, "ensemble:synflow+snip")


@pytest.mark.parametrize("spec, words", [
    ("vote:synflow+snip", "pairwise majority"),
    ("mean:synflow+snip", "unknown ensemble 'mean'"),
    ("log_rank:", "leaves a proxy out"),
    ("ensemble:synflow++snip", "leaves a proxy out"),
    ("ensemble:snip+snip", "names snip more than once"),
])
def test_malformed_specs_are_refused_with_the_forms_to_write(spec, words):
    with pytest.raises(ZcnasError, match=f"{words}.*write ensemble:a\\+b\\+c or log_rank:a\\+b\\+c$"):
        parse_spec(spec)


def test_params_accept_an_ensemble_of_space_scored_proxies():
    params = parse_params({"score_space": {"proxies": ["synflow", "params"]},
                           "search": {"proxy": "log_rank:synflow+params"}})
    assert params.search.proxy == "log_rank:synflow+params"


def test_the_search_stage_warms_up_with_the_ensemble_pick(tmp_path):
    """Over the whole space: synflow's top cell is zen's worst and the reverse, and one cell
    is second for both, so each member and the ensemble train a different cell first."""
    truth = synthetic_nb201(0)
    write_ground_truth(truth, tmp_path / "truth" / "nb201.parquet")
    cifar10 = truth[truth["dataset"] == "cifar10"].reset_index(drop=True)
    order = np.random.default_rng(1).permutation(len(cifar10))
    synflow_top, zen_top, both_second = order[:3]
    synflow = np.random.default_rng(2).uniform(0, 1, len(cifar10))
    zen = np.random.default_rng(3).uniform(0, 1, len(cifar10))
    synflow[[synflow_top, both_second, zen_top]] = [3.0, 2.0, -1.0]
    zen[[zen_top, both_second, synflow_top]] = [3.0, 2.0, -1.0]
    write_table(pd.DataFrame({"arch": cifar10["arch"], "synflow": synflow, "zen": zen}),
                score_table_path(tmp_path / "space", "nb201", "cifar10", 0))
    expected = {"synflow": synflow_top, "zen": zen_top, "ensemble:synflow+zen": both_second,
                "log_rank:synflow+zen": both_second}
    for proxy, cell in expected.items():
        params = parse_params({"workers": 1, "score_space": {"proxies": ["synflow", "zen"], "seeds": 1}, "search": {
            "proxy": proxy, "datasets": ["cifar10"], "variants": ["rs+warmup15625"], "budget": {"rs": 1},
            "runs": {"rs": 1}, "targets": {"cifar10": [90.0]}}})
        summaries = search_stage(params, tmp_path / "truth", tmp_path / "space", tmp_path / "search.json",
                                 tmp_path / "curves", tmp_path / "plots", StageRun())
        assert json.loads((tmp_path / "search.json").read_text())["cifar10"]["proxy_rankings"]["proxy"] == proxy
        assert summaries["cifar10"][metric_key("rs+warmup15625")]["best_mean_at_budget"] == cifar10["test_acc"][cell], proxy
