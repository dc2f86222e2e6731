"""Training-mode BatchNorm for channels-last tensors with few channels, fast on the CPU.

In channels-last memory a tensor with C channels is a (pixels x C) matrix. PyTorch's CPU
kernels vectorise its BatchNorm across the C columns, so with 4 channels most of each
vector register idles: at econas's r8c4 sizes, forward and backward take 4.7 ms where
NCHW memory takes 1.8 ms (channels-last is kept because the convolutions need it).
Here the same memory is read as a wider matrix, f consecutive pixels per row
((pixels / f) x f·C, at least 16 columns where the pixel count allows), so every pass
runs on full registers, and each per-channel sum adds up its f column sums. Each pass
reads the input once:
- forward: the column sums (Σ x), the diagonal of the Gram matrix (Σ x²; a small
  matrix product), one fused multiply-add writing the output;
- backward: Σ gO and Σ gO·x per channel (a column sum and a small matrix product), then
  gx = γ·s·(gO - Σ gO/m - x̂·Σ(gO·x̂)/m) as two fused multiply-adds of gO and x,
with m the pixel count, s = 1/sqrt(var + eps), x̂ = (x - mean)·s. Running statistics
follow PyTorch's rule (momentum update, unbiased variance). Values equal `F.batch_norm`'s
to float rounding (tests/test_kernels_interleaved.py); from 8 channels PyTorch's kernel
is as fast, and `interleaved_layout` leaves BatchNorm to it there.
"""

import torch
from torch.autograd.function import once_differentiable

CHANNELS_LAST = torch.channels_last
# Columns to fill: one AVX-512 register of float32 values.
_LANES = 16
# The variance is E[x²] - mean², which loses about log10(1 + mean²/var) digits to
# cancellation: with mean² above 64 x the variance (2 digits) it is recomputed from the
# centred values. (In econas training on CIFAR-10, 4 cells x 5 epochs, the largest ratio
# seen was 11.)
_MEAN_SQUARE_OVER_VARIANCE = 64


def wide_batch_norm(x: torch.Tensor, running_mean, running_var, weight, bias, momentum: float,
                    eps: float) -> torch.Tensor:
    """`F.batch_norm(x, running_mean, running_var, weight, bias, training=True, momentum, eps)`
    for an N x C x H x W tensor, computed on its channels-last matrix; the result is
    channels-last."""
    return _WideBatchNorm.apply(x, weight, bias, running_mean, running_var, momentum, eps)


def _pixels_per_row(pixels: int, channels: int) -> int:
    """How many pixels share a row of the wide matrix: doubled while the row is narrower
    than a register and the pixel count still divides evenly."""
    fold = 1
    while fold * channels < _LANES and pixels % (2 * fold) == 0:
        fold *= 2
    return fold


def _as_matrix(tensor: torch.Tensor, width: int) -> torch.Tensor:
    """The channels-last memory of an N x C x H x W tensor as a matrix `width` columns wide (a view)."""
    return tensor.permute(0, 2, 3, 1).reshape(-1, width)


def _per_channel_sum(column_sums: torch.Tensor, channels: int) -> torch.Tensor:
    return column_sums.view(-1, channels).sum(0)


class _WideBatchNorm(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, momentum, eps):
        x = x.contiguous(memory_format=CHANNELS_LAST)
        channels = x.shape[1]
        pixels = x.numel() // channels
        fold = _pixels_per_row(pixels, channels)
        matrix = _as_matrix(x, fold * channels)
        mean = _per_channel_sum(matrix.sum(0), channels) / pixels
        variance = _per_channel_sum((matrix.T @ matrix).diagonal(), channels) / pixels - mean * mean
        if (variance * _MEAN_SQUARE_OVER_VARIANCE < mean * mean).any():
            centred = matrix - mean.repeat(fold)
            variance = _per_channel_sum((centred.T @ centred).diagonal(), channels) / pixels
        invstd = (variance + eps).rsqrt()
        scale = invstd if weight is None else weight * invstd
        shift = -mean * scale if bias is None else bias - mean * scale
        out = torch.empty_like(x, memory_format=CHANNELS_LAST)
        torch.addcmul(shift.repeat(fold), matrix, scale.repeat(fold), out=_as_matrix(out, fold * channels))
        if running_mean is not None:
            running_mean.mul_(1 - momentum).add_(mean, alpha=momentum)
            running_var.mul_(1 - momentum).add_(variance * (pixels / (pixels - 1)), alpha=momentum)
        ctx.save_for_backward(matrix, weight, mean, invstd)
        ctx.fold = fold
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        matrix, weight, mean, invstd = ctx.saved_tensors
        fold, channels = ctx.fold, invstd.numel()
        pixels = matrix.numel() // channels
        grad_matrix = _as_matrix(grad_out.contiguous(memory_format=CHANNELS_LAST), fold * channels)
        sum_grad = _per_channel_sum(grad_matrix.sum(0), channels)
        sum_grad_x = _per_channel_sum((grad_matrix.T @ matrix).diagonal(), channels)
        sum_grad_x_hat = (sum_grad_x - mean * sum_grad) * invstd
        gamma_s = invstd if weight is None else weight * invstd
        # gx = γ·s·gO + x_coefficient·x + constant, with x̂ = (x - mean)·s expanded.
        x_coefficient = -gamma_s * invstd * sum_grad_x_hat / pixels
        constant = -gamma_s * sum_grad / pixels - x_coefficient * mean
        grad_x = torch.empty_like(grad_out, memory_format=CHANNELS_LAST)
        grad_x_matrix = _as_matrix(grad_x, fold * channels)
        torch.addcmul(constant.repeat(fold), grad_matrix, gamma_s.repeat(fold), out=grad_x_matrix)
        grad_x_matrix.addcmul_(matrix, x_coefficient.repeat(fold))
        wanted = ctx.needs_input_grad
        return (grad_x, sum_grad_x_hat if wanted[1] else None, sum_grad if wanted[2] else None,
                None, None, None, None)
