from .registry import register


@register("params")
def params(net, m) -> float:
    """Number of trainable parameters (the benchmarks' count: every parameter tensor)."""
    return float(sum(p.numel() for p in net.parameters()))
