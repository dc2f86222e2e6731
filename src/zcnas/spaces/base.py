"""What every search space provides.

An architecture is a small immutable value (hashable, comparable); its `format`
string is what tables store in their `arch` column and `parse` reads back.
"""

import random
from typing import Any, Hashable, Protocol

from torch import nn


class SearchSpace(Protocol):
    name: str

    def parse(self, text: str) -> Hashable:
        """The architecture a table string names; ZcnasError naming the bad token if malformed."""

    def format(self, arch: Hashable) -> str:
        """The table string of an architecture (inverse of `parse`)."""

    def key(self, arch: Hashable) -> str:
        """The architecture's identity for seeding: equal keys score identically."""

    def sample(self, rng: random.Random) -> Hashable:
        """A uniformly random valid architecture."""

    def mutate(self, arch: Hashable, rng: random.Random) -> Hashable:
        """A random valid neighbour that differs from `arch`."""

    def build(self, arch: Hashable, num_classes: int, **options: Any) -> nn.Module:
        """The network, initialised from torch's global RNG (seed it first)."""
