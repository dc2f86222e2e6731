import math
import random
import time

import pytest
import torch
from torch import nn

import zcnas
from zcnas.errors import ZcnasError
from zcnas.proxies import GROUPS, PAPER_PROXIES, PROXIES, proxy_names, resolve_proxies
from zcnas.proxies.engine import run_passes
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


def test_groups_follow_the_proxies_metadata():
    assert list(zcnas.score(nb201_net(), batch(), "paper")) == list(PAPER_PROXIES)
    assert set(PAPER_PROXIES) == {"grad_norm", "snip", "grasp", "fisher", "jacob_cov", "synflow"}  # Table 1
    resolved = {name: [proxy.name for proxy in resolve_proxies(name)] for name in GROUPS}
    assert sorted(resolved["all"]) == proxy_names()
    # Members follow the metadata (whose honesty test_passes.py checks against the data):
    # synflow reads neither data nor labels, jacob_cov data but no labels, snip both.
    assert "synflow" in resolved["data-free"] and "jacob_cov" not in resolved["data-free"]
    assert "jacob_cov" in resolved["label-free"] and "snip" not in resolved["label-free"]
    assert resolved["data-free"] == [p for p in proxy_names() if not PROXIES[p].uses_data]
    assert resolved["label-free"] == [p for p in proxy_names() if not PROXIES[p].uses_labels]
    # A group and a name mixed: order kept, repeats dropped.
    assert [proxy.name for proxy in resolve_proxies("snip,data-free,params")] == ["snip", *resolved["data-free"]]


def test_unknown_proxy_names_the_bad_one_and_the_valid_ones():
    with pytest.raises(ZcnasError) as info:
        zcnas.score(nb201_net(), batch(), ["snip", "synflw"])
    message = str(info.value)
    assert "'synflw'" in message and all(name in message for name in [*PROXIES, *GROUPS])


def test_unknown_group_names_the_groups():
    with pytest.raises(ZcnasError, match="'data_free'.*data-free, label-free"):
        zcnas.score(nb201_net(), batch(), "data_free")


def test_gradient_proxies_share_one_forward_pass(monkeypatch):
    net = nb201_net(3)
    forwards = []
    # A fake clock that only the forward pass moves: every proxy must report the
    # shared pass's 10 s as its cost, and the joint run must take them only once.
    clock = [0.0]
    monkeypatch.setattr(time, "perf_counter", lambda: clock[0])

    def forward_taking_ten_seconds(*args):
        forwards.append(1)
        clock[0] += 10

    hook = net.register_forward_hook(forward_taking_ten_seconds)
    proxies = ["grad_norm", "snip", "fisher", "plain", "jacob_cov"]
    scores = zcnas.score(net, batch(), proxies)
    assert len(forwards) == 1
    assert scores.seconds == {name: 10.0 for name in proxies} and scores.total_seconds == 10.0
    monkeypatch.undo()
    hook.remove()
    net.register_forward_hook(lambda *args: forwards.append(1))
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


def results(net, inputs, targets, needs, parts=1):
    """The pass results `needs` on the batch in `parts` parts, read as a proxy needing them would."""
    context = run_passes(net, inputs, targets, needs, parts)
    with context.reading(needs):
        return {name: context[name] for name in needs}


def test_split_batch_gives_the_same_measurements():
    torch.manual_seed(0)
    net = BatchFreeNet()
    inputs, targets = batch(n=6, size=8, classes=5)
    needs = {"gradients", "channel_products", "jacobian", "hessian"}
    whole, split = results(net, inputs, targets, needs), results(net, inputs, targets, needs, parts=4)
    for a, b in zip(whole["gradients"] + whole["hessian"], split["gradients"] + split["hessian"]):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-8)
    assert torch.allclose(whole["jacobian"], split["jacobian"], atol=1e-7)
    for a, b in zip(whole["channel_products"], split["channel_products"]):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-9)


class BatchNormNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
        self.head = nn.Linear(4, 5)

    def forward(self, x):
        return self.head(self.body(x).mean((2, 3)))


def test_a_split_batch_changes_batchnorm_scores_exactly_as_separate_halves():
    """Measured in two parts, a BatchNorm network's gradients are the share-weighted sum
    of the gradients of each half scored as its own batch (each half normalised by its
    own statistics), not the whole batch's; proxies that read no data are unchanged."""
    torch.manual_seed(0)
    net = BatchNormNet()
    inputs, targets = batch(n=8, size=8, classes=5)
    needs = {"gradients"}
    split = results(net, inputs, targets, needs, parts=2)["gradients"]
    halves = [results(net, inputs[i:i + 4], targets[i:i + 4], needs)["gradients"] for i in (0, 4)]
    whole = results(net, inputs, targets, needs)["gradients"]
    for got, first, second in zip(split, *halves):
        assert torch.allclose(got, 0.5 * first + 0.5 * second, rtol=1e-5, atol=1e-8)
    assert not all(torch.allclose(a, b, rtol=1e-3) for a, b in zip(split, whole))

    with pytest.warns(RuntimeWarning, match="BatchNorm"):
        two = zcnas.score(net, (inputs, targets), ["snip", "synflow", "params"], parts=2)
    one = zcnas.score(net, (inputs, targets), ["snip", "synflow", "params"])
    assert two.parts == 2 and one.parts == 1
    assert two["snip"] != one["snip"]
    assert two["synflow"] == one["synflow"] and two["params"] == one["params"]


def test_scoring_rows_record_the_batch_parts(tmp_path):
    from zcnas.data import Minibatches
    from zcnas.scoring import ScoringJob, score_architectures

    cells = [NB201.sample(random.Random(i)) for i in range(2)]
    job = ScoringJob(NB201, ("snip",), Minibatches.shared(*batch(n=4)), 10, 0, "cpu", batch_parts=2)
    with pytest.warns(RuntimeWarning, match="2 of 2 architectures were measured with the batch split") as caught:
        table = score_architectures(job, cells, tmp_path / "s.csv", progress=False)
    assert table["batch_parts"].tolist() == [2, 2]
    assert sum("batch split" in str(w.message) or "parts" in str(w.message) for w in caught) == 1  # once per run


def test_gpu_timers_wait_for_queued_kernels(monkeypatch):
    """On CUDA a pass's kernels run asynchronously: its timer must synchronise before it
    reads the clock, or it measures only the launch. Simulated: synchronising takes 5 s."""
    from zcnas.proxies import engine

    clock, synced = [0.0], []
    monkeypatch.setattr(engine.time, "perf_counter", lambda: clock[0])

    def synchronize(device=None):
        synced.append(device)
        clock[0] += 5

    monkeypatch.setattr(torch.cuda, "synchronize", synchronize)
    seconds = {}
    with engine._timed(seconds, "main", torch.device("cuda")):
        pass
    assert seconds["main"] == 5 and len(synced) == 2
    with engine._timed(seconds, "main", torch.device("cpu")):
        pass
    assert seconds["main"] == 0 and len(synced) == 2


def test_out_of_memory_retries_with_the_batch_split():
    torch.manual_seed(0)
    roomy = BatchFreeNet()
    cramped = BatchFreeNet(max_batch=2)
    cramped.load_state_dict(roomy.state_dict())
    data = batch(n=8, size=8, classes=5)
    expected = zcnas.score(roomy, data, "paper")
    with pytest.warns(RuntimeWarning, match="measured in 4 parts"):
        got = zcnas.score(cramped, data, "paper")
    assert got.parts == 4
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


def test_a_network_without_parameters_scores_where_its_batch_is():
    scores = zcnas.score(nn.Flatten(), (torch.randn(3, 2), torch.tensor([0, 1, 0])), ["params", "l2_norm"])
    assert dict(scores) == {"params": 0.0, "l2_norm": 0.0}


def test_proxies_reading_space_features_are_refused_on_a_bare_module_naming_why():
    net = nn.Sequential(nn.Conv2d(3, 2, 1), nn.ReLU())
    with pytest.raises(ZcnasError) as raised:
        zcnas.score(net, (torch.randn(2, 3, 4, 4), torch.tensor([0, 1])), ["synflow", "zen", "az_trainability"])
    message = str(raised.value)
    assert "zen (its pass 'zen' calls feature_modules())" in message
    assert "az_trainability (its pass 'az_nas' calls blocks())" in message
    assert "synflow" not in message


def test_a_proxy_failing_other_than_numerically_stops_naming_itself(monkeypatch):
    from zcnas.proxies.registry import Proxy

    def broken(context):
        raise KeyError("oops")

    monkeypatch.setitem(PROXIES, "broken", Proxy("broken", broken, frozenset(), True, False, False, "none", False))
    with pytest.raises(ZcnasError, match="proxy broken failed on this Linear: KeyError"):
        zcnas.score(nn.Linear(2, 2), (torch.randn(3, 2), torch.tensor([0, 1, 0])), ["broken"])


def test_scoring_refuses_a_space_whose_networks_lack_a_protocol_method_before_any_work(tmp_path, monkeypatch):
    from zcnas.data import Minibatches
    from zcnas.scoring import ScoringJob, score_architectures

    monkeypatch.delattr(type(NB201.build(NB201.sample(random.Random(0)))), "blocks")
    job = ScoringJob(NB201, ("synflow", "az_expressivity"), Minibatches.shared(*batch(n=4)), 10, seed=0, device="cpu")
    with pytest.raises(ZcnasError, match="space nb201: .*az_expressivity \\(its pass 'az_nas' calls blocks\\(\\)\\)"):
        score_architectures(job, [NB201.sample(random.Random(1))], tmp_path / "scores.parquet")
    assert list(tmp_path.iterdir()) == []


def test_a_proxy_running_out_of_memory_is_not_dressed_as_a_bad_network(monkeypatch):
    from zcnas.proxies.registry import Proxy

    def hungry(context):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setitem(PROXIES, "hungry", Proxy("hungry", hungry, frozenset(), True, False, False, "none", False))
    with pytest.raises(torch.OutOfMemoryError):
        zcnas.score(nn.Linear(2, 2), (torch.randn(3, 2), torch.tensor([0, 1, 0])), ["hungry"])
