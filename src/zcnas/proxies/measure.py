"""The shared passes behind all proxies.

Several proxies read the same quantities, so a request runs each pass at most once:
  main     one forward of the minibatch in train mode; backward of the cross-entropy
           loss for weight gradients (and, for fisher, layer-output gradients); a second
           backward of sum(outputs) for the input Jacobian when asked.
  hessian  a double backward through the main pass's graph, giving H·g (GraSP);
           with the batch split, one more forward per part instead.
  synflow  a float64 forward/backward of a ones input through |weights| with
           BatchNorm bypassed; the original weight tensors are put back afterwards.
  flops    a batch-1 forward with counting hooks.
The batch can be split into parts (the engine does so on GPU out-of-memory); each
part's loss is weighted by its share of the batch, so sums over parts equal the
whole-batch values for networks without batch-coupled layers.
"""

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from ..device import synchronize

# Which passes each measurement comes from.
PASSES_OF_NEED = {
    "gradients": ("main",),
    "activations": ("main",),
    "jacobian": ("main",),
    "hessian": ("main", "hessian"),
    "synflow": ("synflow",),
    "flops": ("flops",),
}


def weight_layers(net: nn.Module) -> list[nn.Module]:
    """The layers whose weights proxies are computed over: Conv2d and Linear."""
    return [module for module in net.modules() if isinstance(module, (nn.Conv2d, nn.Linear))]


@dataclass
class Measurements:
    layers: list[nn.Module]
    weights: list[torch.Tensor]
    grads: list[torch.Tensor] | None = None
    # Per layer: N x C_out of sum over spatial positions of (output * d loss / d output).
    channel_products: list[torch.Tensor] | None = None
    jacobian: torch.Tensor | None = None
    hessian_grads: list[torch.Tensor] | None = None
    synflow_weights: list[torch.Tensor] | None = None
    synflow_grads: list[torch.Tensor] | None = None
    flop_count: float | None = None
    seconds: dict[str, float] = field(default_factory=dict)


def measure(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, needs: set[str], parts: int = 1) -> Measurements:
    layers = weight_layers(net)
    result = Measurements(layers, [layer.weight for layer in layers])
    passes = {name for need in needs for name in PASSES_OF_NEED[need]}
    # With the batch whole, H·g reuses the main pass's graph instead of a second forward.
    fuse_hessian = "hessian" in passes and parts == 1
    if "main" in passes:
        with _timed(result, "main", inputs.device):
            graph_grads = _main_pass(net, result, inputs, targets, needs, parts, keep_graph=fuse_hessian)
    if "hessian" in passes:
        with _timed(result, "hessian", inputs.device):
            if fuse_hessian:
                result.hessian_grads = _hessian_grads(result.weights, result.grads, graph_grads)
            else:
                _hessian_pass(net, result, inputs, targets, parts)
    if "synflow" in passes:
        with _timed(result, "synflow", inputs.device):
            _synflow_pass(net, result, inputs.shape[1:])
    if "flops" in passes:
        with _timed(result, "flops", inputs.device):
            result.flop_count = count_flops(net, inputs.shape[1:])
    return result


@contextmanager
def _timed(result: Measurements, name: str, device: torch.device):
    """Time a pass; on a GPU, only once its queued kernels have run."""
    synchronize(device)
    start = time.perf_counter()
    yield
    synchronize(device)
    result.seconds[name] = time.perf_counter() - start


def _batch_parts(inputs: torch.Tensor, targets: torch.Tensor, parts: int):
    """(inputs, targets, weight) per part, the weight being the part's share of the batch."""
    total = len(targets)
    for part_inputs, part_targets in zip(inputs.tensor_split(parts), targets.tensor_split(parts)):
        if len(part_targets):
            yield part_inputs, part_targets, len(part_targets) / total


def _capture_output(store: dict, index: int, module: nn.Module, args, output: torch.Tensor) -> None:
    store[index] = output


def _accumulate(totals: list[torch.Tensor], grads) -> None:
    for total, grad in zip(totals, grads):
        if grad is not None:  # None: the layer does not reach the output
            total += grad


def _main_pass(net, result: Measurements, inputs, targets, needs: set[str], parts: int, keep_graph: bool):
    """Fills grads, channel_products and jacobian as `needs` asks; with `keep_graph`
    returns the weight gradients with their graph kept, for the Hessian product."""
    want_loss_grads = bool(needs & {"gradients", "activations", "hessian"})
    want_activations = "activations" in needs
    want_jacobian = "jacobian" in needs
    weights = result.weights
    grads = [torch.zeros_like(w) for w in weights]
    products: list[list[torch.Tensor]] = [[] for _ in weights]
    jacobian_rows = []
    graph_grads = None
    for part_inputs, part_targets, share in _batch_parts(inputs, targets, parts):
        outputs: dict[int, torch.Tensor] = {}
        hooks = (
            [layer.register_forward_hook(partial(_capture_output, outputs, i)) for i, layer in enumerate(result.layers)]
            if want_activations else []
        )
        try:
            part_inputs = part_inputs.detach().requires_grad_(want_jacobian)
            logits = net(part_inputs)
        finally:
            for hook in hooks:
                hook.remove()
        if want_loss_grads:
            loss = F.cross_entropy(logits, part_targets) * share
            captured = list(outputs.items())
            all_grads = torch.autograd.grad(
                loss, weights + [out for _, out in captured],
                retain_graph=want_jacobian or keep_graph, create_graph=keep_graph, allow_unused=True,
            )
            graph_grads = all_grads[: len(weights)] if keep_graph else None
            _accumulate(grads, [None if g is None else g.detach() for g in all_grads[: len(weights)]])
            for (index, out), out_grad in zip(captured, all_grads[len(weights):]):
                if out_grad is not None:
                    product = (out * out_grad).detach()
                    products[index].append(product.flatten(2).sum(-1) if product.dim() > 2 else product)
        if want_jacobian:
            (input_grad,) = torch.autograd.grad(logits.sum(), part_inputs, retain_graph=keep_graph, allow_unused=True)
            if input_grad is None:  # the output does not depend on the input (e.g. an all-`none` cell)
                input_grad = torch.zeros_like(part_inputs)
            jacobian_rows.append(input_grad.flatten(1))
    if want_loss_grads:
        result.grads = grads
    if want_activations:
        result.channel_products = [torch.cat(p) if p else None for p in products]
    if want_jacobian:
        result.jacobian = torch.cat(jacobian_rows)
    return graph_grads


def _hessian_pass(net, result: Measurements, inputs, targets, parts: int) -> None:
    """H·g over batch parts, with g the whole-batch gradient held constant (GraSP)."""
    hessian_grads = [torch.zeros_like(w) for w in result.weights]
    for part_inputs, part_targets, share in _batch_parts(inputs, targets, parts):
        loss = F.cross_entropy(net(part_inputs), part_targets) * share
        graph_grads = torch.autograd.grad(loss, result.weights, create_graph=True, allow_unused=True)
        _accumulate(hessian_grads, _hessian_grads(result.weights, result.grads, graph_grads))
    result.hessian_grads = hessian_grads


def _hessian_grads(weights, constant_grads, graph_grads) -> list[torch.Tensor]:
    """H·g as the gradient of sum(g * dL/dW) with g held constant."""
    terms = [(g * grad).sum() for g, grad in zip(constant_grads, graph_grads) if grad is not None and grad.requires_grad]
    if not terms:  # the loss is linear in every weight: H·g = 0
        return [torch.zeros_like(w) for w in weights]
    products = torch.autograd.grad(torch.stack(terms).sum(), weights, allow_unused=True)
    return [torch.zeros_like(w) if p is None else p for w, p in zip(weights, products)]


@contextmanager
def batchnorm_bypassed(net: nn.Module):
    """Make every BatchNorm layer the identity for the block."""
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.forward = _identity
    try:
        yield
    finally:
        for norm in norms:
            del norm.forward


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _synflow_pass(net, result: Measurements, input_shape) -> None:
    """Synaptic flow through |weights| in float64, BatchNorm bypassed."""
    device = result.weights[0].device if result.weights else torch.device("cpu")
    ones = torch.ones((1, *input_shape), dtype=torch.float64, device=device)
    with _absolute_float64(net), batchnorm_bypassed(net):
        flow = net(ones).sum()
        grads = torch.autograd.grad(flow, result.weights, allow_unused=True)
        result.synflow_weights = [w.detach().clone() for w in result.weights]
    result.synflow_grads = [torch.zeros_like(w) if g is None else g for w, g in zip(result.synflow_weights, grads)]


@contextmanager
def _absolute_float64(net: nn.Module):
    """Swap every floating parameter and buffer for its float64 absolute value, then
    swap the original tensors back (the very same objects, so bit-identical)."""
    tensors = {id(t): t for t in [*net.parameters(), *net.buffers()] if t.is_floating_point()}
    originals = {key: tensor.data for key, tensor in tensors.items()}
    try:
        for tensor in tensors.values():
            tensor.data = tensor.data.abs().double()
        yield
    finally:
        for key, tensor in tensors.items():
            tensor.data = originals[key]


def count_flops(net: nn.Module, input_shape) -> float:
    """Forward FLOPs of one image, counting every op the official network runs.

    Convention (that of the NAS-Bench-201 cost tables, which it matches to within
    ~1e3 FLOPs): multiply-accumulates of Conv2d and Linear layers, k*k per output
    element of pooling layers, 3 per output element of BatchNorm (normalise, scale,
    shift); activations and additions are free. Modules with a `run_everything`
    switch (NB201 cells) also run edges that cannot reach the output, as the
    official networks do.
    """
    total = 0.0

    def count(module, args, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            k_h, k_w = module.kernel_size
            total += module.in_channels // module.groups * k_h * k_w * output.numel()
        elif isinstance(module, nn.Linear):
            total += module.in_features * output.numel()
        elif isinstance(module, (nn.AvgPool2d, nn.MaxPool2d)):
            kernel = module.kernel_size
            total += (kernel * kernel if isinstance(kernel, int) else kernel[0] * kernel[1]) * output.numel()
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            total += 3 * output.numel()

    switchable = [m for m in net.modules() if hasattr(m, "run_everything")]
    saved = [m.run_everything for m in switchable]
    hooks = [m.register_forward_hook(count) for m in net.modules()]
    device = next(net.parameters()).device
    was_training = net.training
    try:
        for module in switchable:
            module.run_everything = True
        net.eval()
        with torch.no_grad():
            net(torch.zeros((1, *input_shape), device=device))
    finally:
        net.train(was_training)
        for hook in hooks:
            hook.remove()
        for module, value in zip(switchable, saved):
            module.run_everything = value
    return total
