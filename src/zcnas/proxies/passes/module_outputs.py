"""Every module's output for one sample: a train-mode forward of the batch's first input alone."""

import torch

from .context import Context
from .registry import register_pass
from .tools import captured


@register_pass("module_outputs")
def module_outputs(context: Context) -> list[torch.Tensor]:
    """One tensor per call of every module of the network, the root included, in call order:
    that module's output for the first input, forwarded alone (so BatchNorm in train mode
    normalises by that one sample's statistics). Modules returning something other than a
    tensor are left out.

    A tensor returned by several modules (a container and its last child) appears once per
    module but as one object, so that a proxy can compute on it once."""
    # (id, version) -> (the output, kept so that its id is not reused; its first sample).
    # The version changes with an in-place op (NB201's final ReLU), which makes a new entry.
    samples: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] = {}

    def first_sample(output) -> torch.Tensor | None:
        if not isinstance(output, torch.Tensor):
            return None
        # Cloned inside the hook: a later in-place op would overwrite it.
        key = (id(output), output._version)
        if key not in samples:
            samples[key] = (output, output[0].detach().clone())
        return samples[key][1]

    modules = dict(enumerate(context.net.modules()))
    with torch.no_grad(), captured(modules, "output", transform=first_sample) as calls:
        context.net(context.inputs[:1])
    return [output for module_calls in calls.values() for output in module_calls if output is not None]
