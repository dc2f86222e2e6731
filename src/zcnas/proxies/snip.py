from ._sums import total
from .registry import register


@register("snip", needs=["gradients"])
def snip(net, m) -> float:
    """Connection sensitivity (Lee et al. 2019): sum of |W * dL/dW|."""
    return total((weight * grad).abs() for weight, grad in zip(m.weights, m.grads))
