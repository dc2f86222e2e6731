"""Training-mode BatchNorm whose second derivative is cheap on the CPU, for GraSP's H·g.

PyTorch's double backward of BatchNorm (`NativeBatchNormBackwardBackward0`) is a chain
of about 25 whole-tensor operations, and it was a fifth of the time of scoring the
paper's six proxies on NB201. Written out, each of its results is a per-channel linear
combination of a few whole tensors (the normalised input x̂, the incoming gradient and
the gradient of the gradient) whose coefficients need five per-channel sums, so it
takes about a dozen passes over memory instead.

The forward and the first backward are PyTorch's own kernels (`native_batch_norm` and
`native_batch_norm_backward`), so activations, gradients and running statistics are
bit-identical to `F.batch_norm`'s; only second derivatives differ, by rounding.

Derivation, per channel over its m = N·H·W values, with s = 1/sqrt(var + eps),
x̂ = (x - mean)·s, γ the scale, gO the gradient of the output, A = Σ gO and
B = Σ gO·x̂ (the bias and scale gradients). The first backward is
    gx = γ·s·(gO - A/m - x̂·B/m),  gγ = B,  gβ = A.
Given u, p, q, the gradients of gx, gγ and gβ, let U = Σ u, V = Σ u·x̂ and
W = Σ u·gO - (A·U + B·V)/m. Then
    d/dgO = γ·s·u + (p - γ·s·V/m)·x̂ + (q - γ·s·U/m)
    d/dγ  = s·W
    d/dx  = -γ·s²·B/m · u + s·(p - γ·s·V/m) · gO
            + (2·γ·s²·B·V/m² - s·p·B/m - γ·s²·W/m) · x̂
            + γ·s²·(B·U + A·V)/m² - s·p·A/m
(the last from d/dx = s·(G - mean G - x̂·mean(G·x̂)) - (∂/∂s)·s²·x̂/m for the part G
that reaches x through x̂; tests/test_kernels_batchnorm_second_order.py checks it against
finite differences and against PyTorch's double backward).
"""

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode


class cheap_batchnorm_second_derivative(TorchFunctionMode):
    """While the block builds a graph, route training-mode `F.batch_norm` on CPU tensors
    (every `nn.BatchNorm*` module calls it) through the functions below."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.batch_norm:
            return _batch_norm(*args, **kwargs)
        return func(*args, **kwargs)


def _batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    # On a GPU cuDNN's kernels differ from the native ones (and its double backward is fast).
    if not training or input.device.type != "cpu":
        return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    return _BatchNorm.apply(input, weight, bias, running_mean, running_var, momentum, eps)


def _per_channel(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A per-channel vector shaped to broadcast over `like` (N x C x ...)."""
    return values.view([1, -1] + [1] * (like.dim() - 2))


def _channel_sum(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.sum([dim for dim in range(tensor.dim()) if dim != 1])


class _BatchNorm(torch.autograd.Function):
    """Training-mode batch normalisation (updating the running statistics in place)."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, momentum, eps):
        out, mean, invstd = torch.native_batch_norm(x, weight, bias, running_mean, running_var, True, momentum, eps)
        ctx.save_for_backward(x, weight, mean, invstd)
        ctx.eps = eps
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, weight, mean, invstd = ctx.saved_tensors
        grad_x, grad_weight, grad_bias = _BatchNormBackward.apply(grad_out, x, weight, mean, invstd, ctx.eps)
        wanted = ctx.needs_input_grad
        return (grad_x if wanted[0] else None, grad_weight if wanted[1] else None,
                grad_bias if wanted[2] else None, None, None, None, None)


class _BatchNormBackward(torch.autograd.Function):
    """The first backward, as a function of (gO, x, γ) with the closed-form backward above."""

    @staticmethod
    def forward(ctx, grad_out, x, weight, mean, invstd, eps):
        # The scale and bias gradients are B and A, which the second derivative needs.
        grad_x, grad_weight, grad_bias = torch.ops.aten.native_batch_norm_backward(
            grad_out, x, weight, None, None, mean, invstd, True, eps, [True, True, True])
        ctx.save_for_backward(grad_out, x, weight, mean, invstd, grad_bias, grad_weight)
        ctx.set_materialize_grads(False)
        return grad_x, grad_weight, grad_bias

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, u, p, q):
        grad_out, x, weight, mean, invstd, sum_a, sum_b = ctx.saved_tensors
        m = x.numel() // x.shape[1]
        s = invstd
        gamma_s = s if weight is None else weight * s
        zeros = torch.zeros_like(s)
        p = zeros if p is None else p
        q = zeros if q is None else q
        x_hat = torch.addcmul(_per_channel(-mean * s, x), x, _per_channel(s, x))
        if u is None:
            sum_u = sum_u_x_hat = sum_u_grad = zeros
        else:
            sum_u, sum_u_x_hat, sum_u_grad = _channel_sum(u), _channel_sum(u * x_hat), _channel_sum(u * grad_out)
        w = sum_u_grad - (sum_a * sum_u + sum_b * sum_u_x_hat) / m
        wanted = ctx.needs_input_grad
        grad_grad_out = grad_x = grad_weight = None
        if wanted[0]:
            grad_grad_out = torch.addcmul(_per_channel(q - gamma_s * sum_u / m, x), x_hat,
                                          _per_channel(p - gamma_s * sum_u_x_hat / m, x))
            if u is not None:
                grad_grad_out.addcmul_(u, _per_channel(gamma_s, x))
        if wanted[1]:
            x_hat_coefficient = (2 * gamma_s * s * sum_b * sum_u_x_hat / m**2 - s * p * sum_b / m
                                 - gamma_s * s * w / m)
            constant = gamma_s * s * (sum_b * sum_u + sum_a * sum_u_x_hat) / m**2 - s * p * sum_a / m
            grad_x = torch.addcmul(_per_channel(constant, x), x_hat, _per_channel(x_hat_coefficient, x))
            grad_x.addcmul_(grad_out, _per_channel(s * (p - gamma_s * sum_u_x_hat / m), x))
            if u is not None:
                grad_x.addcmul_(u, _per_channel(-gamma_s * s * sum_b / m, x))
        if wanted[2]:
            grad_weight = s * w
        return grad_grad_out, grad_x, grad_weight, None, None, None
