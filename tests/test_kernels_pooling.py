"""The pooling kernel (NB201's avg_pool_3x3 as a depthwise window sum) gives PyTorch's NCHW pooling, up to second derivatives: bit for
bit in float64, to float32 rounding in float32 (a depthwise convolution, whose order of addition is
oneDNN's); in channels-last memory (econas training) it stays there and agrees to float tolerance."""

import pytest
import torch
from torch import nn

from zcnas.kernels.pooling import AvgPool3x3


def values_and_derivatives(pool: nn.Module, x: torch.Tensor, weights: torch.Tensor):
    """The pooled output, d(sum w * pool(x^2))/dx, and the gradient of that gradient's
    squared norm, the double backward GraSP takes."""
    x = x.detach().requires_grad_()
    pooled = pool(x * x)
    (gradient,) = torch.autograd.grad((pooled * weights).sum(), x, create_graph=True)
    (second,) = torch.autograd.grad((gradient * gradient).sum(), x)
    return pooled, gradient, second


SHAPES = [(8, 16, 32, 32), (3, 5, 7, 6), (2, 3, 2, 2), (2, 4, 1, 1), (1, 1, 3, 9)]


def _against_pytorch_pooling(shape, dtype):
    generator = torch.Generator().manual_seed(sum(shape))
    x = torch.randn(shape, generator=generator, dtype=dtype)
    weights = torch.randn(shape, generator=generator, dtype=dtype)
    reference = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    return zip(values_and_derivatives(AvgPool3x3(), x, weights), values_and_derivatives(reference, x, weights))


@pytest.mark.parametrize("shape", SHAPES)
def test_equals_pytorch_pooling_bit_for_bit_in_float64(shape):
    for ours, theirs in _against_pytorch_pooling(shape, torch.float64):
        assert ours.is_contiguous()
        assert torch.equal(ours, theirs)


@pytest.mark.parametrize("shape", SHAPES)
def test_equals_pytorch_pooling_to_rounding_in_float32(shape):
    for ours, theirs in _against_pytorch_pooling(shape, torch.float32):
        assert ours.is_contiguous()
        torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(1, 16, 32, 32), (1, 64, 8, 8), (1, 3, 5, 2)])
def test_a_batch_of_one_equals_pytorch_pooling_bit_for_bit_in_its_layout(shape, dtype):
    for ours, theirs in _against_pytorch_pooling(shape, dtype):
        assert ours.is_contiguous()
        assert torch.equal(ours, theirs)
    reference = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    x = torch.randn(shape, dtype=dtype)
    for layout in (torch.contiguous_format, torch.channels_last):  # without a gradient: pooled channels-last
        pooled = AvgPool3x3()(x.contiguous(memory_format=layout))
        assert pooled.is_contiguous(memory_format=layout)
        assert torch.equal(pooled, reference(x))


@pytest.mark.parametrize("shape", [(8, 4, 8, 8), (3, 5, 7, 6), (2, 16, 2, 2)])
def test_channels_last_input_stays_channels_last_with_pytorchs_values(shape):
    generator = torch.Generator().manual_seed(sum(shape))
    x, weights = (torch.randn(shape, generator=generator, dtype=torch.float64).contiguous(
        memory_format=torch.channels_last) for _ in range(2))
    reference = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    for ours, theirs in zip(values_and_derivatives(AvgPool3x3(), x, weights),
                            values_and_derivatives(reference, x.contiguous(), weights.contiguous())):
        assert ours.is_contiguous(memory_format=torch.channels_last) and not ours.is_contiguous()
        torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)


def test_channels_last_border_averages_only_real_pixels():
    # Each channel 2x2: every 3x3 window covers all four pixels, so each output is their mean.
    x = torch.tensor([[[[1.0, 2.0], [3.0, 6.0]], [[0.0, 4.0], [-4.0, 8.0]]]])
    pooled = AvgPool3x3()(x.contiguous(memory_format=torch.channels_last))
    assert pooled.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(pooled.contiguous(), torch.tensor([3.0, 2.0]).view(1, 2, 1, 1).expand(1, 2, 2, 2))


def test_border_averages_only_real_pixels():
    # 2x2 input: every 3x3 window covers all four pixels, so each output is their mean.
    x = torch.tensor([[[[1.0, 2.0], [3.0, 6.0]]]])
    assert torch.equal(AvgPool3x3()(x), torch.full_like(x, 3.0))
