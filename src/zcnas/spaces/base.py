"""What every search space provides.

An architecture is a small immutable value (hashable, comparable); its `format`
string is what tables store in their `arch` column and `parse` reads back.
"""

import random
from typing import TYPE_CHECKING, Any, Hashable, Protocol

if TYPE_CHECKING:  # for annotations only: listing the spaces needs no torch
    from torch import nn


class FeatureNetwork(Protocol):
    """What `SearchSpace.build` returns: a module that also names its feature modules."""

    def feature_modules(self) -> "dict[str, nn.Module]":
        """name -> module whose output is a feature map: `stage1`, `stage2`, ... the end of
        each stage (before any reduction to the next), in order, and `pre_pool`, the map
        global pooling reads (for a proxy hooking them; see `zcnas.proxies.passes.tools`)."""

    def blocks(self) -> "list[nn.Module]":
        """The modules that, run in turn on the input, give the features before the head:
        the stem and each cell (block-wise proxies such as AZ-NAS read every output)."""


class SearchSpace(Protocol):
    name: str
    size: int  # how many architectures the space holds (distinct benchmark entries)

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

    def build(self, arch: Hashable, num_classes: int, **options: Any) -> FeatureNetwork:
        """The network, initialised from torch's global RNG (seed it first)."""

    def reinitialise(self, net: "nn.Module") -> bool:
        """Re-draw, in place, the weights (and reset the statistics) of a CPU network this space
        built, from torch's global RNG, exactly as `build` would draw them under the same seed,
        and say True; or say False, leaving `net` alone, where the space cannot (the caller
        then builds afresh). Scoring one architecture under several weight seeds saves a build."""
