"""The speed kernels' one switch (`ZCNAS_KERNELS`, `zcnas.kernels`): networks are built stock,
the work applies the kernels, and with the switch off every op is PyTorch's own, so scores and
trained weights are the stock path's exactly; with it on they differ from it by rounding only."""

import math
import random
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from zcnas import kernels
from zcnas.data import Minibatches
from zcnas.econas import make_config, prepare_data, training
from zcnas.econas.augment import random_crop_flip
from zcnas.errors import ZcnasError
from zcnas.execution import torch_threads
from zcnas.kernels import batchnorm_second_order, interleaved, pooling
from zcnas.proxies import proxy_names, score
from zcnas.scoring import ScoringJob, score_architectures, score_one
from zcnas.seeding import derive_seed, seeded
from zcnas.spaces.nb201 import NB201

EVERY_OP = ("avg_pool_3x3", "nor_conv_3x3", "skip_connect", "nor_conv_1x1", "avg_pool_3x3", "none")
CELLS = [EVERY_OP, NB201.sample(random.Random(3)), NB201.sample(random.Random(11))]


def never(*args, **kwargs):
    raise AssertionError("a speed kernel ran with the switch off")


@pytest.fixture
def kernels_unreachable(monkeypatch):
    """Every kernel's entry point raises: with the switch off none may run."""
    monkeypatch.setattr(pooling.AvgPool3x3, "forward", never)
    monkeypatch.setattr(batchnorm_second_order, "_batch_norm", never)
    monkeypatch.setattr(kernels, "interleaved_layout", never)
    monkeypatch.setattr(interleaved, "_REWRITES", {F.conv2d: never, F.batch_norm: never, F.linear: never})


@pytest.mark.parametrize("value, on", [(None, True), ("on", True), ("ON", True), ("1", True), ("true", True),
                                       ("off", False), ("0", False), ("false", False), ("no", False)])
def test_the_switch_reads_on_and_off(monkeypatch, value, on):
    if value is None:
        monkeypatch.delenv(kernels.SWITCH, raising=False)
    else:
        monkeypatch.setenv(kernels.SWITCH, value)
    assert kernels.enabled() is on


def test_a_bad_switch_value_is_named(monkeypatch):
    monkeypatch.setenv(kernels.SWITCH, "fast")
    with pytest.raises(ZcnasError, match="ZCNAS_KERNELS='fast': expected on or off"):
        kernels.enabled()


def test_switched_sets_the_switch_for_a_block_and_restores_it(monkeypatch):
    monkeypatch.delenv(kernels.SWITCH, raising=False)
    with kernels.switched(False):
        assert not kernels.enabled()
        with kernels.switched(True):
            assert kernels.enabled()
        assert not kernels.enabled()
    assert kernels.SWITCH not in __import__("os").environ


def test_the_cli_refuses_a_bad_switch_before_any_work(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "zcnas.cli", "score", "--data-dir", str(tmp_path), "--arch", NB201.format(EVERY_OP),
         "--proxies", "synflow"], capture_output=True, text=True, env={**__import__("os").environ, kernels.SWITCH: "2"})
    assert result.returncode == 2
    assert "ZCNAS_KERNELS='2'" in result.stderr and "Traceback" not in result.stderr


def test_networks_are_built_stock_and_the_work_swaps_only_their_3x3_average_pooling():
    net = NB201.build(EVERY_OP, num_classes=10)
    pools = [m for m in net.modules() if isinstance(m, nn.AvgPool2d)]
    assert all(type(m) is nn.AvgPool2d for m in pools)
    # 15 cells with 2 avg_pool_3x3 edges each; the 2 residual blocks' 2x2 shortcuts pool too.
    assert sorted(m.kernel_size for m in pools) == [2] * 2 + [3] * 30
    others = nn.Sequential(nn.AvgPool2d(2), nn.AvgPool2d(3, 1, 1), nn.MaxPool2d(3, 1, 1),
                           nn.AvgPool2d(3, 1, 1, count_include_pad=False, ceil_mode=True))
    with kernels.switched(False):
        assert kernels.accelerated(net) is net
        assert not any(isinstance(m, pooling.AvgPool3x3) for m in net.modules())
    with kernels.switched(True):
        assert kernels.accelerated(net) is net and kernels.accelerated(others) is others
    assert sum(isinstance(m, pooling.AvgPool3x3) for m in net.modules()) == 30
    assert sum(type(m) is nn.AvgPool2d and m.kernel_size == 2 for m in net.modules()) == 2
    assert not any(isinstance(m, pooling.AvgPool3x3) for m in others.modules())


def _batch(n=16):
    generator = torch.Generator().manual_seed(0)
    return torch.randn(n, 3, 32, 32, generator=generator), torch.randint(0, 10, (n,), generator=generator)


def _job(speed_kernels: bool, proxies) -> ScoringJob:
    return ScoringJob(NB201, proxies, Minibatches.shared(*_batch()), 10, seed=7, device="cpu",
                      speed_kernels=speed_kernels)


PROXIES = tuple(proxy_names())


@pytest.mark.parametrize("cell", CELLS, ids=NB201.format)
def test_scores_with_the_switch_off_are_the_stock_paths_exactly(cell, kernels_unreachable):
    row = score_one(_job(False, PROXIES), cell)
    with seeded(derive_seed(7, NB201.key(cell))):
        stock = NB201.build(cell, num_classes=10)
    with kernels.switched(False):
        expected = score(stock, _batch(), PROXIES)
    for proxy in PROXIES:
        assert row[proxy] == expected[proxy] or (math.isnan(row[proxy]) and math.isnan(expected[proxy])), proxy


@pytest.mark.parametrize("cell", CELLS, ids=NB201.format)
def test_scores_with_the_kernels_differ_from_stock_by_rounding_only(cell):
    on, off = score_one(_job(True, PROXIES), cell), score_one(_job(False, PROXIES), cell)
    for proxy in PROXIES:
        # GraSP's Hessian product goes through the closed-form BatchNorm second derivative
        # (4e-6 relative seen in float32); the pooling kernel is exact at NB201's sizes here.
        assert on[proxy] == pytest.approx(off[proxy], rel=1e-4, abs=1e-12, nan_ok=True), proxy


def test_workers_score_with_the_jobs_switch_not_their_own(tmp_path, monkeypatch):
    """Driver and workers read ZCNAS_KERNELS=on, the job says off: every row is the off
    row (GraSP tells them apart), in this process or in two workers."""
    monkeypatch.setenv(kernels.SWITCH, "on")
    cells = CELLS[:2]
    job = _job(False, ("grasp", "synflow"))
    with torch_threads(job.threads):  # the workers' thread count: threads change float sums
        expected = {NB201.format(cell): score_one(job, cell)["grasp"] for cell in cells}
        assert any(expected[NB201.format(cell)] != score_one(_job(True, ("grasp",)), cell)["grasp"] for cell in cells)
    table = score_architectures(job, cells, tmp_path / "s.csv", workers=2, progress=False)
    assert dict(zip(table["arch"], table["grasp"])) == expected
    assert job.settings()["speed_kernels"] is False and _job(True, ("grasp",)).settings()["speed_kernels"] is True


def _textbook_epoch(config, data, cell):
    """One epoch the textbook way on a stock network: same weights, batches and augmentation."""
    net = training.build_network(config, cell, 10, seed=0)
    optimizer = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay, nesterov=True)
    generator = training.batch_generator(config, 0)
    num_train = len(data.train_labels)
    losses = []
    for batch in torch.randperm(num_train, generator=generator).split(training.batch_sizes(num_train, config.batch_size)):
        inputs = random_crop_flip(data.train_images[batch], 1, data.fill, generator)
        loss = F.cross_entropy(net(inputs), data.train_labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item() * len(batch))
    return net, sum(losses) / num_train


def _epoch(config, data, cell, speed_kernels: bool):
    net = training.build_network(config, cell, 10, seed=0)
    with kernels.switched(speed_kernels):
        (record,) = training.train_network(net, config, data, training.batch_generator(config, 0))
    return net, record["train_loss"]


@pytest.fixture(scope="module")
def training_data():
    generator = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (80, 32, 32, 3), generator=generator, dtype=torch.uint8).numpy()
    labels = (torch.arange(80) % 10).numpy()
    config = make_config("r8c4e1", {"batch_size": 16})
    return config, prepare_data(images, labels, "cifar10", config, seed=0, val_fraction=0.2)[0]


def test_training_with_the_switch_off_is_the_textbook_loop_exactly(training_data, kernels_unreachable):
    config, data = training_data
    net, loss = _epoch(config, data, EVERY_OP, speed_kernels=False)
    textbook, textbook_loss = _textbook_epoch(config, data, EVERY_OP)
    assert next(net.parameters()).is_contiguous()
    assert loss == pytest.approx(textbook_loss, rel=1e-12)
    for (name, ours), theirs in zip(net.state_dict().items(), textbook.state_dict().values()):
        assert torch.equal(ours, theirs), name


def test_training_with_the_kernels_differs_from_the_textbook_loop_by_rounding_only(training_data):
    config, data = training_data
    net, loss = _epoch(config, data, EVERY_OP, speed_kernels=True)
    textbook, textbook_loss = _textbook_epoch(config, data, EVERY_OP)
    assert next(net.parameters()).is_contiguous(memory_format=torch.channels_last)
    assert any(isinstance(m, pooling.AvgPool3x3) for m in net.modules())
    assert loss == pytest.approx(textbook_loss, rel=1e-5)
    for (name, ours), theirs in zip(net.state_dict().items(), textbook.state_dict().values()):
        torch.testing.assert_close(ours.contiguous(), theirs, rtol=1e-4, atol=1e-5, msg=name)
