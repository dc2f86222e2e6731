"""Proxies against values worked out by hand on networks small enough to do so.

The network: logits z = W x + b with W = [[1, 2], [3, -1]], b = 0, one sample
x = [1, 1] of class 0. Then z = [3, 2], p = softmax(z) = [a, 1 - a] with
a = sigmoid(1), and dL/dz = p - e_0 = (1 - a) * [-1, 1], so
dL/dW = (p - e_0) x^T = (1 - a) * [[-1, -1], [1, 1]].
"""

import math

import pytest
import torch
from torch import nn

import zcnas

A = 1 / (1 + math.exp(-1))  # softmax probability of class 0
D = 1 - A  # |dL/dz_k| for both classes
W = [[1.0, 2.0], [3.0, -1.0]]


def linear_net() -> nn.Module:
    net = nn.Linear(2, 2)
    with torch.no_grad():
        net.weight.copy_(torch.tensor(W))
        net.bias.zero_()
    return net


BATCH = (torch.tensor([[1.0, 1.0]]), torch.tensor([0]))


def scores(*names, net=None, batch=BATCH):
    return zcnas.score(net or linear_net(), batch, list(names))


def test_grad_norm_is_frobenius_norm_of_the_gradient():
    # ||dL/dW|| = sqrt(4 D^2) = 2 D
    assert scores("grad_norm")["grad_norm"] == pytest.approx(2 * D, rel=1e-6)


def test_snip_sums_abs_weight_times_gradient():
    # |W| summed = 1 + 2 + 3 + 1 = 7, every |dL/dW| = D
    assert scores("snip")["snip"] == pytest.approx(7 * D, rel=1e-6)


def test_plain_sums_signed_weight_times_gradient():
    # D * (-1 - 2 + 3 - 1)
    assert scores("plain")["plain"] == pytest.approx(-D, rel=1e-6)


def test_fisher_on_a_linear_layer():
    # Outputs a = z = [3, 2], dL/da = D * [-1, 1]; f_c = 1/2 (a_c g_c)^2 (one sample);
    # each output channel has 2 weights.
    expected = 0.5 * ((3 * D) ** 2 + (2 * D) ** 2) * 2
    assert scores("fisher")["fisher"] == pytest.approx(expected, rel=1e-6)


def test_grasp_minus_weight_times_hessian_gradient():
    # Hessian of the loss in z is S = diag(p) - p p^T = A D [[1, -1], [-1, 1]].
    # (H g)_ij = x_j * sum_k S_ik (g x)_k with (g x)_k = (p - e_0)_k |x|^2 = 2 D [-1, 1]_k,
    # so S (g x) = 4 A D^2 [-1, 1] and H g = 4 A D^2 [[-1, -1], [1, 1]].
    # -sum W * H g = -4 A D^2 (-(1 + 2) + (3 - 1)) = 4 A D^2.
    assert scores("grasp")["grasp"] == pytest.approx(4 * A * D**2, rel=1e-5)


def test_synflow_on_a_linear_layer():
    # |W| with a ones input: dR/dW_ij = x_j = 1, so the score is sum |W| = 7.
    assert scores("synflow")["synflow"] == pytest.approx(7.0, rel=1e-12)


def test_synflow_bypasses_batchnorm_and_takes_absolute_values():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Linear(3, 1))
    with torch.no_grad():
        net[1].running_mean.fill_(5.0)  # would change the flow if BatchNorm were applied
        net[1].weight.fill_(-7.0)
    first, bn, last = net
    a, b1 = first.weight.detach().abs().double(), first.bias.detach().abs().double()
    c = last.weight.detach().abs().double()
    hidden = a.sum(1) + b1  # |W1| @ ones + |b1|
    # dR/dW1_ij = c_i * x_j (x = ones), dR/dW2_i = hidden_i
    expected = float((a * c.T).sum() + (c * hidden).sum())
    assert zcnas.score(net, (torch.ones(2, 2), torch.tensor([0, 0])), ["synflow"])["synflow"] == pytest.approx(
        expected, rel=1e-12
    )


def test_l2_norm_params_and_flops():
    result = scores("l2_norm", "params", "flops")
    assert result["l2_norm"] == pytest.approx(math.sqrt(1 + 4 + 9 + 1), rel=1e-12)
    assert result["params"] == 6  # 4 weights + 2 biases
    assert result["flops"] == 4  # 2 x 2 multiply-accumulates


def test_jacob_cov_with_identical_jacobian_rows():
    # For a linear net d(sum z)/dx = W^T 1 = [4, 1] for every sample, so the rows are
    # perfectly correlated: C = [[1, 1], [1, 1]] with eigenvalues 0 and 2.
    batch = (torch.tensor([[1.0, 1.0], [0.5, -2.0]]), torch.tensor([0, 1]))
    k = 1e-5
    expected = -((math.log(k) + 1 / k) + (math.log(2 + k) + 1 / (2 + k)))
    assert scores("jacob_cov", batch=batch)["jacob_cov"] == pytest.approx(expected, rel=1e-9)


def test_fisher_on_a_convolution_sums_over_positions():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 5))
    inputs, targets = torch.randn(4, 2, 4, 4), torch.tensor([0, 1, 2, 3])
    # Independent route: keep the conv output's gradient with retain_grad.
    conv_out = net[0](inputs)
    conv_out.retain_grad()
    logits = net[3](net[2](net[1](conv_out)))
    linear_in = net[2](net[1](conv_out)).detach().requires_grad_()
    linear_out = net[3](linear_in)
    linear_out.retain_grad()
    nn.functional.cross_entropy(logits, targets).backward()
    nn.functional.cross_entropy(linear_out, targets).backward()
    conv_term = 0.5 * ((conv_out * conv_out.grad).sum((2, 3)) ** 2).mean(0).sum() * (2 * 3 * 3)
    linear_term = 0.5 * ((linear_out * linear_out.grad) ** 2).mean(0).sum() * (3 * 4 * 4)
    expected = float((conv_term + linear_term).detach())
    assert zcnas.score(net, (inputs, targets), ["fisher"])["fisher"] == pytest.approx(expected, rel=1e-5)
