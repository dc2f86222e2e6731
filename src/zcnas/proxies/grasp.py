from ._sums import total
from .registry import register


@register("grasp", needs=["gradients", "hessian"])
def grasp(net, m) -> float:
    """Gradient signal preservation (Wang et al. 2020): sum of -W * (H g)."""
    return total(-weight * hessian_grad for weight, hessian_grad in zip(m.weights, m.hessian_grads))
