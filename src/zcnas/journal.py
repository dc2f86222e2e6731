"""An append-only JSON-lines journal that lets long jobs resume.

The first line records the settings the rows were computed with; each later line is
one finished row, flushed as soon as it is written, so a killed job loses at most
the rows in progress. A line that is not a row (torn by a kill mid-write, or damaged:
not JSON, not an object, or without the row's keys) is dropped on reopening, with a
warning, and its row is computed again. A journal written with other settings is
never mixed in: it is moved aside to `<name>.stale-<UTC time>.jsonl`, the warning names
the settings that differ, and the job starts afresh.

One process at a time owns a journal: an exclusive `flock` on `<journal>.lock`, which
the kernel releases when the process dies, so a second run on the same output fails
at once (naming the owner's pid) instead of scoring everything twice.
"""

import fcntl
import itertools
import json
import os
import warnings
from datetime import datetime, timezone
from pathlib import Path

from .errors import ZcnasError
from .files import atomic_path


class Journal:
    def __init__(self, path: Path | str, settings: dict, row_keys: tuple[str, ...] = ("arch",)):
        """`row_keys`: the keys every row holds (the job's key for the item first)."""
        self.path = Path(path)
        self.settings = json.loads(json.dumps(settings))  # as it reads back from disk
        self.row_keys = row_keys
        self._handle = None
        self._lock = _Lock(self.path.with_name(self.path.name + ".lock"), self.path)
        try:
            self.rows: list[dict] = self._previous_rows()
            # Rewrite what is kept, so appends start after a clean line.
            with atomic_path(self.path) as tmp:
                tmp.write_text("".join(json.dumps(r) + "\n" for r in [{"settings": self.settings}, *self.rows]))
            self._handle = open(self.path, "a", encoding="utf-8")
        except BaseException:
            self._lock.release()
            raise

    def _previous_rows(self) -> list[dict]:
        if not self.path.exists():
            return []
        # Rows are written as ASCII JSON; other bytes can only be damage, dropped below as unreadable lines.
        lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        records, torn = [], 0
        for line in lines:
            try:
                records.append(json.loads(line))
            except (json.JSONDecodeError, RecursionError):
                torn += 1
        if not records or records[0] != {"settings": self.settings}:
            if any(line.strip() for line in lines):
                differing = _differing(records[0] if records else None, self.settings)
                stale = self._move_aside()
                warnings.warn(f"{self.path} was written with other settings ({differing}); kept it as {stale} "
                              "and starting afresh", RuntimeWarning)
            return []
        rows = [record for record in records[1:] if isinstance(record, dict) and all(k in record for k in self.row_keys)]
        torn += len(records) - 1 - len(rows)
        if torn:
            warnings.warn(f"{self.path}: dropping {torn} unreadable line(s) (torn or not a row); "
                          "their rows are computed again", RuntimeWarning)
        return rows

    def _move_aside(self) -> Path:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        base = self.path.with_suffix("")
        for number in itertools.count(1):
            stale = base.with_name(f"{base.name}.stale-{stamp}{'' if number == 1 else f'-{number}'}.jsonl")
            if not stale.exists():
                os.replace(self.path, stale)
                return stale

    def append(self, row: dict) -> None:
        self.rows.append(row)
        self._handle.write(json.dumps(row) + "\n")  # NaN is written as NaN and reads back as such
        self._handle.flush()

    def close(self) -> None:
        """Stop appending and give up the lock; the journal stays for a later run to resume,
        unless it holds no row (a run that failed before its first: nothing to resume)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if not self.rows and self._lock.held:
            self.path.unlink(missing_ok=True)  # while still locked, as in remove()
        self._lock.release()

    def remove(self) -> None:
        """Delete the journal (its job is done), then close it."""
        # Deleted while still locked, so no other run can open it in between and append to a removed file.
        self.path.unlink(missing_ok=True)
        self.close()


def _differing(header, settings: dict) -> str:
    """Which settings of a journal's first line differ from `settings`, in words."""
    old = header.get("settings") if isinstance(header, dict) else None
    if not isinstance(old, dict):
        return "its first line holds no settings"
    keys = sorted(key for key in set(old) | set(settings) if old.get(key) != settings.get(key))
    return "differing: " + ", ".join(f"{key} {_short(old.get(key))} -> {_short(settings.get(key))}" for key in keys)


def _short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Lock:
    """An exclusive `flock` on `path`, a file holding the owner's pid for whoever is refused."""

    def __init__(self, path: Path, journal: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = os.read(fd, 32).decode("ascii", errors="replace").strip() or "unknown"
                os.close(fd)
                raise ZcnasError(
                    f"{journal} is in use by another run (process {owner}, holding {path}); "
                    "wait for it to finish or stop it, or write to another output"
                ) from None
            # An owner deletes the file before unlocking it: if that happened between our open and
            # flock, we hold a lock on a deleted file that the next run would not see. Try again.
            try:
                current = os.path.samestat(os.stat(path), os.fstat(fd))
            except FileNotFoundError:
                current = False
            if current:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self.path, self._fd = path, fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)
        os.close(self._fd)  # closing the last descriptor of the file releases the flock
        self._fd = None
