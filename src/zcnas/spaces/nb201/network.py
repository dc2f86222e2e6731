"""The NAS-Bench-201 network (the official `TinyNetwork` with `InferCell`s).

Modules are created in the official order with the official types, so parameter
counts and PyTorch's default initialisation match the benchmark's networks. The
forward pass skips work that cannot change the output: `none` edges are not
computed, and edges whose target cannot reach the cell output are not run.
"""

import torch
from torch import nn

from .cell import EDGES, NUM_NODES, Cell, check_cell, nodes_reaching_output


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out),
        )


class Zero(nn.Module):
    """The `none` op: kept as a module so the network's structure is the official one."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def make_op(op: str, channels: int) -> nn.Module:
    if op == "none":
        return Zero()
    if op == "skip_connect":
        return nn.Identity()
    if op == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, 0)
    if op == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, 1)
    if op == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown NB201 op {op!r}")


class InferCell(nn.Module):
    def __init__(self, cell: Cell, channels: int, run_everything: bool = False):
        super().__init__()
        self.layers = nn.ModuleList(make_op(op, channels) for op in cell)
        # Running every edge gives the official computation (FLOP counting needs it).
        self.run_everything = run_everything
        reaching = nodes_reaching_output(cell)
        self.full_plan = self._plan(lambda index, target: True)
        self.lean_plan = self._plan(lambda index, target: cell[index] != "none" and target in reaching)

    @staticmethod
    def _plan(keep) -> list[list[tuple[int, int]]]:
        """For each node 1..3: (layer index, source node) of the edges to run."""
        return [
            [(index, source) for index, (target, source) in enumerate(EDGES) if target == node and keep(index, target)]
            for node in range(1, NUM_NODES)
        ]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for edges in self.full_plan if self.run_everything else self.lean_plan:
            total = None
            for index, source in edges:
                out = self.layers[index](nodes[source])
                total = out if total is None else total + out
            # A node with no computed input holds zeros, as the sum of `none` ops would.
            nodes.append(torch.zeros_like(x) if total is None else total)
        return nodes[-1]


class ResNetBasicBlock(nn.Module):
    """The reduction block between stages: two 3x3 ReLUConvBNs plus a pooled 1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class TinyNetwork(nn.Module):
    def __init__(
        self, cell: Cell, num_classes: int = 10, channels: int = 16, cells_per_stage: int = 5,
        run_everything: bool = False,
    ):
        check_cell(cell)
        if channels < 1 or cells_per_stage < 1 or num_classes < 1:
            raise ValueError(
                f"channels, cells_per_stage and num_classes must be >= 1; got {channels}, {cells_per_stage}, {num_classes}"
            )
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        stage_channels = [channels, channels * 2, channels * 4]
        blocks: list[nn.Module] = []
        c_prev = channels
        for stage, c_out in enumerate(stage_channels):
            if stage > 0:
                blocks.append(ResNetBasicBlock(c_prev, c_out))
            blocks.extend(InferCell(cell, c_out, run_everything) for _ in range(cells_per_stage))
            c_prev = c_out
        self.cells = nn.Sequential(*blocks)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.lastact(self.cells(self.stem(x)))
        return self.classifier(self.global_pooling(features).flatten(1))

    def feature_modules(self) -> dict[str, nn.Module]:
        """`stage1..3`: the last cell of each stage, whose output is the stage's features
        (the reduction block follows); `pre_pool`: the final BatchNorm+ReLU, whose output
        global pooling reads."""
        ends = [i - 1 for i, block in enumerate(self.cells) if isinstance(block, ResNetBasicBlock)]
        stages = [self.cells[i] for i in [*ends, len(self.cells) - 1]]
        return {**{f"stage{n}": cell for n, cell in enumerate(stages, 1)}, "pre_pool": self.lastact}

    def blocks(self) -> list[nn.Module]:
        """The stem and every cell, reduction blocks included, run in turn."""
        return [self.stem, *self.cells]
