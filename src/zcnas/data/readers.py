"""Decoders for the dataset file formats.

Each returns a split as (images: uint8 N×H×W×3, labels: int64 N). Structural problems
(missing members, bad shapes) raise ZcnasError naming the file; low-level read errors
(truncated gzip, bad pickle) are left to the caller, which names the file too.

The CIFAR and ImageNet16 files are pickles, as officially distributed. A pickle can
name any function to call, so they are read by an unpickler that builds only what
these files hold (dicts, lists, strings, numbers and NumPy arrays) and refuses any
other global: a crafted file, wherever it came from (a mirror, data/raw), fails with
an UnpicklingError naming what it asked for, instead of running code.
"""

import io
import pickle
import tarfile
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from ..errors import ZcnasError, choice_error

SPLITS = ("train", "test")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")

Split = tuple[np.ndarray, np.ndarray]

# Batch file names per split, and the label key, of the official python releases.
CIFAR_LAYOUTS = {
    "cifar10": ({"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}, "labels"),
    "cifar100": ({"train": ("train",), "test": ("test",)}, "fine_labels"),
}
IMAGENET16_BATCHES = {"train": tuple(f"train_data_batch_{i}" for i in range(1, 11)), "test": ("val_data",)}


def read_cifar_python(path: Path | str, dataset: str, split: str) -> Split:
    """A split of the official CIFAR python release: its tar.gz, or the extracted batch directory."""
    path = Path(path)
    if dataset not in CIFAR_LAYOUTS:
        raise choice_error("CIFAR dataset", dataset, list(CIFAR_LAYOUTS))
    batch_names, label_key = CIFAR_LAYOUTS[dataset]
    wanted = batch_names[_checked_split(split)]
    batches = _read_pickles_from_dir(path, wanted) if path.is_dir() else _read_pickles_from_tar(path, wanted)
    images = np.concatenate([_planar_to_hwc(path, name, _field(path, name, batches[name], "data"), 32) for name in wanted])
    labels = np.concatenate([np.asarray(_field(path, name, batches[name], label_key), dtype=np.int64) for name in wanted])
    return images, labels


def read_imagenet16(path: Path | str, split: str, num_classes: int = 120) -> Split:
    """A split of the NAS-Bench-201 ImageNet16 pickles, keeping labels 1..num_classes (shifted to 0-based)."""
    path = Path(path)
    names = IMAGENET16_BATCHES[_checked_split(split)]
    _require_files(path, names)
    images, labels = [], []
    # Filter batch by batch: the full training set is ~1 GB, the 120-class subset ~12% of it.
    for name in names:
        batch = _load_pickle(path / name)
        batch_labels = np.asarray(_field(path, name, batch, "labels"), dtype=np.int64)
        keep = batch_labels <= num_classes
        images.append(_planar_to_hwc(path, name, _field(path, name, batch, "data"), 16)[keep])
        labels.append(batch_labels[keep] - 1)
    return np.concatenate(images), np.concatenate(labels)


def read_image_folder(path: Path | str) -> dict[str, Split]:
    """Every split of an image-folder tree (`<split>/<class>/<image>`), as a directory or a tar archive.

    Labels index the sorted class names of all splits together; images are ordered by
    class, then file name. All splits are decoded at once because a compressed tar can
    only be read front to back.
    """
    path = Path(path)
    blobs = _image_blobs_from_dir(path) if path.is_dir() else _image_blobs_from_tar(path)
    if not blobs:
        raise ZcnasError(f"{path} holds no images laid out as <split>/<class>/<image> with split in {SPLITS}")
    classes = sorted({cls for _, cls, _ in blobs})
    label_of = {cls: index for index, cls in enumerate(classes)}
    splits = {}
    for split in SPLITS:
        keys = sorted(key for key in blobs if key[0] == split)
        if keys:
            images = _decode_images(path, keys, blobs)
            splits[split] = images, np.array([label_of[cls] for _, cls, _ in keys], dtype=np.int64)
    return splits


def _checked_split(split: str) -> str:
    if split not in SPLITS:
        raise choice_error("split", split, SPLITS)
    return split


def pick_split(path: Path, splits: dict[str, Split], split: str) -> Split:
    if split not in splits:
        raise ZcnasError(f"{path} has no {split}/ images (found: {', '.join(splits) or 'none'})")
    return splits[split]


def _read_pickles_from_tar(path: Path, names: tuple[str, ...]) -> dict[str, dict]:
    found = {}
    with tarfile.open(path, "r:*") as tar:
        for member in tar:
            name = PurePosixPath(member.name).name
            if member.isfile() and name in names and name not in found:
                found[name] = _unpickle(tar.extractfile(member))
    _require(path, names, found)
    return found


def _read_pickles_from_dir(path: Path, names: tuple[str, ...]) -> dict[str, dict]:
    _require_files(path, names)
    return {name: _load_pickle(path / name) for name in names}


def _require_files(path: Path, names: tuple[str, ...]) -> None:
    if not path.is_dir():
        raise ZcnasError(f"{path} is not a directory; expected one holding {', '.join(names)}")
    _require(path, names, {name for name in names if (path / name).is_file()})


def _load_pickle(file: Path) -> dict:
    with open(file, "rb") as handle:
        return _unpickle(handle)


# The globals a dataset pickle may name: NumPy's array and scalar reconstructors (old and
# new module paths) and, for bytes pickled by Python 3 at protocol 2, codecs.encode.
_NUMPY_MODULES = ("numpy", "numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric",
                  "numpy._core.numeric")
_ALLOWED_GLOBALS = {(module, name) for module in _NUMPY_MODULES
                    for name in ("ndarray", "dtype", "_reconstruct", "scalar", "_frombuffer")} | {("_codecs", "encode")}


class _DataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"the pickle names {module}.{name}, which no dataset file holds; "
                                         "refusing to load it (a crafted or foreign file?)")
        return super().find_class(module, name)


def _unpickle(handle) -> dict:
    # latin1 decodes Python-2 pickles (the official files); normalise bytes keys to str.
    entry = _DataUnpickler(handle, encoding="latin1").load()
    if not isinstance(entry, dict):
        raise pickle.UnpicklingError(f"the pickle holds a {type(entry).__name__}, not a dataset batch (a dict)")
    return {key.decode() if isinstance(key, bytes) else key: value for key, value in entry.items()}


def _require(path: Path, names: tuple[str, ...], found) -> None:
    missing = [name for name in names if name not in found]
    if missing:
        raise ZcnasError(f"{path} lacks {', '.join(missing)}; is it the right (complete) dataset file?")


def _field(path: Path, name: str, batch: dict, key: str):
    if key not in batch:
        raise ZcnasError(f"{path}: batch {name} has no {key!r} entry (keys: {', '.join(map(str, batch))})")
    return batch[key]


def _planar_to_hwc(path: Path, name: str, data, size: int) -> np.ndarray:
    data = np.asarray(data, dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3 * size * size:
        raise ZcnasError(f"{path}: batch {name} data has shape {data.shape}, expected N×{3 * size * size}")
    return np.ascontiguousarray(data.reshape(-1, 3, size, size).transpose(0, 2, 3, 1))


def _tree_key(relative: PurePosixPath) -> tuple[str, str, str] | None:
    """(split, class, file name) of an image path ending in <split>/<class>/<image>, else None."""
    parts = relative.parts
    if len(parts) < 3 or parts[-3] not in SPLITS:
        return None
    # Hidden files include macOS "._name.jpg" resource forks, which are not images.
    if parts[-1].startswith(".") or not parts[-1].lower().endswith(IMAGE_SUFFIXES):
        return None
    return parts[-3], parts[-2], parts[-1]


def _image_blobs_from_tar(path: Path) -> dict[tuple[str, str, str], bytes]:
    blobs = {}
    with tarfile.open(path, "r:*") as tar:
        for member in tar:
            key = _tree_key(PurePosixPath(member.name)) if member.isfile() else None
            if key is not None:
                blobs[key] = tar.extractfile(member).read()
    return blobs


def _image_blobs_from_dir(path: Path) -> dict[tuple[str, str, str], bytes]:
    blobs = {}
    for file in path.rglob("*"):
        key = _tree_key(PurePosixPath(file.relative_to(path).as_posix()))
        if key is not None and file.is_file():
            blobs[key] = file.read_bytes()
    return blobs


def _decode_images(path: Path, keys: list[tuple[str, str, str]], blobs: dict) -> np.ndarray:
    images = None
    for index, key in enumerate(keys):
        try:
            with Image.open(io.BytesIO(blobs[key])) as image:
                pixels = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
        except OSError as exc:
            raise ZcnasError(f"{path}: cannot decode {'/'.join(key)} ({exc})") from exc
        if images is None:
            images = np.empty((len(keys), *pixels.shape), dtype=np.uint8)
        elif pixels.shape != images.shape[1:]:
            raise ZcnasError(
                f"{path}: {'/'.join(key)} is {pixels.shape[1]}×{pixels.shape[0]}, "
                f"but {'/'.join(keys[0])} is {images.shape[2]}×{images.shape[1]}; all images must be the same size"
            )
        images[index] = pixels
    return images
