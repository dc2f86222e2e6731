from ._sums import total
from .registry import paper_figures, register


@register("snip", needs=["gradients"], higher_is_better=True, uses_labels=True, uses_data=True, paper=True,
          citation="Lee et al. 2019, SNIP: Single-shot Network Pruning based on Connection Sensitivity, ICLR",
          published=paper_figures((0.60, 0.64, 0.58), nb101=0.16))
def snip(context) -> float:
    """Connection sensitivity (Lee et al. 2019): sum of |W * dL/dW|."""
    return total((weight * grad).abs() for weight, grad in zip(context.weights, context["gradients"]))
