from .registry import register


@register("flops", needs=["flops"], higher_is_better=True, uses_labels=False, uses_data=False,
          citation="baseline in Abdelfattah et al. 2021, Zero-Cost Proxies for Lightweight NAS, ICLR")
def flops(context) -> float:
    """Forward FLOPs of one image; see `passes.flops.count_flops` for the convention."""
    return context["flops"]
