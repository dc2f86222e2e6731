from ._sums import total
from .registry import register


@register("plain", needs=["gradients"])
def plain(net, m) -> float:
    """Sum of W * dL/dW (first-order Taylor saliency, signed)."""
    return total(weight * grad for weight, grad in zip(m.weights, m.grads))
