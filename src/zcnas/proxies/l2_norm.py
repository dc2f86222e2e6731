from ._sums import total
from .registry import register


@register("l2_norm")
def l2_norm(net, m) -> float:
    """Sum over layers of the L2 norm of W at initialisation."""
    return total(weight.detach().double().norm() for weight in m.weights)
