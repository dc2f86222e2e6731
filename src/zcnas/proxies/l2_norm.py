from ._sums import total
from .registry import register


@register("l2_norm", higher_is_better=True, uses_labels=False, uses_data=False,
          citation="baseline in Abdelfattah et al. 2021, Zero-Cost Proxies for Lightweight NAS, ICLR")
def l2_norm(context) -> float:
    """Sum over layers of the L2 norm of W at initialisation."""
    return total(weight.detach().double().norm() for weight in context.weights)
