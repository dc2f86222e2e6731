from ._sums import total
from .registry import paper_figures, register


@register("synflow", needs=["synflow"], higher_is_better=True, uses_labels=False, uses_data=False, paper=True,
          citation="Tanaka et al. 2020, Pruning Neural Networks without any Data by Iteratively Conserving Synaptic "
                   "Flow, NeurIPS",
          published=paper_figures((0.74, 0.76, 0.75), nb101=0.37))
def synflow(context) -> float:
    """Synaptic flow (Tanaka et al. 2020): sum of |W * dR/dW|, R the output sum of the
    all-positive, BatchNorm-free network on an all-ones input (float64).

    The paper's reference code removes BatchNorm from the cells but keeps it, in train
    mode, in NB201's two reduction blocks; its values are then about 1000x ours, but the
    ranking is the same (rho 0.9999 over 200 seeded cells, both rho 0.79 with CIFAR-10
    test accuracy; tests/test_reference_agreement.py keeps the check).
    """
    return total((weight * grad).abs() for weight, grad in context["synflow"])
