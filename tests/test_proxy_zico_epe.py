"""ZiCo and EPE-NAS against values worked out by hand, and on NB201 / NB101 networks.

ZiCo network: logits z = A x + B x with A = B = 0 (3 inputs, 2 classes), and a third
layer C that the forward never uses. With z = 0, p = softmax(z) = [1/2, 1/2] and
dL/dz = p - e_y, i.e. [-1/2, 1/2] for class 0 and [1/2, -1/2] for class 1; the gradient
of a minibatch's mean loss is the mean over its samples of (p - e_y) x^T, for A and B alike.
The batch of four is split in its two halves:
  minibatch 1: x = [1, 0, 2] (class 0), x = [0, 1, 0] (class 1)
    g1 = ([-1/2, 1/2]^T [1, 0, 2] + [1/2, -1/2]^T [0, 1, 0]) / 2
       = [[-1/4, 1/4, -1/2], [1/4, -1/4, 1/2]]
  minibatch 2: x = [2, 0, 1] twice (class 0)
    g2 = [-1/2, 1/2]^T [2, 0, 1] = [[-1, 0, -1/2], [1, 0, 1/2]]
Per weight, mean |g| and population std over (g1, g2):
  (-1/4, -1) and (1/4, 1): mean 5/8, std 3/8 -> 5/3 each
  (1/4, 0) and (-1/4, 0):  mean 1/8, std 1/8 -> 1 each
  (-1/2, -1/2), (1/2, 1/2): std 0 -> left out (mean/std would be infinite)
so each of A and B adds log(5/3 + 5/3 + 1 + 1) = log(16/3); C's gradients are zero in
both minibatches, all its stds are 0, its sum is 0 and it is left out (log 0 = -inf).
"""

import math
import random

import pytest
import torch
from torch import nn

import zcnas
from zcnas.proxies import PROXIES
from zcnas.proxies.engine import run_passes
from zcnas.spaces.nb101 import NB101
from zcnas.spaces.nb201 import NB201

K = 1e-5  # EPE-NAS's epsilon inside the log


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.unused = nn.Linear(3, 2), nn.Linear(3, 2), nn.Linear(3, 2)
        for layer in (self.a, self.b, self.unused):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        return self.a(x) + self.b(x)


ZICO_BATCH = (torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0], [2.0, 0.0, 1.0], [2.0, 0.0, 1.0]]),
              torch.tensor([0, 1, 0, 0]))


def test_zico_sums_the_log_of_mean_over_std_per_layer():
    # Two layers each log(16/3) (see the module docstring). A sample std (ddof 1) would give
    # 2 log(16 / (3 sqrt 2)); keeping the zero-std weights or the unused layer, inf or NaN;
    # other minibatches than the two halves in order, other ratios.
    assert zcnas.score(TwoHeads(), ZICO_BATCH, ["zico"])["zico"] == pytest.approx(2 * math.log(16 / 3), rel=1e-12)


G1 = [[-0.25, 0.25, -0.5], [0.25, -0.25, 0.5]]  # the module docstring's per-minibatch gradients
G2 = [[-1.0, 0.0, -0.5], [1.0, 0.0, 0.5]]


@pytest.mark.parametrize("parts, forward_sizes", [(1, [2, 2]), (2, [2, 2]), (3, [1, 1, 1, 1]), (4, [1, 1, 1, 1])])
def test_minibatch_gradients_are_the_halves_gradients_also_when_measured_in_pieces(parts, forward_sizes):
    # After an out-of-memory split (parts > 2) each half is measured in pieces, here one
    # sample each, whose share-weighted gradients add up to the half's: unweighted they
    # would be 2 g1 and 2 g2, and a dropped piece would change them.
    net = TwoHeads()
    sizes = []
    net.a.register_forward_hook(lambda module, args, output: sizes.append(len(output)))
    context = run_passes(net, *ZICO_BATCH, ["minibatch_gradients"], parts)
    with context.reading(["minibatch_gradients"]):
        a_grads, b_grads, unused_grads = context["minibatch_gradients"]
    assert sizes == forward_sizes
    assert torch.equal(a_grads, torch.tensor([G1, G2])) and torch.equal(b_grads, a_grads)
    assert torch.equal(unused_grads, torch.zeros(2, 2, 3))


def test_zico_reads_the_labels():
    # Labels [1, 1, 0, 0]: minibatch 1 is now all class 1,
    #   g1 = [1/2, -1/2]^T [1/2, 1/2, 1] = [[1/4, 1/4, 1/2], [-1/4, -1/4, -1/2]], g2 as before.
    # Per weight: (1/4, -1): mean 5/8, std 5/8; (1/4, 0): 1/8, 1/8; (1/2, -1/2): 1/2, 1/2;
    # every ratio is 1 (the second row likewise), so each layer adds log(6).
    inputs, _ = ZICO_BATCH
    relabelled = zcnas.score(TwoHeads(), (inputs, torch.tensor([1, 1, 0, 0])), ["zico"])["zico"]
    assert relabelled == pytest.approx(2 * math.log(6), rel=1e-12)


class Square(nn.Module):
    """logits = s * x * x with s = 1, so d sum(logits) / dx = 2 x: the Jacobians are the
    inputs, doubled, which leaves their correlations as the inputs'."""

    def __init__(self):
        super().__init__()
        self.s = nn.Parameter(torch.ones(()))

    def forward(self, x):
        return self.s * x * x


# Two classes, interleaved in the batch (grouping is by label, not position).
# Class 0: [1, 0, -1] and [1, -2, 1], centred, dot product 1 - 1 = 0: C = I, so
#   s_0 = 2 log(1 + k) + 2 log(k).
# Class 1: [1, 2, 3], [3, 2, 1], [2, 4, 6]: correlations -1, 1, -1 off the diagonal, so
#   every |C_ij| = 1 and s_1 = 9 log(1 + k).
EPE_INPUTS = [[1.0, 2.0, 3.0], [1.0, 0.0, -1.0], [3.0, 2.0, 1.0], [1.0, -2.0, 1.0], [2.0, 4.0, 6.0]]
EPE_LABELS = [1, 0, 1, 0, 1]
EPE_TWO_CLASSES = -(2 * math.log(1 + K) + 2 * math.log(K)) + 9 * math.log(1 + K)


def epe(inputs, labels) -> float:
    return zcnas.score(Square(), (torch.tensor(inputs), torch.tensor(labels)), ["epe_nas"])["epe_nas"]


def test_epe_nas_sums_the_absolute_per_class_log_correlation_sums():
    # |s_0| + |s_1|; without the abs s_0 would be negative and the sum about -23.
    assert epe(EPE_INPUTS, EPE_LABELS) == pytest.approx(EPE_TWO_CLASSES, rel=1e-9)


def test_epe_nas_a_class_of_one_sample_adds_log_one_plus_k():
    # Its correlation matrix is [1], as numpy's corrcoef of one vector in the reference.
    score = epe(EPE_INPUTS + [[5.0, 1.0, 0.0]], EPE_LABELS + [2])
    assert score == pytest.approx(EPE_TWO_CLASSES + math.log(1 + K), rel=1e-9)


def test_epe_nas_is_nan_when_a_jacobian_is_constant():
    # [1, 1, 1] has Jacobian [2, 2, 2], zero variance: its correlations are NaN, and so is
    # the score, as in the reference (the engine records NaN and warns).
    with pytest.warns(RuntimeWarning, match="epe_nas gave nan"):
        score = epe(EPE_INPUTS + [[1.0, 1.0, 1.0]], EPE_LABELS + [0])
    assert math.isnan(score)


def test_epe_nas_reads_the_labels_only_through_the_grouping():
    # Renaming the classes leaves the groups, hence the score.
    assert epe(EPE_INPUTS, [0, 1, 0, 1, 0]) == pytest.approx(EPE_TWO_CLASSES, rel=1e-9)
    # One class of all five: centred, [1, 2, 3], [1, 0, -1], [3, 2, 1], [2, 4, 6] are all
    # multiples of [-1, 0, 1] (16 entries |C_ij| = 1), and [1, -2, 1] is orthogonal to it
    # (8 entries 0, its diagonal 1): |17 log(1 + k) + 8 log(k)|.
    assert epe(EPE_INPUTS, [0] * 5) == pytest.approx(-(17 * math.log(1 + K) + 8 * math.log(K)), rel=1e-9)


def test_metadata():
    for name in ("zico", "epe_nas"):
        proxy = PROXIES[name]
        assert (proxy.higher_is_better, proxy.uses_labels, proxy.uses_data, proxy.paper) == (True, True, True, False)
    assert PROXIES["zico"].needs == {"minibatch_gradients"}
    assert PROXIES["epe_nas"].needs == {"jacobian"}
    assert "Li et al. 2023" in PROXIES["zico"].citation and "Lopes et al. 2021" in PROXIES["epe_nas"].citation


@pytest.mark.parametrize("space, options", [(NB201, {}), (NB101, {"stem_channels": 8})])
def test_both_score_nb201_and_nb101_networks(space, options):
    torch.manual_seed(0)
    net = space.build(space.sample(random.Random(1)), **options)
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(8, 3, 32, 32, generator=generator)
    targets = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    scores = zcnas.score(net, (inputs, targets), ["zico", "epe_nas"])
    # Finite and positive: ZiCo sums logs of sums of many ratios mean/std >= 1 (two
    # minibatches: mean |g| >= std); EPE-NAS sums absolute values.
    assert math.isfinite(scores["zico"]) and scores["zico"] > 0
    assert math.isfinite(scores["epe_nas"]) and scores["epe_nas"] > 0
    # Labels matter to both (the grouping changes for EPE-NAS, the loss for ZiCo).
    regrouped = zcnas.score(net, (inputs, torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])), ["zico", "epe_nas"])
    assert regrouped["zico"] != scores["zico"] and regrouped["epe_nas"] != scores["epe_nas"]
