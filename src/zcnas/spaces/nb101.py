"""NAS-Bench-101 (Ying et al., ICML 2019): cells of at most 7 vertices and 9 edges.

A cell is a DAG given by a strictly upper-triangular 0/1 adjacency matrix and one op per
vertex, the first being 'input' and the last 'output'. The table form is compact JSON:
`{"matrix":[[0,1],[0,0]],"ops":["input","output"]}`.

Cells are held pruned exactly as NB101's `ModelSpec` prunes them (vertices not on an
input-to-output path are removed), so a cell value is what the network computes. As in
the official API's `is_valid`, the 9-edge limit applies to the pruned cell: a raw 7x7
matrix with more edges is valid if its dangling vertices take the surplus with them.
Pruning, hashing and the network itself come from `nasbench_pytorch`.
"""

import json
import random
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from nasbench_pytorch.model import ModelSpec, Network
from nasbench_pytorch.model.graph_util import hash_module
from nasbench_pytorch.model.model import Cell, Placeholder
from torch import nn

from ..errors import ZcnasError, choice_error

INPUT, OUTPUT = "input", "output"
# The official `available_ops` order: the graph hash labels interior vertices by index here.
OPS = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
MAX_VERTICES = 7
MAX_EDGES = 9
# Mutation rates of `mutate_spec` in the official NASBench.ipynb (mutation_rate=1): each of
# the 21 edge slots flips with probability 1/7 (3 flips in expectation) and each interior op
# changes with probability 1/5 (one change in expectation).
EDGE_FLIP_PROB = 1 / MAX_VERTICES
OP_CHANGE_PROB = 1 / (MAX_VERTICES - 2)

EXAMPLE = '{"matrix":[[0,1,1],[0,0,1],[0,0,0]],"ops":["input","conv3x3-bn-relu","output"]}'


@dataclass(frozen=True)
class NB101Spec:
    """A valid, pruned NB101 cell. Make one with `NB101.spec` or `NB101.parse`, which prune it."""

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return sum(map(sum, self.matrix))


def parse_spec(text: str) -> NB101Spec:
    """The cell named by the table form `{"matrix": [[...]], "ops": [...]}`."""
    if not isinstance(text, str):
        raise ZcnasError(f"NB101 arch must be a JSON string, got {type(text).__name__} {text!r}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ZcnasError(f"NB101 arch {_shown(text)} is not valid JSON ({error.msg}); expected e.g. {EXAMPLE}") from None
    except RecursionError:
        raise ZcnasError(f"NB101 arch {_shown(text)} nests too deeply to be a cell; expected e.g. {EXAMPLE}") from None
    if not isinstance(data, dict) or set(data) != {"matrix", "ops"}:
        raise ZcnasError(f"NB101 arch {_shown(text)} must be a JSON object with exactly the keys 'matrix' and 'ops', "
                         f"e.g. {EXAMPLE}")
    return make_spec(data["matrix"], data["ops"])


def _shown(text: str) -> str:
    """`text` as an error message quotes it: cut short when long (a cell's JSON is under 200 characters)."""
    return repr(text) if len(text) <= 200 else f"{text[:100]!r}... ({len(text)} characters)"


def make_spec(matrix: Sequence[Sequence[int]], ops: Sequence[str]) -> NB101Spec:
    """The pruned cell of an adjacency matrix (nested lists or an array) and its ops, validated."""
    rows = _checked_matrix(matrix)
    ops = _checked_ops(ops, len(rows))
    spec = _pruned(rows, ops)
    if spec is None:
        raise ZcnasError(f"NB101 cell {_describe(rows, ops)} is invalid: the input vertex is not connected to the output vertex")
    if spec.num_edges > MAX_EDGES:
        raise ZcnasError(
            f"NB101 cell {_describe(rows, ops)} has {spec.num_edges} edges after pruning; expected at most {MAX_EDGES}"
        )
    return spec


def format_spec(spec: NB101Spec) -> str:
    if not isinstance(spec, NB101Spec):
        raise ZcnasError(f"not an NB101 cell: {spec!r}")
    return json.dumps({"matrix": [list(row) for row in spec.matrix], "ops": list(spec.ops)}, separators=(",", ":"))


def spec_hash(spec: NB101Spec) -> str:
    """The official isomorphism-invariant hash (`ModelSpec.hash_spec(available_ops)`)."""
    labeling = [-1] + [OPS.index(op) for op in spec.ops[1:-1]] + [-2]
    return hash_module(np.array(spec.matrix, dtype=int), labeling)


def sample_spec(rng: random.Random) -> NB101Spec:
    """The official `random_spec`: fair coin per edge slot and uniform ops, until valid."""
    while True:
        matrix = [[int(dst > src and rng.random() < 0.5) for dst in range(MAX_VERTICES)] for src in range(MAX_VERTICES)]
        ops = [INPUT] + [rng.choice(OPS) for _ in range(MAX_VERTICES - 2)] + [OUTPUT]
        spec = _pruned(matrix, ops)
        if spec is not None and spec.num_edges <= MAX_EDGES:
            return spec


def mutate_spec(spec: NB101Spec, rng: random.Random) -> NB101Spec:
    """The official `mutate_spec`, retried until the child is valid and not isomorphic to the parent.

    The official version mutates the unpruned 7-vertex matrix. A pruned cell has lost its
    dangling vertices, so we pad it back to 7 with unconnected vertices at random interior
    positions and random ops; they join the cell only if mutation connects them.
    """
    parent_matrix, parent_ops = _padded(spec, rng)
    parent_hash = spec_hash(spec)
    while True:
        matrix = [list(row) for row in parent_matrix]
        for src in range(MAX_VERTICES - 1):
            for dst in range(src + 1, MAX_VERTICES):
                if rng.random() < EDGE_FLIP_PROB:
                    matrix[src][dst] = 1 - matrix[src][dst]
        ops = list(parent_ops)
        for vertex in range(1, MAX_VERTICES - 1):
            if rng.random() < OP_CHANGE_PROB:
                ops[vertex] = rng.choice([op for op in OPS if op != ops[vertex]])
        child = _pruned(matrix, ops)
        if child is not None and child.num_edges <= MAX_EDGES and spec_hash(child) != parent_hash:
            return child


class NB101Network(Network):
    """`nasbench_pytorch`'s network, naming its feature modules (see `zcnas.spaces.base.FeatureNetwork`)."""

    def feature_modules(self) -> dict[str, nn.Module]:
        """`stage1..3`: the last cell of each stack (a max-pool follows, but for the last);
        `pre_pool`: the last cell, whose output the global mean reads."""
        ends = [i - 1 for i, layer in enumerate(self.layers) if isinstance(layer, nn.MaxPool2d)]
        stages = [self.layers[i] for i in [*ends, len(self.layers) - 1]]
        return {**{f"stage{n}": cell for n, cell in enumerate(stages, 1)}, "pre_pool": self.layers[-1]}

    def blocks(self) -> list[nn.Module]:
        """The stem and every cell, run in turn, each max-pool run with the cell after it."""
        blocks, pending = [], []
        for layer in self.layers:
            if isinstance(layer, nn.MaxPool2d):
                pending.append(layer)
            else:
                blocks.append(nn.Sequential(*pending, layer) if pending else layer)
                pending = []
        return blocks


def build_network(spec: NB101Spec, num_classes: int = 10, stem_channels: int = 128, num_stacks: int = 3,
                  modules_per_stack: int = 3) -> NB101Network:
    """The `nasbench_pytorch` network, minus its parameters that the official model lacks.

    `nasbench_pytorch` puts a scalar parameter in every `Placeholder` (an identity stand-in
    for absent ops); it is never used in the forward pass and is not in NB101's
    `trainable_parameters`, so we swap those modules for `nn.Identity`. Each cell's empty
    `dev_param` (0 elements, only read for its device) stays; its `.grad` is always None.
    """
    # The matrix is graph metadata that nasbench_pytorch reads back with `.numpy()`, so it
    # must stay on the CPU even inside a caller's `torch.device(...)` context.
    with torch.device("cpu"):
        model_spec = ModelSpec(np.array(spec.matrix, dtype=int), list(spec.ops))
    network = NB101Network(model_spec, num_labels=num_classes, stem_out_channels=stem_channels, num_stacks=num_stacks,
                      num_modules_per_stack=modules_per_stack)
    for cell in [module for module in network.modules() if isinstance(module, Cell)]:
        for ops in (cell.vertex_op, cell.input_op):
            for index, op in enumerate(ops):
                if isinstance(op, Placeholder):
                    ops[index] = nn.Identity()
        cell.last_inop = cell.input_op[-1]
    return network


def _checked_matrix(matrix: object) -> list[list[int]]:
    if isinstance(matrix, np.ndarray):
        matrix = matrix.tolist()
    if not isinstance(matrix, (list, tuple)):
        raise ZcnasError(f"NB101 matrix must be a list of rows of 0/1, got {type(matrix).__name__} {matrix!r}")
    size = len(matrix)
    if not 2 <= size <= MAX_VERTICES:
        raise ZcnasError(f"NB101 matrix has {size} rows; expected 2 to {MAX_VERTICES} vertices (input, ..., output)")
    for src, row in enumerate(matrix):
        if not isinstance(row, (list, tuple)) or len(row) != size:
            raise ZcnasError(f"NB101 matrix must be square ({size}x{size}); row {src} is {row!r}")
        for dst, entry in enumerate(row):
            if isinstance(entry, bool) or not isinstance(entry, (int, np.integer)) or entry not in (0, 1):
                raise ZcnasError(f"NB101 matrix entry [{src}][{dst}] is {entry!r}; expected 0 or 1")
            if entry and dst <= src:
                raise ZcnasError(
                    f"NB101 matrix entry [{src}][{dst}] is 1 on or below the diagonal; the matrix must be strictly "
                    "upper-triangular (edges go from a vertex to a later one)"
                )
    return [[int(entry) for entry in row] for row in matrix]


def _checked_ops(ops: object, num_vertices: int) -> list[str]:
    if isinstance(ops, str) or not isinstance(ops, (list, tuple)):
        raise ZcnasError(f"NB101 ops must be a list of op names, got {type(ops).__name__} {ops!r}")
    if len(ops) != num_vertices:
        raise ZcnasError(f"NB101 ops {list(ops)} has {len(ops)} entries; expected one per vertex ({num_vertices})")
    if ops[0] != INPUT:
        raise ZcnasError(f"first NB101 op is {ops[0]!r}; expected {INPUT!r}")
    if ops[-1] != OUTPUT:
        raise ZcnasError(f"last NB101 op is {ops[-1]!r}; expected {OUTPUT!r}")
    for op in ops[1:-1]:
        if op not in OPS:
            raise choice_error("NB101 op", op, OPS)
    return list(ops)


def _pruned(matrix: list[list[int]], ops: list[str]) -> NB101Spec | None:
    """The cell `ModelSpec` prunes to, or None when the input does not reach the output."""
    array = np.array(matrix, dtype=int)
    # ModelSpec crashes (torch.tensor(None)) instead of flagging a disconnected cell, so check
    # reachability first: entry [0, -1] of (I + A)^(n-1) counts the input-to-output paths.
    paths = np.linalg.matrix_power(np.eye(len(ops), dtype=int) + array, len(ops) - 1)
    if paths[0, -1] == 0:
        return None
    with torch.device("cpu"):
        pruned = ModelSpec(array, list(ops))
    return NB101Spec(tuple(map(tuple, pruned.matrix.tolist())), tuple(pruned.ops))


def _padded(spec: NB101Spec, rng: random.Random) -> tuple[list[list[int]], list[str]]:
    """The cell on 7 vertices: its own in their order, plus unconnected ones in random interior slots."""
    pad_slots = set(rng.sample(range(1, MAX_VERTICES - 1), MAX_VERTICES - spec.num_vertices))
    own_slots = [slot for slot in range(MAX_VERTICES) if slot not in pad_slots]
    matrix = [[0] * MAX_VERTICES for _ in range(MAX_VERTICES)]
    for src, src_slot in enumerate(own_slots):
        for dst, dst_slot in enumerate(own_slots):
            matrix[src_slot][dst_slot] = spec.matrix[src][dst]
    own_ops = dict(zip(own_slots, spec.ops))
    return matrix, [own_ops[slot] if slot in own_ops else rng.choice(OPS) for slot in range(MAX_VERTICES)]


def _describe(matrix: list[list[int]], ops: list[str]) -> str:
    return json.dumps({"matrix": matrix, "ops": ops}, separators=(",", ":"))


class _NB101Space:
    name = "nb101"
    size = 423_624  # unique cells (isomorphism classes) of up to 7 nodes and 9 edges (Ying et al. 2019)
    ops = OPS

    def parse(self, text: str) -> NB101Spec:
        return parse_spec(text)

    def spec(self, matrix: Sequence[Sequence[int]], ops: Sequence[str]) -> NB101Spec:
        """The cell of a matrix and ops given as Python objects (e.g. a table's JSON columns, decoded)."""
        return make_spec(matrix, ops)

    def format(self, arch: NB101Spec) -> str:
        return format_spec(arch)

    def key(self, arch: NB101Spec) -> str:
        # NB101 stores one result per isomorphism class, keyed by this hash.
        return spec_hash(arch)

    def sample(self, rng: random.Random) -> NB101Spec:
        return sample_spec(rng)

    def mutate(self, arch: NB101Spec, rng: random.Random) -> NB101Spec:
        return mutate_spec(arch, rng)

    def build(self, arch: NB101Spec, num_classes: int = 10, stem_channels: int = 128, num_stacks: int = 3,
              modules_per_stack: int = 3) -> NB101Network:
        return build_network(arch, num_classes, stem_channels, num_stacks, modules_per_stack)

    def reinitialise(self, net: NB101Network) -> bool:
        """False: nasbench_pytorch's modules do not draw their weights in the order they are listed
        (re-running their reset_parameters in that order differs from a fresh build), so a
        network is built afresh for each seed."""
        return False


NB101 = _NB101Space()

__all__ = ["NB101", "NB101Network", "NB101Spec", "OPS", "parse_spec", "make_spec", "format_spec", "spec_hash", "build_network"]
