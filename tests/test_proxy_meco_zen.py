"""MeCo and Zen-score against values worked out by hand, their metadata, and real networks.

MeCo's hand values use a 1x1 convolution set to the identity on 2 channels, so its output
is its input: for one sample with channels a and b (4 positions each), the channel
correlation matrix is [[1, r], [r, 1]], r the Pearson correlation of a and b, whose
smallest eigenvalue is 1 - |r|.
"""

import math
import random

import pytest
import torch
from torch import nn

import zcnas
from zcnas.proxies import PROXIES
from zcnas.proxies.passes import zen as zen_pass
from zcnas.spaces.nb101 import NB101
from zcnas.spaces.nb201 import NB201

# a = [1, 2, 3, 4], b = [2, 1, 4, 3]: deviations [-1.5, -0.5, 0.5, 1.5] and [-0.5, -1.5, 1.5, 0.5],
# so r = (0.75 + 0.75 + 0.75 + 0.75) / 5 = 0.6 and the smallest eigenvalue is 0.4.
A, B = [1.0, 2.0, 3.0, 4.0], [2.0, 1.0, 4.0, 3.0]
SMALLEST = 0.4


def identity_conv() -> nn.Conv2d:
    conv = nn.Conv2d(2, 2, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.eye(2).reshape(2, 2, 1, 1))
    return conv


def sample(a, b) -> torch.Tensor:
    """One 2-channel 2x2 image."""
    return torch.tensor([a, b]).reshape(1, 2, 2, 2)


def meco(net, *images) -> float:
    inputs = torch.cat(images)
    return zcnas.score(net, (inputs, torch.zeros(len(inputs), dtype=torch.long)), ["meco"])["meco"]


def test_meco_is_the_smallest_eigenvalue_of_the_channel_correlation():
    assert meco(identity_conv(), sample(A, B)) == pytest.approx(SMALLEST, abs=1e-9)


def test_meco_sums_over_every_module_containers_included():
    # The Sequential, the conv and the ReLU each give the same (positive) map: 3 x 0.4.
    assert meco(nn.Sequential(identity_conv(), nn.ReLU()), sample(A, B)) == pytest.approx(3 * SMALLEST, abs=1e-9)


def test_meco_computes_a_map_shared_by_a_container_and_its_last_child_once(monkeypatch):
    from zcnas.proxies import meco as meco_module

    computed = []
    real = meco_module._smallest_eigenvalues
    monkeypatch.setattr(meco_module, "_smallest_eigenvalues", lambda outputs: computed.extend(outputs) or real(outputs))
    assert meco(nn.Sequential(identity_conv(), nn.ReLU()), sample(A, B)) == pytest.approx(3 * SMALLEST, abs=1e-9)
    assert len(computed) == 2  # the conv's map, and the ReLU's, which the Sequential returns too


def test_meco_correlations_are_torch_corrcoef_matrix_by_matrix():
    """Solved as a stack, each matrix must give what torch.corrcoef gives it alone, to rounding
    (bit for bit on NB201's shapes), a constant channel (NaN, set to 0) and a single channel included."""
    from zcnas.proxies.meco import _correlations

    generator = torch.Generator().manual_seed(0)
    for channels, positions in [(5, 9), (1, 4), (3, 2)]:
        stack = torch.randn(4, channels, positions, generator=generator, dtype=torch.float64)
        stack[1, 0] = 2.5
        for matrix, correlation in zip(stack, _correlations(stack)):
            expected = torch.atleast_2d(torch.corrcoef(matrix))
            expected = torch.where(expected.isfinite(), expected, torch.zeros_like(expected))
            torch.testing.assert_close(correlation, expected, rtol=0, atol=1e-12)


def test_meco_reads_the_first_sample_alone():
    """The reference forwards one image: with BatchNorm in train mode, the statistics must be
    that image's, so a second sample changes nothing (whole-batch statistics would)."""
    net = nn.Sequential(identity_conv(), nn.BatchNorm2d(2))
    other = sample([9.0, -3.0, 0.0, 1.0], [0.0, 5.0, -2.0, 7.0])
    assert meco(net, sample(A, B), other) == meco(net, sample(A, B))
    assert meco(net, sample(A, B), other) != meco(net, other)


def test_meco_sets_undefined_correlations_to_zero():
    # A constant channel has no correlation: the matrix becomes [[1, 0], [0, 0]], smallest eigenvalue 0.
    assert meco(identity_conv(), sample(A, [5.0] * 4)) == 0.0


def test_meco_reads_outputs_before_a_later_in_place_op_changes_them():
    """The in-place ReLU clips the conv's output tensor itself; the conv's term must still be
    that of the unclipped map. Against b's deviations [-0.5, -1.5, 1.5, 0.5] (squares 5):
    unclipped a = [1, -2, 3, 4] has deviations [-0.5, -3.5, 1.5, 2.5] (squares 21), products
    9, r = 9 / sqrt(105); clipped a = [1, 0, 3, 4] has [-1, -2, 1, 2] (squares 10), products
    6, r = 6 / sqrt(50), for the ReLU and the Sequential each."""
    unclipped, clipped = 1 - 9 / math.sqrt(105), 1 - 6 / math.sqrt(50)
    net = nn.Sequential(identity_conv(), nn.ReLU(inplace=True))
    assert meco(net, sample([1.0, -2.0, 3.0, 4.0], B)) == pytest.approx(unclipped + 2 * clipped, abs=1e-9)


class Scale(nn.Module):
    """A parameter-free gain, which Zen's re-initialisation leaves as it is."""

    def __init__(self, gain: float):
        super().__init__()
        self.gain = gain

    def forward(self, x):
        return self.gain * x


class Features(nn.Sequential):
    """A network whose next-to-last module is what global pooling would read; a head follows
    (the engine needs a parameter to find the device), which Zen's features do not reach."""

    def feature_modules(self):
        return {"pre_pool": self[-2]}


def features(*modules, channels=3) -> Features:
    return Features(*modules, nn.Conv2d(channels, 2, 1))


GAUSSIAN_ABS_MEAN = math.sqrt(2 / math.pi)  # E|e| for e ~ N(0, 1)
SHAPE = (64, 3, 32, 32)


def zen(net) -> float:
    return zcnas.score(net, (torch.zeros(SHAPE), torch.zeros(SHAPE[0], dtype=torch.long)), ["zen"])["zen"]


def test_zen_of_the_identity_is_the_size_of_the_perturbation():
    """f(x) = x: Delta = alpha * mean over samples of sum |eps| = alpha * 3072 * E|e|, up to
    sampling error (196608 draws: relative error ~ 0.2%); no BatchNorm, no scaling term."""
    expected = math.log(zen_pass.ALPHA * 3 * 32 * 32 * GAUSSIAN_ABS_MEAN)
    assert zen(features(nn.Identity())) == pytest.approx(expected, abs=0.01)


def test_zen_adds_the_running_variance_that_carries_over_repeats(monkeypatch):
    """Inputs scaled by 10 into a BatchNorm (momentum 0.1): the features are the normalised
    inputs, so Delta is as for the identity, and each forward moves the running variance
    (reset to 1) a tenth of the way to the batch's 100. After repeat r (2 (r + 1) forwards,
    as the reference carries it across repeats) it is 100 - 99 * 0.9 ** (2 (r + 1))."""
    monkeypatch.setattr(zen_pass, "REPEATS", 3)
    net = features(Scale(10.0), nn.BatchNorm2d(3, momentum=0.1), nn.Identity())
    scaling = [0.5 * math.log(100 - 99 * 0.9 ** (2 * (r + 1))) for r in range(zen_pass.REPEATS)]
    expected = math.log(zen_pass.ALPHA * 3 * 32 * 32 * GAUSSIAN_ABS_MEAN) + sum(scaling) / len(scaling)
    assert zen(net) == pytest.approx(expected, abs=0.02)


def test_zen_of_a_gaussian_linear_layer_scales_with_its_weights():
    """A 1x1 conv 3 -> 1 re-initialised to w ~ N(0, 1): f(x + alpha eps) - f(x) = alpha w.eps,
    a N(0, alpha^2 |w|^2) per position, so log Delta = log(alpha * 1024 * E|e|) + log |w|,
    and a gain in front adds log(gain) exactly, whatever w."""
    plain = zen(features(nn.Conv2d(3, 1, 1, bias=False), channels=1))
    scaled = zen(features(Scale(7.0), nn.Conv2d(3, 1, 1, bias=False), channels=1))
    assert scaled - plain == pytest.approx(math.log(7.0), abs=1e-5)


def test_zen_of_features_ignoring_the_input_is_nan():
    # Delta = 0 (an NB201 cell of `none` edges): log 0 = -inf, which the engine records as NaN.
    with pytest.warns(RuntimeWarning, match="zen gave -inf"):
        assert math.isnan(zen(features(Scale(0.0), nn.Identity())))


def test_metadata():
    assert (PROXIES["meco"].uses_data, PROXIES["meco"].uses_labels, PROXIES["meco"].higher_is_better) == (
        True, False, True)
    # Zen reads only the input shape: Gaussian inputs, Gaussian weights.
    assert (PROXIES["zen"].uses_data, PROXIES["zen"].uses_labels, PROXIES["zen"].higher_is_better) == (
        False, False, True)
    assert "data-free" in [name for name, group in zcnas.proxies.GROUPS.items() if group.holds(PROXIES["zen"])]


@pytest.mark.parametrize("space, options", [
    (NB201, {"channels": 4, "cells_per_stage": 1}),
    (NB101, {"stem_channels": 4, "modules_per_stack": 1}),
])
def test_real_networks_are_scored_and_left_untouched(space, options):
    """Both proxies give a finite score on NB201 and NB101 networks; zen works on copies, so
    the caller's weights and buffers are bit for bit what they were, and torch's global
    random state is not drawn from. Zen does not depend on the passes run before it (meco's
    train-mode forward moves the caller's running statistics; zen resets its copy's)."""
    torch.manual_seed(0)
    net = space.build(space.sample(random.Random(1)), **options)
    before = {name: tensor.clone() for name, tensor in net.state_dict().items()}
    inputs = torch.randn(4, 3, 32, 32)
    rng_state = torch.random.get_rng_state()
    scores = zcnas.score(net, (inputs, torch.zeros(4, dtype=torch.long)), ["meco", "zen"])
    assert all(math.isfinite(scores[name]) for name in ("meco", "zen")), scores
    assert zcnas.score(net, (inputs, torch.zeros(4, dtype=torch.long)), ["zen"])["zen"] == scores["zen"]
    assert torch.equal(torch.random.get_rng_state(), rng_state)
    after = net.state_dict()
    assert all(torch.equal(before[name], after[name]) for name in before)
