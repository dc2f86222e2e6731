"""Work items for tests/test_execution.py, importable by the worker processes it starts."""

import os
import time
from pathlib import Path

import torch

from zcnas.errors import ZcnasError
from zcnas.execution import torch_threads


def record_then_wait(directory: str, item) -> int:
    """Leave this process's id in `directory`; then fail (item "fail", once every worker
    has left its id) or sleep `item` seconds."""
    Path(directory, str(os.getpid())).touch()
    if item == "fail":
        deadline = time.time() + 600
        while len(os.listdir(directory)) < 2 and time.time() < deadline:
            time.sleep(0.1)
        raise ZcnasError("item 'fail' refused")
    time.sleep(item)
    return os.getpid()


def square(offset: int, item: int) -> int:
    return item * item + offset


def threads(count: int):
    return torch_threads(count)


def threads_seen(state, item) -> int:
    return torch.get_num_threads()
