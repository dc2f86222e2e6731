"""Per-space encodings of cells: choice vectors (for policies) and graphs (for GCNs).

NB201 puts operations on edges; as in BRP-NAS we turn each cell into a DAG whose nodes
are the input, one node per edge operation and the output, an op node feeding every op
node on an edge that leaves its target. NB101 already has op nodes: its pruned
adjacency matrix is laid out on 7 slots, the output always in the last slot and
absent vertices as empty slots before it (no edges, no features, masked out).
"""

from dataclasses import dataclass
from typing import Hashable, Sequence

import numpy as np
import torch

from ..errors import choice_error
from ..spaces import SearchSpace
from ..spaces.nb201.cell import EDGES, NUM_NODES
from ..spaces.nb201.cell import OPS as NB201_OPS

NB101_SLOTS = 7


@dataclass(frozen=True)
class GraphTensors:
    """A batch of cells as graphs: neighbour-averaging matrices, node features and a mask of real nodes."""

    neighbour_mean: torch.Tensor  # [cells, nodes, nodes]: row-normalised A + A^T (edges either way)
    features: torch.Tensor  # [cells, nodes, features]: one-hot node types
    mask: torch.Tensor  # [cells, nodes]: 1 for a real node, 0 for padding


def decision_codes(space: SearchSpace, archs: Sequence[Hashable]) -> tuple[np.ndarray, tuple[int, ...]]:
    """[cells, decisions] choice indices, and the number of choices of each decision."""
    if space.name == "nb201":
        codes = [[NB201_OPS.index(op) for op in cell] for cell in archs]
        return np.array(codes, dtype=np.int64).reshape(len(archs), len(EDGES)), (len(NB201_OPS),) * len(EDGES)
    if space.name == "nb101":
        from ..spaces.nb101 import OPS

        edge_slots = np.triu_indices(NB101_SLOTS, k=1)
        absent = len(OPS)
        codes = []
        for spec in archs:
            matrix, ops = _nb101_layout(spec)
            interior = [absent if op is None else OPS.index(op) for op in ops[1:-1]]
            codes.append([*matrix[edge_slots], *interior])
        choices = (2,) * len(edge_slots[0]) + (len(OPS) + 1,) * (NB101_SLOTS - 2)
        return np.array(codes, dtype=np.int64).reshape(len(archs), len(choices)), choices
    raise choice_error("search space for encodings", space.name, ("nb201", "nb101"))


def graph_tensors(space: SearchSpace, archs: Sequence[Hashable]) -> GraphTensors:
    if space.name == "nb201":
        structure = _nb201_graph_structure()
        types = ("input", *NB201_OPS, "output")
        adjacency = np.broadcast_to(structure, (len(archs), *structure.shape))
        features = np.zeros((len(archs), len(structure), len(types)), dtype=np.float32)
        for row, cell in enumerate(archs):
            for node, op in enumerate(["input", *cell, "output"]):
                features[row, node, types.index(op)] = 1
        mask = np.ones((len(archs), len(structure)), dtype=np.float32)
        return _tensors(adjacency, features, mask)
    if space.name == "nb101":
        from ..spaces.nb101 import INPUT, OPS, OUTPUT

        types = (INPUT, *OPS, OUTPUT)
        adjacency = np.zeros((len(archs), NB101_SLOTS, NB101_SLOTS), dtype=np.float32)
        features = np.zeros((len(archs), NB101_SLOTS, len(types)), dtype=np.float32)
        for row, spec in enumerate(archs):
            matrix, ops = _nb101_layout(spec)
            adjacency[row] = matrix
            for slot, op in enumerate(ops):
                if op is not None:
                    features[row, slot, types.index(op)] = 1
        return _tensors(adjacency, features, features.max(axis=2))
    raise choice_error("search space for encodings", space.name, ("nb201", "nb101"))


def _nb201_graph_structure() -> np.ndarray:
    """The op-node DAG shared by all NB201 cells: node 0 input, 1..6 edges, 7 output."""
    edge_nodes = {edge: 1 + position for position, edge in enumerate(EDGES)}
    output = len(EDGES) + 1
    adjacency = np.zeros((output + 1, output + 1), dtype=np.float32)
    for (target, source), node in edge_nodes.items():
        if source == 0:
            adjacency[0, node] = 1
        for (into_target, _), into_node in edge_nodes.items():
            if into_target == source:
                adjacency[into_node, node] = 1
        if target == NUM_NODES - 1:
            adjacency[node, output] = 1
    return adjacency


def _nb101_layout(spec) -> tuple[np.ndarray, list[str | None]]:
    """The pruned cell on 7 slots: its vertices in order, the output moved to the last slot."""
    size = spec.num_vertices
    slots = list(range(size - 1)) + [NB101_SLOTS - 1]
    matrix = np.zeros((NB101_SLOTS, NB101_SLOTS), dtype=np.int64)
    matrix[np.ix_(slots, slots)] = np.array(spec.matrix, dtype=np.int64)
    ops: list[str | None] = [None] * NB101_SLOTS
    for slot, op in zip(slots, spec.ops):
        ops[slot] = op
    return matrix, ops


def _tensors(adjacency: np.ndarray, features: np.ndarray, mask: np.ndarray) -> GraphTensors:
    linked = adjacency + np.swapaxes(adjacency, 1, 2)
    degree = linked.sum(axis=2, keepdims=True)
    neighbour_mean = linked / np.maximum(degree, 1)  # isolated (padding) nodes: a zero row
    return GraphTensors(
        torch.from_numpy(np.ascontiguousarray(neighbour_mean, dtype=np.float32)),
        torch.from_numpy(features),
        torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32)),
    )
