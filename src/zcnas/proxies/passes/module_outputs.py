"""Every module's output for one sample: a train-mode forward of the batch's first input alone."""

import torch

from .context import Context
from .registry import register_pass
from .tools import captured


def _first_sample(output) -> torch.Tensor | None:
    # Cloned inside the hook: a later in-place op (NB201's final ReLU) would overwrite it.
    return output[0].detach().clone() if isinstance(output, torch.Tensor) else None


@register_pass("module_outputs")
def module_outputs(context: Context) -> list[torch.Tensor]:
    """One tensor per call of every module of the network, the root included, in call order:
    that module's output for the first input, forwarded alone (so BatchNorm in train mode
    normalises by that one sample's statistics). Modules returning something other than a
    tensor are left out."""
    modules = dict(enumerate(context.net.modules()))
    with torch.no_grad(), captured(modules, "output", transform=_first_sample) as calls:
        context.net(context.inputs[:1])
    return [output for module_calls in calls.values() for output in module_calls if output is not None]
