"""The minibatch a zero-cost proxy scores an architecture on, and uint8 -> tensor conversion."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import ZcnasError, choice_error
from ..seeding import derive_seed
from .datasets import dataset_info
from .loading import DEFAULT_DATA_DIR, load_split

METHODS = ("random", "grasp")
# per_arch: a fresh training batch per architecture, as the paper's code draws one
# (a shuffled loader's next batch); shared: one batch for every architecture.
CONVENTIONS = ("per_arch", "shared")


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
    images: np.ndarray, labels: np.ndarray, dataset: str, method: str, batch_size: int, seed: int,
    *identity: object,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded minibatch (X normalised float32 B×3×H×W, y int64 B).

    `random`: `batch_size` images without replacement. `grasp` (as in GraSP and the
    paper): `batch_size // num_classes` images of every class, ordered by class.
    `identity` (e.g. an architecture key) selects one of many independent batches.
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
    rng = np.random.default_rng(derive_seed(seed, "minibatch", dataset, method, *identity))
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


@dataclass(frozen=True, eq=False)
class Minibatches:
    """The minibatch each architecture is scored on.

    `shared`: one batch for every architecture (`inputs`, `targets`). `per_arch`: a
    batch drawn from the training split (`images`, `labels`) for each architecture,
    seeded by (seed, architecture key), so a score still does not depend on the order
    or the process that computed it. Build with `Minibatches.shared` or `.per_arch`.
    """

    convention: str
    inputs: torch.Tensor | None = None
    targets: torch.Tensor | None = None
    images: np.ndarray | None = None
    labels: np.ndarray | None = None
    dataset: str = ""
    method: str = "random"
    batch_size: int = 0
    seed: int = 0

    @classmethod
    def shared(cls, inputs: torch.Tensor, targets: torch.Tensor) -> "Minibatches":
        if len(inputs) != len(targets):
            raise ZcnasError(f"got {len(inputs)} inputs but {len(targets)} targets")
        return cls("shared", inputs=inputs, targets=targets)

    @classmethod
    def per_arch(cls, images: np.ndarray, labels: np.ndarray, dataset: str, method: str, batch_size: int,
                 seed: int) -> "Minibatches":
        select_minibatch(images, labels, dataset, method, batch_size, seed)  # bad settings fail here, not mid-run
        return cls("per_arch", images=images, labels=labels, dataset=dataset, method=method, batch_size=batch_size,
                   seed=seed)

    def batch(self, arch_key: str) -> tuple[torch.Tensor, torch.Tensor]:
        if self.convention == "shared":
            return self.inputs, self.targets
        return select_minibatch(self.images, self.labels, self.dataset, self.method, self.batch_size, self.seed,
                                "arch", arch_key)

    def digest(self) -> str:
        """Identifies the batches: their content (shared) or the split and the draw (per_arch)."""
        digest = hashlib.sha256(self.convention.encode())
        if self.convention == "shared":
            arrays = [self.inputs.detach().cpu().contiguous().numpy(), self.targets.detach().cpu().numpy()]
        else:
            digest.update(repr((self.dataset, self.method, self.batch_size, self.seed)).encode())
            arrays = [np.ascontiguousarray(self.images), np.ascontiguousarray(self.labels)]
        for array in arrays:
            digest.update(array.tobytes())
        return digest.hexdigest()[:16]


def load_minibatches(
    dataset: str,
    method: str,
    batch_size: int,
    seed: int,
    convention: str = "per_arch",
    data_dir: Path | str = DEFAULT_DATA_DIR,
    download: bool = True,
) -> Minibatches:
    """The minibatches of `dataset`'s training split under `convention` (see `Minibatches`)."""
    if convention not in CONVENTIONS:
        raise choice_error("minibatch convention", convention, CONVENTIONS)
    images, labels = load_split(dataset, "train", data_dir, download)
    if convention == "shared":
        return Minibatches.shared(*select_minibatch(images, labels, dataset, method, batch_size, seed))
    return Minibatches.per_arch(images, labels, dataset, method, batch_size, seed)
