from .registry import register


@register("flops", needs=["flops"])
def flops(net, m) -> float:
    """Forward FLOPs of one image; see `measure.count_flops` for the convention."""
    return m.flop_count
