import math

import numpy as np
import pandas as pd
import pytest

from zcnas.errors import ZcnasError
from zcnas.evaluation import evaluate_dataset, metrics_table
from zcnas.evaluation.fewshot import CURVE_K, check_k, fewshot, fewshot_curve
from zcnas.pipeline.report import detail_table, fewshot_curve_table


def synthetic(cells: int, noise: float = 0.05, seed: int = 0) -> pd.DataFrame:
    """Proxy `good` is the accuracy plus a little noise, `junk` is unrelated, `gappy` is `good` with holes."""
    rng = np.random.default_rng(seed)
    accuracy = rng.uniform(0, 1, cells)
    good = accuracy + rng.normal(0, noise, cells)
    gappy = np.where(rng.uniform(size=cells) < 0.2, math.nan, good)
    return pd.DataFrame({"arch": [f"a{i:03d}" for i in range(cells)], "good": good, "junk": rng.normal(size=cells),
                         "gappy": gappy, "test_acc": accuracy})


def test_a_proxy_that_is_the_accuracy_plus_noise_gives_rho_near_one():
    summary = fewshot(synthetic(300), ["good", "junk", "gappy"], k=100, seed=0)
    assert summary["spearman_test"] > 0.9 and summary["spearman_test_min"] > 0.85
    assert summary["kendall_test"] > 0.75
    assert (summary["k"], summary["n"], summary["splits"], summary["target"]) == (100, 200, 10, "test_acc")
    # Unrelated scores alone teach it nothing: rho near 0 on average.
    assert abs(fewshot(synthetic(300), ["junk"], k=100, seed=0)["spearman_test"]) < 0.2


def test_fewshot_is_deterministic_and_seeded():
    table = synthetic(60, noise=0.5)
    first = fewshot(table, ["good", "junk", "gappy"], k=20, seed=3)
    assert fewshot(table, ["good", "junk", "gappy"], k=20, seed=3) == first
    assert fewshot(table, ["good", "junk", "gappy"], k=20, seed=4) != first
    assert first["spearman_test_min"] <= first["spearman_test"] <= first["spearman_test_max"]
    assert first["spearman_test_std"] > 0
    # An infinite score (the model rejects infinities) counts as missing, like NaN.
    infinite = table.assign(gappy=table["gappy"].fillna(math.inf))
    assert fewshot(infinite, ["good", "junk", "gappy"], k=20, seed=3) == first


def test_k_must_leave_two_cells_to_evaluate_on():
    check_k(18, 20)
    for k in (0, 19, 25):
        with pytest.raises(ZcnasError, match=rf"few-shot k={k} is out of range for a sample of 20 cells; "
                                             r"expected 1 <= k <= 18"):
            fewshot(synthetic(20), ["good"], k=k, seed=0)


def test_the_curve_skips_k_the_sample_cannot_afford_and_says_so():
    curve = fewshot_curve(synthetic(30), ["good"], seed=0)
    assert list(curve["points"]) == ["10", "25"]
    assert curve["skipped"] == [k for k in CURVE_K if k > 28]
    assert "k = 50, 100, 200, 400 skipped: a sample of 30 cells" in curve["note"]
    assert curve["points"]["10"] == fewshot(synthetic(30), ["good"], k=10, seed=0)


def test_evaluate_dataset_reports_fewshot_and_its_curve_in_tables():
    table = synthetic(30)
    scores, truth = table.drop(columns="test_acc"), table[["arch", "test_acc"]]
    report = evaluate_dataset(scores, truth, ["good", "junk"], vote=None, ensemble=None, fewshot_k=5, resamples=0,
                              seed=2)
    assert report["fewshot"]["k"] == 5 and report["fewshot"]["proxies"] == ["good", "junk"]
    assert list(report["fewshot_curve"]["points"]) == ["10", "25"]
    assert metrics_table({"c10": report})["method"].tolist() == [
        "good", "junk", "fewshot", "fewshot_curve/10", "fewshot_curve/25"]
    rows = "\n".join(detail_table(report))
    assert "| fewshot |" in rows and "fewshot_curve" not in rows
    point = report["fewshot_curve"]["points"]["25"]
    assert (f"| 25 | {point['spearman_test']:.2f} [{point['spearman_test_min']:.2f}, "
            f"{point['spearman_test_max']:.2f}] |") in "\n".join(fewshot_curve_table(report))
    with pytest.raises(ZcnasError, match="few-shot k=29"):
        evaluate_dataset(scores, truth, ["good"], vote=None, ensemble=None, fewshot_k=29, resamples=0)


def test_a_prior_is_averaged_rank_for_rank_with_the_model():
    """A constant feature gives a constant prediction (every cell tied); averaged with a
    prior that orders the cells as their accuracy, the ranking is the prior's: rho 1 on
    every split, where the model alone ranks nothing (rho undefined)."""
    accuracy = np.arange(30, dtype=float)
    table = pd.DataFrame({"flat": np.ones(30), "prior": accuracy * 2 + 1, "test_acc": accuracy})
    with_prior = fewshot(table, ["flat"], k=10, seed=0, splits=3, prior="prior")
    assert (with_prior["spearman_test"], with_prior["spearman_test_min"], with_prior["prior"]) == (1.0, 1.0, "prior")
    assert math.isnan(fewshot(table, ["flat"], k=10, seed=0, splits=3)["spearman_test"])
