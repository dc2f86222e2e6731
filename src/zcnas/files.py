"""Atomic file writes: outputs appear whole or not at all."""

import json
import os
import secrets
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from .errors import ZcnasError

TABLE_SUFFIXES = (".parquet", ".csv")


@contextmanager
def atomic_path(path: Path | str):
    """Yield a temporary path beside `path`; on success it is renamed onto `path`.

    The file is created with mode 0o666 and the umask applied, as `open()` would, so
    the output gets the permissions the user asked for (tempfile.mkstemp forces 0o600).
    A symlink at `path` is written through: its target gets the new content, the link stays.
    """
    path = Path(os.path.realpath(path)) if Path(path).is_symlink() else Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_beside(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _create_beside(path: Path) -> Path:
    # O_EXCL makes the name ours alone; a collision of 64 random bits only means another try.
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}{path.suffix}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue


def check_table_path(path: Path | str) -> Path:
    """`path` if a table can be written there, else a ZcnasError saying why.

    For a long job to fail at its start rather than after all the work: the format
    comes from the suffix, and the nearest existing directory must be writable: by
    its mode bits, and by trying (root passes any mode check, and /proc refuses files).
    """
    path = Path(path)
    expected = f"expected a file name ending in {' or '.join(TABLE_SUFFIXES)}"
    if path.is_dir():
        raise ZcnasError(f"cannot write a table to {path}: it is a directory; {expected}")
    if path.suffix not in TABLE_SUFFIXES:
        found = f"unsupported format {path.suffix!r}" if path.suffix else "no format suffix"
        raise ZcnasError(f"cannot write a table to {path}: {found}; {expected}")
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ZcnasError(f"cannot write a table to {path}: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ZcnasError(f"cannot write a table to {path}: directory {existing} is not writable")
    try:
        os.unlink(_create_beside(existing / ".zcnas-write-check"))
    except OSError as exc:
        raise ZcnasError(f"cannot write a table to {path}: cannot create a file in {existing} "
                         f"({exc.strerror or exc})") from None
    return path


def write_table(frame: pd.DataFrame, path: Path | str) -> None:
    """Write a table as Parquet or CSV (by suffix), atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        elif path.suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            raise ValueError(f"unsupported table format {path.suffix!r} for {path}; expected .parquet or .csv")


def read_table(path: Path | str) -> pd.DataFrame:
    path = Path(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path)
    raise ValueError(f"unsupported table format {path.suffix!r} for {path}; expected .parquet or .csv")


def write_json(data: object, path: Path | str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, allow_nan=True) + "\n")
