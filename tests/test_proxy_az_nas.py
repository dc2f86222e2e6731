"""AZ-NAS (Lee & Ham, CVPR 2024): its four components and the set-level aggregate.

Hand values come from networks whose blocks hold no weights (so the reference's
re-initialisation leaves them alone) and whose features have a spectrum worked out by
hand or from the pass's own Gaussian inputs.
"""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import zcnas
from zcnas.proxies import GROUPS, PROXIES, resolve_proxies, with_aggregates
from zcnas.proxies.az_nas import COMPONENTS, az_nas_scores, isotropy, progressivity, trainability
from zcnas.proxies.passes.az_nas import INPUT_SEED, covariance_eigenvalues
from zcnas.scoring import score_architectures
from zcnas.spaces.nb101 import NB101
from zcnas.spaces.nb201 import NB201

from test_scoring import archs, make_job

BATCH = (torch.zeros(4, 3, 8, 8), torch.zeros(4, dtype=torch.long))
CONV_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"


class Scale(nn.Module):
    """Multiplies channel c by factors[c] (one factor: every channel), after keeping the
    first len(factors) channels; `stride` keeps every stride-th pixel."""

    def __init__(self, *factors: float, stride: int = 1):
        super().__init__()
        self.factors, self.stride = torch.tensor(factors), stride

    def forward(self, x):
        if len(self.factors) > 1:
            x = x[:, : len(self.factors)]
        return x[:, :, :: self.stride, :: self.stride] * self.factors.view(1, -1, 1, 1)


class ChannelMean(nn.Module):
    def forward(self, x):
        return x.mean(1, keepdim=True)


class Blocks(nn.Module):
    """A network of blocks (a stem, then cells) with a linear head the score needs for its
    device; AZ-NAS does not run the head."""

    def __init__(self, stem: nn.Module, *cells: nn.Module, channels: int):
        super().__init__()
        self.stem, self.cells = stem, nn.Sequential(*cells)
        self.head = nn.Linear(channels, 2)

    def forward(self, x):
        return self.head(self.cells(self.stem(x)).mean((2, 3)))

    def blocks(self) -> list[nn.Module]:
        return [self.stem, *self.cells]


def spectrum_of(features: torch.Tensor) -> torch.Tensor:
    rows = features.permute(0, 2, 3, 1).reshape(-1, features.shape[1]).double()
    return covariance_eigenvalues(rows.sum(0), rows.T @ rows, len(rows))


def test_isotropy_is_the_entropy_of_the_normalised_covariance_spectrum():
    # Four 1x1 "images" of two channels, rows (+-a, 0) and (0, +-b): mean 0, covariance
    # diag(a^2, b^2) / 2. a^2 = 3, b^2 = 1: eigenvalues 1.5, 0.5, normalised 3/4, 1/4.
    a, b = math.sqrt(3), 1.0
    features = torch.tensor([[a, 0], [-a, 0], [0, b], [0, -b]]).view(4, 2, 1, 1)
    assert spectrum_of(features).tolist() == pytest.approx([0.5, 1.5])
    assert isotropy(spectrum_of(features)) == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    # An isotropic spectrum of C channels gives log C; a rank-one spectrum 0.
    assert isotropy(torch.ones(4, dtype=torch.float64)) == pytest.approx(math.log(4))
    assert isotropy(torch.tensor([0.0, 0.0, 2.0], dtype=torch.float64)) == pytest.approx(0, abs=1e-7)


def test_covariance_is_centred():
    # The same features shifted by a constant have the same covariance.
    features = torch.tensor([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0]]).view(3, 2, 1, 1)
    assert spectrum_of(features + 7).tolist() == pytest.approx(spectrum_of(features).tolist())


def test_progressivity_is_the_smallest_step_and_trainability_the_mean_penalty():
    assert progressivity([1.0, 3.0, 3.5, 5.0]) == pytest.approx(0.5)
    assert progressivity([2.0, 1.0, 4.0]) == pytest.approx(-1.0)
    # 2 - s - 1/s: 0 at s = 1, -1/2 at s = 2.
    assert trainability([1.0, 2.0]) == pytest.approx(-0.25, abs=1e-5)
    assert trainability([2.0, None]) == -math.inf


def test_expressivity_and_progressivity_read_the_stem_and_every_cell():
    # Stem keeps channels 0, 1 of the Gaussian input scaled by (1, 2); cell 1 scales by 2
    # (same spectrum), cell 2 by (1, 3). Expected values from the same inputs in numpy.
    net = Blocks(Scale(1.0, 2.0), Scale(2.0), Scale(1.0, 3.0), channels=2)
    x = torch.randn(BATCH[0].shape, generator=torch.Generator().manual_seed(INPUT_SEED))
    stem = x[:, :2].numpy() * np.array([1, 2]).reshape(1, 2, 1, 1)
    entropies = []
    for features in (stem, 2 * stem, stem * np.array([1, 3]).reshape(1, 2, 1, 1)):
        rows = features.transpose(0, 2, 3, 1).reshape(-1, 2)
        p = np.linalg.eigvalsh(np.cov(rows.T, bias=True))
        p = p / p.sum()
        entropies.append(-(p * np.log(p + 1e-8)).sum())
    scores = zcnas.score(net, BATCH, ["az_expressivity", "az_progressivity"])
    assert scores["az_expressivity"] == pytest.approx(sum(entropies), rel=1e-9)
    assert scores["az_progressivity"] == pytest.approx(min(np.diff(entropies)), rel=1e-6, abs=1e-9)
    assert scores["az_progressivity"] < 0  # cell 2 makes the spectrum less isotropic


def test_trainability_estimates_each_block_jacobian_with_a_probe():
    # One channel: each probe g is +-1, so mean(g_in g_out) = s exactly for a block
    # scaling by s. The second block also keeps every other pixel: its input gradient
    # is 3 g_out on those pixels and 0 elsewhere, which pixel unshuffle puts in 4
    # channels, one of them 3 g_out: top singular value 3.
    net = Blocks(ChannelMean(), Scale(2.0), Scale(3.0, stride=2), channels=1)
    expected = np.mean([2 - s - 1 / (s + 1e-6) for s in (2.0, 3.0)])
    assert zcnas.score(net, BATCH, ["az_trainability"])["az_trainability"] == pytest.approx(expected, rel=1e-9)


class Zeros(nn.Module):
    """Zeros outside the graph, as an NB201 cell of `none` edges returns."""

    def forward(self, x):
        return torch.zeros_like(x)


def test_a_block_after_a_zero_cell_is_differentiated_at_zero():
    # The zero cell's Jacobian is 0 (2 - 0 - 1/1e-6); the next block's is still 3, as in
    # the reference, where the zeros are x * 0 and stay in the graph.
    net = Blocks(ChannelMean(), Zeros(), Scale(3.0), channels=1)
    expected = np.mean([2 - s - 1 / (s + 1e-6) for s in (0.0, 3.0)])
    assert zcnas.score(net, BATCH, ["az_trainability"])["az_trainability"] == pytest.approx(expected, rel=1e-9)


def test_an_identity_block_scores_minus_infinity_recorded_as_nan():
    net = Blocks(ChannelMean(), Scale(2.0), nn.Identity(), channels=1)
    with pytest.warns(RuntimeWarning, match="az_trainability gave -inf"):
        assert math.isnan(zcnas.score(net, BATCH, ["az_trainability"])["az_trainability"])


def test_aggregate_sums_log_ranks_with_ties_averaged_and_nan_last():
    table = pd.DataFrame({
        "az_expressivity": [1.0, 2.0, 3.0],  # ranks 1, 2, 3
        "az_progressivity": [5.0, 5.0, 1.0],  # tie: 2.5, 2.5, 1
        "az_trainability": [math.nan, 0.0, -1.0],  # NaN below all: 1, 3, 2
        "az_complexity": [10.0, 30.0, 20.0],  # 1, 3, 2
    })
    log = lambda rank: math.log(rank / 3)  # noqa: E731
    expected = [log(1) + log(2.5) + log(1) + log(1), log(2) + log(2.5) + log(3) + log(3),
                log(3) + log(1) + log(2) + log(2)]
    assert az_nas_scores(table).tolist() == pytest.approx(expected)
    assert with_aggregates(table)["az_nas"].tolist() == pytest.approx(expected)
    # Without all four components there is no aggregate.
    assert "az_nas" not in with_aggregates(table.drop(columns="az_complexity"))


def test_scored_table_gets_the_aggregate_column(tmp_path):
    cells = archs(3, seed=4)
    job = make_job(proxies=("az_nas",))
    table = score_architectures(job, cells, tmp_path / "scores.csv", progress=False)
    assert table["az_nas"].tolist() == pytest.approx(az_nas_scores(table).tolist())
    assert "az_nas" in pd.read_csv(tmp_path / "scores.csv")
    # Scoring fewer components leaves no aggregate.
    partial = score_architectures(make_job(proxies=("az_complexity",)), cells, tmp_path / "p.csv", progress=False)
    assert "az_nas" not in partial


def test_the_group_names_the_four_components_and_the_metadata_is_honest():
    assert [p.name for p in resolve_proxies("az_nas")] == sorted(COMPONENTS)
    assert "az_nas" in GROUPS
    for name in COMPONENTS:
        proxy = PROXIES[name]
        assert proxy.higher_is_better and not proxy.uses_labels and not proxy.uses_data and not proxy.paper
        assert "Lee & Ham 2024" in proxy.citation and "CVPR" in proxy.citation


def test_scores_read_neither_the_weights_nor_the_pixels():
    # The weights are re-initialised and the inputs Gaussian (the reference's choices):
    # other weights and other pixels of the same shape give the same scores.
    torch.manual_seed(1)
    one = NB201.build(NB201.parse(CONV_CELL), channels=4, cells_per_stage=1)
    torch.manual_seed(2)
    other = NB201.build(NB201.parse(CONV_CELL), channels=4, cells_per_stage=1)
    a = zcnas.score(one, BATCH, "az_nas")
    b = zcnas.score(other, (torch.rand(BATCH[0].shape), BATCH[1] + 1), "az_nas")
    assert dict(a) == dict(b)


def test_the_callers_network_and_rng_are_untouched():
    torch.manual_seed(0)
    net = NB201.build(NB201.parse(CONV_CELL), channels=4, cells_per_stage=1)
    before = {name: tensor.clone() for name, tensor in net.state_dict().items()}
    rng = torch.get_rng_state()
    zcnas.score(net, BATCH, "az_nas")
    assert all(torch.equal(before[name], tensor) for name, tensor in net.state_dict().items())
    assert torch.equal(rng, torch.get_rng_state())
    assert all(p.grad is None for p in net.parameters())


@pytest.mark.parametrize("space, arch, options, blocks", [
    (NB201, CONV_CELL, {"channels": 4, "cells_per_stage": 1}, 6),  # stem, 3 cells, 2 reduction blocks
    (NB101, '{"matrix":[[0,1,1],[0,0,1],[0,0,0]],"ops":["input","conv3x3-bn-relu","output"]}',
     {"stem_channels": 4, "num_stacks": 2, "modules_per_stack": 1}, 3),  # stem, 2 cells (max-pool with the 2nd)
])
def test_scores_nb201_and_nb101(space, arch, options, blocks):
    torch.manual_seed(0)
    net = space.build(space.parse(arch), num_classes=10, **options)
    assert len(net.blocks()) == blocks
    scores = zcnas.score(net, (torch.randn(2, 3, 32, 32), torch.tensor([0, 1])), "az_nas")
    assert all(math.isfinite(scores[name]) for name in COMPONENTS)
    assert scores["az_trainability"] < 0  # 2 - s - 1/s < 0 unless s = 1 exactly


def test_a_split_batch_sums_the_statistics_over_its_parts():
    # Without BatchNorm, covariances and Jacobian matrices summed over parts equal the
    # whole batch's (the one-channel Jacobian estimate is exact whatever the probes).
    expressive = Blocks(Scale(1.0, 2.0), Scale(2.0), Scale(1.0, 3.0), channels=2)
    trainable = Blocks(ChannelMean(), Scale(2.0), Scale(3.0, stride=2), channels=1)
    for net, names in ((expressive, ["az_expressivity", "az_progressivity"]), (trainable, ["az_trainability"])):
        whole = zcnas.score(net, BATCH, names)
        split = zcnas.score(net, BATCH, names, parts=2, warn_on_split=False)
        assert split.parts == 2
        assert [split[name] for name in names] == pytest.approx([whole[name] for name in names], rel=1e-9)


def test_an_aggregate_is_one_registration_that_drives_group_columns_and_cost(monkeypatch):
    from zcnas.proxies import registry

    monkeypatch.setattr(registry, "AGGREGATES", dict(registry.AGGREGATES))
    monkeypatch.setattr(registry, "GROUPS", dict(registry.GROUPS))

    @registry.register_aggregate("sum_of_two", ["synflow", "params"], citation="a test",
                                 description="synflow and params, summed")
    def sum_of_two(table):
        return table["synflow"] + table["params"]

    assert [proxy.name for proxy in registry.resolve_proxies("sum_of_two")] == ["params", "synflow"]
    table = pd.DataFrame({"arch": ["a", "b"], "synflow": [1.0, 2.0], "params": [10.0, 20.0]})
    assert registry.with_aggregates(table)["sum_of_two"].tolist() == [11.0, 22.0]
    assert "sum_of_two" not in registry.with_aggregates(table.drop(columns="params"))
    assert registry.with_aggregate_names(["synflow", "params"]) == ["synflow", "params", "sum_of_two"]
    assert registry.cost_members("sum_of_two") == ["synflow", "params"] and registry.cost_members("snip") == ["snip"]
    with pytest.raises(ValueError, match="'paper' would hide"):
        registry.register_aggregate("paper", ["snip"], citation="", description="")


def test_published_figures_are_registry_metadata_and_reach_the_report(monkeypatch):
    from zcnas.pipeline import report
    from zcnas.proxies import group, published_figures, registry

    table2 = published_figures("nb201", registry.PAPER_TABLE2)
    assert sorted(table2) == group("paper")
    assert {figure.dataset: figure.rho for figure in table2["synflow"]} == {
        "cifar10": 0.74, "cifar100": 0.76, "imagenet16-120": 0.75}  # the paper's Table 2
    assert [figure.rho for figure in published_figures("nb101")["grasp"]] == [0.45]
    assert [figure.rho for figure in published_figures("nb201")["az_nas"]] == [0.913]  # an aggregate's
    assert report.PUBLISHED_WHOLE_SPACE["meco"] == ({"cifar10": 0.894}, "all", "Jiang et al. 2023 (MeCo)")
    # A new proxy's figures are one argument of its registration.
    monkeypatch.setattr(registry, "PROXIES", dict(registry.PROXIES))
    registry.register("toy", higher_is_better=True, uses_labels=False, uses_data=False, citation="a test",
                      published=[registry.Published(0.5, "a paper", dataset="cifar100")])(lambda context: 0.0)
    assert published_figures("nb201")["toy"] == [registry.Published(0.5, "a paper", "nb201", "cifar100", "all")]
