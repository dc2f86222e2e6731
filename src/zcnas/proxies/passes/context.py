"""What passes and proxies compute from: the network, the batch, and the results so far."""

from contextlib import contextmanager
from typing import Iterable, Iterator

import torch
from torch import nn

from ...errors import ZcnasError


def weight_layers(net: nn.Module) -> list[nn.Module]:
    """The layers whose weights proxies are computed over: Conv2d and Linear."""
    return [module for module in net.modules() if isinstance(module, (nn.Conv2d, nn.Linear))]


class Context:
    """One scoring's network and batch, and the results of the passes run so far.

    `context["gradients"]` is a result; a pass or proxy may read only the results it
    declared (`reads=` / `needs=`), so a missing declaration fails every time, not only
    when no other selected proxy happened to ask for that result. `wants(result)` tells a
    pass producing several results which of them anything reads. `parts` is the number of
    parts the batch is measured in (see `batch_parts`); `seconds` maps pass name -> time.
    """

    def __init__(self, net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, parts: int,
                 wanted: Iterable[str]):
        self.net, self.inputs, self.targets, self.parts = net, inputs, targets, parts
        self.device = inputs.device
        self.layers = weight_layers(net)
        self.weights = [layer.weight for layer in self.layers]
        self.seconds: dict[str, float] = {}
        self._wanted = frozenset(wanted)
        self._results: dict[str, object] = {}
        self._readable: frozenset[str] = frozenset()

    def __getitem__(self, name: str):
        if name not in self._readable:
            raise KeyError(f"result {name!r} is read but not declared; declared: {sorted(self._readable)}")
        return self._results[name]

    def wants(self, name: str) -> bool:
        return name in self._wanted

    @contextmanager
    def reading(self, names: Iterable[str]) -> Iterator["Context"]:
        """Let the block read exactly `names` (the engine wraps each pass and proxy in it)."""
        self._readable = frozenset(names)
        try:
            yield self
        finally:
            self._readable = frozenset()

    def store(self, results: dict[str, object]) -> None:
        self._results.update(results)

    def batch_parts(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, float]]:
        """(inputs, targets, share) per part of the batch, the share being the part's
        fraction of the batch: weighting each part's loss by it makes sums over parts equal
        the whole-batch values for networks without batch-coupled layers."""
        total = len(self.targets)
        for inputs, targets in zip(self.inputs.tensor_split(self.parts), self.targets.tensor_split(self.parts)):
            if len(targets):
                yield inputs, targets, len(targets) / total

    def minibatches(self, count: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The batch as `count` consecutive minibatches of (nearly) equal size, for passes
        that compare several minibatches: score with a batch `count` times the minibatch."""
        if not 1 <= count <= len(self.targets):
            raise ZcnasError(f"cannot split a batch of {len(self.targets)} into {count} minibatches; "
                             f"use a batch of at least {count}")
        return list(zip(self.inputs.tensor_split(count), self.targets.tensor_split(count)))

    def gaussian_inputs(self, seed: int = 0) -> torch.Tensor:
        """Standard-normal inputs of the batch's shape, drawn on the CPU from `seed` (so the
        same on every device and for every architecture) without touching torch's global RNG."""
        generator = torch.Generator().manual_seed(seed)
        return torch.randn(self.inputs.shape, generator=generator, dtype=self.inputs.dtype).to(self.device)
