"""Building blocks for passes: watching modules' inputs and outputs, stage features, a re-initialised copy."""

import copy
from contextlib import contextmanager
from typing import Callable, Hashable, Iterator, Mapping

import torch
from torch import nn

from ...errors import ZcnasError


@contextmanager
def captured(modules: Mapping[Hashable, nn.Module], where: str = "output",
             transform: Callable[[torch.Tensor], object] | None = None) -> Iterator[dict[Hashable, list]]:
    """Yield key -> list, one entry per call, of what each module returned (`where="output"`)
    or received as its first argument (`"input"`), while the block runs a forward pass.

    `transform` is applied as the module returns (or, for inputs, before it runs), before
    any in-place op downstream (an in-place ReLU, say) can overwrite the tensor: pass e.g.
    `lambda x: x > 0` for ReLU codes. Without it the tensor itself is kept, still in the
    graph, to take gradients with respect to it. The modules are left as they were on
    leaving the block, also when the forward pass raises.

    Each watched module's `forward` is wrapped, as an instance attribute, for the block:
    torch's forward hooks cost more than the forward passes they watched (MeCo watches
    about 260 modules per NB201 cell): one hook per module costs its registration, a
    global hook sends every module call through torch's slow calling path.
    """
    if where not in ("input", "output"):
        raise ValueError(f"where must be 'input' or 'output', got {where!r}")
    keep = transform or (lambda tensor: tensor)
    calls: dict[Hashable, list] = {key: [] for key in modules}
    keys_by_module: dict[int, list[Hashable]] = {}
    watched: dict[int, nn.Module] = {}
    for key, module in modules.items():
        keys_by_module.setdefault(id(module), []).append(key)
        watched[id(module)] = module

    def recording(forward: Callable, keys: list[Hashable]) -> Callable:
        def record(value) -> None:
            for key in keys:
                calls[key].append(keep(value))

        def watched_forward(*args, **kwargs):
            if where == "input":
                record(args[0])
                return forward(*args, **kwargs)
            output = forward(*args, **kwargs)
            record(output)
            return output
        return watched_forward

    # Set in the instance's __dict__ directly, as Module.__setattr__ would for a function, at
    # a fraction of its cost; a forward already set on the instance is put back afterwards.
    replaced: list[tuple[nn.Module, object]] = []
    try:
        for key, module in watched.items():
            replaced.append((module, module.__dict__.get("forward", _ABSENT)))
            module.__dict__["forward"] = recording(module.forward, keys_by_module[key])
        yield calls
    finally:
        for module, before in reversed(replaced):
            if before is _ABSENT:
                del module.__dict__["forward"]
            else:
                module.__dict__["forward"] = before


_ABSENT = object()


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
