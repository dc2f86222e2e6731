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
    outputs = context["module_outputs"]
    # One entry per tensor: a map that a container and its last child both return is one object.
    smallest = _smallest_eigenvalues({id(output): output for output in outputs})
    total = 0.0
    for output in outputs:
        total += smallest[id(output)]
    return total


def _smallest_eigenvalues(outputs: dict[int, torch.Tensor]) -> dict[int, float]:
    """Key -> smallest eigenvalue of the output's channel correlation matrix. Outputs of one
    shape are stacked and solved together: hundreds of separate small solves cost more in
    calls than in arithmetic. Each matrix's result is what torch.corrcoef and eigvalsh give it
    alone, bit for bit on NB201's and NB101's shapes (to rounding in general: a reduction over
    a stack may group its sums differently)."""
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for key, output in outputs.items():
        by_shape.setdefault(tuple(output.shape), []).append(key)
    smallest = {}
    for keys in by_shape.values():
        matrices = torch.stack([outputs[key].reshape(outputs[key].shape[0], -1) for key in keys])
        if matrices.shape[2] < 2:
            values = [0.0] * len(keys)  # one position: every correlation is undefined, set to 0, smallest eigenvalue 0
        else:
            values = torch.linalg.eigvalsh(_correlations(matrices.double())).amin(dim=1).tolist()
        smallest.update(zip(keys, values))
    return smallest


def _correlations(matrices: torch.Tensor) -> torch.Tensor:
    """torch.corrcoef of each (channels x positions) matrix of the stack, in its order of
    operations, with the entries that are NaN or infinite set to 0."""
    centred = matrices - matrices.mean(dim=2, keepdim=True)
    # One product per matrix: a batched product may sum in another order than torch.corrcoef's
    covariance = torch.stack([torch.mm(matrix, matrix.t()) for matrix in centred]) / (matrices.shape[2] - 1)
    deviation = covariance.diagonal(dim1=1, dim2=2).sqrt()
    correlation = (covariance / deviation.unsqueeze(2) / deviation.unsqueeze(1)).clip(-1, 1)
    return torch.where(correlation.isfinite(), correlation, torch.zeros_like(correlation))
