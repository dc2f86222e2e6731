"""Standard CIFAR augmentation (random crop with padding, horizontal flip) on whole
batches of tensors: one gather per batch instead of per-image PIL transforms."""

import torch


def crop_padding(resolution: int) -> int:
    """The official 4 pixels at 32, scaled with the resolution (2 at 16, 1 at 8)."""
    return resolution // 8


def random_crop_flip(images: torch.Tensor, padding: int, fill: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image padded by `padding` pixels of `fill` (one value per channel), cropped back
    to its size at a random offset, and mirrored left-right with probability 1/2.

    The random draws come from `generator` (on the CPU), so they do not depend on the device.
    """
    count, channels, height, width = images.shape
    padded = fill.view(1, channels, 1, 1).expand(count, channels, height + 2 * padding, width + 2 * padding).clone()
    padded[:, :, padding : padding + height, padding : padding + width] = images
    top = torch.randint(0, 2 * padding + 1, (count, 1), generator=generator)
    left = torch.randint(0, 2 * padding + 1, (count, 1), generator=generator)
    flip = torch.rand((count, 1), generator=generator) < 0.5
    columns = torch.arange(width).expand(count, width)
    columns = torch.where(flip, width - 1 - columns, columns) + left
    rows = top + torch.arange(height)
    device = images.device
    return padded[
        torch.arange(count, device=device).view(count, 1, 1, 1),
        torch.arange(channels, device=device).view(1, channels, 1, 1),
        rows.to(device).view(count, 1, height, 1),
        columns.to(device).view(count, 1, 1, width),
    ]
