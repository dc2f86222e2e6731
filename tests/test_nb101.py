import json
import random

import pytest
import torch

from zcnas.errors import ZcnasError
from zcnas.spaces import get_space
from zcnas.spaces.nb101 import NB101, OPS, NB101Spec

C3, C1, MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"

# The first cell of the official NB101 dataset (nasbench_only108.tfrecord): its hash and
# `trainable_parameters` as the official API reports them.
OFFICIAL_MATRIX = [
    [0, 1, 0, 0, 1, 1, 0],
    [0, 0, 1, 0, 0, 0, 0],
    [0, 0, 0, 1, 0, 0, 1],
    [0, 0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 0],
]
OFFICIAL_OPS = ["input", C3, MP, C3, C3, C1, "output"]
OFFICIAL_HASH = "00005c142e6f48ac74fdcf73e3439874"
OFFICIAL_PARAMS = 8_555_530

# The Inception-like cell queried in the official NASBench.ipynb (trainable_parameters 2694282).
INCEPTION_MATRIX = [
    [0, 1, 1, 1, 0, 1, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 1, 0, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 0],
]
INCEPTION_OPS = ["input", C1, C3, C3, C3, MP, "output"]
INCEPTION_PARAMS = 2_694_282


def num_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_registered_under_its_name():
    assert get_space("nb101") is NB101
    assert NB101.name == "nb101"


def test_parse_format_round_trip():
    text = (
        '{"matrix":[[0,1,0,0,1,1,0],[0,0,1,0,0,0,0],[0,0,0,1,0,0,1],[0,0,0,0,0,1,0],[0,0,0,0,0,1,0],'
        '[0,0,0,0,0,0,1],[0,0,0,0,0,0,0]],'
        '"ops":["input","conv3x3-bn-relu","maxpool3x3","conv3x3-bn-relu","conv3x3-bn-relu","conv1x1-bn-relu","output"]}'
    )
    arch = NB101.parse(text)
    assert arch == NB101.spec(OFFICIAL_MATRIX, OFFICIAL_OPS)
    assert arch.matrix[0] == (0, 1, 0, 0, 1, 1, 0) and arch.ops[2] == MP
    assert NB101.format(arch) == text
    assert NB101.parse(json.dumps({"ops": OFFICIAL_OPS, "matrix": OFFICIAL_MATRIX}, indent=2)) == arch
    assert hash(arch) == hash(NB101.parse(text))


@pytest.mark.parametrize(
    "matrix, ops, message",
    [
        ([[0, 1, 1], [0, 0, 1]], ["input", C3, "output"], r"square \(2x2\)"),
        ([[0, 1, 0], [0, 0, 1], [0, 0]], ["input", C3, "output"], r"square \(3x3\); row 2"),
        ([[0, 1, 1], [0, 0, 1], [1, 0, 0]], ["input", C3, "output"], r"entry \[2\]\[0\] is 1 .*upper-triangular"),
        ([[1, 1], [0, 0]], ["input", "output"], r"entry \[0\]\[0\] is 1 .*upper-triangular"),
        ([[0, 2], [0, 0]], ["input", "output"], r"entry \[0\]\[1\] is 2; expected 0 or 1"),
        ([[0] * 8 for _ in range(8)], ["input"] + [C3] * 6 + ["output"], "8 rows; expected 2 to 7"),
        # Every vertex of a complete 6-vertex DAG lies on an input-output path: 15 edges stay.
        ([[int(j > i) for j in range(6)] for i in range(6)], ["input", C3, C3, C1, MP, "output"],
         "15 edges after pruning; expected at most 9"),
        ([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", C3, "output"], "input vertex is not connected to the output"),
        ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", C3], "2 entries; expected one per vertex"),
        ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], [C3, C3, "output"], "first NB101 op is 'conv3x3-bn-relu'; expected 'input'"),
        ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", C3, C1], "last NB101 op is 'conv1x1-bn-relu'; expected 'output'"),
    ],
)
def test_invalid_cells_are_rejected_with_the_bad_value(matrix, ops, message):
    with pytest.raises(ZcnasError, match=message):
        NB101.spec(matrix, ops)
    with pytest.raises(ZcnasError, match=message):
        NB101.parse(json.dumps({"matrix": matrix, "ops": ops}))


def test_unknown_op_names_it_and_the_valid_ops():
    with pytest.raises(ZcnasError) as error:
        NB101.parse('{"matrix":[[0,1,1],[0,0,1],[0,0,0]],"ops":["input","conv5x5","output"]}')
    message = str(error.value)
    assert "'conv5x5'" in message
    assert all(op in message for op in ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"))


@pytest.mark.parametrize(
    "text, message",
    [
        ("[[0,1],[0,0]]", "exactly the keys 'matrix' and 'ops'"),
        ('{"matrix":[[0,1],[0,0]]}', "exactly the keys 'matrix' and 'ops'"),
        ('{"matrix":[[0,1],[0,0]],"ops":["input","output"],"x":1}', "exactly the keys 'matrix' and 'ops'"),
        ('{"matrix":[[0,1],[0,0]],"ops":"input,output"}', "ops must be a list"),
        ("{matrix: [[0,1],[0,0]]}", "not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "nests too deeply"),  # json.loads raises RecursionError
    ],
)
def test_malformed_text_is_rejected(text, message):
    with pytest.raises(ZcnasError, match=message):
        NB101.parse(text)


def test_dangling_vertices_are_pruned_as_nb101_does():
    # Vertex 2 is a dead end (no path to the output); vertex 3 has no path from the input.
    matrix = [
        [0, 1, 1, 0, 0],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0],
    ]
    arch = NB101.spec(matrix, ["input", C1, MP, C3, "output"])
    assert arch == NB101Spec(((0, 1, 0), (0, 0, 1), (0, 0, 0)), ("input", C1, "output"))
    assert (arch.num_vertices, arch.num_edges) == (3, 2)


def test_edge_limit_applies_after_pruning():
    # 10 raw edges, but the 5 into dead-end vertex 5 are pruned away (the official API's rule).
    matrix = [[0] * 7 for _ in range(7)]
    for src, dst in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 6), (0, 5), (1, 5), (2, 5), (3, 5), (4, 5)]:
        matrix[src][dst] = 1
    arch = NB101.spec(matrix, ["input", C3, C3, C1, C3, MP, "output"])
    assert arch.num_vertices == 6 and arch.num_edges == 5
    assert arch.ops == ("input", C3, C3, C1, C3, "output")


def test_key_is_the_official_hash():
    assert NB101.key(NB101.spec(OFFICIAL_MATRIX, OFFICIAL_OPS)) == OFFICIAL_HASH


def test_isomorphic_cells_share_a_key_and_others_do_not():
    inception = NB101.spec(INCEPTION_MATRIX, INCEPTION_OPS)
    # The same graph with interior vertices relabelled 1..5 -> 5, 3, 1, 2, 4 (hand-permuted).
    permuted = NB101.spec(
        [
            [0, 1, 0, 1, 1, 1, 0],
            [0, 0, 1, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 0],
        ],
        ["input", C3, C3, C3, MP, C1, "output"],
    )
    assert permuted != inception
    assert NB101.key(permuted) == NB101.key(inception)

    other_op = NB101.spec(INCEPTION_MATRIX, ["input", C1, C3, C3, C3, C3, "output"])
    assert NB101.key(other_op) != NB101.key(inception)
    other_edge = [list(row) for row in INCEPTION_MATRIX]
    other_edge[1][6], other_edge[1][4] = 0, 1  # vertex 1 now feeds vertex 4 instead of the output
    assert NB101.key(NB101.spec(other_edge, INCEPTION_OPS)) != NB101.key(inception)


def assert_valid(arch: NB101Spec) -> None:
    assert isinstance(arch, NB101Spec)
    assert 2 <= arch.num_vertices <= 7 and arch.num_edges <= 9
    assert set(arch.ops[1:-1]) <= set(OPS)
    # Already pruned: validating and pruning again changes nothing.
    assert NB101.spec(arch.matrix, arch.ops) == arch
    assert NB101.parse(NB101.format(arch)) == arch


def test_sample_is_valid_and_deterministic():
    archs = [NB101.sample(random.Random(seed)) for seed in range(200)]
    for arch in archs:
        assert_valid(arch)
    assert archs == [NB101.sample(random.Random(seed)) for seed in range(200)]
    # Many seeds give the same small cell (e.g. input -> output), as official random_spec does.
    assert len({NB101.key(arch) for arch in archs}) > 100
    assert {arch.num_vertices for arch in archs} >= {2, 3, 4, 5, 6}


def test_mutate_gives_a_valid_different_cell_deterministically():
    rng = random.Random(1)
    parents = [NB101.sample(rng) for _ in range(100)] + [NB101.spec([[0, 1], [0, 0]], ["input", "output"])]
    children = [NB101.mutate(parent, random.Random(i)) for i, parent in enumerate(parents)]
    for parent, child in zip(parents, children):
        assert_valid(child)
        assert NB101.key(child) != NB101.key(parent)
    assert children == [NB101.mutate(parent, random.Random(i)) for i, parent in enumerate(parents)]


def test_parameter_counts_match_the_official_dataset():
    assert num_params(NB101.build(NB101.spec(OFFICIAL_MATRIX, OFFICIAL_OPS))) == OFFICIAL_PARAMS
    assert num_params(NB101.build(NB101.spec(INCEPTION_MATRIX, INCEPTION_OPS))) == INCEPTION_PARAMS


@pytest.mark.shared_data
def test_parameter_counts_match_the_sample_table(shared_file):
    import pandas as pd

    table = pd.read_csv(shared_file("nb101/sample.csv"))
    # Building all 500 networks takes ~30 s on 2 CPU cores; a fixed random 100 keeps this quick.
    rows = table.iloc[sorted(random.Random(0).sample(range(len(table)), min(100, len(table))))]
    for row in rows.itertuples():
        arch = NB101.spec(json.loads(row.matrix), json.loads(row.ops))
        assert num_params(NB101.build(arch)) / 1e6 == pytest.approx(row.params_m, abs=1e-6), row.Index


def test_forward_pass_shape_and_options():
    arch = NB101.spec(INCEPTION_MATRIX, INCEPTION_OPS)
    torch.manual_seed(0)
    net = NB101.build(arch, num_classes=7)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 7)

    small = NB101.build(arch, num_classes=100, stem_channels=16, num_stacks=2, modules_per_stack=1)
    assert small.classifier.in_features == 32
    assert small(torch.randn(2, 3, 32, 32)).shape == (2, 100)

    trivial = NB101.build(NB101.spec([[0, 1], [0, 0]], ["input", "output"]), num_classes=10, stem_channels=16)
    assert trivial(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_build_rejects_unknown_options():
    with pytest.raises(TypeError):
        NB101.build(NB101.spec([[0, 1], [0, 0]], ["input", "output"]), 10, channels=16)


def test_reinitialise_declines_and_leaves_the_network_alone():
    torch.manual_seed(0)
    net = NB101.build(NB101.sample(random.Random(1)), stem_channels=8)
    before = {name: value.clone() for name, value in net.state_dict().items()}
    torch.manual_seed(1)
    assert NB101.reinitialise(net) is False
    assert all(torch.equal(before[name], value) for name, value in net.state_dict().items())
