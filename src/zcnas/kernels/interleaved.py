"""Training a small network on a batch whose images are interleaved, so that its CPU
convolutions run fast.

PyTorch's CPU convolutions (oneDNN) handle 4 or 8 channels poorly: at econas's r8c4
sizes a 3x3 convolution's forward and backward take 6.2 ms per 2048 images, while the
same work as a grouped convolution over two such networks side by side takes 2.9 ms per
network. One network gets that speed by running on its batch several images at a time:
the interleaved layout holds images kn ... kn+k-1 of a batch (k = `IMAGES_INTERLEAVED`)
as one N/k x kC x H x W tensor (channels-last: at each pixel, image kn's C channels,
then image kn+1's, ...).

Every op that treats channels one by one (ReLU, sums, pooling, including NB201's
depthwise window sums) runs on it unchanged. The three that mix channels are rewritten,
inside `interleaved_layout`, by how many channels they are handed compared with how many
their weights expect:
- a convolution becomes a grouped convolution with its weights repeated for each image
  of a group (so each image meets the same weights, and their gradients add up); a 1x1
  convolution with stride 1 instead runs unchanged on the "wide view", the same memory
  read as an N/k x C x H x kW tensor (image kn+j's pixel w at column kw+j), where
  PyTorch's own kernel is faster than the grouped one;
- BatchNorm also runs on the wide view, so that its statistics cover every image of the
  batch: PyTorch's kernel from 8 channels up, `wide_batch_norm` below that (training
  mode on the CPU);
- the classifier's input, kC features per row, is read back as one row per image.
The values are those of the network run on the batch as it is, to float rounding
(tests/test_kernels_interleaved.py: float64 losses, gradients and running statistics).
Two images per group give the convolutions their speed; four also put 16 channels in
each row for the pooling and the ReLUs, 3% faster again. At r8c4, batch 2048, a training
step runs about 1.4x faster than in plain channels-last memory (bench/econas.py).
"""

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from .wide_batchnorm import wide_batch_norm

CHANNELS_LAST = torch.channels_last
IMAGES_INTERLEAVED = 4
# From this many channels PyTorch's own channels-last BatchNorm is as fast as the wide one.
_NATIVE_BATCHNORM_CHANNELS = 8


def interleave_images(images: torch.Tensor) -> torch.Tensor:
    """An N x C x H x W batch (N a multiple of `IMAGES_INTERLEAVED`) in the interleaved
    layout: N/k x kC x H x W, channels-last. (Read as NCHW, the batch already is one.)"""
    count, channels, height, width = images.shape
    if count % IMAGES_INTERLEAVED:
        raise ValueError(f"the interleaved layout needs a multiple of {IMAGES_INTERLEAVED} images; "
                         f"got a batch of {count}")
    return (images.reshape(count // IMAGES_INTERLEAVED, IMAGES_INTERLEAVED * channels, height, width)
            .contiguous(memory_format=CHANNELS_LAST))


def _regrouped(x: torch.Tensor, channels: int) -> torch.Tensor:
    """The channels-last memory of x read with `channels` channels per pixel (a view)."""
    count, _, height, _ = x.shape
    return x.permute(0, 2, 3, 1).reshape(count, height, -1, channels).permute(0, 3, 1, 2)


def _wide_view(x: torch.Tensor) -> torch.Tensor:
    """An interleaved N/k x kC x H x W tensor as N/k x C x H x kW."""
    return _regrouped(x, x.shape[1] // IMAGES_INTERLEAVED)


def _interleaved_view(x: torch.Tensor) -> torch.Tensor:
    """The inverse of `_wide_view`."""
    return _regrouped(x, x.shape[1] * IMAGES_INTERLEAVED)


def _all_equal(value, expected: int) -> bool:
    return all(v == expected for v in value) if isinstance(value, (tuple, list)) else value == expected


def _conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    if input.shape[1] != IMAGES_INTERLEAVED * weight.shape[1] * groups:
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    if weight.shape[2:] == (1, 1) and _all_equal(stride, 1) and (padding == "valid" or _all_equal(padding, 0)):
        return _interleaved_view(F.conv2d(_wide_view(input), weight, bias, 1, 0, dilation, groups))
    repeated = weight.repeat(IMAGES_INTERLEAVED, 1, 1, 1).contiguous(memory_format=CHANNELS_LAST)
    bias = None if bias is None else bias.repeat(IMAGES_INTERLEAVED)
    return F.conv2d(input, repeated, bias, stride, padding, dilation, groups * IMAGES_INTERLEAVED)


def _batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
                eps=1e-5):
    if weight is None and running_mean is None:
        raise ValueError("a BatchNorm with neither weights nor running statistics does not say how many "
                         "channels it normalises, which the interleaved layout needs")
    channels = (weight if weight is not None else running_mean).numel()
    if input.shape[1] != IMAGES_INTERLEAVED * channels:
        return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    wide = _wide_view(input)
    if training and channels < _NATIVE_BATCHNORM_CHANNELS and input.device.type == "cpu":
        out = wide_batch_norm(wide, running_mean, running_var, weight, bias, momentum, eps)
    else:
        out = F.batch_norm(wide, running_mean, running_var, weight, bias, training, momentum, eps)
    return _interleaved_view(out)


def _linear(input, weight, bias=None):
    if input.shape[-1] == IMAGES_INTERLEAVED * weight.shape[1]:
        input = input.reshape(-1, weight.shape[1])
    return F.linear(input, weight, bias)


_REWRITES = {F.conv2d: _conv2d, F.batch_norm: _batch_norm, F.linear: _linear}


class interleaved_layout(TorchFunctionMode):
    """While active, a network built from convolutions, BatchNorm, channel-wise ops and a
    final linear classifier computes on `interleave_images(batch)` what it computes on
    `batch` (its logits come out one row per image, in batch order)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        return _REWRITES.get(func, func)(*args, **(kwargs or {}))
