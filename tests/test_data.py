"""Tests for zcnas.data: registry, normalisation, minibatches, loaders, lookup and caching."""

import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from zcnas.data import (
    dataset_info,
    load_minibatch,
    load_split,
    read_cifar_python,
    read_image_folder,
    read_imagenet16,
    select_minibatch,
    to_tensor,
)
from zcnas.data import cache, loading
from zcnas.errors import ZcnasError
from zcnas.resources import MIRROR_ENV

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


@pytest.fixture(autouse=True)
def user_cache(tmp_path, monkeypatch) -> Path:
    """Decoded-image caches go to a directory of the test's own, not the user's ~/.cache."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "user-cache"))
    monkeypatch.setattr(cache, "_announced", set())
    return tmp_path / "user-cache"


# ---------------------------------------------------------------- helpers


def write_tar(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def filled(value: int | tuple[int, int, int], size: int = 32) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=np.uint8), (size, size, 3)).copy()


def planar_batch(first_id: int, count: int, size: int) -> np.ndarray:
    """Rows of channel-planar pixels whose value encodes (image id, channel, y, x)."""
    n, c, y, x = np.meshgrid(np.arange(count) + first_id, np.arange(3), np.arange(size), np.arange(size), indexing="ij")
    return ((n * 11 + c * 7 + y * 3 + x) % 256).astype(np.uint8).reshape(count, 3 * size * size)


def expected_hwc(image_id: int, size: int) -> np.ndarray:
    """The H×W×3 image `planar_batch` encodes for `image_id`, computed pixel by pixel."""
    image = np.empty((size, size, 3), dtype=np.uint8)
    for y in range(size):
        for x in range(size):
            for c in range(3):
                image[y, x, c] = (image_id * 11 + c * 7 + y * 3 + x) % 256
    return image


def cifar10_tarball(path: Path) -> Path:
    """Official layout: five training batches of 2 images, a test batch of 10; labels cover 0..9."""
    members = {}
    for batch in range(5):
        entry = {b"batch_label": b"x", b"data": planar_batch(2 * batch, 2, 32), b"labels": [2 * batch, 2 * batch + 1]}
        members[f"cifar-10-batches-py/data_batch_{batch + 1}"] = pickle.dumps(entry)
    members["cifar-10-batches-py/test_batch"] = pickle.dumps({b"data": planar_batch(100, 10, 32), b"labels": list(range(9, -1, -1))})
    members["cifar-10-batches-py/batches.meta"] = pickle.dumps({b"label_names": CIFAR10_CLASSES})
    return write_tar(path, members)


def image_folder_archive(path: Path, classes: list[str], shade: int = 0, per_class: int = 1) -> Path:
    """PNG image folder; image j of class k in split s is filled with (k, j, shade + s)."""
    members = {}
    for split_index, split in enumerate(("train", "test")):
        for k, cls in enumerate(classes):
            for j in range(per_class):
                members[f"{split}/{cls}/{j:04d}.png"] = png(filled((k, j, shade + split_index)))
    return write_tar(path, members)


# ---------------------------------------------------------------- registry and normalisation


def test_registry():
    assert (dataset_info("cifar10").num_classes, dataset_info("cifar10").image_size) == (10, 32)
    assert (dataset_info("cifar100").num_classes, dataset_info("cifar100").image_size) == (100, 32)
    assert (dataset_info("imagenet16-120").num_classes, dataset_info("imagenet16-120").image_size) == (120, 16)
    with pytest.raises(ZcnasError, match="'mnist'.*cifar10, cifar100, imagenet16-120"):
        dataset_info("mnist")


def test_to_tensor_normalises_each_channel():
    image = np.zeros((1, 32, 32, 3), dtype=np.uint8)
    image[0, :, :, 1] = 255
    image[0, 1, 2, 2] = 200
    x = to_tensor(image, "cifar10")
    assert x.dtype == torch.float32 and x.shape == (1, 3, 32, 32)
    # (v/255 - m/255) / (s/255) = (v - m) / s with the NB201 CIFAR-10 constants.
    assert x[0, 0, 5, 5].item() == pytest.approx((0 - 125.3) / 63.0, rel=1e-6)
    assert x[0, 1, 0, 0].item() == pytest.approx((255 - 123.0) / 62.1, rel=1e-6)
    assert x[0, 2, 0, 0].item() == pytest.approx((0 - 113.9) / 66.7, rel=1e-6)
    assert x[0, 2, 1, 2].item() == pytest.approx((200 - 113.9) / 66.7, rel=1e-6)


def test_to_tensor_uses_the_datasets_constants_and_size():
    x = to_tensor(np.full((2, 16, 16, 3), 100, dtype=np.uint8), "imagenet16-120")
    assert x[1, 0, 0, 0].item() == pytest.approx((100 - 122.68) / 63.22, rel=1e-6)
    with pytest.raises(ZcnasError, match="16×16"):
        to_tensor(np.zeros((2, 32, 32, 3), dtype=np.uint8), "imagenet16-120")


# ---------------------------------------------------------------- minibatch selection


def id_images(count: int) -> np.ndarray:
    """Image i is filled with i (count <= 256), so a batch reveals which images it holds."""
    return np.stack([filled(i) for i in range(count)])


def ids_of(x: torch.Tensor) -> list[int]:
    mean, std = 125.3, 63.0  # CIFAR-10 red channel
    return [round(v * std + mean) for v in x[:, 0, 0, 0].tolist()]


def test_random_minibatch_is_seeded_and_without_replacement():
    images, labels = id_images(200), np.arange(200) % 10
    x1, y1 = select_minibatch(images, labels, "cifar10", "random", 50, seed=3)
    x2, y2 = select_minibatch(images, labels, "cifar10", "random", 50, seed=3)
    x3, _ = select_minibatch(images, labels, "cifar10", "random", 50, seed=4)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, x3)
    ids = ids_of(x1)
    assert len(set(ids)) == 50 and all(0 <= i < 200 for i in ids)
    assert y1.dtype == torch.int64 and y1.tolist() == [i % 10 for i in ids]
    everything, _ = select_minibatch(images, labels, "cifar10", "random", 200, seed=0)
    assert sorted(ids_of(everything)) == list(range(200))


def test_grasp_minibatch_takes_k_per_class_in_class_order():
    images, labels = id_images(250), np.arange(250) % 10
    x, y = select_minibatch(images, labels, "cifar10", "grasp", 64, seed=0)
    assert x.shape == (60, 3, 32, 32)
    assert y.tolist() == [c for c in range(10) for _ in range(6)]
    ids = ids_of(x)
    assert len(set(ids)) == 60 and [i % 10 for i in ids] == y.tolist()
    x_again, _ = select_minibatch(images, labels, "cifar10", "grasp", 64, seed=0)
    x_other, _ = select_minibatch(images, labels, "cifar10", "grasp", 64, seed=1)
    assert torch.equal(x, x_again) and not torch.equal(x, x_other)


def test_minibatch_errors():
    images, labels = id_images(120), np.arange(120) % 100
    with pytest.raises(ZcnasError, match=r"batch_size=64.*num_classes=100"):
        select_minibatch(images, labels, "cifar100", "grasp", 64, seed=0)
    with pytest.raises(ZcnasError, match="'synflow'.*random, grasp"):
        select_minibatch(images, labels, "cifar100", "synflow", 64, seed=0)
    with pytest.raises(ZcnasError, match="121"):
        select_minibatch(images, labels, "cifar100", "random", 121, seed=0)
    with pytest.raises(ZcnasError, match="between 1"):
        select_minibatch(images, labels, "cifar100", "random", 0, seed=0)
    few = np.arange(120) % 10
    few[few == 3] = 4  # class 3 has no images
    with pytest.raises(ZcnasError, match="class 3"):
        select_minibatch(id_images(120), few, "cifar10", "grasp", 20, seed=0)


# ---------------------------------------------------------------- readers


def test_read_cifar10_python_tarball(tmp_path):
    path = cifar10_tarball(tmp_path / "cifar-10-python.tar.gz")
    images, labels = read_cifar_python(path, "cifar10", "train")
    assert images.shape == (10, 32, 32, 3) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and labels.tolist() == list(range(10))
    for image_id in (0, 7):
        np.testing.assert_array_equal(images[image_id], expected_hwc(image_id, 32))
    images, labels = read_cifar_python(path, "cifar10", "test")
    assert labels.tolist() == list(range(9, -1, -1))
    np.testing.assert_array_equal(images[3], expected_hwc(103, 32))


def test_read_cifar100_uses_fine_labels(tmp_path):
    def entry(first_id):
        return pickle.dumps({b"data": planar_batch(first_id, 3, 32), b"fine_labels": [99, 0, 42], b"coarse_labels": [1, 2, 3]})

    path = write_tar(tmp_path / "c100.tar.gz", {"cifar-100-python/train": entry(0), "cifar-100-python/test": entry(5)})
    images, labels = read_cifar_python(path, "cifar100", "train")
    assert labels.tolist() == [99, 0, 42]
    np.testing.assert_array_equal(images[2], expected_hwc(2, 32))
    images, _ = read_cifar_python(path, "cifar100", "test")
    np.testing.assert_array_equal(images[0], expected_hwc(5, 32))


def test_read_image_folder_archive_labels_order_and_pixels(tmp_path):
    members = {
        "train/cat/b.png": png(filled((1, 2, 3))),
        "train/cat/a.png": png(filled((4, 5, 6))),
        "train/ant/x.png": png(filled((7, 8, 9))),
        "train/ant/._x.png": b"not an image",
        "train/README.txt": b"ignored",
        "test/bee/1.png": png(filled((10, 11, 12))),
    }
    splits = read_image_folder(write_tar(tmp_path / "tree.tar.gz", members))
    images, labels = splits["train"]
    # Classes ant, bee, cat (sorted over all splits) -> 0, 1, 2; order: class, then file name.
    assert labels.tolist() == [0, 2, 2]
    assert [tuple(image[0, 0]) for image in images] == [(7, 8, 9), (4, 5, 6), (1, 2, 3)]
    assert images.shape == (3, 32, 32, 3)
    images, labels = splits["test"]
    assert labels.tolist() == [1] and tuple(images[0, 31, 31]) == (10, 11, 12)


def test_read_image_folder_directory_and_gray_images(tmp_path):
    (tmp_path / "train" / "b").mkdir(parents=True)
    (tmp_path / "train" / "a").mkdir(parents=True)
    Image.fromarray(np.full((4, 4), 50, dtype=np.uint8)).save(tmp_path / "train" / "b" / "0.png")
    Image.fromarray(filled((1, 2, 3), 4)).save(tmp_path / "train" / "a" / "0.png")
    images, labels = read_image_folder(tmp_path)["train"]
    assert labels.tolist() == [0, 1]
    assert tuple(images[1, 0, 0]) == (50, 50, 50)


def test_read_image_folder_rejects_mixed_sizes(tmp_path):
    members = {"train/a/0.png": png(filled(1, 32)), "train/a/1.png": png(filled(1, 16))}
    with pytest.raises(ZcnasError, match="train/a/1.png"):
        read_image_folder(write_tar(tmp_path / "mixed.tar.gz", members))


def imagenet16_dir(root: Path) -> Path:
    """Labels 1..120 (one image each) in batch 1, plus out-of-subset labels that must be dropped."""
    root.mkdir(parents=True)
    batches = {f"train_data_batch_{i}": ([1000, 121], 200 + 2 * i) for i in range(2, 11)}
    batches["train_data_batch_1"] = ([500] + list(range(1, 121)), 0)
    batches["val_data"] = (list(range(120, 0, -1)) + [121], 300)
    for name, (labels, first_id) in batches.items():
        entry = {"data": planar_batch(first_id, len(labels), 16), "labels": labels}
        (root / name).write_bytes(pickle.dumps(entry))
    return root


def test_read_imagenet16_keeps_first_120_classes(tmp_path):
    root = imagenet16_dir(tmp_path / "ImageNet16")
    images, labels = read_imagenet16(root, "train")
    assert images.shape == (120, 16, 16, 3) and labels.tolist() == list(range(120))
    np.testing.assert_array_equal(images[0], expected_hwc(1, 16))  # id 0 carried label 500
    images, labels = read_imagenet16(root, "test")
    assert labels.tolist() == list(range(119, -1, -1))
    np.testing.assert_array_equal(images[5], expected_hwc(305, 16))
    (root / "train_data_batch_7").unlink()
    with pytest.raises(ZcnasError, match="train_data_batch_7"):
        read_imagenet16(root, "train")


# ---------------------------------------------------------------- load_split: lookup, errors, cache


def test_load_split_from_local_dirs(tmp_path, no_mirror):
    cifar10_tarball(tmp_path / "cifar-10-python.tar.gz")
    imagenet16_dir(tmp_path / "ImageNet16")
    images, labels = load_split("cifar10", "test", tmp_path, download=False)
    assert images.shape == (10, 32, 32, 3) and labels.tolist() == list(range(9, -1, -1))
    images, labels = load_split("imagenet16-120", "train", tmp_path)
    assert images.shape == (120, 16, 16, 3)


def test_load_split_uses_mirror_when_local_lacks_it(tmp_path, mirror):
    image_folder_archive(mirror / "cifar10" / "cifar10-jpeg.tar.gz", CIFAR10_CLASSES, shade=40)
    images, labels = load_split("cifar10", "train", tmp_path / "local", download=False)
    assert labels.tolist() == list(range(10))
    assert [tuple(image[0, 0]) for image in images] == [(k, 0, 40) for k in range(10)]


def test_local_copy_wins_over_mirror(tmp_path, mirror):
    image_folder_archive(mirror / "cifar10" / "cifar10-jpeg.tar.gz", CIFAR10_CLASSES, shade=40)
    image_folder_archive(tmp_path / "local" / "cifar10-jpeg.tar.gz", CIFAR10_CLASSES, shade=80)
    images, _ = load_split("cifar10", "test", tmp_path / "local", download=False)
    assert tuple(images[0, 0, 0]) == (0, 0, 81)


def test_missing_data_names_the_files(tmp_path, mirror):
    with pytest.raises(ZcnasError) as error:
        load_split("cifar10", "train", tmp_path / "local", download=False)
    assert "cifar-10-python.tar.gz" in str(error.value) and "cifar10/cifar10-jpeg.tar.gz" in str(error.value)
    with pytest.raises(ZcnasError, match=r"(?s)ImageNet16.*NAS-Bench-201"):
        load_split("imagenet16-120", "train", tmp_path / "local")


def test_a_failed_download_leaves_no_folder_behind(tmp_path, no_mirror, monkeypatch):
    import urllib.request

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    (tmp_path / "project").mkdir()
    with pytest.raises(ZcnasError, match="network is unreachable"):
        load_split("cifar10", "train", tmp_path / "project" / "data" / "raw")
    assert list((tmp_path / "project").iterdir()) == []  # no empty data/raw/


def test_bad_split_and_dataset(tmp_path, no_mirror):
    with pytest.raises(ZcnasError, match="'val'.*train, test"):
        load_split("cifar10", "val", tmp_path)
    with pytest.raises(ZcnasError, match="'svhn'"):
        load_split("svhn", "train", tmp_path)


@pytest.mark.parametrize("filename", ["cifar10-jpeg.tar.gz", "cifar-10-python.tar.gz"])
def test_truncated_archive_is_named(tmp_path, no_mirror, filename):
    source = tmp_path / "whole.tar.gz"
    if filename == "cifar10-jpeg.tar.gz":
        image_folder_archive(source, CIFAR10_CLASSES, per_class=3)
    else:
        cifar10_tarball(source)
    data = source.read_bytes()
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / filename).write_bytes(data[: len(data) // 2])
    with pytest.raises(ZcnasError, match=filename):
        load_split("cifar10", "train", tmp_path / "local", download=False)


class _Payload:
    """Unpickling it would create the file `marker`: what a crafted dataset pickle does."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("place", ["mirror", "local"])
def test_a_crafted_cifar_pickle_is_refused_without_running_code(tmp_path, mirror, place):
    marker = tmp_path / "the-pickle-ran"
    members = {f"cifar-10-batches-py/data_batch_{i}": pickle.dumps({b"data": _Payload(marker), b"labels": [0]})
               for i in range(1, 6)}
    folder = mirror if place == "mirror" else tmp_path / "local"
    write_tar(folder / "cifar-10-python.tar.gz", members)
    with pytest.raises(ZcnasError) as error:
        load_split("cifar10", "train", tmp_path / "local", download=False)
    assert not marker.exists()
    assert "cifar-10-python.tar.gz" in str(error.value) and "pathlib.Path.touch" in str(error.value)


def test_wrong_dataset_in_place_is_caught(tmp_path, no_mirror):
    image_folder_archive(tmp_path / "cifar10-jpeg.tar.gz", ["a", "b", "c"])
    with pytest.raises(ZcnasError, match="3 classes"):
        load_split("cifar10", "train", tmp_path, download=False)


def test_decoded_archive_is_cached_and_refreshed(tmp_path, no_mirror, monkeypatch, user_cache):
    archive = image_folder_archive(tmp_path / "cifar10-jpeg.tar.gz", CIFAR10_CLASSES, shade=1)
    first = load_split("cifar10", "train", tmp_path, download=False)
    assert len(list(user_cache.glob("cifar10-jpeg.tar.gz-*.npz"))) == 1
    real_reader = loading.read_image_folder

    def must_not_decode(path):
        raise AssertionError("decoded again despite the cache")

    monkeypatch.setattr(loading, "read_image_folder", must_not_decode)
    cached = load_split("cifar10", "train", tmp_path, download=False)
    np.testing.assert_array_equal(cached[0], first[0])
    np.testing.assert_array_equal(cached[1], first[1])
    assert tuple(load_split("cifar10", "test", tmp_path, download=False)[0][0, 0, 0]) == (0, 0, 2)

    # An unreadable cache file is decoded afresh and rewritten.
    monkeypatch.setattr(loading, "read_image_folder", real_reader)
    cache_file = next(user_cache.glob("*.npz"))
    cache_file.write_bytes(b"")
    np.testing.assert_array_equal(load_split("cifar10", "train", tmp_path, download=False)[0], first[0])
    assert cache_file.stat().st_size > 0

    # A replaced archive (new size and mtime) must be decoded afresh.
    image_folder_archive(archive, CIFAR10_CLASSES, shade=9, per_class=2)
    os.utime(archive, ns=(archive.stat().st_atime_ns, archive.stat().st_mtime_ns + 10**9))
    images, labels = load_split("cifar10", "train", tmp_path, download=False)
    assert len(labels) == 20 and tuple(images[0, 0, 0]) == (0, 0, 9)


def test_cache_goes_to_the_user_cache_and_says_so_once(tmp_path, no_mirror, monkeypatch, capsys, user_cache):
    data_dir, work_dir = tmp_path / "data", tmp_path / "work"
    image_folder_archive(data_dir / "cifar10-jpeg.tar.gz", CIFAR10_CLASSES)
    work_dir.mkdir()
    monkeypatch.chdir(work_dir)
    load_split("cifar10", "train", data_dir, download=False)
    written = next(user_cache.glob("cifar10-jpeg.tar.gz-*.npz"))
    assert f"cached decoded images in {written}" in capsys.readouterr().err
    assert list(work_dir.iterdir()) == [] and sorted(p.name for p in data_dir.iterdir()) == ["cifar10-jpeg.tar.gz"]

    image_folder_archive(data_dir / "cifar10" / "cifar10-jpeg.tar.gz", CIFAR10_CLASSES, shade=5)
    load_split("cifar10", "train", data_dir / "cifar10", download=False)  # a second cache file, same place
    assert len(list(user_cache.glob("*.npz"))) == 2 and capsys.readouterr().err == ""


def test_cache_location_follows_zcnas_cache_dir_then_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, "~/elsewhere")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.user_cache_dir() == tmp_path / "home" / "elsewhere"
    monkeypatch.delenv(cache.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.user_cache_dir() == tmp_path / "xdg" / "zcnas"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # invalid per the XDG spec: ignored
    assert cache.user_cache_dir() == tmp_path / "home" / ".cache" / "zcnas"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache.user_cache_dir() == tmp_path / "home" / ".cache" / "zcnas"


def test_load_minibatch_is_bit_identical_for_a_seed(tmp_path, mirror):
    image_folder_archive(mirror / "cifar10" / "cifar10-jpeg.tar.gz", CIFAR10_CLASSES, per_class=4)
    x1, y1 = load_minibatch("cifar10", "grasp", 20, seed=7, data_dir=tmp_path / "local", download=False)
    x2, y2 = load_minibatch("cifar10", "grasp", 20, seed=7, data_dir=tmp_path / "local", download=False)
    assert x1.shape == (20, 3, 32, 32) and y1.tolist() == [c for c in range(10) for _ in range(2)]
    assert torch.equal(x1, x2) and torch.equal(y1, y2)


# ---------------------------------------------------------------- real data


@pytest.mark.shared_data
def test_real_cifar10_jpeg_splits(tmp_path, monkeypatch, shared_file):
    archive = shared_file("cifar10/cifar10-jpeg.tar.gz")
    monkeypatch.setenv(MIRROR_ENV, str(archive.parents[1]))
    # One decode (~10-20 s on 2 cores) fills the test's own cache; the test split then comes from it.
    images, labels = load_split("cifar10", "train", tmp_path, download=False)
    assert images.shape == (50000, 32, 32, 3) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [5000] * 10
    images, labels = load_split("cifar10", "test", tmp_path, download=False)
    assert images.shape == (10000, 32, 32, 3)
    assert np.bincount(labels).tolist() == [1000] * 10
