from ._sums import total
from .registry import paper_figures, register


@register("grasp", needs=["hessian"], higher_is_better=True, uses_labels=True, uses_data=True, paper=True,
          citation="Wang et al. 2020, Picking Winning Tickets Before Training by Preserving Gradient Flow, ICLR",
          published=paper_figures((0.51, 0.55, 0.55), nb101=0.45))
def grasp(context) -> float:
    """Gradient signal preservation (Wang et al. 2020): sum of -W * (H g)."""
    return total(-weight * hessian_grad for weight, hessian_grad in zip(context.weights, context["hessian"]))
