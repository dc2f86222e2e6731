"""NAS-Bench-201 cells: the official arch string, validation, canonical form, sampling, mutation.

A cell is a DAG on 4 nodes (0 = input, 3 = output) with one operation on each of its
six edges j -> i (j < i). We hold it as a tuple of six op names in the order the
official string lists them: (1<-0), (2<-0), (2<-1), (3<-0), (3<-1), (3<-2).
"""

import random

from ...errors import ZcnasError

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NUM_NODES = 4
# (target, source) of each edge, in official string order.
EDGES = tuple((target, source) for target in range(1, NUM_NODES) for source in range(target))

Cell = tuple[str, ...]


def parse_cell(text: str) -> Cell:
    """The cell named by an official string such as `|nor_conv_3x3~0|+|...~0|...~1|+|...|`."""
    if not isinstance(text, str):
        raise ZcnasError(f"NB201 arch must be a string, got {type(text).__name__} {text!r}")
    nodes = text.strip().split("+")
    if len(nodes) != NUM_NODES - 1:
        raise ZcnasError(
            f"NB201 arch {text!r} has {len(nodes)} node group(s) separated by '+'; expected {NUM_NODES - 1} "
            "(e.g. '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|none~1|skip_connect~2|')"
        )
    ops: list[str] = []
    for target, group in enumerate(nodes, start=1):
        if not (group.startswith("|") and group.endswith("|") and len(group) > 2):
            raise ZcnasError(f"NB201 node group {group!r} in {text!r} must look like '|op~0|op~1|'")
        edges = group[1:-1].split("|")
        if len(edges) != target:
            raise ZcnasError(f"NB201 node {target} in {text!r} has {len(edges)} input edge(s) {edges}; expected {target}")
        for source, edge in enumerate(edges):
            op, sep, index = edge.partition("~")
            if op not in OPS:
                raise ZcnasError(
                    f"unknown NB201 operation {op!r} in edge {edge!r} of {text!r}; expected one of: {', '.join(OPS)}"
                )
            if sep != "~" or index != str(source):
                raise ZcnasError(f"NB201 edge {edge!r} of node {target} in {text!r} must read '{op}~{source}'")
            ops.append(op)
    return tuple(ops)


def format_cell(cell: Cell) -> str:
    check_cell(cell)
    groups, position = [], 0
    for target in range(1, NUM_NODES):
        groups.append("|" + "|".join(f"{cell[position + s]}~{s}" for s in range(target)) + "|")
        position += target
    return "+".join(groups)


def check_cell(cell: Cell) -> None:
    if len(cell) != len(EDGES) or any(op not in OPS for op in cell):
        raise ZcnasError(f"NB201 cell must be {len(EDGES)} ops from {', '.join(OPS)}; got {cell!r}")


def edge_ops(cell: Cell) -> dict[tuple[int, int], str]:
    return dict(zip(EDGES, cell))


def nodes_reaching_output(cell: Cell) -> set[int]:
    """Nodes with a path of non-`none` edges to the output."""
    ops = edge_ops(cell)
    reaching = {NUM_NODES - 1}
    for node in range(NUM_NODES - 2, -1, -1):
        if any(ops[(target, node)] != "none" for target in reaching if target > node):
            reaching.add(node)
    return reaching


def canonical_key(cell: Cell) -> str:
    """One key for all cells that compute the same function of the input.

    Each node becomes a sorted sum of terms in the input: `none` edges and edges out
    of an all-zero node add nothing, `skip_connect` passes its source's terms through,
    other ops wrap their source's sum. So interior nodes may be relabelled (swapping
    nodes 1 and 2), skip chains collapse and dead paths vanish. (A convolution on an
    all-zero node only emits its BatchNorm shift, zero at initialisation, so it counts
    as zero.) NAS-Bench-201's own unique-string count, 6,466, keeps zero terms and so
    misses some of these equivalences; this form gives 4,930 classes.
    """
    check_cell(cell)
    ops = edge_ops(cell)
    terms: dict[int, tuple[str, ...]] = {0: ("in",)}
    for target in range(1, NUM_NODES):
        node_terms: list[str] = []
        for source in range(target):
            op, value = ops[(target, source)], terms[source]
            if op == "none" or not value:
                continue
            if op == "skip_connect":
                node_terms.extend(value)
            else:
                node_terms.append(f"({'+'.join(value)})@{op}")
        terms[target] = tuple(sorted(node_terms))
    return "+".join(terms[NUM_NODES - 1]) or "zero"


def sample_cell(rng: random.Random) -> Cell:
    return tuple(rng.choice(OPS) for _ in EDGES)


def mutate_cell(cell: Cell, rng: random.Random) -> Cell:
    """Change the op on one uniformly chosen edge to a different op."""
    check_cell(cell)
    position = rng.randrange(len(EDGES))
    new_op = rng.choice([op for op in OPS if op != cell[position]])
    return cell[:position] + (new_op,) + cell[position + 1 :]


def all_cells() -> list[Cell]:
    """Every cell of the space (5^6 = 15,625), in lexicographic op-index order."""
    cells: list[Cell] = [()]
    for _ in EDGES:
        cells = [cell + (op,) for cell in cells for op in OPS]
    return cells
