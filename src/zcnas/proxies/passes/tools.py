"""Building blocks for passes: hooks that always come off, stage features, a re-initialised copy."""

import copy
from contextlib import contextmanager
from typing import Callable, Hashable, Iterator, Mapping

import torch
from torch import nn
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook

from ...errors import ZcnasError


@contextmanager
def captured(modules: Mapping[Hashable, nn.Module], where: str = "output",
             transform: Callable[[torch.Tensor], object] | None = None) -> Iterator[dict[Hashable, list]]:
    """Yield key -> list, one entry per call, of what each module returned (`where="output"`)
    or received as its first argument (`"input"`), while the block runs a forward pass.

    `transform` is applied inside the hook, before any in-place op downstream (an in-place
    ReLU, say) can overwrite the tensor: pass e.g. `lambda x: x > 0` for ReLU codes. Without
    it the tensor itself is kept, still in the graph, to take gradients with respect to it.
    The hook is removed on leaving the block, also when the forward pass raises.

    One global hook serves every module: registering a hook per module cost more than
    the forward pass it watched (MeCo hooks about 260 modules per NB201 cell).
    """
    if where not in ("input", "output"):
        raise ValueError(f"where must be 'input' or 'output', got {where!r}")
    keep = transform or (lambda tensor: tensor)
    calls: dict[Hashable, list] = {key: [] for key in modules}
    keys_by_module: dict[int, list[Hashable]] = {}
    for key, module in modules.items():  # `modules` holds them, so their ids stay theirs
        keys_by_module.setdefault(id(module), []).append(key)

    def record(module, value) -> None:
        for key in keys_by_module.get(id(module), ()):
            calls[key].append(keep(value))

    if where == "input":
        handle = register_module_forward_pre_hook(lambda module, args: record(module, args[0]))
    else:
        handle = register_module_forward_hook(lambda module, args, output: record(module, output))
    try:
        yield calls
    finally:
        handle.remove()


def feature_modules(net: nn.Module) -> dict[str, nn.Module]:
    """The network's feature modules (see `zcnas.spaces.base.FeatureNetwork`): `stage1`, ...
    at the end of each stage, and `pre_pool`, whose output global pooling reads."""
    return _protocol_method(net, "feature_modules")()


def blocks(net: nn.Module) -> list[nn.Module]:
    """The network's blocks, run in turn (see `zcnas.spaces.base.FeatureNetwork`)."""
    return _protocol_method(net, "blocks")()


def _protocol_method(net: nn.Module, name: str) -> Callable:
    if not callable(method := getattr(net, name, None)):
        raise ZcnasError(f"{type(net).__name__} has no {name}(); proxies reading it need a network built by "
                         "a search space (zcnas.spaces.base.FeatureNetwork)")
    return method


def reinitialised_copy(net: nn.Module, init: Callable[[nn.Module, torch.Generator], None], seed: int = 0) -> nn.Module:
    """A deep copy of `net` with `init(module, generator)` applied to each of its modules
    (under no_grad), `generator` a CPU generator seeded with `seed`: draw on the CPU and copy
    into the parameters, so the weights are the same on every device. `net` and torch's
    global RNG are left untouched."""
    clone = copy.deepcopy(net)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in clone.modules():
            init(module, generator)
    return clone
