"""GraSP's Hessian-gradient product H·g, g the whole-batch loss gradient held constant.

With the batch whole it is a double backward through the main pass's kept graph; with
the batch split, one more forward per part.
"""

import torch
import torch.nn.functional as F

from ... import kernels
from .context import Context
from .main import accumulate
from .registry import register_pass


@register_pass("hessian", reads=["gradients", "loss_graph"])
def hessian(context: Context) -> list[torch.Tensor]:
    weights, grads = context.weights, context["gradients"]
    if context["loss_graph"] is not None:
        return _hessian_grads(weights, grads, context["loss_graph"])
    hessian_grads = [torch.zeros_like(w) for w in weights]
    for part_inputs, part_targets, share in context.batch_parts():
        with kernels.second_order_batchnorm():
            loss = F.cross_entropy(context.net(part_inputs), part_targets) * share
        graph_grads = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
        accumulate(hessian_grads, _hessian_grads(weights, grads, graph_grads))
    return hessian_grads


def _hessian_grads(weights, constant_grads, graph_grads) -> list[torch.Tensor]:
    """H·g as the gradient of sum(g * dL/dW) with g held constant."""
    terms = [(g * grad).sum() for g, grad in zip(constant_grads, graph_grads) if grad is not None and grad.requires_grad]
    if not terms:  # the loss is linear in every weight: H·g = 0
        return [torch.zeros_like(w) for w in weights]
    products = torch.autograd.grad(torch.stack(terms).sum(), weights, allow_unused=True)
    return [torch.zeros_like(w) if p is None else p for w, p in zip(weights, products)]
