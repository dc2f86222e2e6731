from ._sums import total
from .registry import register


@register("plain", needs=["gradients"], higher_is_better=True, uses_labels=True, uses_data=True,
          citation="Mozer & Smolensky 1989, Skeletonization: a Technique for Trimming the Fat from a Network via "
                   "Relevance Assessment, NeurIPS")
def plain(context) -> float:
    """Sum of W * dL/dW (first-order Taylor saliency, signed)."""
    return total(weight * grad for weight, grad in zip(context.weights, context["gradients"]))
