"""A disk cache for decoded image-folder archives (decoding 60k JPEGs takes ~10 s)."""

import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..files import atomic_path
from .readers import Split, pick_split


def cache_file(source: Path, cache_dir: Path) -> Path:
    """Cache path keyed by the source's name, size and mtime, so a replaced source is re-decoded."""
    stat = source.stat()
    return cache_dir / f"{source.name}-{stat.st_size}-{stat.st_mtime_ns}.npz"


def cached_split(source: Path, split: str, cache_dir: Path, decode: Callable[[], dict[str, Split]]) -> Split:
    """`split` of `source` from the cache, else from `decode()` (all splits), caching them all."""
    path = cache_file(source, cache_dir)
    if path.exists():
        try:
            with np.load(path) as arrays:
                return arrays[f"{split}_images"], arrays[f"{split}_labels"]
        except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile):
            pass  # unreadable or incomplete cache: decode again and overwrite it
    splits = decode()
    arrays = {f"{name}_{kind}": array for name, pair in splits.items() for kind, array in zip(("images", "labels"), pair)}
    try:
        with atomic_path(path) as tmp:
            np.savez(tmp, **arrays)
    except OSError as exc:
        # A read-only data directory only costs speed, so keep going.
        warnings.warn(f"could not write the decoded-image cache {path}: {exc}", stacklevel=2)
    return pick_split(source, splits, split)
