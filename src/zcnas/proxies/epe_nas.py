import torch

from ._sums import total
from .registry import Published, register

# The reference's k: keeps log(|correlation|) finite for uncorrelated Jacobians.
EPSILON = 1e-5


@register("epe_nas", needs=["jacobian"], higher_is_better=True, uses_labels=True, uses_data=True,
          citation="Lopes et al. 2021, EPE-NAS: Efficient Performance Estimation Without Training for "
                   "Neural Architecture Search, ICANN",
          published=[Published(0.67, "Lopes et al. 2021", protocol=None)])
def epe_nas(context) -> float:
    """EPE-NAS (Lopes et al. 2021): per class c of the batch, s_c = sum_ij log(|C_ij| + k)
    over the correlation matrix C of the input Jacobians (of the summed logits, network in
    train mode) of that class's samples; the score is sum_c |s_c|.

    As the reference code (VascoLopes/EPE-NAS, search.py, eval_score_perclass): its search
    calls the score with the default n_classes=10, so the un-normalised sum_c |s_c| (the
    paper's rule for at most 100 classes) is what it computes on every dataset, and so
    does this proxy. A class with one sample has C = [1] and adds log(1 + k); a sample with
    a constant Jacobian (e.g. zero: a cell that does not reach the output) makes its
    correlations, hence the score, NaN, which the reference keeps (its search skips NaN
    scores with nanargmax). The reference scores a batch of 256; this proxy takes the batch
    it is given.
    """
    jacobian, targets = context["jacobian"].double(), context.targets
    return total(torch.log(torch.corrcoef(jacobian[targets == label]).abs() + EPSILON).sum().abs()
                 for label in targets.unique())
