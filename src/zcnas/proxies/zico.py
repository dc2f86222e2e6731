import torch

from ._sums import total
from .registry import Published, register


@register("zico", needs=["minibatch_gradients"], higher_is_better=True, uses_labels=True, uses_data=True,
          citation="Li et al. 2023, ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients, ICLR",
          published=[Published(0.78, "Li et al. 2023", protocol=None)])
def zico(context) -> float:
    """ZiCo (Li et al. 2023): sum over weight layers (Conv2d, Linear; weights, not biases) of
    log( sum_theta mean_b |g_theta| / std_b(g_theta) ), mean and (population) std over the
    cross-entropy gradients of the minibatches.

    As the reference code (SLDGroup/ZiCo, compute_zico.py and evolution_search.py): two
    minibatches (here the batch's two halves, so score with twice the minibatch size),
    the network in train mode at its initial weights; weights whose std is exactly zero
    are left out of a layer's sum (no epsilon), and a layer whose sum is zero (no gradient
    spread at all, e.g. a layer the loss does not reach) is left out rather than adding
    log(0). A NaN gradient propagates to a NaN score, as in the reference.
    """
    return total(torch.log(spread) for spread in map(_gradient_spread, context["minibatch_gradients"]) if spread != 0)


def _gradient_spread(grads: torch.Tensor) -> torch.Tensor:
    """sum_theta mean_b |g_theta| / std_b(g_theta) of one layer, over weights whose std is not 0."""
    grads = grads.flatten(1).double()
    std = grads.std(dim=0, unbiased=False)
    spread = std != 0
    return (grads.abs().mean(dim=0)[spread] / std[spread]).sum()
