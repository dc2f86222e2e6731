"""Weight gradients per minibatch: the batch as consecutive minibatches, one gradient each.

For proxies that compare gradients across minibatches (ZiCo's mean / std over them), so
they read the spread that one whole-batch gradient averages away.
"""

import math

import torch
import torch.nn.functional as F

from .context import Context
from .main import accumulate
from .registry import register_pass

# ZiCo's reference search (SLDGroup/ZiCo, evolution_search.py) takes --maxbatch 2 minibatches.
MINIBATCHES = 2


@register_pass("minibatch_gradients")
def minibatch_gradients(context: Context) -> list[torch.Tensor]:
    """Per weight layer, a (MINIBATCHES, *weight.shape) tensor: the gradient of the mean
    cross-entropy of each minibatch (its own forward and backward, in train mode).
    A layer the loss does not reach gets zero gradients, as in the reference, where
    zero_grad() leaves them zero. With the batch measured in `context.parts` parts (after a
    GPU out-of-memory error), each minibatch is measured in pieces whose losses, weighted
    by their share of the minibatch, add up to its gradient (BatchNorm then normalises
    each piece by its own statistics, see SPLIT_EFFECT)."""
    weights = context.weights
    pieces = math.ceil(context.parts / MINIBATCHES)
    per_minibatch = []
    for inputs, targets in context.minibatches(MINIBATCHES):
        totals = [torch.zeros_like(w) for w in weights]
        for piece_inputs, piece_targets in zip(inputs.tensor_split(pieces), targets.tensor_split(pieces)):
            if len(piece_targets):
                loss = F.cross_entropy(context.net(piece_inputs), piece_targets) * (len(piece_targets) / len(targets))
                accumulate(totals, [None if g is None else g.detach()
                                    for g in torch.autograd.grad(loss, weights, allow_unused=True)])
        per_minibatch.append(totals)
    return [torch.stack(layer_grads) for layer_grads in zip(*per_minibatch)]
