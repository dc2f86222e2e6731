"""NAS-Bench-201 (Dong & Yang, ICLR 2020): 15,625 cells on a fixed macro skeleton."""

import random

from .cell import OPS, Cell, all_cells, canonical_key, format_cell, mutate_cell, parse_cell, sample_cell
from .network import TinyNetwork


class _NB201Space:
    name = "nb201"
    size = len(OPS) ** 6  # an op on each of the cell's 6 edges
    ops = OPS

    def parse(self, text: str) -> Cell:
        return parse_cell(text)

    def format(self, arch: Cell) -> str:
        return format_cell(arch)

    def key(self, arch: Cell) -> str:
        # Isomorphic cells are distinct benchmark entries with their own results, so
        # the official string (not the canonical form) is the identity.
        return format_cell(arch)

    def canonical(self, arch: Cell) -> str:
        return canonical_key(arch)

    def sample(self, rng: random.Random) -> Cell:
        return sample_cell(rng)

    def mutate(self, arch: Cell, rng: random.Random) -> Cell:
        return mutate_cell(arch, rng)

    def all(self) -> list[Cell]:
        return all_cells()

    def build(self, arch: Cell, num_classes: int = 10, channels: int = 16, cells_per_stage: int = 5,
              run_everything: bool = False) -> TinyNetwork:
        return TinyNetwork(arch, num_classes, channels, cells_per_stage, run_everything)

    def reinitialise(self, net: TinyNetwork) -> bool:
        """A network's modules, listed in order, are the order `build` creates them in, and each
        draws its weights in its `reset_parameters` (BatchNorm also resets its statistics): run
        again in that order, they draw what a fresh build draws (tests/test_nb201.py)."""
        for module in net.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
        return True


NB201 = _NB201Space()

__all__ = ["NB201", "OPS", "Cell", "TinyNetwork", "parse_cell", "format_cell", "canonical_key"]
