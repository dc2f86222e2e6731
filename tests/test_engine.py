import math
import random

import pytest
import torch
from torch import nn

import zcnas
from zcnas.errors import ZcnasError
from zcnas.proxies import PAPER_PROXIES, proxy_names
from zcnas.proxies.measure import measure
from zcnas.spaces.nb201 import NB201


def nb201_net(seed=0):
    torch.manual_seed(seed)
    return NB201.build(NB201.sample(random.Random(seed)))


def batch(n=8, size=32, classes=10, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, size, size, generator=generator), torch.randint(0, classes, (n,), generator=generator)


def test_scoring_leaves_the_network_bit_identical():
    net = nb201_net(1)
    net.eval()
    before = {name: tensor.clone() for name, tensor in net.state_dict().items()}
    zcnas.score(net, batch(), "all")
    after = net.state_dict()
    assert all(torch.equal(before[name], after[name]) for name in before)
    assert not net.training  # mode restored too
    assert all(p.grad is None for p in net.parameters())


def test_repeat_scores_are_identical():
    net = nb201_net(2)
    first = zcnas.score(net, batch(), "all")
    second = zcnas.score(net, batch(), "all")
    assert dict(first) == pytest.approx(dict(second), rel=0, abs=0, nan_ok=True)


def test_all_and_paper_groups():
    assert list(zcnas.score(nb201_net(), batch(), "paper")) == list(PAPER_PROXIES)
    assert sorted(zcnas.score(nb201_net(), batch(), "all")) == proxy_names()


def test_unknown_proxy_names_the_bad_one_and_the_valid_ones():
    with pytest.raises(ZcnasError) as info:
        zcnas.score(nb201_net(), batch(), ["snip", "synflw"])
    message = str(info.value)
    assert "'synflw'" in message and all(name in message for name in PAPER_PROXIES)


def test_gradient_proxies_share_one_forward_pass():
    net = nb201_net(3)
    forwards = []
    net.register_forward_hook(lambda *args: forwards.append(1))
    scores = zcnas.score(net, batch(), ["grad_norm", "snip", "fisher", "plain", "jacob_cov"])
    assert len(forwards) == 1
    # Each reports the shared pass in its cost.
    assert min(scores.seconds.values()) > 0
    forwards.clear()
    zcnas.score(net, batch(), ["grad_norm", "grasp"])
    assert len(forwards) == 1  # grasp's Hessian product reuses the same graph


class BatchFreeNet(nn.Module):
    """No batch-coupled layers, so splitting the batch must not change any proxy."""

    def __init__(self, max_batch: int | None = None):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.ReLU())
        self.head = nn.Linear(4, 5)
        self.max_batch = max_batch

    def forward(self, x):
        if self.max_batch is not None and len(x) > self.max_batch:
            raise torch.OutOfMemoryError("simulated out of memory")
        return self.head(self.body(x).mean((2, 3)))


def test_split_batch_gives_the_same_measurements():
    torch.manual_seed(0)
    net = BatchFreeNet()
    inputs, targets = batch(n=6, size=8, classes=5)
    needs = {"gradients", "activations", "jacobian", "hessian"}
    whole, split = measure(net, inputs, targets, needs, parts=1), measure(net, inputs, targets, needs, parts=4)
    for a, b in zip(whole.grads + whole.hessian_grads, split.grads + split.hessian_grads):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-8)
    assert torch.allclose(whole.jacobian, split.jacobian, atol=1e-7)
    for a, b in zip(whole.channel_products, split.channel_products):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-9)


def test_out_of_memory_retries_with_the_batch_split():
    torch.manual_seed(0)
    roomy = BatchFreeNet()
    cramped = BatchFreeNet(max_batch=2)
    cramped.load_state_dict(roomy.state_dict())
    data = batch(n=8, size=8, classes=5)
    expected = zcnas.score(roomy, data, "paper")
    with pytest.warns(RuntimeWarning, match="split in"):
        got = zcnas.score(cramped, data, "paper")
    assert dict(got) == pytest.approx(dict(expected), rel=1e-5)


def test_non_finite_scores_become_nan_with_a_warning():
    net = nn.Linear(2, 2)
    with torch.no_grad():
        net.weight.fill_(float("inf"))
    with pytest.warns(RuntimeWarning, match="recorded as NaN"):
        scores = zcnas.score(net, (torch.ones(3, 2), torch.tensor([0, 1, 0])), ["snip", "synflow", "l2_norm"])
    assert all(math.isnan(value) for value in scores.values())


def test_degenerate_jacobian_is_nan_not_a_crash():
    # A constant network has an all-zero Jacobian: its correlation matrix is undefined.
    net = nn.Sequential(nn.Linear(2, 2))
    with torch.no_grad():
        net[0].weight.zero_()
    with pytest.warns(RuntimeWarning):
        scores = zcnas.score(net, (torch.randn(4, 2), torch.tensor([0, 1, 0, 1])), ["jacob_cov"])
    assert math.isnan(scores["jacob_cov"])


def test_nb101_networks_score_too():
    from zcnas.spaces.nb101 import NB101

    torch.manual_seed(0)
    net = NB101.build(NB101.sample(random.Random(0)), stem_channels=8)
    scores = zcnas.score(net, batch(n=4), "all")
    assert all(math.isfinite(value) for value in scores.values())


def test_a_cell_cut_off_from_its_input_scores_nan_not_a_crash():
    # Every edge `none`: the logits do not depend on the input or on any cell weight.
    net = NB201.build(NB201.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"))
    with pytest.warns(RuntimeWarning, match="jacob_cov"):
        scores = zcnas.score(net, batch(n=4), "all")
    assert math.isnan(scores["jacob_cov"])
    # No path from input to output: no synaptic flow through any weight, but weights exist.
    assert scores["synflow"] == 0 and scores["params"] > 0
