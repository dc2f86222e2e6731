"""An append-only JSON-lines journal that lets long jobs resume.

The first line records the settings the rows were computed with; each later line is
one finished row, flushed as soon as it is written, so a killed job loses at most
the rows in progress. A torn last line (killed mid-write) is dropped on reopening,
and rows written with other settings are discarded rather than mixed in.
"""

import json
import warnings
from pathlib import Path

from .files import atomic_path


class Journal:
    def __init__(self, path: Path | str, settings: dict):
        self.path = Path(path)
        self.settings = json.loads(json.dumps(settings))  # as it reads back from disk
        self.rows: list[dict] = self._previous_rows()
        # Rewrite what is kept, so appends start after a clean line.
        with atomic_path(self.path) as tmp:
            tmp.write_text("".join(json.dumps(r) + "\n" for r in [{"settings": self.settings}, *self.rows]))
        self._handle = open(self.path, "a", encoding="utf-8")

    def _previous_rows(self) -> list[dict]:
        if not self.path.exists():
            return []
        records = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                warnings.warn(f"{self.path}: dropping an unreadable (torn) line", RuntimeWarning)
        if not records or records[0] != {"settings": self.settings}:
            warnings.warn(f"{self.path} was written with other settings; starting afresh", RuntimeWarning)
            return []
        return records[1:]

    def append(self, row: dict) -> None:
        self.rows.append(row)
        self._handle.write(json.dumps(row) + "\n")  # NaN is written as NaN and reads back as such
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()

    def remove(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)
