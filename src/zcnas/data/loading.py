"""Loading a whole dataset split from whichever copy is available (local, mirror, download)."""

import pickle
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ZcnasError, choice_error
from ..resources import MIRROR_ENV, Resource, locate
from .cache import cached_split, user_cache_dir
from .datasets import DatasetInfo, dataset_info
from .readers import SPLITS, Split, pick_split, read_cifar_python, read_image_folder, read_imagenet16

DEFAULT_DATA_DIR = Path("data/raw")

# What a corrupt or truncated file raises from tarfile, gzip, pickle or numpy.
_READ_ERRORS = (OSError, EOFError, tarfile.TarError, zlib.error, pickle.UnpicklingError, ValueError)


@dataclass(frozen=True)
class Source:
    resource: Resource
    format: str  # "cifar-python" | "image-folder" | "imagenet16"


def _cifar_sources(dataset: str, official: str, url: str, md5: str, batches_dir: str) -> tuple[Source, ...]:
    folder = f"{dataset}-jpeg.tar.gz"
    return (
        # The official release first: its pixels are exact, the image-folder copy is JPEG-compressed.
        Source(
            Resource(
                name=f"{dataset} (official python release)",
                filename=official,
                alternatives=(batches_dir,),
                mirror_paths=(f"{dataset}/{official}", official),
                url=url,
                md5=md5,
            ),
            "cifar-python",
        ),
        Source(
            Resource(
                name=f"{dataset} (image-folder archive)",
                filename=folder,
                alternatives=(f"{dataset}/{folder}", f"{dataset}-jpeg"),
                mirror_paths=(f"{dataset}/{folder}",),
            ),
            "image-folder",
        ),
    )


SOURCES: dict[str, tuple[Source, ...]] = {
    "cifar10": _cifar_sources(
        "cifar10",
        "cifar-10-python.tar.gz",
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "c58f30108f718f92721af3b95e74349a",
        "cifar-10-batches-py",
    ),
    "cifar100": _cifar_sources(
        "cifar100",
        "cifar-100-python.tar.gz",
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "eb9058c3a382ffc7106e4002c42a8d85",
        "cifar-100-python",
    ),
    "imagenet16-120": (
        Source(
            Resource(
                name="imagenet16-120 (ImageNet16 pickled batches)",
                filename="ImageNet16",
                mirror_paths=("ImageNet16", "imagenet16/ImageNet16"),
                how_to_obtain=(
                    "ImageNet16 has no public download: obtain it from the NAS-Bench-201 authors "
                    "(https://github.com/D-X-Y/NAS-Bench-201) and place the ImageNet16/ directory "
                    "(train_data_batch_1..train_data_batch_10, val_data) under the data directory "
                    f"(default data/raw/ImageNet16) or under ${MIRROR_ENV}/ImageNet16."
                ),
            ),
            "imagenet16",
        ),
    ),
}


def find_source(dataset: str, data_dir: Path | str = DEFAULT_DATA_DIR, download: bool = True) -> tuple[Source, Path]:
    """The preferred available copy of `dataset`; downloads only when no source is found anywhere."""
    dataset_info(dataset)
    sources = SOURCES[dataset]
    failures = {}
    for source in sources:
        try:
            return source, locate(source.resource, data_dir, download=False)
        except ZcnasError as exc:
            failures[source] = str(exc)
    if download:
        for source in sources:
            if source.resource.url:
                try:
                    return source, locate(source.resource, data_dir, download=True)
                except ZcnasError as exc:
                    failures[source] = str(exc)  # also says why the download failed
    raise ZcnasError(f"no copy of {dataset} found.\n\n" + "\n\n".join(failures.values()))


def load_split(
    dataset: str, split: str, data_dir: Path | str = DEFAULT_DATA_DIR, download: bool = True
) -> Split:
    """The whole `split` ("train" or "test") of `dataset` as (uint8 N×H×W×3 images, int64 labels).

    Decoded image-folder archives are cached in `user_cache_dir()` ($ZCNAS_CACHE_DIR,
    else $XDG_CACHE_HOME/zcnas, else ~/.cache/zcnas), never under the working directory.
    """
    info = dataset_info(dataset)
    if split not in SPLITS:
        raise choice_error("split", split, SPLITS)
    data_dir = Path(data_dir)
    source, path = find_source(dataset, data_dir, download)
    try:
        images, labels = _read(source, path, info, split)
    except _READ_ERRORS as exc:
        fix = "delete it to download it again" if source.resource.url else "replace it with a good copy"
        raise ZcnasError(f"cannot read {path} ({type(exc).__name__}: {exc}); it may be corrupt or truncated: {fix}") from exc
    _check(path, info, split, images, labels)
    return images, labels


def _read(source: Source, path: Path, info: DatasetInfo, split: str) -> Split:
    if source.format == "cifar-python":
        return read_cifar_python(path, info.name, split)
    if source.format == "imagenet16":
        return read_imagenet16(path, split, num_classes=info.num_classes)
    if path.is_dir():
        # An extracted tree is not cached: its name, size and mtime do not track its contents.
        return pick_split(path, read_image_folder(path), split)
    return cached_split(path, split, user_cache_dir(), lambda: read_image_folder(path))


def _check(path: Path, info: DatasetInfo, split: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Catch a wrong file in the right place (e.g. CIFAR-100 images where CIFAR-10 belongs)."""
    size = info.image_size
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (size, size, 3):
        raise ZcnasError(f"{path}: {split} images are {images.dtype} {images.shape}, expected uint8 N×{size}×{size}×3")
    if len(labels) != len(images):
        raise ZcnasError(f"{path}: {split} has {len(images)} images but {len(labels)} labels")
    present = np.unique(labels)
    if len(present) == 0:
        raise ZcnasError(f"{path}: {split} split is empty")
    if present.tolist() != list(range(info.num_classes)):
        raise ZcnasError(
            f"{path}: {split} labels cover {len(present)} classes in {present.min()}..{present.max()}, "
            f"expected every class 0..{info.num_classes - 1} of {info.name}"
        )
