from .registry import Published, register


@register("zen", needs=["zen"], higher_is_better=True, uses_labels=False, uses_data=False,
          citation="Lin et al. 2021, Zen-NAS: A Zero-Shot NAS for High-Performance Image Recognition, ICCV",
          published=[Published(0.37, "NAS-Bench-Suite-Zero", protocol=None)])
def zen(context) -> float:
    """Zen-score (Lin et al. 2021): log Delta + sum over BatchNorm layers of log sqrt(mean
    variance), averaged over repeats (see passes/zen.py).

    Follows the reference code (idstcv/ZenNAS, compute_zen_score.py) where it departs
    from the paper's formulas: the perturbation's size is a sum of absolute differences
    (the paper writes a Frobenius norm) and is not divided by alpha (a constant,
    -log alpha, that does not change a ranking); the BatchNorm variance is the running
    variance after the forwards (the paper: the minibatch's); N(0, 1) weights and Gaussian
    inputs of the batch's shape, drawn afresh for each of `passes.zen.REPEATS` repeats (1, as
    Zen-NAS's search and NAS-Bench-Suite-Zero). Reads no data.
    """
    repeats = context["zen"]
    return sum(log_delta + scaling for log_delta, scaling in repeats) / len(repeats)
