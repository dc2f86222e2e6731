"""A disk cache for decoded image-folder archives (decoding 60k JPEGs takes ~10 s).

Caches live in one place per user, not in the directory a command runs in:
`$ZCNAS_CACHE_DIR` if set, else `$XDG_CACHE_HOME/zcnas`, else `~/.cache/zcnas`.
"""

import os
import sys
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..files import atomic_path
from .readers import Split, pick_split

CACHE_ENV = "ZCNAS_CACHE_DIR"

_announced: set[Path] = set()  # cache directories already named on stderr by this process


def user_cache_dir() -> Path:
    """Where zcnas keeps its caches: $ZCNAS_CACHE_DIR, else $XDG_CACHE_HOME/zcnas, else ~/.cache/zcnas."""
    if value := os.environ.get(CACHE_ENV):
        return Path(value).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    # The XDG base-directory spec says a relative XDG_CACHE_HOME is invalid and is to be ignored.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "zcnas"


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
        # A read-only cache directory only costs speed, so keep going.
        warnings.warn(f"could not write the decoded-image cache {path}: {exc}", stacklevel=2)
    else:
        # The cache is large (~180 MB for CIFAR-10), so say once where it went and how to move it.
        if cache_dir not in _announced:
            _announced.add(cache_dir)
            print(f"zcnas: cached decoded images in {path} ({path.stat().st_size / 1e6:.0f} MB); "
                  f"set {CACHE_ENV} to keep caches elsewhere", file=sys.stderr)
    return pick_split(source, splits, split)
