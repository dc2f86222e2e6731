"""Device selection: `auto` means CUDA when present, else CPU."""

import torch

from .errors import ZcnasError


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ZcnasError(f"unknown device {name!r}; expected 'auto', 'cpu', 'cuda' or 'cuda:N'") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ZcnasError(f"device {name!r} requested but CUDA is not available; use 'auto' or 'cpu'")
    return device
