"""Small random datasets in the image-folder layout, for smoke runs and tests without real data."""

from pathlib import Path

import numpy as np
from PIL import Image

from .datasets import dataset_info


def write_image_folder(root: Path | str, dataset: str, per_class: int = 4, seed: int = 0) -> Path:
    """Write `<root>/<dataset>-jpeg/{train,test}/<class>/<n>.png` with random pixels.

    Where the loaders look for an image-folder copy of `dataset`, so pointing the data
    directory at `root` makes `load_split` use it. Returns the folder written.
    """
    info = dataset_info(dataset)
    folder = Path(root) / f"{dataset}-jpeg"
    rng = np.random.default_rng(seed)
    size = info.image_size
    for split in ("train", "test"):
        for label in range(info.num_classes):
            class_dir = folder / split / f"class_{label:03d}"
            class_dir.mkdir(parents=True, exist_ok=True)
            for index in range(per_class):
                pixels = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(class_dir / f"{index:04d}.png")
    return folder
