"""The images a reduced-training run sees: a held-out validation split of the training
set, a fraction of the rest, resized once to the config's resolution.

Both splits are plain seeded random draws (not stratified): on CIFAR-sized data class
counts then vary by only a few percent of a class, the same for every architecture,
and the draws stay well defined for tiny test sets. The training subsets are prefixes
of one seeded permutation, so a smaller fraction is always part of a larger one and
configs that differ only in r or c train on the very same images.
"""

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..data import dataset_info, to_tensor
from ..errors import ZcnasError
from ..seeding import derive_seed
from .config import TrainingConfig

# Images converted and resized per step, bounding the float32 copy of the full-size images.
_RESIZE_CHUNK = 4096


@dataclass(frozen=True)
class SplitIndices:
    train: np.ndarray  # indices into the dataset's training split
    val: np.ndarray


@dataclass(frozen=True)
class TrainingData:
    """Normalised float32 N×3×r×r images and int64 labels, plus what augmentation needs."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    val_images: torch.Tensor
    val_labels: torch.Tensor
    fill: torch.Tensor  # per channel: a black pixel after normalisation, the crop padding
    num_classes: int

    @property
    def resolution(self) -> int:
        return self.train_images.shape[-1]

    def _tensors(self) -> tuple[torch.Tensor, ...]:
        return self.train_images, self.train_labels, self.val_images, self.val_labels, self.fill

    def to(self, device: torch.device) -> "TrainingData":
        return TrainingData(*(tensor.to(device) for tensor in self._tensors()), self.num_classes)


def split_sizes(num_images: int, val_fraction: float, train_fraction: float) -> tuple[int, int]:
    """(validation images, training images) of `split_indices`, checked."""
    if not 0 < val_fraction < 1:
        raise ZcnasError(f"validation fraction must be in (0, 1), got {val_fraction!r}")
    if not 0 < train_fraction <= 1:
        raise ZcnasError(f"training fraction must be in (0, 1], got {train_fraction!r}")
    num_val = round(num_images * val_fraction)
    if num_val < 1 or num_images - num_val < 2:
        raise ZcnasError(
            f"validation fraction {val_fraction} of {num_images} training images leaves {num_val} for validation "
            f"and {num_images - num_val} for training; need at least 1 and 2"
        )
    num_train = round((num_images - num_val) * train_fraction)
    if num_train < 2:
        raise ZcnasError(
            f"training fraction {train_fraction} of {num_images - num_val} training images keeps {num_train}; "
            "need at least 2"
        )
    return num_val, num_train


def split_indices(num_images: int, val_fraction: float, train_fraction: float, seed: int) -> SplitIndices:
    """Seeded disjoint index sets: `val_fraction` of all images held out for validation,
    then `train_fraction` of the remaining ones for training."""
    num_val, num_train = split_sizes(num_images, val_fraction, train_fraction)
    held_out = np.random.default_rng(derive_seed(seed, "econas-validation")).permutation(num_images)
    val, rest = held_out[:num_val], held_out[num_val:]
    order = np.random.default_rng(derive_seed(seed, "econas-training-order")).permutation(len(rest))
    return SplitIndices(train=np.sort(rest[order[:num_train]]), val=np.sort(val))


def resize_images(images: np.ndarray, dataset: str, resolution: int) -> torch.Tensor:
    """uint8 N×H×W×3 images as normalised float32 N×3×r×r, antialiased bilinear when shrunk."""
    size = dataset_info(dataset).image_size
    out = torch.empty((len(images), 3, resolution, resolution), dtype=torch.float32)
    for start in range(0, len(images), _RESIZE_CHUNK):
        chunk = to_tensor(images[start : start + _RESIZE_CHUNK], dataset)
        if resolution != size:
            chunk = F.interpolate(chunk, size=(resolution, resolution), mode="bilinear", antialias=True,
                                  align_corners=False)
        out[start : start + len(chunk)] = chunk
    return out


def prepare_data(
    images: np.ndarray, labels: np.ndarray, dataset: str, config: TrainingConfig, seed: int, val_fraction: float = 0.1
) -> tuple[TrainingData, SplitIndices]:
    """The config's training subset and the shared validation split, resized to its resolution."""
    config.check_dataset(dataset)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != len(images):
        raise ZcnasError(f"got {len(images)} images but {len(labels)} labels")
    indices = split_indices(len(labels), val_fraction, config.fraction, seed)
    config.check_training_images(len(indices.train))
    size = dataset_info(dataset).image_size
    black = to_tensor(np.zeros((1, size, size, 3), dtype=np.uint8), dataset)[0, :, 0, 0].clone()
    data = TrainingData(
        train_images=resize_images(images[indices.train], dataset, config.resolution),
        train_labels=torch.from_numpy(labels[indices.train]),
        val_images=resize_images(images[indices.val], dataset, config.resolution),
        val_labels=torch.from_numpy(labels[indices.val]),
        fill=black,
        num_classes=dataset_info(dataset).num_classes,
    )
    return data, indices


def data_digest(images: np.ndarray, labels: np.ndarray) -> str:
    """Identifies the dataset a journal's rows were trained on."""
    digest = hashlib.sha256()
    for array in (images, labels):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]
