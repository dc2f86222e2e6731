from ._sums import total
from .registry import register


@register("snip", needs=["gradients"], higher_is_better=True, uses_labels=True, uses_data=True, paper=True,
          citation="Lee et al. 2019, SNIP: Single-shot Network Pruning based on Connection Sensitivity, ICLR")
def snip(context) -> float:
    """Connection sensitivity (Lee et al. 2019): sum of |W * dL/dW|."""
    return total((weight * grad).abs() for weight, grad in zip(context.weights, context["gradients"]))
