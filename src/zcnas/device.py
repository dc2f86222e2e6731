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


def exact_kernels() -> None:
    """Deterministic cuDNN algorithms in full float32: the same inputs give the same
    numbers on a GPU, and numbers close to a CPU's. Scoring and training processes set them.

    Benchmark mode picks the fastest kernel per run, which may differ between runs.
    TF32, PyTorch's default for convolutions on Ampere and later GPUs, keeps 10 bits of
    mantissa: on an H200 it moved GraSP's ranking of 20 NB201 cells to Spearman 0.70
    against the CPU's, and to 1.00 without it (README, "On a GPU").
    """
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
