from ._sums import total
from .registry import register


@register("fisher", needs=["gradients", "activations"])
def fisher(net, m) -> float:
    """Fisher channel saliency (Turner et al. 2020), spread over each channel's weights.

    Per output channel c of a layer: f_c = 1/2 * mean over samples of
    (sum over positions of a * dL/da)^2; the layer adds sum_c f_c times the number
    of weights feeding one output channel.
    """
    contributions = []
    for weight, products in zip(m.weights, m.channel_products):
        if products is not None:
            per_channel = 0.5 * products.double().pow(2).mean(0)
            contributions.append(per_channel.sum() * (weight.numel() // weight.shape[0]))
    return total(contributions)
