import torch

from .registry import Published, register


@register("meco", needs=["module_outputs"], higher_is_better=True, uses_labels=False, uses_data=True,
          citation="Jiang et al. 2023, MeCo: Zero-Shot NAS with One Data and Single Forward Pass via Minimum "
                   "Eigenvalue of Correlation, NeurIPS",
          published=[Published(0.894, "Jiang et al. 2023 (MeCo)")])
def meco(context) -> float:
    """MeCo (Jiang et al. 2023): sum over module outputs of the smallest eigenvalue of the
    channel correlation matrix of one sample's feature map, reshaped to C x (H*W).

    As the reference code (HamsterMimi/MeCo, correlation/NAS_Bench_201.py, measure `meco`):
    one forward of one image (its batch size 1) in train mode; a hook on every module, the
    network itself and containers included, so an output shared by a container and its last
    child counts once per module; correlation entries that are NaN or infinite (a constant
    channel, a 1x1 map) set to 0 before the eigenvalues. This is the plain `meco`, not
    `meco_opt`, which correlates 8 random channels and scales by C / 8.
    """
    total = 0.0
    smallest: dict[int, float] = {}  # by tensor: an output shared by modules is one object
    for output in context["module_outputs"]:
        if id(output) not in smallest:
            smallest[id(output)] = _smallest_eigenvalue(output)
        total += smallest[id(output)]
    return total


def _smallest_eigenvalue(output: torch.Tensor) -> float:
    matrix = output.reshape(output.shape[0], -1)
    if matrix.shape[1] < 2:
        return 0.0  # one position: every correlation is undefined, set to 0, smallest eigenvalue 0
    # at least 2-D: the correlation of a single channel comes back as a scalar
    correlation = torch.atleast_2d(torch.corrcoef(matrix.double()))
    correlation = torch.where(correlation.isfinite(), correlation, torch.zeros_like(correlation))
    return float(torch.linalg.eigvalsh(correlation).min())
