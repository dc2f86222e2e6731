"""The speed kernels of reduced training on the CPU: the interleaved layout and the wide
BatchNorm compute what the network computes on the batch as it is (float64, to rounding)."""

import copy
import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from zcnas import kernels
from zcnas.econas import make_config, prepare_data
from zcnas.econas import training
from zcnas.kernels import wide_batchnorm
from zcnas.kernels.interleaved import IMAGES_INTERLEAVED, interleave_images, interleaved_layout
from zcnas.kernels.wide_batchnorm import wide_batch_norm
from zcnas.spaces.nb201 import NB201

CHANNELS_LAST = torch.channels_last
K = IMAGES_INTERLEAVED
EVERY_OP = ("avg_pool_3x3", "nor_conv_3x3", "skip_connect", "nor_conv_1x1", "avg_pool_3x3", "none")


def channels_last(shape, seed=0, dtype=torch.float64, mean=0.0):
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=generator, dtype=dtype) + mean).contiguous(memory_format=CHANNELS_LAST)


# --- wide BatchNorm ------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(8, 4, 4, 4), (6, 3, 5, 5), (3, 4, 3, 3), (2, 1, 2, 3), (5, 16, 2, 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_wide_batchnorm_equals_pytorchs_values_gradients_and_running_statistics(shape, affine):
    """Shapes whose pixel count lets 4, 2 or 1 pixels share a row, and one already 16 wide."""
    channels = shape[1]
    x = channels_last(shape, mean=0.5).requires_grad_()
    weight = (torch.rand(channels, dtype=torch.float64) + 0.5).requires_grad_() if affine else None
    bias = torch.randn(channels, dtype=torch.float64).requires_grad_() if affine else None
    grad_out = channels_last(shape, seed=1)
    stats = [torch.randn(channels, dtype=torch.float64), torch.rand(channels, dtype=torch.float64) + 0.5]
    ours_stats, theirs_stats = copy.deepcopy(stats), copy.deepcopy(stats)
    inputs = [t for t in (x, weight, bias) if t is not None]

    ours = wide_batch_norm(x, *ours_stats, weight, bias, 0.1, 1e-5)
    theirs = F.batch_norm(x, *theirs_stats, weight, bias, True, 0.1, 1e-5)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-12)
    assert ours.is_contiguous(memory_format=CHANNELS_LAST)
    for mine, reference in zip(torch.autograd.grad(ours, inputs, grad_out),
                               torch.autograd.grad(theirs, inputs, grad_out)):
        torch.testing.assert_close(mine, reference, rtol=0, atol=1e-11)
    for mine, reference in zip(ours_stats, theirs_stats):
        torch.testing.assert_close(mine, reference, rtol=0, atol=1e-14)


def test_wide_batchnorm_gradients_match_finite_differences():
    x = channels_last((4, 4, 2, 2)).requires_grad_()
    weight = torch.rand(4, dtype=torch.float64).add(0.5).requires_grad_()
    bias = torch.randn(4, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(lambda *t: wide_batch_norm(t[0], None, None, t[1], t[2], 0.1, 1e-5),
                                    (x, weight, bias))


def test_a_mean_far_from_zero_takes_the_centred_variance(monkeypatch):
    """E[x²] - mean² cancels when mean² dwarfs the variance: float32 input with mean 1000
    and unit variance (ratio 10⁶) must still give values and gradients as close to
    float64's as PyTorch's float32 kernel does. (The backward's Σ gO·x - mean·Σ gO keeps
    that accuracy here without recentring.)"""
    x = channels_last((64, 4, 4, 4), mean=1000.0).float()
    weight = torch.linspace(0.5, 1.5, 4)
    grad_out = channels_last((64, 4, 4, 4), seed=1).float()

    def out_and_grad(function, tensor):
        tensor = tensor.clone().requires_grad_()
        out = function(tensor)
        return out.double(), torch.autograd.grad(out, tensor, grad_out.to(out.dtype))[0].double()

    exact = out_and_grad(lambda t: F.batch_norm(t, None, None, weight.double(), None, True, 0.1, 1e-5), x.double())
    pytorch = out_and_grad(lambda t: F.batch_norm(t, None, None, weight, None, True, 0.1, 1e-5), x)

    def errors():
        ours = out_and_grad(lambda t: wide_batch_norm(t, None, None, weight, None, 0.1, 1e-5), x)
        return [(mine - truth).abs().max().item() for mine, truth in zip(ours, exact)]

    assert max((theirs - truth).abs().max().item() for theirs, truth in zip(pytorch, exact)) < 1e-3
    assert max(errors()) < 1e-3
    # Without the recentring the same input is visibly off: the test can fail.
    monkeypatch.setattr(wide_batchnorm, "_MEAN_SQUARE_OVER_VARIANCE", float("inf"))
    assert min(errors()) > 1e-2


# --- the interleaved layout ----------------------------------------------------------------


def test_interleaving_puts_each_images_channels_side_by_side_at_every_pixel():
    images = torch.arange(2 * K * 2 * 1 * 3, dtype=torch.float64).view(2 * K, 2, 1, 3)
    interleaved = interleave_images(images)
    assert interleaved.shape == (2, 2 * K, 1, 3)
    assert interleaved.stride() == (2 * K * 3, 1, 2 * K * 3, 2 * K)
    assert interleaved.is_contiguous(memory_format=CHANNELS_LAST)
    for group in range(2):
        for image in range(K):
            for channel in range(2):
                assert torch.equal(interleaved[group, image * 2 + channel], images[group * K + image, channel])
    with pytest.raises(ValueError, match=f"multiple of {K} images; got a batch of {K + 1}"):
        interleave_images(torch.zeros(K + 1, 1, 2, 2))


def per_image_and_interleaved(module: nn.Module, images: torch.Tensor, train: bool = True):
    """(module on the batch, module in the interleaved layout): outputs, parameter gradients, buffers."""
    module = module.double().to(memory_format=CHANNELS_LAST).train(train)
    other = copy.deepcopy(module)
    results = []
    for net, inputs, layout in ((module, images, None), (other, interleave_images(images), interleaved_layout)):
        if layout is None:
            out = net(inputs)
        else:
            with layout():
                out = net(inputs)
            if out.dim() == 4:  # N/k x kC x H x W holds images kn ... kn+k-1 in turn
                out = out.reshape(len(images), -1, *out.shape[2:])
        weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view(out.shape)
        grads = torch.autograd.grad((out * weights).sum(), list(net.parameters()), allow_unused=True) if train else ()
        results.append((out, grads, [b.clone() for b in net.buffers()]))
    return results


@pytest.mark.parametrize("module", [
    nn.Conv2d(4, 6, 3, padding=1, bias=False),
    nn.Conv2d(4, 8, 3, stride=2, padding=1, bias=True),
    nn.Conv2d(4, 4, 1, bias=False),  # runs on the wide view
    nn.Conv2d(4, 4, 1, stride=2, bias=True),  # a strided 1x1 cannot: grouped
    nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4)),  # wide BatchNorm
    nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.BatchNorm2d(8)),  # PyTorch's, on the wide view
    nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(4, 8, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                  nn.Linear(8, 10)),
], ids=["conv3x3", "conv3x3-stride2-bias", "conv1x1", "conv1x1-stride2", "bn4", "bn8", "classifier"])
def test_each_rewritten_op_computes_per_image_values(module):
    (plain_out, plain_grads, plain_buffers), (ours_out, our_grads, our_buffers) = per_image_and_interleaved(
        module, channels_last((4 * K, 4, 6, 6)))
    torch.testing.assert_close(ours_out, plain_out, rtol=0, atol=1e-12)
    for ours, theirs in zip(our_grads, plain_grads):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-11)
    for ours, theirs in zip(our_buffers, plain_buffers):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-13)


def test_batchnorm_in_eval_mode_uses_its_running_statistics():
    bn = nn.BatchNorm2d(4)
    bn.running_mean.normal_()
    bn.running_var.uniform_(0.5, 2)
    (plain_out, _, _), (ours_out, _, _) = per_image_and_interleaved(bn, channels_last((2 * K, 4, 3, 3)), train=False)
    torch.testing.assert_close(ours_out, plain_out, rtol=0, atol=1e-12)


def test_a_batchnorm_that_cannot_tell_its_channels_is_refused():
    with interleaved_layout(), pytest.raises(ValueError, match="neither weights nor running statistics"):
        F.batch_norm(interleave_images(torch.randn(K, 2, 2, 2)), None, None, training=True)


@pytest.mark.parametrize("cell", [EVERY_OP, ("nor_conv_3x3",) * 6, NB201.sample(random.Random(7))])
def test_an_nb201_network_gives_the_same_logits_gradients_and_statistics(cell):
    config = make_config("r8c4e1", {})
    net = training.build_network(config, cell, 10, seed=0)
    (plain_out, plain_grads, plain_buffers), (ours_out, our_grads, our_buffers) = per_image_and_interleaved(
        net, channels_last((4 * K, 3, 8, 8)))
    torch.testing.assert_close(ours_out, plain_out, rtol=0, atol=1e-12)
    assert [g is None for g in our_grads] == [g is None for g in plain_grads]  # edges the network skips
    for ours, theirs in zip(our_grads, plain_grads):
        if theirs is not None:
            torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)
    for ours, theirs in zip(our_buffers, plain_buffers):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-12)


def test_training_interleaved_trains_the_network_as_on_plain_batches(monkeypatch):
    """Two epochs of the loop (float64) against the same loop with the layout switched off:
    every epoch's loss and accuracy, and every weight and running statistic at the end."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (60, 32, 32, 3), generator=generator, dtype=torch.uint8).numpy()
    labels = (torch.arange(60) % 10).numpy()
    config = make_config("r8c4e2", {"batch_size": 16})
    data, _ = prepare_data(images, labels, "cifar10", config, seed=0)
    data = type(data)(*(t.double() if t.is_floating_point() else t for t in data._tensors()), data.num_classes)

    def train():
        net = training.build_network(config, EVERY_OP, 10, seed=0).double()
        rows = [{k: v for k, v in row.items() if k != "seconds"}
                for row in training.train_network(net, config, data, training.batch_generator(config, 0))]
        return rows, net.state_dict()

    layouts = []
    real = kernels.interleaved_layout

    def counting():
        layouts.append(1)
        return real()

    monkeypatch.setattr(kernels, "interleaved_layout", counting)
    ours, our_state = train()
    # 54 training images: batches of 16, 12 and 12 interleaved, the last (14) as it is.
    assert len(layouts) == 2 * 3
    monkeypatch.setattr(kernels, "training_logits", lambda net, images: net(images.contiguous(
        memory_format=CHANNELS_LAST)))
    plain, plain_state = train()
    assert len(layouts) == 2 * 3
    for mine, reference in zip(ours, plain):
        assert mine.keys() == reference.keys()
        for key in mine:
            assert mine[key] == pytest.approx(reference[key], rel=1e-10), key
    for key in plain_state:
        torch.testing.assert_close(our_state[key], plain_state[key], rtol=0, atol=1e-9)


@pytest.mark.parametrize("count, batch_size, expected", [
    (45000, 2048, [2048] * 8 + [2044] * 14),  # the paper's econas setting: 22 batches
    (54, 16, [16, 12, 12, 14]),  # 13 groups of 4 in 4 batches, the 2 left over join the last
    (45, 32, [24, 21]),
    (10, 4, [4, 3, 3]),  # 2 groups cannot fill 3 batches: near-equal sizes as they come
    (4094, 2047, [2047, 2047]),  # groups of 4 would make a batch of 2048
    (64, 16, [16, 16, 16, 16]),
])
def test_batches_are_whole_groups_of_images_where_the_batch_size_allows(count, batch_size, expected):
    sizes = training.batch_sizes(count, batch_size)
    assert sizes == expected
    assert sum(sizes) == count and max(sizes) <= batch_size and min(sizes) >= 2
