"""The `relu_codes` pass and the proxies reading it (nwot, swap), on networks small enough
to work out by hand, and on NB201 and NB101 networks."""

import dataclasses
import math
import random

import pytest
import torch
from torch import nn

import zcnas
from zcnas.proxies import PROXIES
from zcnas.proxies.passes import PASSES, PRODUCERS
from zcnas.proxies.relu_patterns import SWAP_SAMPLES, distinct_columns
from zcnas.spaces import get_space


def conv_relu(inplace: bool = False) -> nn.Sequential:
    """A 1x1 convolution from 1 channel to 3 with weights +1, -1, +2 (no bias), then a ReLU.

    On a 1 x 1 x 2 image (a, b) its 3 x 2 = 6 units see a, b, -a, -b, 2a, 2b, so the codes
    are [a>0, b>0, -a>0, -b>0, 2a>0, 2b>0]: the third channel repeats the first one's."""
    conv = nn.Conv2d(1, 3, kernel_size=1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, -1.0, 2.0]).view(3, 1, 1, 1))
    return nn.Sequential(conv, nn.ReLU(inplace=inplace))


def images(*pixels) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of 1 x 1 x 2 images (a, b), with dummy labels."""
    return torch.tensor(pixels).view(len(pixels), 1, 1, 2), torch.zeros(len(pixels), dtype=torch.long)


# The codes, one row per sample (units a, b, -a, -b, 2a, 2b):
#   (1, 2)  -> 1 1 0 0 1 1
#   (1, -1) -> 1 0 0 1 1 0
#   (0, -2) -> 0 0 0 1 0 0   (0 is not > 0: a unit at exactly 0 is inactive)
HAND = images((1.0, 2.0), (1.0, -1.0), (0.0, -2.0))
# K_ij = the number of the 6 units where samples i and j agree:
#   K = [[6, 3, 1],
#        [3, 6, 4],
#        [1, 4, 6]]
# det K = 6 (36 - 16) - 3 (18 - 4) + 1 (12 - 6) = 120 - 42 + 6 = 84.
# Coding "input >= 0" instead would make sample 3's codes 1 0 1 1 1 0 and det K = 48.
HAND_NWOT = math.log(84)
# The units' patterns over the 3 samples (the columns): 110, 100, 000, 011, 110, 100;
# the 2a and 2b units repeat the a and b units', so 4 are distinct.
HAND_SWAP = 4


def scores(net, batch, names=("nwot", "swap")):
    return zcnas.score(net, batch, list(names))


def test_nwot_is_the_log_determinant_of_the_hamming_kernel_worked_by_hand():
    assert scores(conv_relu(), HAND)["nwot"] == pytest.approx(HAND_NWOT, rel=1e-12)


def test_swap_counts_the_distinct_unit_patterns_worked_by_hand():
    assert scores(conv_relu(), HAND)["swap"] == HAND_SWAP


class SubtractAfterwards(nn.Module):
    """Overwrites its input in place: the storage the ReLU (in place too) read and wrote."""

    def forward(self, x):
        return x.sub_(5.0)


def test_codes_are_taken_before_in_place_ops_overwrite_the_relu_input():
    # Reading the hooked tensor after the forward instead would see ReLU outputs minus 5,
    # all at most 4 - 5 = -1: all codes 0, K = 6 everywhere (singular) and a single pattern.
    net = nn.Sequential(conv_relu(inplace=True), SubtractAfterwards())
    assert scores(net, HAND) == pytest.approx({"nwot": HAND_NWOT, "swap": HAND_SWAP})


def test_nwot_sums_over_every_relu_and_swap_skips_relus_after_a_linear_layer():
    # A head Flatten -> Linear(6, 1) of weight 1 -> ReLU codes each sample by the sign of
    # the sum of the first ReLU's 6 outputs.
    head = nn.Linear(6, 1, bias=False)
    with torch.no_grad():
        head.weight.fill_(1.0)
    net = nn.Sequential(conv_relu(), nn.Flatten(), head, nn.ReLU())
    # The first ReLU's outputs (1, 2, 0, 0, 2, 4), (1, 0, 0, 1, 2, 0), (0, 0, 0, 2, 0, 0) sum to
    # 9, 4, 2: all > 0, so the head's single unit codes 1, 1, 1 and adds 1 to every K_ij:
    # det [[7, 4, 2], [4, 7, 5], [2, 5, 7]] = 7 (49 - 25) - 4 (28 - 10) + 2 (20 - 14) = 108.
    got = scores(net, HAND)
    assert got["nwot"] == pytest.approx(math.log(108), rel=1e-12)
    # The head's pattern 111 would be a fifth distinct pattern were it counted.
    assert got["swap"] == HAND_SWAP


def test_swap_reads_only_the_first_samples_of_a_larger_batch():
    # 16 images (a, b) with a, b > 0: the a and b units share the pattern 1...1, the -a
    # and -b units 0...0, so 2 patterns; a 17th image (1, -1) would split both pairs (4).
    inputs, labels = images(*[(i + 1.0, 2.0 * i + 1.0) for i in range(SWAP_SAMPLES)], (1.0, -1.0))
    assert SWAP_SAMPLES == 16
    assert scores(conv_relu(), (inputs, labels), ["swap"])["swap"] == 2
    assert scores(conv_relu(), (inputs[:16], labels[:16]), ["swap"])["swap"] == 2
    assert distinct_columns((conv_relu()[0](inputs) > 0).flatten(1)) == 4


def test_distinct_columns_counts_over_more_than_64_samples():
    # 70 samples span two 64-bit words per unit; columns 0 and 2 differ only in the last sample.
    codes = torch.zeros(70, 4, dtype=torch.bool)
    codes[:, 0] = True
    codes[:, 2] = True
    codes[69, 2] = False
    codes[0, 3] = True
    assert distinct_columns(codes) == 4
    assert distinct_columns(torch.cat([codes, codes], dim=1)) == 4


def test_metadata_is_honest():
    for name in ("nwot", "swap"):
        proxy = PROXIES[name]
        # Both grow with how differently the network treats the samples (higher is better
        # in both papers), read the inputs but not the labels.
        assert proxy.higher_is_better and proxy.uses_data and not proxy.uses_labels
        assert proxy.needs == {"relu_codes"}
        assert not proxy.paper  # not one of Abdelfattah et al.'s six
    assert "Mellor" in PROXIES["nwot"].citation and "Peng" in PROXIES["swap"].citation


def test_the_pass_runs_once_for_both_proxies(monkeypatch):
    runs = []
    original = PASSES["relu_codes"]

    def counted(context):
        runs.append(1)
        return original.run(context)

    spy = dataclasses.replace(original, run=counted)
    monkeypatch.setitem(PASSES, "relu_codes", spy)
    monkeypatch.setitem(PRODUCERS, "relu_codes", spy)
    got = scores(conv_relu(), HAND)
    assert len(runs) == 1
    assert got == pytest.approx({"nwot": HAND_NWOT, "swap": HAND_SWAP})


def test_labels_do_not_matter():
    inputs, labels = HAND
    assert scores(conv_relu(), (inputs, labels + 1)) == scores(conv_relu(), HAND)


@pytest.mark.parametrize("space_name", ["nb201", "nb101"])
def test_scores_a_search_space_network_and_leaves_it_untouched(space_name):
    space = get_space(space_name)
    torch.manual_seed(0)
    net = space.build(space.sample(random.Random(3)), num_classes=10)
    state = {key: value.clone() for key, value in net.state_dict().items()}
    generator = torch.Generator().manual_seed(1)
    batch = torch.randn(8, 3, 32, 32, generator=generator), torch.randint(0, 10, (8,), generator=generator)
    got = scores(net, batch)
    # 8 samples with distinct codes give a nonsingular K, whose entries count agreeing
    # units, so log det K is finite and large; swap is at most 2**8 patterns.
    assert math.isfinite(got["nwot"]) and got["nwot"] > 8
    assert 2 <= got["swap"] <= 2 ** 8
    assert all(torch.equal(state[key], value) for key, value in net.state_dict().items())


def test_nb201_runs_every_edge_for_the_codes_as_the_official_network_does():
    # Node 1's only outgoing edges are `none`, so our network skips the conv into node 1;
    # the official one runs it, and NASWOT's reference code counts its ReLU.
    space = get_space("nb201")
    arch = space.parse("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|")
    torch.manual_seed(0)
    lean = space.build(arch, num_classes=10)
    torch.manual_seed(0)
    full = space.build(arch, num_classes=10, run_everything=True)
    batch = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(2)), torch.zeros(4, dtype=torch.long)
    assert scores(lean, batch) == pytest.approx(scores(full, batch))
    # and the switch is put back.
    assert not any(getattr(module, "run_everything", False) for module in lean.modules())


def test_swap_reg_scales_swap_by_the_gaussian_of_the_parameter_count_in_thousands():
    """conv_relu has 3 weights: P = 0.003 thousand, so the factor is exp(-(0.003 - mu)^2 / sigma);
    2000 extra parameters (a bias-free 1x1 conv of 2000 outputs, outside the ReLU codes'
    reach) move P to 2.003 thousand."""
    from zcnas.proxies.relu_patterns import SWAP_REG_MU, SWAP_REG_SIGMA

    factor = math.exp(-((0.003 - SWAP_REG_MU) ** 2) / SWAP_REG_SIGMA)
    assert scores(conv_relu(), HAND, ["swap_reg"])["swap_reg"] == pytest.approx(HAND_SWAP * factor, rel=1e-12)

    class WithSpareWeights(nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.spare = conv_relu(), nn.Parameter(torch.zeros(2000))

        def forward(self, x):
            return self.body(x)

    bigger = math.exp(-((2.003 - SWAP_REG_MU) ** 2) / SWAP_REG_SIGMA)
    assert bigger > factor
    assert scores(WithSpareWeights(), HAND, ["swap_reg"])["swap_reg"] == pytest.approx(HAND_SWAP * bigger, rel=1e-12)
