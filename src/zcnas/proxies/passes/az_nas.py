"""AZ-NAS's shared pass (Lee & Ham, CVPR 2024): block features of a re-initialised copy
on Gaussian inputs, their covariance spectra, and the spectral norms of the Jacobians
between consecutive blocks.

Choices the paper leaves open follow the reference code (github.com/cvlab-yonsei/AZ-NAS,
NB201/ZeroShotProxy/compute_az_nas_score.py and NB201/tss_general.ipynb):
- weights: re-initialised, Kaiming normal (fan_in, ReLU gain) for Conv2d/Linear with zero
  biases, BatchNorm/GroupNorm affine to ones/zeros (`init_model(..., 'kaiming_norm_fanin')`);
  here drawn from a fixed seed on a copy, so the caller's network is untouched;
- inputs: standard Gaussian noise of the batch's shape (AZ-NAS is not among the notebook's
  real-input metrics), so the batch's pixels and labels are never read;
- train mode (BatchNorm normalises by batch statistics);
- blocks: the stem's output and every cell's output, reduction blocks included
  (`TinyNetwork.extract_cell_features`: 18 features on NB201), read from the space's
  `blocks()`; the head is not run;
- probes: Rademacher (+-1) vectors at each block output.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .context import Context
from .registry import register_pass
from .tools import blocks as feature_blocks, reinitialised_copy

INIT_SEED = 0  # weights of the re-initialised copy
INPUT_SEED = 0  # the Gaussian inputs
PROBE_SEED = 0  # the Rademacher probes


def kaiming_normal_fan_in(module: nn.Module, generator: torch.Generator) -> None:
    """The reference's 'kaiming_norm_fanin' init, drawn from `generator` on the CPU."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        fan_in = module.weight[0].numel()
        std = (2.0 / fan_in) ** 0.5
        module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * std)
        if module.bias is not None:
            module.bias.zero_()
    elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)) and module.affine:
        module.weight.fill_(1.0)
        module.bias.zero_()


def rademacher(shape, generator: torch.Generator) -> torch.Tensor:
    return torch.randint(0, 2, tuple(shape), generator=generator, dtype=torch.float32) * 2 - 1


def jacobian_matrix(g_in: torch.Tensor, g_out: torch.Tensor) -> torch.Tensor:
    """Sum over positions of g_in g_out^T (C_in' x C_out, float64), the reference's estimate
    of a block's Jacobian up to the division by the position count: g_out a probe at the
    output, g_in = J^T g_out at the input; a lower-resolution output is matched by moving
    each stride x stride input patch into channels (pixel unshuffle)."""
    if g_in.shape[2:] != g_out.shape[2:]:
        g_in = F.pixel_unshuffle(g_in, g_in.shape[2] // g_out.shape[2])
    rows_in = g_in.permute(0, 2, 3, 1).reshape(-1, g_in.shape[1]).double()
    rows_out = g_out.permute(0, 2, 3, 1).reshape(-1, g_out.shape[1]).double()
    return rows_in.T @ rows_out


@register_pass("az_nas", produces=("az_spectra", "az_jacobian_norms"), requires=["blocks"])
def az_nas(context: Context) -> dict:
    """`az_spectra`: per block, the eigenvalues (ascending, float64) of the covariance of
    its output over all samples and positions (channels as variables). `az_jacobian_norms`:
    per consecutive pair of blocks, the largest singular value of the mean of
    g_in g_out^T over positions, or None where g_in equals g_out exactly (an identity
    block, which the reference scores -inf). With the batch in parts, the covariances and
    matrices sum over the parts."""
    want_norms = context.wants("az_jacobian_norms")
    net = reinitialised_copy(context.net, kaiming_normal_fan_in, INIT_SEED)
    net.train()
    blocks = feature_blocks(net)
    probes = torch.Generator().manual_seed(PROBE_SEED)
    rows_seen, sums, outer = [0] * len(blocks), [0.0] * len(blocks), [0.0] * len(blocks)
    matrices, identical = [0.0] * (len(blocks) - 1), [True] * (len(blocks) - 1)
    for part in context.gaussian_inputs(INPUT_SEED).tensor_split(context.parts):
        features = []
        with torch.set_grad_enabled(want_norms):
            # Tracked from the input, so that blocks without weights are differentiated too.
            feature = part.requires_grad_(want_norms)
            for block in blocks:
                feature = block(feature)
                features.append(feature)
        for index, feature in enumerate(features):
            rows = feature.detach().permute(0, 2, 3, 1).reshape(-1, feature.shape[1]).double()
            rows_seen[index] += len(rows)
            sums[index] = sums[index] + rows.sum(0)
            outer[index] = outer[index] + rows.T @ rows
        if want_norms:
            for index in range(1, len(features)):
                f_in, f_out = features[index - 1], features[index]
                g_out = rademacher(f_out.shape, probes).to(f_out.device)
                g_in = _input_gradient(blocks[index], f_in, f_out, g_out)
                identical[index - 1] &= g_in.shape == g_out.shape and bool(torch.equal(g_in, g_out))
                matrices[index - 1] = matrices[index - 1] + jacobian_matrix(g_in, g_out)
    results = {"az_spectra": [covariance_eigenvalues(*moments) for moments in zip(sums, outer, rows_seen)]}
    if want_norms:
        # A pair's matrix sums over the positions of its output block.
        results["az_jacobian_norms"] = [
            None if same else float(torch.linalg.svdvals(matrix / n).max())
            for same, matrix, n in zip(identical, matrices, rows_seen[1:])
        ]
    return results


def _input_gradient(block: nn.Module, f_in: torch.Tensor, f_out: torch.Tensor, g_out: torch.Tensor) -> torch.Tensor:
    """J^T g_out, J the Jacobian of `block` at `f_in` (its output `f_out`). A cell of `none`
    edges outputs zeros outside the graph (the reference's x * 0 stays in it): the next
    block is then run again from those zeros, and the cell's own J is zero."""
    if f_out is f_in:
        return g_out
    if not f_in.requires_grad:
        f_in = f_in.detach().requires_grad_()
        f_out = block(f_in)
    if not f_out.requires_grad:
        return torch.zeros_like(f_in)
    (g_in,) = torch.autograd.grad(f_out, f_in, g_out, retain_graph=True, allow_unused=True)
    return torch.zeros_like(f_in) if g_in is None else g_in


def covariance_eigenvalues(total: torch.Tensor, outer: torch.Tensor, n: int) -> torch.Tensor:
    """Eigenvalues of the covariance sum(x x^T)/n - mean mean^T from its two sums over n rows."""
    mean = total / n
    return torch.linalg.eigvalsh(outer / n - torch.outer(mean, mean))
