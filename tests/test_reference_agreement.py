"""zcnas's six proxies against the reference implementation (SamsungLabs/zero-cost-nas).

The fixture holds the reference code's scores on 20 NB201 cells, measured with zcnas's
seeded weights copied into the reference's model and one real CIFAR-10 minibatch shared
by all cells (see fixtures/reference_scores_nb201.md). Here zcnas scores the same cells
through `score_one`, so with the same seeding and batch, all six proxies in one pass per cell.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import spearmanr

from conftest import shared_data_dir
from zcnas.data import Minibatches, load_minibatch
from zcnas.proxies import PAPER_PROXIES
from zcnas.resources import MIRROR_ENV
from zcnas.scoring import ScoringJob, score_one
from zcnas.spaces import get_space

FIXTURE = Path(__file__).parent / "fixtures" / "reference_scores_nb201.csv"
SEED = 42  # the global seed the fixture was measured with (weights and minibatch)

# Spearman rho each proxy must reach against the reference over the 20 cells.
MIN_RHO = {
    # Measured 1.0 (values within 5e-7 relative, grasp 3e-5): the same definition on the
    # same network. 0.99 tolerates a swap of near-tied cells under another BLAS (the
    # closest pair, in jacob_cov, is 3e-4 apart) and still fails a real definitional
    # difference: fisher on the reference's own, biased model agrees at 0.66.
    "grad_norm": 0.99,
    "snip": 0.99,
    "grasp": 0.99,
    "fisher": 0.99,
    "jacob_cov": 0.99,
    # Measured 0.9985 (one adjacent swap): the reference keeps the reduction blocks'
    # BatchNorm in synflow, which changes values ~1000x but barely the ranks.
    "synflow": 0.98,
}
# Proxies whose values, not only ranks, must match (synflow differs by design, above).
SAME_VALUES = [name for name in PAPER_PROXIES if name != "synflow"]


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(FIXTURE)


@pytest.fixture(scope="module")
def zcnas_scores(reference, tmp_path_factory) -> pd.DataFrame:
    mirror = shared_data_dir()
    if not (mirror / "cifar10" / "cifar10-jpeg.tar.gz").exists():
        pytest.skip(f"cifar10/cifar10-jpeg.tar.gz not found under {mirror} (set {MIRROR_ENV})")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(MIRROR_ENV, str(mirror))
        inputs, targets = load_minibatch(
            "cifar10", "random", 64, SEED, data_dir=tmp_path_factory.mktemp("data"), download=False
        )
    space = get_space("nb201")
    batches = Minibatches.shared(inputs, targets)
    job = ScoringJob(space, PAPER_PROXIES, batches, num_classes=10, seed=SEED, device="cpu")
    threads = torch.get_num_threads()
    torch.set_num_threads(job.threads)  # as the pipeline scores, and as the fixture was measured
    try:
        return pd.DataFrame([score_one(job, space.parse(arch)) for arch in reference.arch])
    finally:
        torch.set_num_threads(threads)


def test_fixture_covers_the_six_proxies(reference):
    assert reference.columns[0] == "arch" and sorted(reference.columns[1:]) == sorted(PAPER_PROXIES)
    assert len(reference) == 20 and reference.arch.is_unique
    assert np.isfinite(reference[list(PAPER_PROXIES)].to_numpy()).all()


@pytest.mark.shared_data
@pytest.mark.parametrize("proxy", PAPER_PROXIES)
def test_ranks_agree_with_the_reference(proxy, reference, zcnas_scores):
    assert list(zcnas_scores.arch) == list(reference.arch)
    rho = spearmanr(zcnas_scores[proxy], reference[proxy]).statistic
    assert rho >= MIN_RHO[proxy], f"{proxy}: Spearman rho {rho:.4f} with the reference < {MIN_RHO[proxy]}"


@pytest.mark.shared_data
@pytest.mark.parametrize("proxy", SAME_VALUES)
def test_values_match_the_reference(proxy, reference, zcnas_scores):
    # Ranks alone would miss a change of scale (e.g. a lost factor 1/2 in fisher). GraSP
    # sums terms of both signs, so a cell near zero may differ by more than 1e-3 of
    # itself under another summation order (seen: 1.2e-3 with two threads): the
    # tolerance is also 1e-3 of the proxy's largest value.
    np.testing.assert_allclose(zcnas_scores[proxy], reference[proxy], rtol=1e-3,
                               atol=1e-3 * reference[proxy].abs().max())
