"""Proxies of the binary ReLU activation patterns of a batch (pass `relu_codes`)."""

import math

import numpy as np
import torch

from .registry import Published, register

# SWAP's reference script (pym1024/SWAP, correlation.py, --input_samples) scores 16 samples.
SWAP_SAMPLES = 16
# The regulariser's centre and width, in thousands of parameters (the reference's unit). Its
# code takes them as arguments with no default and the paper gives no NB201 values, so ours:
# centred on NB201's largest cells (1.53M parameters), wide enough (1/e at 1000K away) that
# it reorders networks of similar SWAP by size rather than overriding SWAP.
SWAP_REG_MU = 1500.0
SWAP_REG_SIGMA = 1e6


@register("nwot", needs=["relu_codes"], higher_is_better=True, uses_labels=False, uses_data=True,
          citation="Mellor et al. 2021, Neural Architecture Search without Training, ICML (arXiv v3)",
          published=[Published((0.74, 0.78), "Mellor et al. 2021; NAS-Bench-Suite-Zero", protocol=None)])
def nwot(context) -> float:
    """NASWOT score (Mellor et al. 2021, v3): log|det K|, K the N x N kernel summed over
    every ReLU call of c c^T + (1 - c)(1 - c)^T, c the N x units 0/1 code of the ReLU's
    input (1 where > 0): K_ij counts the units where samples i and j agree.

    As the reference code (BayesWatch/nas-without-training, score_networks.py): the whole
    batch (its default is 128), the network's own initialisation (its default `--init ''`
    keeps PyTorch's), train mode, every ReLU including the final BatchNorm-ReLU and, in
    NB201, the ReLU that opens each ReLUConvBN, before its convolution; the sign of the
    determinant is dropped (slogdet). A singular K gives -inf, recorded as NaN by the
    engine: two samples with the same codes, or codes the same for every sample, as in an
    NB201 network whose cell has no path from input to output (its output is always 0).
    """
    size = len(context.inputs)
    kernel = torch.zeros(size, size, dtype=torch.float64, device=context.device)
    for code in context["relu_codes"]:
        active = code.flatten(1).float()
        # Exact in float32 while a ReLU has fewer than 2**24 units per sample.
        kernel += (active @ active.T + (1 - active) @ (1 - active).T).double()
    return float(torch.linalg.slogdet(kernel).logabsdet)


@register("swap", needs=["relu_codes"], higher_is_better=True, uses_labels=False, uses_data=True,
          citation="Peng et al. 2024, SWAP-NAS: Sample-Wise Activation Patterns for Ultra-fast NAS, ICLR",
          published=[Published(0.81, "independent rerun (NAS-Bench-Suite-Zero protocol)", protocol=None)])
def swap(context) -> float:
    """SWAP-Score (Peng et al. 2024), unregularised: the number of distinct sample-wise
    activation patterns, a unit's pattern being its 0/1 codes across the samples, counted
    over the units of all convolutional ReLUs together.

    As the reference code (pym1024/SWAP, src/metrics/swap.py): only ReLUs with a 4-D input
    (a ReLU after a Linear layer is skipped), codes concatenated over those ReLUs before
    counting, and the first SWAP_SAMPLES = 16 samples of the batch (its correlation.py
    scores 16; all of them if the batch is smaller), since with many more samples nearly
    every non-constant unit has a pattern of its own. Unlike the reference script, which
    averages 32 draws of N(0, 1) weights, it scores the network once at its own weights.
    """
    codes = [code[:SWAP_SAMPLES].flatten(1) for code in context["relu_codes"] if code.dim() == 4]
    if not codes:
        raise ArithmeticError("the network has no ReLU with a 4-D input")
    return float(distinct_columns(torch.cat(codes, dim=1)))


@register("swap_reg", needs=["relu_codes"], higher_is_better=True, uses_labels=False, uses_data=True,
          citation="Peng et al. 2024, SWAP-NAS: Sample-Wise Activation Patterns for Ultra-fast NAS, ICLR")
def swap_reg(context) -> float:
    """Regularised SWAP-Score (Peng et al. 2024, Sec. 3.3): `swap` times
    `size_regulariser` of the network's parameter count."""
    return swap(context) * size_regulariser(sum(p.numel() for p in context.net.parameters()))


def size_regulariser(parameters: int, mu: float = SWAP_REG_MU, sigma: float = SWAP_REG_SIGMA) -> float:
    """exp(-(P - mu)^2 / sigma), P the parameter count in thousands (the reference's
    `cal_regular_factor`, which counts every parameter tensor): 1 at P = mu."""
    return math.exp(-((parameters / 1e3 - mu) ** 2) / sigma)


def distinct_columns(codes: torch.Tensor) -> int:
    """The number of distinct columns of a 0/1 (samples x units) matrix: each column is
    packed into bits and then into 64-bit words, the rows of words sorted, and the rows
    that differ from the one before them counted."""
    units = codes.shape[1]
    packed = np.packbits(codes.T.cpu().numpy(), axis=1)
    padded = np.zeros((units, -(-packed.shape[1] // 8) * 8), dtype=np.uint8)
    padded[:, : packed.shape[1]] = packed
    words = padded.view(np.uint64)
    ordered = words[np.lexsort(words.T[::-1])]
    return 1 + int(np.any(ordered[1:] != ordered[:-1], axis=1).sum())
