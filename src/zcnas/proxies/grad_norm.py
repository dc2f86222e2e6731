from ._sums import total
from .registry import paper_figures, register


@register("grad_norm", needs=["gradients"], higher_is_better=True, uses_labels=True, uses_data=True, paper=True,
          citation="Abdelfattah et al. 2021, Zero-Cost Proxies for Lightweight NAS, ICLR",
          published=paper_figures((0.59, 0.64, 0.58), nb101=0.20))
def grad_norm(context) -> float:
    """Sum over layers of the L2 norm of dL/dW."""
    return total(grad.double().norm() for grad in context["gradients"])
