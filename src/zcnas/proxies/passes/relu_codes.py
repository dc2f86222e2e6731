"""Binary ReLU codes: one forward, recording for every nn.ReLU call which inputs were positive.

The result `relu_codes` is a list with one bool tensor per ReLU call (by module, in
`net.modules()` order, then by call; both proxies are blind to the order), of the ReLU
input's shape (N, ...): True where the input is > 0 (the unit is active). Kept
as bool, 1 byte per unit and sample, and not flattened, so a proxy can still tell a
convolutional ReLU (4-D input) from one after a Linear layer.

Choices, following the reference code of NASWOT (BayesWatch/nas-without-training) and
SWAP (pym1024/SWAP), which both hook the network's ReLU modules (NASWOT any module whose
type name holds "ReLU", SWAP nn.ReLU); here every nn.ReLU, the only kind NB201 and NB101
networks have (a functional relu() has no module to hook and is not coded):
- The code is taken from the ReLU's input inside a forward pre-hook, before the ReLU
  runs, so an in-place ReLU cannot overwrite it (NASWOT reads the input, SWAP the sign of
  the output; both give input > 0).
- The network runs in train mode (the engine's), so BatchNorm normalises with the batch
  statistics, as in both reference scripts, which never call eval().
- Modules with a `run_everything` switch (NB201 cells) run every edge, as the official
  NB201 networks scored by the reference code do: a ReLUConvBN whose output only reaches
  the cell output through a `none` edge still runs there, and NASWOT counts its ReLU
  (the backward reaches it, with a zero gradient, through the `none` op's x * 0).
- No gradient is taken. NASWOT counts only ReLUs a backward pass has visited; in NB201
  (every edge run) and NB101 every ReLU the forward calls is visited, so counting every
  call gives its kernel.
- A batch split in parts (see `Context.batch_parts`) is coded part by part and the parts
  concatenated; BatchNorm then normalises each part by its own statistics.
"""

import torch
from torch import nn

from .context import Context
from .registry import register_pass
from .tools import captured


@register_pass("relu_codes")
def relu_codes(context: Context) -> list[torch.Tensor]:
    relus = dict(enumerate(module for module in context.net.modules() if isinstance(module, nn.ReLU)))
    switchable = [module for module in context.net.modules() if hasattr(module, "run_everything")]
    saved = [module.run_everything for module in switchable]
    parts: list[list[torch.Tensor]] = []
    try:
        for module in switchable:
            module.run_everything = True
        for part_inputs, _, _ in context.batch_parts():
            with torch.no_grad(), captured(relus, "input", transform=lambda x: x > 0) as calls:
                context.net(part_inputs)
            parts.append([code for key in relus for code in calls[key]])
    finally:
        for module, value in zip(switchable, saved):
            module.run_everything = value
    return [torch.cat(codes) for codes in zip(*parts)]
