from ._sums import total
from .registry import register


@register("synflow", needs=["synflow"])
def synflow(net, m) -> float:
    """Synaptic flow (Tanaka et al. 2020): sum of |W * dR/dW|, R the output sum of the
    all-positive, BatchNorm-free network on an all-ones input (float64)."""
    return total((weight * grad).abs() for weight, grad in zip(m.synflow_weights, m.synflow_grads))
