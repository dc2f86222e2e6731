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


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so that a timer read afterwards counts it (a no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def deterministic_kernels() -> None:
    """Ask cuDNN for deterministic algorithms: the same inputs give the same numbers on a GPU.

    (Benchmark mode picks the fastest kernel per run, which may differ between runs.)
    """
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
