import math
import random

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from zcnas.data import dataset_info, to_tensor
from zcnas.econas import (
    COLUMNS,
    build_network,
    configs_from_params,
    make_config,
    parse_config_name,
    prepare_data,
    resize_images,
    split_indices,
    train_arch,
    train_archs,
    train_sample,
)
from zcnas.econas import training
from zcnas.econas.augment import random_crop_flip
from zcnas.errors import ZcnasError
from zcnas.proxies.passes.flops import count_flops
from zcnas.spaces.nb201 import NB201

ALL_CONV = ("nor_conv_3x3",) * 6
# The NB201 optimum on CIFAR-10: convolutions with a skip path, quick to train.
BEST_CELL = NB201.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|")


@pytest.fixture(autouse=True)
def one_thread():
    """Training runs with one thread per process by default; direct calls here do the same
    (on a busy 2-core machine, two threads per process are several times slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def random_archs(count, seed=0):
    rng = random.Random(seed)
    return list(dict.fromkeys(NB201.sample(rng) for _ in range(count)))


def noise_images(count, seed=0):
    """Random CIFAR-10-shaped images with balanced labels (nothing to learn: timings and bookkeeping)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(count, 32, 32, 3), dtype=np.uint8), np.arange(count) % 10


def coloured_images(per_class, seed=0):
    """A learnable problem: each class has its own colour; noise and a random bright square on top."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, size=(10, 3))
    labels = np.repeat(np.arange(10), per_class)
    images = np.clip(palette[labels][:, None, None, :] + rng.normal(0, 20, (len(labels), 32, 32, 3)), 0, 255)
    for image in images:
        top, left = rng.integers(0, 24, size=2)
        image[top : top + 8, left : left + 8] = 255
    return images.astype(np.uint8), labels


# --- configurations -----------------------------------------------------------------------


def test_names_encode_resolution_channels_and_epochs():
    assert parse_config_name("r8c4e40") == {"r": 8, "c": 4, "e": 40}
    assert parse_config_name("r32c16") == {"r": 32, "c": 16}
    assert parse_config_name("econas") == {}
    config = make_config("r16c8e2", {"s": 0.25, "batch_size": 64})
    assert (config.resolution, config.channels, config.epochs, config.fraction, config.batch_size) == (16, 8, 2, 0.25, 64)
    assert (config.lr, config.momentum, config.weight_decay) == (0.1, 0.9, 5e-4)


def test_params_mapping_gives_validated_configs_in_order():
    configs = configs_from_params(
        {"econas": {"r": 8, "c": 4, "e": 40, "s": 0.5, "batch_size": 256}, "econas+": {"r": 16, "c": 8, "e": 3},
         "r32c16e1": None},
        "cifar10",
    )
    assert [c.name for c in configs] == ["econas", "econas+", "r32c16e1"]
    assert [(c.resolution, c.channels, c.epochs) for c in configs] == [(8, 4, 40), (16, 8, 3), (32, 16, 1)]
    assert configs[0].fraction == 0.5 and configs[2].fraction == 1.0


@pytest.mark.parametrize(
    "name, fields, dataset, expected",
    [
        ("econas", {"r": 8, "c": 0, "e": 1}, None, "'econas': c (channels) is 0; expected a positive integer"),
        ("econas", {"r": 8, "c": -4, "e": 1}, None, "c (channels) is -4"),
        ("econas", {"r": 8, "c": 2.5, "e": 1}, None, "c (channels) is 2.5"),
        ("econas", {"r": 8, "c": True, "e": 1}, None, "c (channels) is True"),
        ("econas", {"r": 8, "c": 4, "e": 0}, None, "e (epochs) is 0"),
        ("econas", {"r": 8, "c": 4, "e": 1, "batch_size": 0}, None, "'econas': batch_size is 0"),
        ("econas", {"r": 8, "c": 4, "e": 41, "schedule_epochs": 40}, None,
         "e (epochs) is 41; expected at most schedule_epochs (40)"),
        ("econas", {"r": 8, "c": 4, "e": 1, "schedule_epochs": 0}, None, "schedule_epochs is 0"),
        ("econas", {"r": 3, "c": 4, "e": 1}, None, "r (resolution) is 3; expected at least 4"),
        ("r64c4e1", {}, "cifar10", "r (resolution) is 64; expected at most cifar10's image size 32"),
        ("r32c4e1", {}, "imagenet16-120", "expected at most imagenet16-120's image size 16"),
        ("econas", {"r": 8, "c": 4, "e": 1, "s": 0}, None, "s (fraction) is 0; expected a number in (0, 1]"),
        ("econas", {"r": 8, "c": 4, "e": 1, "s": 1.5}, None, "s (fraction) is 1.5"),
        ("econas", {"r": 8, "c": 4, "e": 1, "s": "half"}, None, "s (fraction) is 'half'"),
        ("econas", {"r": 8, "c": 4, "e": 1, "lr": 0}, None, "'econas': lr is 0"),
        ("econas", {"r": 8, "c": 4, "e": 1, "epochs": 3}, None,
         "unknown field of reduced-training config 'econas': 'epochs'"),
        ("econas", {"r": 8}, None, "'econas' needs c, e"),
        ("r8c4e40", {"r": 16}, None, "r=16 contradicts its name (r=8)"),
        ("r8 c4", {}, None, "bad reduced-training config name 'r8 c4'"),
        ("", {"r": 8, "c": 4, "e": 1}, None, "bad reduced-training config name ''"),
        ("runs/econas", {"r": 8, "c": 4, "e": 1}, None, "bad reduced-training config name"),
    ],
)
def test_bad_configs_are_refused_naming_the_config_and_field(name, fields, dataset, expected):
    with pytest.raises(ZcnasError) as error:
        configs_from_params({name: fields}, dataset)
    assert expected in str(error.value)


def test_configs_must_be_a_mapping_of_mappings():
    with pytest.raises(ZcnasError, match="non-empty mapping"):
        configs_from_params({}, "cifar10")
    with pytest.raises(ZcnasError, match="'econas' must map field names"):
        configs_from_params({"econas": [8, 4, 40]}, "cifar10")


# --- networks -----------------------------------------------------------------------------


def params_by_hand(cell, channels: int, num_classes: int = 10) -> int:
    """NB201 parameter count, derived by hand for C channels (stages C, 2C, 4C, 5 cells each).

    Fixed part: stem conv 27C + BN 2C; reduction block C->2C: 18C^2+4C + 36C^2+4C + 2C^2;
    block 2C->4C: 72C^2+8C + 144C^2+8C + 8C^2; last BN 8C; classifier 4C*k + k.
    Each conv edge adds, over the 15 cells, 5 * (C^2 + 4C^2 + 16C^2) * kernel area plus its
    BatchNorms 5 * (2C + 4C + 8C); pooling, skip and none edges add nothing.
    """
    fixed = 280 * channels**2 + 61 * channels + 4 * channels * num_classes + num_classes
    per_conv = {"nor_conv_3x3": 9 * 105 * channels**2 + 70 * channels, "nor_conv_1x1": 105 * channels**2 + 70 * channels}
    return fixed + sum(per_conv.get(op, 0) for op in cell)


def parameter_count(net) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("channels", [1, 4, 8])
@pytest.mark.parametrize(
    "cell",
    [("skip_connect",) * 6, ("nor_conv_3x3",) + ("none",) * 5, ("avg_pool_3x3", "nor_conv_1x1", "skip_connect",
                                                                 "nor_conv_3x3", "none", "nor_conv_1x1"), ALL_CONV],
)
def test_reduced_channel_networks_have_the_hand_derived_parameter_count(cell, channels):
    config = make_config(f"r8c{channels}e1")
    assert parameter_count(build_network(config, cell, 10, seed=0)) == params_by_hand(cell, channels)


def test_the_hand_formula_reproduces_the_official_counts_at_16_channels(shared_file):
    table = pd.read_csv(shared_file("nb201/params_flops.csv"))
    table = table[table["dataset"] == "cifar10"]
    by_hand = [params_by_hand(NB201.parse(arch), 16) / 1e6 for arch in table["arch"]]
    np.testing.assert_allclose(by_hand, table["params_m"], atol=1e-6)


def test_network_weights_depend_on_seed_config_and_arch():
    cell = ALL_CONV
    first = build_network(make_config("r8c4e1"), cell, 10, seed=1).state_dict()
    again = build_network(make_config("r8c4e1"), cell, 10, seed=1).state_dict()
    other_seed = build_network(make_config("r8c4e1"), cell, 10, seed=2).state_dict()
    other_config = build_network(make_config("r8c4e2"), cell, 10, seed=1).state_dict()
    key = "stem.0.weight"
    assert torch.equal(first[key], again[key])
    assert not torch.equal(first[key], other_seed[key])
    assert not torch.equal(first[key], other_config[key])


# --- data ---------------------------------------------------------------------------------


def test_validation_split_is_disjoint_from_every_training_subset():
    full = split_indices(1000, val_fraction=0.1, train_fraction=1.0, seed=3)
    half = split_indices(1000, val_fraction=0.1, train_fraction=0.5, seed=3)
    assert len(full.val) == 100 and len(full.train) == 900 and len(half.train) == 450
    assert not set(full.val) & set(full.train)
    assert set(full.val) | set(full.train) == set(range(1000))
    np.testing.assert_array_equal(half.val, full.val)  # one validation split for all configs
    assert set(half.train) <= set(full.train)  # smaller fractions are part of larger ones
    other_seed = split_indices(1000, 0.1, 0.5, seed=4)
    assert set(other_seed.val) != set(full.val) and set(other_seed.train) != set(half.train)


@pytest.mark.parametrize(
    "num_images, val_fraction, train_fraction, expected",
    [
        (100, 0.0, 1.0, "validation fraction must be in (0, 1), got 0.0"),
        (100, 1.0, 1.0, "validation fraction must be in (0, 1), got 1.0"),
        (100, 0.1, 0.0, "training fraction must be in (0, 1], got 0.0"),
        (4, 0.1, 1.0, "leaves 0 for validation"),
        (100, 0.1, 0.01, "keeps 1; need at least 2"),
    ],
)
def test_impossible_splits_are_refused(num_images, val_fraction, train_fraction, expected):
    with pytest.raises(ZcnasError) as error:
        split_indices(num_images, val_fraction, train_fraction, seed=0)
    assert expected in str(error.value)


def test_prepared_data_holds_the_split_images_at_the_config_resolution():
    images, labels = noise_images(50)
    data, indices = prepare_data(images, labels, "cifar10", make_config("r8c4e1", {"s": 0.5, "batch_size": 20}), seed=0, val_fraction=0.2)
    assert data.train_images.shape == (20, 3, 8, 8) and data.val_images.shape == (10, 3, 8, 8)
    np.testing.assert_array_equal(data.train_labels.numpy(), labels[indices.train])
    np.testing.assert_array_equal(data.val_labels.numpy(), labels[indices.val])
    first_val = resize_images(images[indices.val[:1]], "cifar10", 8)[0]
    np.testing.assert_allclose(data.val_images[0].numpy(), first_val.numpy())


def test_resizing_keeps_flat_colours_and_is_exact_at_full_size():
    images, _ = noise_images(3)
    torch.testing.assert_close(resize_images(images, "cifar10", 32), to_tensor(images, "cifar10"), rtol=0, atol=0)
    flat = np.full((2, 32, 32, 3), (10, 128, 250), dtype=np.uint8)
    info = dataset_info("cifar10")
    expected = (torch.tensor([10, 128, 250]) / 255 - torch.tensor(info.mean)) / torch.tensor(info.std)
    small = resize_images(flat, "cifar10", 8)
    assert small.shape == (2, 3, 8, 8)
    torch.testing.assert_close(small, expected.view(1, 3, 1, 1).expand(2, 3, 8, 8).float(), rtol=0, atol=1e-5)


def test_crop_and_flip_give_a_window_of_the_padded_image():
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(64, 3, 8, 8, generator=generator)
    fill = torch.tensor([-1.0, -2.0, -3.0])
    out = random_crop_flip(images, 1, fill, generator)
    padded = fill.view(3, 1, 1).expand(3, 10, 10).clone()

    def window(top, left, flip):
        crop = padded[:, top : top + 8, left : left + 8]
        return crop.flip(-1) if flip else crop

    flips = offsets = 0
    for image, result in zip(images, out):
        padded[:, 1:9, 1:9] = image
        windows = {(top, left, flip) for top in range(3) for left in range(3) for flip in (False, True)
                   if torch.equal(result, window(top, left, flip))}
        assert windows, "output is not a (mirrored) window of the padded image"
        flips += all(flip for _, _, flip in windows)
        offsets += all((top, left) != (1, 1) for top, left, _ in windows)
    assert 16 < flips < 48 and offsets > 32  # both choices happen, roughly as often as intended


# --- training -----------------------------------------------------------------------------


def test_training_reduces_the_loss_on_a_learnable_problem():
    images, labels = coloured_images(per_class=30)
    config = make_config("r8c4e4", {"batch_size": 32})
    data, _ = prepare_data(images, labels, "cifar10", config, seed=0, val_fraction=0.2)

    def validation_loss(net):
        net.eval()
        with torch.no_grad():
            return F.cross_entropy(net(data.val_images), data.val_labels).item()

    before = validation_loss(build_network(config, BEST_CELL, 10, seed=0))
    net = build_network(config, BEST_CELL, 10, seed=0)
    epochs = list(training.train_network(net, config, data, training.batch_generator(config, 0)))
    assert validation_loss(net) < 0.75 * before
    assert epochs[-1]["train_loss"] < 0.75 * epochs[0]["train_loss"]
    assert epochs[-1]["val_acc"] >= 30  # chance is 10%


def test_rows_count_the_training_cost():
    images, labels = noise_images(100)
    config = make_config("r8c4e3", {"batch_size": 32, "s": 0.5})
    data, indices = prepare_data(images, labels, "cifar10", config, seed=0)
    rows = train_arch(config, ALL_CONV, data, seed=0)
    num_train = len(indices.train)  # 90 after validation, half of them: 45
    assert num_train == 45
    assert [row["epoch"] for row in rows] == [1, 2, 3]
    assert [row["minibatches"] for row in rows] == [2, 4, 6]  # ceil(45 / 32) per epoch
    assert [row["images"] for row in rows] == [45, 90, 135]
    forward = count_flops(NB201.build(ALL_CONV, 10, channels=4), (3, 8, 8))
    assert [row["flops"] for row in rows] == [3 * forward * images for images in (45, 90, 135)]
    assert 0 < rows[0]["seconds"] < rows[1]["seconds"] < rows[2]["seconds"]
    assert all(0 <= row["val_acc"] <= 100 and math.isfinite(row["train_loss"]) for row in rows)
    assert all(row["config"] == "r8c4e3" and row["arch"] == NB201.format(ALL_CONV) for row in rows)


def test_epochs_trained_are_a_prefix_of_the_schedule():
    images, labels = noise_images(60)
    rows = {}
    for e, schedule in ((2, 4), (4, 4), (2, 2)):
        config = make_config("tiny", {"r": 8, "c": 2, "e": e, "schedule_epochs": schedule, "batch_size": 16})
        data, _ = prepare_data(images, labels, "cifar10", config, seed=0)
        net = build_network(config, ALL_CONV, 10, seed=0)
        rows[e, schedule] = list(training.train_network(net, config, data, training.batch_generator(config, 0)))
    without_seconds = {key: [{k: v for k, v in row.items() if k != "seconds"} for row in value]
                       for key, value in rows.items()}
    # Epoch 2 of 4 is the first half of the 4-epoch run, bit for bit...
    assert without_seconds[2, 4] == without_seconds[4, 4][:2]
    # ...and the learning rate follows the schedule, stepped per epoch: epoch 1 runs at lr
    # in both schedules, epoch 2 at lr * (1 + cos(pi / 4)) / 2 against lr * (1 + cos(pi / 2)) / 2.
    assert without_seconds[2, 2][0] == without_seconds[2, 4][0]
    assert without_seconds[2, 2][1]["train_loss"] != without_seconds[2, 4][1]["train_loss"]


def test_learning_rate_is_a_cosine_stepped_per_epoch(monkeypatch):
    seen = []
    real_step = torch.optim.SGD.step

    def recording_step(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.SGD, "step", recording_step)
    images, labels = noise_images(60)
    config = make_config("tiny", {"r": 8, "c": 2, "e": 3, "schedule_epochs": 4, "batch_size": 32})
    data, _ = prepare_data(images, labels, "cifar10", config, seed=0)  # 54 training images: 2 steps per epoch
    list(training.train_network(build_network(config, ALL_CONV, 10, seed=0), config, data,
                                training.batch_generator(config, 0)))
    expected = [0.1 * (1 + math.cos(math.pi * epoch / 4)) / 2 for epoch in range(3) for _ in range(2)]
    assert seen == pytest.approx(expected, rel=1e-12)


def test_a_batch_larger_than_the_training_subset_is_refused():
    images, labels = noise_images(200)  # 180 after validation, s = 0.1 keeps 18
    config = make_config("tiny", {"r": 8, "c": 2, "e": 1, "s": 0.1, "batch_size": 19})
    with pytest.raises(ZcnasError, match="'tiny': batch_size is 19; expected between 1 and the 18 images"):
        prepare_data(images, labels, "cifar10", config, seed=0)


# --- training a sample: table, determinism, resumption ------------------------------------

CONFIGS = {"tiny": {"r": 8, "c": 2, "e": 2, "batch_size": 16}, "r16c2e1": {"s": 0.5, "batch_size": 16}}


def run(tmp_path, name="table.parquet", archs=None, configs=CONFIGS, seed=0, **options):
    images, labels = noise_images(60)
    archs = random_archs(3) if archs is None else archs
    return train_archs(configs, archs, images, labels, "cifar10", seed, "cpu", tmp_path / name,
                       progress=False, **{"workers": 1, **options})


def without_timings(table):
    return table.drop(columns="seconds").set_index(["config", "arch", "epoch"]).sort_index()


def test_table_has_a_row_per_config_arch_and_epoch(tmp_path):
    archs = random_archs(3)
    table = run(tmp_path, archs=archs + archs[:1])
    assert list(table.columns) == COLUMNS
    names = [NB201.format(arch) for arch in archs]
    expected = [("tiny", name, epoch) for name in names for epoch in (1, 2)] + [("r16c2e1", name, 1) for name in names]
    assert list(table[["config", "arch", "epoch"]].itertuples(index=False, name=None)) == expected
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "table.parquet"), table)
    assert not list(tmp_path.glob("*.journal.jsonl"))


def test_same_seed_gives_the_same_table_whatever_the_order_or_process(tmp_path):
    archs = random_archs(2, seed=5)
    first = run(tmp_path, "a.parquet", archs=archs)
    reordered = run(tmp_path, "b.parquet", archs=archs[::-1])
    parallel = run(tmp_path, "c.parquet", archs=archs, workers=2)
    other_seed = run(tmp_path, "d.parquet", archs=archs, seed=1)
    pd.testing.assert_frame_equal(without_timings(first), without_timings(reordered), check_exact=True)
    pd.testing.assert_frame_equal(without_timings(first), without_timings(parallel), check_exact=True)
    assert not np.array_equal(first["train_loss"], other_seed["train_loss"])


def test_training_runs_deterministic_float32_kernels(tmp_path, monkeypatch):
    # PyTorch's default cuDNN choices gave two GPU runs of one cell different weights; a
    # training process runs with the exact kernels, whatever the flags were before.
    seen = []
    real = training.train_arch

    def recording(*args, **kwargs):
        seen.append((torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32,
                     torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark))
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "train_arch", recording)
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    before = (cudnn.allow_tf32, matmul.allow_tf32, cudnn.deterministic, cudnn.benchmark)
    cudnn.allow_tf32, matmul.allow_tf32, cudnn.deterministic, cudnn.benchmark = True, True, False, True
    try:
        run(tmp_path, archs=random_archs(1, seed=3))
    finally:
        cudnn.allow_tf32, matmul.allow_tf32, cudnn.deterministic, cudnn.benchmark = before
    assert seen == [(False, False, True, False)] * len(CONFIGS)


def count_trainings(monkeypatch, crash_after=None):
    """Record every (config, arch) trained; the first run is killed after `crash_after` of them."""
    trained = []
    crashed = []
    real = training.train_arch

    def counting(config, arch, *args, **kwargs):
        if len(trained) == crash_after and not crashed:
            crashed.append(True)
            raise KeyboardInterrupt  # as if killed
        trained.append((config.name, NB201.format(arch)))
        return real(config, arch, *args, **kwargs)

    monkeypatch.setattr(training, "train_arch", counting)
    return trained


def test_resume_after_a_kill_trains_nothing_twice(tmp_path, monkeypatch):
    archs = random_archs(3, seed=7)
    trained = count_trainings(monkeypatch, crash_after=4)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, archs=archs)
    assert not (tmp_path / "table.parquet").exists()
    assert len(trained) == 4
    resumed = run(tmp_path, archs=archs)
    assert len(trained) == 6 and len(set(trained)) == 6  # 3 archs x 2 configs, each once
    uninterrupted = run(tmp_path, "fresh.parquet", archs=archs)
    pd.testing.assert_frame_equal(without_timings(resumed), without_timings(uninterrupted), check_exact=True)


def test_an_edited_training_file_starts_a_fresh_journal(tmp_path, monkeypatch):
    # The journal's identity hashes the package's source: here a copy of it, edited between runs.
    import shutil

    from zcnas import fingerprint

    package = tmp_path / "package"
    shutil.copytree(fingerprint.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(fingerprint, "PACKAGE", package)
    archs = random_archs(2, seed=9)
    trained = count_trainings(monkeypatch, crash_after=3)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, archs=archs)
    with open(package / "econas" / "training.py", "a") as source:
        source.write("\n# an edit to the training loop\n")
    with pytest.warns(RuntimeWarning, match="other settings .*differing: code"):
        run(tmp_path, archs=archs)
    assert sorted(trained[3:]) == sorted((name, NB201.format(arch)) for name in CONFIGS for arch in archs)
    assert len(list(tmp_path.glob("table.parquet.*.journal.stale-*.jsonl"))) == 2  # both configs' journals


def test_changing_one_config_retrains_only_that_config(tmp_path, monkeypatch):
    archs = random_archs(2, seed=8)
    trained = count_trainings(monkeypatch, crash_after=3)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, archs=archs)  # order: arch 1 under both configs, then arch 2 under "tiny"
    changed = {**CONFIGS, "r16c2e1": {"s": 0.25, "batch_size": 8}}
    with pytest.warns(RuntimeWarning, match="other settings"):
        run(tmp_path, archs=archs, configs=changed)
    retrained = trained[3:]
    assert sorted(retrained) == sorted([("r16c2e1", NB201.format(arch)) for arch in archs])


def test_bad_run_settings_are_refused_before_any_file_is_written(tmp_path):
    with pytest.raises(ZcnasError, match="workers must be a positive integer, got 0"):
        run(tmp_path, workers=0)
    with pytest.raises(ZcnasError, match="validation fraction must be in"):
        run(tmp_path, val_fraction=1.0)
    with pytest.raises(ZcnasError, match="at most cifar10's image size 32"):
        run(tmp_path, configs={"r64c2e1": None})
    with pytest.raises(ZcnasError, match="names must be unique"):
        run(tmp_path, configs=[make_config("r8c2e1"), make_config("r8c2e1")])
    assert not list(tmp_path.iterdir())


def test_train_sample_reads_the_training_split_from_the_data_dir(tmp_path, synthetic_data_dir, no_mirror):
    table = train_sample({"r8c2e1": {"batch_size": 8}}, random_archs(2), "cifar10", synthetic_data_dir, seed=0,
                         device="cpu", out=tmp_path / "econas.csv", workers=1, progress=False, download=False)
    assert table["images"].tolist() == [36, 36]  # 4 images x 10 classes, 4 held out
    assert (tmp_path / "econas.csv").exists()
