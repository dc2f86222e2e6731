"""The cheap BatchNorm second derivative GraSP's graph is built with (zcnas/kernels/batchnorm_second_order.py)."""

from contextlib import nullcontext

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import zcnas
from zcnas.kernels.batchnorm_second_order import cheap_batchnorm_second_derivative


def _inputs(shape, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=generator, dtype=torch.float64)


@pytest.mark.parametrize("shape", [(4, 3, 5, 5), (6, 2)], ids=["2d", "1d"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_second_derivative_matches_finite_differences(shape, affine):
    x = _inputs(shape).requires_grad_()
    weight = (_inputs(shape[1], 1) if affine else None)
    bias = (_inputs(shape[1], 2) if affine else None)
    parameters = [weight.requires_grad_(), bias.requires_grad_()] if affine else []

    def normalised(x, *affine_parameters):
        with cheap_batchnorm_second_derivative():
            return F.batch_norm(x, None, None, *affine_parameters, training=True)

    assert torch.autograd.gradcheck(normalised, (x, *parameters))
    assert torch.autograd.gradgradcheck(normalised, (x, *parameters))


def _second_derivatives(x, weight, bias, routed: bool):
    """d/d(x, γ, β) of a function of the first backward's three results, so that the
    second derivative receives gradients for all of them (u, p and q)."""
    with cheap_batchnorm_second_derivative() if routed else nullcontext():
        out = F.batch_norm(x, None, None, weight, bias, training=True)
    grad_out = _inputs(out.shape, 3)
    loss = (out * grad_out).sum() + (out**3).sum()
    first = torch.autograd.grad(loss, (x, weight, bias), create_graph=True)
    mixed = sum((derivative * _inputs(derivative.shape, 10 + i)).sum() for i, derivative in enumerate(first))
    return torch.autograd.grad(mixed, (x, weight, bias))


def test_second_derivative_equals_pytorchs_double_backward():
    x = _inputs((5, 3, 4, 4)).requires_grad_()
    weight, bias = _inputs(3, 1).requires_grad_(), _inputs(3, 2).requires_grad_()
    for ours, pytorchs in zip(_second_derivatives(x, weight, bias, routed=True),
                              _second_derivatives(x, weight, bias, routed=False)):
        torch.testing.assert_close(ours, pytorchs, rtol=1e-10, atol=1e-10)


def _tiny_network(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4, affine=False), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))


def test_forward_gradients_and_running_statistics_are_pytorchs_bit_for_bit():
    x = torch.randn(8, 3, 6, 6, generator=torch.Generator().manual_seed(0), requires_grad=True)
    targets = torch.arange(8) % 10
    results = []
    for routed in (False, True):
        net = _tiny_network()
        with cheap_batchnorm_second_derivative() if routed else nullcontext():
            logits = net(x)
        grads = torch.autograd.grad(F.cross_entropy(logits, targets), [x, *net.parameters()])
        results.append([logits, *grads, *net.buffers()])
    for plain, routed in zip(*results):
        assert torch.equal(plain, routed)


def test_eval_mode_is_left_to_pytorch():
    net = _tiny_network().eval()
    x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(1))
    with cheap_batchnorm_second_derivative():
        routed = net(x)
    assert torch.equal(routed, net(x))


def test_grasp_on_a_batchnorm_network_equals_the_native_hessian_product():
    """GraSP = -Σ W ⊙ H·g, g the loss gradient: against H·g from PyTorch's own double
    backward, in float64, on a network whose BatchNorm layers carry second-order terms."""
    net = _tiny_network(seed=3).double()
    inputs = torch.randn(8, 3, 6, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    targets = torch.arange(8) % 10
    weights = [m.weight for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    state = {name: tensor.clone() for name, tensor in net.state_dict().items()}
    grads = torch.autograd.grad(F.cross_entropy(net(inputs), targets), weights, create_graph=True)
    hessian_grads = torch.autograd.grad(sum((g.detach() * g).sum() for g in grads), weights)
    expected = sum((-w * hg).sum() for w, hg in zip(weights, hessian_grads)).item()
    net.load_state_dict(state)
    assert zcnas.score(net, (inputs, targets), ["grasp"])["grasp"] == pytest.approx(expected, rel=1e-9)
