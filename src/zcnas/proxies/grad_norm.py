from ._sums import total
from .registry import register


@register("grad_norm", needs=["gradients"])
def grad_norm(net, m) -> float:
    """Sum over layers of the L2 norm of dL/dW."""
    return total(grad.double().norm() for grad in m.grads)
