"""Summing per-layer tensors in float64, so large networks do not lose precision."""

from typing import Iterable

import torch


def total(values: Iterable[torch.Tensor]) -> float:
    return float(sum((value.detach().double().sum() for value in values), torch.zeros((), dtype=torch.float64)))
