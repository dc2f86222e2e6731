"""Synaptic flow: a float64 forward/backward of a ones input through |weights|, BatchNorm
bypassed; the original weight tensors are put back afterwards."""

from contextlib import contextmanager

import torch
from torch import nn

from .context import Context
from .registry import register_pass


@register_pass("synflow")
def synflow(context: Context) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per weight layer: (|W| in float64, dR/dW), R the output sum on an all-ones input."""
    net, weights = context.net, context.weights
    ones = torch.ones((1, *context.inputs.shape[1:]), dtype=torch.float64, device=context.device)
    with batchnorm_bypassed(net) as norms, _absolute_float64(net, skip=norms):
        flow = net(ones).sum()
        grads = torch.autograd.grad(flow, weights, allow_unused=True)
        # |W| itself: putting the original tensors back re-points the parameters, it does not overwrite these.
        absolute = [w.detach() for w in weights]
    return [(w, torch.zeros_like(w) if g is None else g) for w, g in zip(absolute, grads)]


@contextmanager
def batchnorm_bypassed(net: nn.Module):
    """Make every BatchNorm layer the identity for the block, which gets their list."""
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.forward = _identity
    try:
        yield norms
    finally:
        for norm in norms:
            del norm.forward


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


@contextmanager
def _absolute_float64(net: nn.Module, skip: list[nn.Module]):
    """Swap every floating parameter and buffer for its float64 absolute value, then swap the
    original tensors back (the very same objects, so bit-identical). Those of the `skip`
    modules (the bypassed BatchNorms: most of an NB201 cell's tensors) are not read, so left."""
    unread = {id(t) for module in skip for t in [*module.parameters(recurse=False), *module.buffers(recurse=False)]}
    tensors = {id(t): t for t in [*net.parameters(), *net.buffers()] if t.is_floating_point() and id(t) not in unread}
    originals = {key: tensor.data for key, tensor in tensors.items()}
    try:
        for tensor in tensors.values():
            tensor.data = tensor.data.abs().double()
        yield
    finally:
        for key, tensor in tensors.items():
            tensor.data = originals[key]
