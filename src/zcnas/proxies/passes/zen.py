"""Zen-NAS's perturbation of Gaussian inputs through Gaussian-initialised copies of the network."""

import math

import torch
from torch import nn

from .context import Context
from .registry import register_pass
from .tools import captured, feature_modules, reinitialised_copy

# The reference's mixup_gamma (idstcv/ZenNAS, ZeroShotProxy/compute_zen_score.py).
ALPHA = 0.01
# Zen-NAS's evolutionary search scores each candidate with one repeat (its standalone script
# averages 32), as does NAS-Bench-Suite-Zero, whose rerun gives the published NB201 rho; 32
# would cost about 30x the time (tens of seconds per NB201 cell on a CPU core).
REPEATS = 1


def gaussian_init(module: nn.Module, generator: torch.Generator) -> None:
    """The reference's `network_weight_gaussian_init`: conv and linear weights ~ N(0, 1) and
    zero biases; BatchNorm and GroupNorm scale 1, shift 0; anything else left as it is."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        module.weight.copy_(torch.randn(module.weight.shape, generator=generator))
        if module.bias is not None:
            module.bias.zero_()
    elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)) and module.affine:
        module.weight.fill_(1.0)
        module.bias.zero_()


@register_pass("zen", requires=["feature_modules"])
def zen(context: Context) -> list[tuple[float, float]]:
    """Per repeat: (log Delta, sum over BatchNorm2d layers of log sqrt(mean running variance)),
    log Delta being -inf for features that do not depend on the input.

    Delta is the batch mean of sum |f(x) - f(x + ALPHA eps)| over the `pre_pool` features
    f, x and eps standard normal of the batch's shape, through a copy of the network
    re-initialised by `gaussian_init`, in the network's (train) mode. As in the reference,
    each repeat draws new weights and inputs but the running statistics carry over: they
    start from their initial values (mean 0, variance 1; reset, so earlier passes on the
    caller's network do not matter) and every forward updates them.
    """
    model = context.net
    repeats = []
    with torch.no_grad():
        for repeat in range(REPEATS):
            model = reinitialised_copy(model, gaussian_init, seed=repeat)
            if repeat == 0:
                for module in model.modules():
                    if isinstance(module, nn.modules.batchnorm._BatchNorm):
                        module.reset_running_stats()
            inputs = context.gaussian_inputs(seed=2 * repeat)
            noise = context.gaussian_inputs(seed=2 * repeat + 1)
            features = [_pre_pool_features(model, batch) for batch in (inputs, inputs + ALPHA * noise)]
            delta = (features[0] - features[1]).abs().flatten(1).sum(1).mean()
            scaling = sum(math.log(math.sqrt(float(module.running_var.mean()))) for module in model.modules()
                          if isinstance(module, nn.BatchNorm2d) and module.running_var is not None)
            repeats.append((float(torch.log(delta)), scaling))  # -inf when f ignores its input
    return repeats


def _pre_pool_features(net: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    with captured({"pre_pool": feature_modules(net)["pre_pool"]}) as calls:
        net(inputs)
    (features,) = calls["pre_pool"]
    return features
