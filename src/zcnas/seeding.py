"""Seeds derived from (global seed, identity), so results never depend on order or process."""

import hashlib
import random
from contextlib import contextmanager

import numpy as np
import torch


def derive_seed(global_seed: int, *identity: object) -> int:
    """A 63-bit seed from the global seed and any identifying values (e.g. an arch key).

    Uses SHA-256 rather than `hash()` because Python salts string hashes per process.
    """
    text = "\x1f".join([str(int(global_seed)), *map(str, identity)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


@contextmanager
def seeded(seed: int):
    """Seed torch, numpy and random for the block, restoring their previous states after."""
    py_state, np_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        random.seed(seed)
        np.random.seed(seed % 2**32)
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
