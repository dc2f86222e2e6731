"""Forward FLOPs of one image, by counting hooks on a batch-1 forward."""

import torch
from torch import nn

from .context import Context
from .registry import register_pass


@register_pass("flops")
def flops(context: Context) -> float:
    return count_flops(context.net, context.inputs.shape[1:])


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
