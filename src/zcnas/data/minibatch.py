"""The minibatch a zero-cost proxy scores an architecture on, and uint8 -> tensor conversion."""

from pathlib import Path

import numpy as np
import torch

from ..errors import ZcnasError, choice_error
from ..seeding import derive_seed
from .datasets import dataset_info
from .loading import DEFAULT_DATA_DIR, load_split

METHODS = ("random", "grasp")


def to_tensor(images: np.ndarray, dataset: str) -> torch.Tensor:
    """uint8 N×H×W×3 images as a float32 N×3×H×W tensor, normalised with the dataset's mean/std."""
    info = dataset_info(dataset)
    images = np.asarray(images)
    size = info.image_size
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (size, size, 3):
        raise ZcnasError(f"{dataset} images must be uint8 N×{size}×{size}×3, got {images.dtype} {images.shape}")
    pixels = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255
    mean = torch.tensor(info.mean, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(info.std, dtype=torch.float32).view(1, 3, 1, 1)
    return ((pixels - mean) / std).contiguous()


def select_minibatch(
    images: np.ndarray, labels: np.ndarray, dataset: str, method: str, batch_size: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded minibatch (X normalised float32 B×3×H×W, y int64 B).

    `random`: `batch_size` images without replacement. `grasp` (as in GraSP and the
    paper): `batch_size // num_classes` images of every class, ordered by class.
    """
    info = dataset_info(dataset)
    if method not in METHODS:
        raise choice_error("minibatch method", method, METHODS)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != len(images):
        raise ZcnasError(f"got {len(images)} images but {len(labels)} labels")
    if not 1 <= batch_size <= len(labels):
        raise ZcnasError(f"batch_size must be between 1 and the number of images ({len(labels)}), got {batch_size}")
    # Derived so the batch does not share a random stream with anything else seeded by `seed`.
    rng = np.random.default_rng(derive_seed(seed, "minibatch", dataset, method))
    if method == "random":
        indices = rng.choice(len(labels), size=batch_size, replace=False)
    else:
        indices = _per_class_indices(labels, info.num_classes, batch_size, rng, dataset)
    return to_tensor(images[indices], dataset), torch.from_numpy(labels[indices])


def _per_class_indices(
    labels: np.ndarray, num_classes: int, batch_size: int, rng: np.random.Generator, dataset: str
) -> np.ndarray:
    per_class = batch_size // num_classes
    if per_class < 1:
        raise ZcnasError(
            f"grasp minibatch needs batch_size >= num_classes: batch_size={batch_size} // "
            f"num_classes={num_classes} ({dataset}) gives {per_class} images per class"
        )
    chosen = []
    for label in range(num_classes):
        members = np.flatnonzero(labels == label)
        if len(members) < per_class:
            raise ZcnasError(
                f"grasp minibatch needs {per_class} images of class {label} but only {len(members)} exist"
            )
        chosen.append(rng.choice(members, size=per_class, replace=False))
    return np.concatenate(chosen)


def load_minibatch(
    dataset: str,
    method: str,
    batch_size: int,
    seed: int,
    data_dir: Path | str = DEFAULT_DATA_DIR,
    download: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """`select_minibatch` from the training split of `dataset`; the same seed gives the same batch bit for bit."""
    images, labels = load_split(dataset, "train", data_dir, download)
    return select_minibatch(images, labels, dataset, method, batch_size, seed)
