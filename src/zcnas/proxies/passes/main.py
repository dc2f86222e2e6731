"""The main pass: one forward of the minibatch in train mode, then the backwards asked for.

Fused so that gradient, activation and Jacobian proxies share one forward: the weight
gradients of the cross-entropy loss (`gradients`); per layer, N x C_out sums over
spatial positions of (output * d loss / d output) (`channel_products`, for fisher); the
input Jacobian of sum(logits) (`jacobian`); and the weight gradients with their graph
kept (`loss_graph`), so GraSP's Hessian product reuses this forward, built with
BatchNorm's cheap second derivative (`zcnas.kernels.second_order_batchnorm`). The graph cannot be kept across
batch parts, so with the batch split `loss_graph` is None.
"""

from contextlib import nullcontext

import torch
import torch.nn.functional as F

from ... import kernels
from .context import Context
from .registry import register_pass
from .tools import captured


def accumulate(totals: list[torch.Tensor], grads) -> None:
    for total, grad in zip(totals, grads):
        if grad is not None:  # None: the layer does not reach the output
            total += grad


@register_pass("main", produces=("gradients", "channel_products", "jacobian", "loss_graph"))
def main(context: Context) -> dict:
    want_activations = context.wants("channel_products")
    want_jacobian = context.wants("jacobian")
    want_loss_grads = want_activations or context.wants("gradients") or context.wants("loss_graph")
    keep_graph = context.wants("loss_graph") and context.parts == 1
    weights = context.weights
    grads = [torch.zeros_like(w) for w in weights]
    products: list[list[torch.Tensor]] = [[] for _ in weights]
    jacobian_rows = []
    graph_grads = None
    hooked = dict(enumerate(context.layers)) if want_activations else {}
    for part_inputs, part_targets, share in context.batch_parts():
        second_order = kernels.second_order_batchnorm() if keep_graph else nullcontext()
        with captured(hooked) as calls, second_order:
            part_inputs = part_inputs.detach().requires_grad_(want_jacobian)
            logits = context.net(part_inputs)
        outputs = [(index, layer_calls[-1]) for index, layer_calls in calls.items() if layer_calls]
        if want_loss_grads:
            loss = F.cross_entropy(logits, part_targets) * share
            all_grads = torch.autograd.grad(
                loss, weights + [out for _, out in outputs],
                retain_graph=want_jacobian or keep_graph, create_graph=keep_graph, allow_unused=True,
            )
            graph_grads = all_grads[: len(weights)] if keep_graph else None
            accumulate(grads, [None if g is None else g.detach() for g in all_grads[: len(weights)]])
            for (index, out), out_grad in zip(outputs, all_grads[len(weights):]):
                if out_grad is not None:
                    product = (out * out_grad).detach()
                    products[index].append(product.flatten(2).sum(-1) if product.dim() > 2 else product)
        if want_jacobian:
            (input_grad,) = torch.autograd.grad(logits.sum(), part_inputs, retain_graph=keep_graph, allow_unused=True)
            if input_grad is None:  # the output does not depend on the input (e.g. an all-`none` cell)
                input_grad = torch.zeros_like(part_inputs)
            jacobian_rows.append(input_grad.flatten(1))
    results = {}
    if context.wants("gradients"):
        results["gradients"] = grads
    if context.wants("loss_graph"):
        results["loss_graph"] = graph_grads
    if want_activations:
        results["channel_products"] = [torch.cat(p) if p else None for p in products]
    if want_jacobian:
        results["jacobian"] = torch.cat(jacobian_rows)
    return results
