"""NB201's `avg_pool_3x3` op, run where PyTorch's CPU kernels are fast.

On the CPU, PyTorch's 3x3 average pooling and its backward are 3-6x slower on NCHW
tensors than on channels-last ones, and the op sat on a quarter of the time of scoring
an NB201 cell. In float32 each window sum here is a depthwise convolution with a ones
kernel, which keeps the input's memory layout: at NB201's scoring sizes it is 1.6-3x
faster than channels-last pooling with the two layout copies that needs, and 5x faster
than channels-last pooling at econas's (4 channels, 8x8). Its products by one are exact,
so it differs from pooling only in the order it adds a window's values, which is
oneDNN's choice: at NB201's channel counts on the Xeon this was measured on, it gives
PyTorch's NCHW pooling bit for bit; in general, to float32 rounding. Float64 (synflow),
for which that convolution is slow, pools in channels-last memory and hands back NCHW,
bit for bit PyTorch's NCHW results. Gradients and gradients of gradients (GraSP) are
built from the same window sum (tests/test_kernels_pooling.py).

A tensor already in channels-last memory (the econas training loop runs so) stays there.
A batch of one image (MeCo's forward, synflow's) goes to PyTorch's own op: there the
kernel's fixed cost per call, about 0.1 ms, is more than the work it saves (a forward of an
NB201 cell at batch one: 13.1 ms with the kernel, 10.5 ms with NCHW pooling, on a 2-core
AMD EPYC). Without a gradient to take (MeCo's), it pools in channels-last memory and hands
back the input's layout: 2-3x faster than NCHW pooling at NB201's sizes, the same values
bit for bit.
"""

import torch
import torch.nn.functional as F
from torch import nn

CHANNELS_LAST = torch.channels_last


def _in_channels_last(x: torch.Tensor) -> bool:
    """Laid out channels-last and not also NCHW-contiguous (as one-channel or 1x1 tensors are)."""
    return not x.is_contiguous() and x.is_contiguous(memory_format=CHANNELS_LAST)


def _sums_by_convolution(x: torch.Tensor) -> bool:
    """Whether the window sums are a depthwise convolution (float32, or channels-last memory)."""
    return x.dtype == torch.float32 or _in_channels_last(x)


def _window_sums(x: torch.Tensor) -> torch.Tensor:
    """Sum over each 3x3 window, zero padded (stride 1): the same size and memory layout out as in."""
    if _sums_by_convolution(x):
        channels = x.shape[1]
        return F.conv2d(x, x.new_ones((channels, 1, 3, 3)), padding=1, groups=channels)
    pooled = F.avg_pool2d(x.contiguous(memory_format=CHANNELS_LAST), 3, stride=1, padding=1,
                          count_include_pad=True, divisor_override=1)
    return pooled.contiguous()


def _window_counts(x: torch.Tensor) -> torch.Tensor:
    """How many input positions each 3x3 window covers (4, 6 or 9), as a 1 x C x H x W
    tensor in x's memory layout: dividing channels-last tensors by a count broadcast over
    their channels is twice as slow at 8 channels (econas's interleaved layout)."""
    ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
    counts = F.avg_pool2d(ones, 3, stride=1, padding=1, count_include_pad=True, divisor_override=1)
    layout = CHANNELS_LAST if _in_channels_last(x) else torch.contiguous_format
    return counts.expand(1, x.shape[1], *x.shape[2:]).contiguous(memory_format=layout)


class _WindowSum(torch.autograd.Function):
    """The 3x3 window sum; its own adjoint, so its gradient is the window sum of the gradient."""

    @staticmethod
    def forward(ctx, x):
        return _window_sums(x)

    @staticmethod
    def backward(ctx, grad):
        return _WindowSum.apply(grad)


class _AveragePool(torch.autograd.Function):
    """The 3x3 average excluding padding. Its gradient, the window sum of grad / count,
    is built from `_WindowSum`, so it can be differentiated again."""

    @staticmethod
    def forward(ctx, x):
        ctx.counts = _window_counts(x)
        if _sums_by_convolution(x):
            return _window_sums(x) / ctx.counts
        pooled = F.avg_pool2d(x.contiguous(memory_format=CHANNELS_LAST), 3, stride=1, padding=1,
                              count_include_pad=False)
        return pooled.contiguous()

    @staticmethod
    def backward(ctx, grad):
        return _WindowSum.apply(grad / ctx.counts)


class AvgPool3x3(nn.AvgPool2d):
    """`nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)`, faster on the CPU."""

    def __init__(self):
        super().__init__(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or x.dim() != 4:
            return super().forward(x)
        if len(x) == 1:
            if x.requires_grad:  # in NCHW memory, so that the gradient stays NCHW too
                return super().forward(x)
            layout = CHANNELS_LAST if _in_channels_last(x) else torch.contiguous_format
            return super().forward(x.contiguous(memory_format=CHANNELS_LAST)).contiguous(memory_format=layout)
        return _AveragePool.apply(x)
