"""Weight gradients per minibatch: the batch as consecutive minibatches, one gradient each.

For proxies that compare gradients across minibatches (ZiCo's mean / std over them), so
they read the spread that one whole-batch gradient averages away.
"""

import torch
import torch.nn.functional as F

from .context import Context
from .registry import register_pass

# ZiCo's reference search (SLDGroup/ZiCo, evolution_search.py) takes --maxbatch 2 minibatches.
MINIBATCHES = 2


@register_pass("minibatch_gradients")
def minibatch_gradients(context: Context) -> list[torch.Tensor]:
    """Per weight layer, a (MINIBATCHES, *weight.shape) tensor: the gradient of the mean
    cross-entropy of each minibatch (a separate forward and backward each, in train mode).
    A layer the loss does not reach gets zero gradients, as in the reference, where
    zero_grad() leaves them zero."""
    weights = context.weights
    per_minibatch = []
    for inputs, targets in context.minibatches(MINIBATCHES):
        loss = F.cross_entropy(context.net(inputs), targets)
        grads = torch.autograd.grad(loss, weights, allow_unused=True)
        per_minibatch.append([torch.zeros_like(w) if g is None else g.detach() for w, g in zip(weights, grads)])
    return [torch.stack(layer_grads) for layer_grads in zip(*per_minibatch)]
