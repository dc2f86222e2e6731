"""Speed kernels: faster CPU computations of stock PyTorch ops, behind one switch.

Each kernel was measured faster where zcnas's work runs and is tested against PyTorch's
own op (values, gradients and, where GraSP needs them, second derivatives):
- `pooling`: 3x3 average pooling as a depthwise window sum (scoring and training);
- `batchnorm_second_order`: BatchNorm's second derivative in closed form (GraSP's H·g);
- `interleaved`: a training batch's images interleaved four to a row, so that convolutions
  run grouped (reduced training);
- `wide_batchnorm`: training-mode BatchNorm over few channels read as a wider matrix
  (inside the interleaved layout);
- and the channels-last memory reduced training runs in.

Networks are built stock (a search space knows nothing of these); the work applies the
kernels where it runs: scoring and reduced training to the network they run
(`accelerated`), scoring around GraSP's graph (`second_order_batchnorm`), reduced
training to its weights and steps (`training_layout`, `training_logits`).

`ZCNAS_KERNELS=off` turns them all off: every op is then PyTorch's own, in NCHW memory,
so results equal the stock path's exactly, and with the kernels on they differ from it
by float rounding only (within the tolerances of tests/test_kernels_*.py). Jobs record
the switch in their journals and tracking tags, since it changes rounding.
"""

import os
from contextlib import contextmanager, nullcontext
from typing import Iterator

import torch
from torch import nn

from ..errors import ZcnasError
from .batchnorm_second_order import cheap_batchnorm_second_derivative
from .interleaved import IMAGES_INTERLEAVED, interleave_images, interleaved_layout
from .pooling import AvgPool3x3

SWITCH = "ZCNAS_KERNELS"
_ON, _OFF = {"on", "1", "true", "yes"}, {"off", "0", "false", "no"}


def enabled() -> bool:
    """Whether the kernels are on: `ZCNAS_KERNELS` unset or on|1|true|yes; off|0|false|no
    turns them off; anything else is a ZcnasError naming the value."""
    value = os.environ.get(SWITCH, "on")
    if value.strip().lower() in _ON:
        return True
    if value.strip().lower() in _OFF:
        return False
    raise ZcnasError(f"{SWITCH}={value!r}: expected on or off (also 1/0, true/false, yes/no)")


@contextmanager
def switched(on: bool) -> Iterator[None]:
    """The kernels on or off in this process for the block (a job's workers follow the
    driver's switch, wherever they run)."""
    before = os.environ.get(SWITCH)
    os.environ[SWITCH] = "on" if on else "off"
    try:
        yield
    finally:
        if before is None:
            del os.environ[SWITCH]
        else:
            os.environ[SWITCH] = before


def _is_stock_3x3_average(module: nn.Module) -> bool:
    """NB201's `avg_pool_3x3`: `nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)`."""
    def pair(value):
        return tuple(value) if isinstance(value, (tuple, list)) else (value, value)

    return (type(module) is nn.AvgPool2d and pair(module.kernel_size) == (3, 3) and pair(module.stride) == (1, 1)
            and pair(module.padding) == (1, 1) and not module.ceil_mode and not module.count_include_pad
            and module.divisor_override is None)


def accelerated(net: nn.Module) -> nn.Module:
    """`net` with its stock 3x3 average pooling replaced, in place, by the window-sum kernel
    (the same op: no weights, no buffers); unchanged with the kernels off."""
    if not enabled():
        return net
    for module in net.modules():
        for name, child in module.named_children():
            if _is_stock_3x3_average(child):
                setattr(module, name, AvgPool3x3())
    return net


def second_order_batchnorm():
    """A context in which a graph built through training-mode BatchNorm on the CPU has a
    cheap second derivative; a no-op with the kernels off."""
    return cheap_batchnorm_second_derivative() if enabled() else nullcontext()


def training_layout() -> torch.memory_format:
    """The memory format reduced training keeps its weights and batches in."""
    return torch.channels_last if enabled() else torch.contiguous_format


def training_logits(net: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The network's logits for a training batch: on the CPU in the interleaved layout when
    the batch is whole groups of images (the same values to float rounding, faster), else
    in `training_layout()`."""
    if enabled() and images.device.type == "cpu" and len(images) % IMAGES_INTERLEAVED == 0:
        with interleaved_layout():
            return net(interleave_images(images))
    return net(images.contiguous(memory_format=training_layout()))


__all__ = ["IMAGES_INTERLEAVED", "SWITCH", "accelerated", "enabled", "second_order_batchnorm", "switched",
           "training_layout", "training_logits"]
