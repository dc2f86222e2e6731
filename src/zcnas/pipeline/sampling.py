"""Seeded samples of a benchmark's architectures."""

import random

from ..errors import ZcnasError
from ..seeding import derive_seed


def sample_archs(archs, size: int | str, seed: int, purpose: str, what: str) -> list[str]:
    """`size` architectures (or "all") drawn without replacement from `archs`.

    The draw depends only on the set of architectures, the seed and `purpose`, not
    on the order the table lists them in. `what` names the population in errors.
    """
    population = sorted(set(archs))
    if size == "all":
        return population
    if size > len(population):
        raise ZcnasError(f"sample size {size} exceeds the {len(population)} architectures of {what}")
    return random.Random(derive_seed(seed, "sample", purpose)).sample(population, size)
