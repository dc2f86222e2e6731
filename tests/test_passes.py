"""The pass registry, the engine's ordering and timing of passes, and the helpers passes build on."""

import random
import time

import pytest
import torch
from torch import nn

import zcnas
from zcnas.errors import ZcnasError
from zcnas.proxies import PROXIES, register, register_pass
from zcnas.proxies.passes import PASSES, PRODUCERS, Context, passes_for
from zcnas.proxies.passes.tools import captured, feature_modules, reinitialised_copy
from zcnas.spaces.nb101 import NB101
from zcnas.spaces.nb201 import NB201


@pytest.fixture
def registries():
    """Registrations made by a test are undone after it."""
    saved = [(registry, dict(registry)) for registry in (PASSES, PRODUCERS, PROXIES)]
    yield
    for registry, contents in saved:
        registry.clear()
        registry.update(contents)


def batch(n=4, size=8, classes=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, size, size, generator=generator), torch.randint(0, classes, (n,), generator=generator)


def context(net=None, data=None, parts=1):
    return Context(net or nn.Linear(2, 2), *(data or batch()), parts, wanted=())


METADATA = dict(higher_is_better=True, uses_labels=False, uses_data=True, citation="test")


def test_an_unknown_read_or_a_cycle_is_refused_at_registration(registries):
    with pytest.raises(ValueError, match="unknown results \\['nowhere'\\]"):
        register_pass("lost", reads=["nowhere"])
    with pytest.raises(ValueError, match="cycle"):
        register_pass("ouroboros", reads=["ouroboros"])
    # Two passes reading each other: whichever comes first reads a result not yet registered.
    with pytest.raises(ValueError, match="unknown results \\['second'\\]"):
        register_pass("first", reads=["second"])
    with pytest.raises(ValueError, match="already produce"):
        register_pass("again", produces=["gradients"])
    with pytest.raises(ValueError, match="unknown results \\['nowhere'\\]"):
        register("lost", needs=["nowhere"], **METADATA)
    with pytest.raises(ValueError, match="group"):
        register("data-free", **METADATA)
    assert "lost" not in PASSES and "lost" not in PROXIES


def test_passes_are_resolved_transitively_and_in_dependency_order():
    assert [p.name for p in passes_for(["hessian"])] == ["main", "hessian"]
    assert [p.name for p in passes_for(["gradients", "jacobian", "channel_products"])] == ["main"]
    assert [p.name for p in passes_for(["synflow", "hessian", "flops"])] == ["flops", "main", "hessian", "synflow"]


def test_a_new_pass_and_proxy_run_once_each_timed_in_their_closure(registries, monkeypatch):
    """A chain first -> second -> proxy: each pass runs once however many proxies read it,
    only what is needed runs, and a proxy's seconds are its own plus its passes'."""
    runs, clock = [], [0.0]
    monkeypatch.setattr(time, "perf_counter", lambda: clock[0])

    @register_pass("first")
    def first(context):
        runs.append("first")
        clock[0] += 1
        return len(context.targets)

    @register_pass("second", reads=["first"])
    def second(context):
        runs.append("second")
        clock[0] += 10
        return 2 * context["first"]

    @register_pass("unused")
    def unused(context):
        runs.append("unused")

    @register("doubled", needs=["second"], **METADATA)
    def doubled(context):
        clock[0] += 100
        return context["second"]

    @register("counted", needs=["first"], **METADATA)
    def counted(context):
        return context["first"]

    scores = zcnas.score(nn.Linear(3 * 8 * 8, 3), (batch()[0].flatten(1), batch()[1]), ["doubled", "counted"])
    assert runs == ["first", "second"]
    assert dict(scores) == {"doubled": 8.0, "counted": 4.0}
    assert scores.seconds == {"doubled": 111.0, "counted": 1.0} and scores.total_seconds == 111.0


def test_reading_an_undeclared_result_fails_even_when_it_was_computed(registries):
    @register("sneaky", needs=["gradients"], **METADATA)
    def sneaky(context):
        return context["jacobian"].sum()

    with pytest.raises(ZcnasError, match="proxy sneaky failed .*KeyError.*'jacobian' is read but not declared"):
        zcnas.score(nn.Linear(3 * 8 * 8, 3), (batch()[0].flatten(1), batch()[1]), ["sneaky", "jacob_cov"])


def test_a_fused_pass_must_return_what_is_asked_of_it(registries):
    @register_pass("forgetful", produces=["kept", "dropped"])
    def forgetful(context):
        return {"kept": 1.0}

    @register("reads_dropped", needs=["dropped"], **METADATA)
    def reads_dropped(context):
        return context["dropped"]

    with pytest.raises(RuntimeError, match="did not return .*'dropped'"):
        zcnas.score(nn.Linear(2, 2), (torch.ones(2, 2), torch.tensor([0, 1])), ["reads_dropped"])


def test_declared_label_and_data_use_is_honest():
    """Scores of proxies declared label-free do not move when the labels change, those of
    data-free ones not when inputs and labels change; the others do move."""
    torch.manual_seed(0)
    net = NB201.build(NB201.sample(random.Random(3)))
    # 16 samples, not 8: swap counts distinct patterns over the samples, at most 2**N,
    # and with 8 it reaches 2**8 = 256 on both batches.
    inputs, targets = batch(n=16, size=32, classes=10)
    base = zcnas.score(net, (inputs, targets), "all")
    # Rolled, not renamed: a proxy may read labels only through how they group the samples
    # (epe_nas), which renaming the classes would leave as it is.
    relabelled = zcnas.score(net, (inputs, targets.roll(1)), "all")
    other_data = zcnas.score(net, batch(n=16, size=32, classes=10, seed=1), "all")
    for name, proxy in PROXIES.items():
        assert (relabelled[name] == base[name]) is (not proxy.uses_labels), name
        assert (other_data[name] == base[name]) is (not proxy.uses_data), name


def test_captured_keeps_inputs_before_an_in_place_op_changes_them():
    relu = nn.ReLU(inplace=True)
    net = nn.Sequential(nn.Linear(2, 2), relu)
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, -1.0]]))
        net[0].bias.zero_()
    x = torch.tensor([[2.0, 3.0], [-1.0, -4.0]])
    with captured({"relu": relu}, "input", transform=lambda pre: pre > 0) as codes, \
            captured({"linear": net[0]}, "output") as outputs:
        net(x)
        net(x[:1])
    # Pre-activations [[2, -3], [-1, 4]], then the first row again.
    assert [c.tolist() for c in codes["relu"]] == [[[True, False], [False, True]], [[True, False]]]
    # Kept untransformed, the linear output is the very tensor the in-place ReLU then overwrote.
    assert outputs["linear"][0].tolist() == [[2.0, 0.0], [0.0, 4.0]]


def test_captured_records_each_module_under_each_of_its_keys_and_no_other_module():
    shared = nn.ReLU()
    net = nn.Sequential(nn.Linear(2, 2), shared, nn.Linear(2, 2), shared)
    other = nn.Linear(2, 2)
    with torch.no_grad(), captured({"first": net[0], "relu": shared, "again": shared}, "output") as outputs:
        net(torch.ones(1, 2))
        other(torch.ones(1, 2))
    assert [len(outputs[key]) for key in ("first", "relu", "again")] == [1, 2, 2]
    assert outputs["relu"][1] is outputs["again"][1]


def test_captured_leaves_the_modules_as_they_were_also_when_the_forward_fails():
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    own_forward = net[1].forward
    net[1].forward = own_forward  # a forward set on the instance (as synflow's BatchNorm bypass does)
    with pytest.raises(RuntimeError):
        with captured({"linear": net[0], "relu": net[1]}, "input"):
            net(torch.ones(1, 3))  # wrong width
    assert "forward" not in net[0].__dict__
    assert net[1].__dict__["forward"] is own_forward


def test_captured_blocks_nest_on_the_same_module():
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    with torch.no_grad(), captured({"outer": net[0]}) as outer:
        with captured({"inner": net[0]}) as inner:
            net(torch.ones(1, 2))
        net(torch.zeros(1, 2))
    assert len(outer["outer"]) == 2 and len(inner["inner"]) == 1
    assert outer["outer"][0] is inner["inner"][0]
    assert "forward" not in net[0].__dict__


def test_captured_names_a_bad_place_to_watch():
    net = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="'middle'"):
        with captured({"linear": net[0]}, "middle"):
            pass


@pytest.mark.parametrize("space, options, shapes", [
    (NB201, {}, {"stage1": (16, 32, 32), "stage2": (32, 16, 16), "stage3": (64, 8, 8), "pre_pool": (64, 8, 8)}),
    (NB101, {"stem_channels": 8},
     {"stage1": (8, 32, 32), "stage2": (16, 16, 16), "stage3": (32, 8, 8), "pre_pool": (32, 8, 8)}),
])
def test_feature_modules_give_the_stage_ends_and_what_global_pooling_reads(space, options, shapes):
    torch.manual_seed(0)
    net = space.build(space.sample(random.Random(0)), **options).eval()
    inputs = batch(n=2, size=32)[0]
    with torch.no_grad(), captured(feature_modules(net)) as features:
        logits = net(inputs)
    assert {name: tuple(calls[0].shape[1:]) for name, calls in features.items()} == shapes
    assert all(len(calls) == 1 for calls in features.values())
    # The classifier on the pooled pre_pool features gives the network's logits.
    with torch.no_grad():
        assert torch.allclose(net.classifier(features["pre_pool"][0].mean((2, 3))), logits, atol=1e-6)


def test_a_network_without_feature_modules_is_a_clear_error():
    with pytest.raises(ZcnasError, match=r"Linear has no feature_modules\(\)"):
        feature_modules(nn.Linear(2, 2))


def test_gaussian_inputs_are_seeded_shaped_like_the_batch_and_leave_the_global_rng():
    ctx = context(data=batch(n=64, size=8))
    torch.manual_seed(5)
    expected_next = torch.rand(1)
    torch.manual_seed(5)
    first, again, other = ctx.gaussian_inputs(), ctx.gaussian_inputs(), ctx.gaussian_inputs(seed=1)
    assert torch.rand(1) == expected_next
    assert first.shape == ctx.inputs.shape and first.dtype == ctx.inputs.dtype
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert abs(first.mean().item()) < 0.05 and abs(first.std().item() - 1) < 0.05  # 12288 N(0, 1) draws


def test_minibatches_split_the_batch_in_order():
    inputs, targets = batch(n=5)
    parts = context(data=(inputs, targets)).minibatches(2)
    assert [len(t) for _, t in parts] == [3, 2]
    assert torch.equal(torch.cat([x for x, _ in parts]), inputs) and torch.equal(torch.cat([t for _, t in parts]), targets)
    with pytest.raises(ZcnasError, match="batch of 5 into 6"):
        context(data=(inputs, targets)).minibatches(6)


def test_a_reinitialised_copy_leaves_the_network_and_the_global_rng_untouched():
    torch.manual_seed(0)
    net = NB201.build(NB201.sample(random.Random(0)))
    before = {name: tensor.clone() for name, tensor in net.state_dict().items()}
    torch.manual_seed(7)
    expected_next = torch.rand(1)
    torch.manual_seed(7)

    def gaussian(module, generator):
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            module.weight.copy_(torch.randn(module.weight.shape, generator=generator))

    copy = reinitialised_copy(net, gaussian, seed=3)
    assert torch.rand(1) == expected_next
    assert all(torch.equal(before[name], tensor) for name, tensor in net.state_dict().items())
    # The stem conv is the first module init draws for.
    assert torch.equal(copy.stem[0].weight, torch.randn(16, 3, 3, 3, generator=torch.Generator().manual_seed(3)))
    assert not torch.equal(copy.classifier.weight, net.classifier.weight)
    assert torch.equal(copy.classifier.bias, net.classifier.bias)  # what init leaves alone is copied
    assert copy.classifier.weight.data_ptr() != net.classifier.weight.data_ptr()
    again = reinitialised_copy(net, gaussian, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(copy.state_dict().values(), again.state_dict().values()))
