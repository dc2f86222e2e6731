from .registry import register


@register("params", higher_is_better=True, uses_labels=False, uses_data=False,
          citation="baseline in Abdelfattah et al. 2021, Zero-Cost Proxies for Lightweight NAS, ICLR")
def params(context) -> float:
    """Number of trainable parameters (the benchmarks' count: every parameter tensor)."""
    return float(sum(p.numel() for p in context.net.parameters()))
