"""Resumable jobs: the one way a long job (scoring, reduced training) journals its work.

A job's tasks go through the execution layer (`zcnas.execution`); each result is turned
into a row and journalled as it arrives, so a killed job loses at most the tasks under
way and a rerun skips the rest. The caller reads the rows back in its own order, writes
its outputs, and on leaving the `with` block the journals are removed; a job that fails
keeps them (`zcnas.journal`).

Every journal's identity is its group's settings plus a digest of `code`, the zcnas
modules that compute a row, and the torch version: after an edit to any of them (or
another torch) the journal is set aside and the job starts afresh, so rows of old and
new code are never mixed.
"""

from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import torch
from tqdm.auto import tqdm

from .execution import LOCAL, ExecutorSettings, Run, Setup, execute
from .fingerprint import source_digest
from .journal import Journal


class ResumableJob:
    """The journals of one job, one per group: scoring has one; reduced training one per
    config, so that changing one config redoes only its work. `row_keys` are the keys every
    row holds, the first naming its task (e.g. `arch`)."""

    def __init__(self, journals: Mapping[str, Path], settings: Mapping[str, dict], code: Sequence[str],
                 row_keys: tuple[str, ...] = ("arch",)):
        self.code = source_digest(*code)
        self.row_keys = row_keys
        self._journals: dict[str, Journal] = {}
        try:
            for group, path in journals.items():
                identity = {**settings[group], "code": self.code, "torch": torch.__version__}
                self._journals[group] = Journal(path, identity, row_keys)
        except BaseException:
            self._close()
            raise

    def __enter__(self) -> "ResumableJob":
        return self

    def __exit__(self, kind, error, trace) -> None:
        if kind is None:  # the caller's outputs are written: nothing is left to resume
            for journal in self._journals.values():
                journal.remove()
        else:
            self._close()

    def _close(self) -> None:
        for journal in self._journals.values():
            journal.close()

    def rows(self, group: str) -> dict[str, dict]:
        """The journalled rows of `group` by task name (a task journalled twice: its first row)."""
        return {row[self.row_keys[0]]: row for row in reversed(self._journals[group].rows)}

    def run(self, tasks: Sequence[tuple[Sequence[str], str, Any]], run: Run, shared: Any, setup: Setup,
            record: Callable[[Any], Iterable[tuple[str, dict]]], workers: int = 1,
            executor: ExecutorSettings = LOCAL, desc: str = "", unit: str = "it", progress: bool = True) -> None:
        """Run the tasks `(groups, name, item)` not yet journalled in every one of their groups:
        `run(state, item)` in workers set up by `setup(shared)`; `record(result)` gives the
        result's rows, a `(group, row)` for each of the task's groups, journalled at once. One
        progress bar counts every task."""
        done = {group: set(self.rows(group)) for group in self._journals}
        todo = [item for groups, name, item in tasks if any(name not in done[group] for group in groups)]
        with tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc=desc, unit=unit,
                  disable=not progress) as bar:
            for _, result in execute(run, todo, shared, setup, workers, executor):
                groups = []
                for group, row in record(result):
                    self._journals[group].append(row)
                    groups.append(group)
                if len(self._journals) > 1 and len(groups) == 1:
                    bar.set_postfix(last=groups[0])
                bar.update()
