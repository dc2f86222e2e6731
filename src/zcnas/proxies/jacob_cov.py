import torch

from .registry import paper_figures, register

# Keeps log() and 1/x finite when the correlation matrix is singular.
EPSILON = 1e-5


@register("jacob_cov", needs=["jacobian"], higher_is_better=True, uses_labels=False, uses_data=True, paper=True,
          citation="Mellor et al. 2021, Neural Architecture Search without Training, ICML (arXiv v1)",
          published=paper_figures((0.73, 0.70, 0.70), nb101=0.38))
def jacob_cov(context) -> float:
    """Jacobian covariance (Mellor et al. 2021): -sum_i [log(l_i + k) + 1/(l_i + k)]
    over the eigenvalues l_i of the correlation matrix of per-sample input Jacobians."""
    correlation = torch.corrcoef(context["jacobian"].double())
    eigenvalues = torch.linalg.eigvalsh(correlation)
    return float(-(torch.log(eigenvalues + EPSILON) + 1.0 / (eigenvalues + EPSILON)).sum())
