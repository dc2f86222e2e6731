"""Training one NB201 network under a reduced-training config, recording every epoch.

Cost columns count training only (validation passes are read-outs, not part of the
proxy's cost) and are cumulative: `minibatches`, `images` (augmented training images
seen), `seconds` (wall clock of the training steps) and `flops`, which is
3 x forward FLOPs per image x images: the usual convention that a backward pass
costs about twice a forward one. Forward FLOPs follow `count_flops` (the NB201 cost
table convention, counting the official network's every edge).
"""

import math
import time
from typing import Hashable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .. import kernels
from ..proxies.passes.flops import count_flops
from ..seeding import derive_seed, seeded
from ..spaces import get_space
from .augment import crop_padding, random_crop_flip
from .config import TrainingConfig
from .data import TrainingData

SPACE = get_space("nb201")
TRAINING_FLOPS_PER_FORWARD = 3
_EVAL_BATCH = 256  # larger batches run slower on a CPU (r32c16: 128 vs 76 images/s at 1024)


def build_network(config: TrainingConfig, arch: Hashable, num_classes: int, seed: int) -> nn.Module:
    """The NB201 network at the config's channel count, its weights seeded by (seed, config, arch)."""
    with seeded(derive_seed(seed, config.name, SPACE.key(arch))):
        return SPACE.build(arch, num_classes, channels=config.channels)


def batch_generator(config: TrainingConfig, seed: int) -> torch.Generator:
    """Shuffling and augmentation draws, shared by every architecture of a config so
    that their comparison is not confounded by luckier data orders."""
    return torch.Generator().manual_seed(derive_seed(seed, config.name, "batches"))


def train_network(
    net: nn.Module, config: TrainingConfig, data: TrainingData, generator: torch.Generator, progress: bool = False,
    position: int | None = None, description: str = "",
):
    """Train `net` in place (on its device; `data` must be there too), yielding after each
    epoch a dict: epoch, val_acc (%), train_loss (mean over the epoch), and the cumulative
    minibatches, images and seconds.

    The speed kernels (`zcnas.kernels`) are applied to it: its 3x3 average pooling becomes
    the window-sum kernel, its weights move to channels-last memory, and on the CPU each
    step interleaves the batch's images. At r8c4, batch 2048, that trains about 2x faster
    than with the kernels off, PyTorch's own ops in NCHW memory (bench/econas.py)."""
    device = next(net.parameters()).device
    kernels.accelerated(net).to(memory_format=kernels.training_layout())
    num_train = len(data.train_labels)
    sizes = batch_sizes(num_train, config.batch_size)
    batches_per_epoch = len(sizes)
    optimizer = torch.optim.SGD(
        net.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay, nesterov=True
    )
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.schedule_epochs, eta_min=0.0)
    padding = crop_padding(data.resolution)
    seconds = 0.0
    bar = tqdm(range(1, config.epochs + 1), desc=description, unit="epoch", leave=False, disable=not progress,
               position=position)
    for epoch in bar:
        start = time.perf_counter()
        net.train()
        loss_sum = torch.zeros((), device=device)
        for batch in torch.randperm(num_train, generator=generator).split(sizes):
            batch = batch.to(device)
            inputs = random_crop_flip(data.train_images[batch], padding, data.fill, generator)
            loss = F.cross_entropy(kernels.training_logits(net, inputs), data.train_labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(batch)
        schedule.step()
        train_loss = loss_sum.item() / num_train  # one device sync per epoch, not per step
        seconds += time.perf_counter() - start
        val_acc = accuracy(net, data.val_images, data.val_labels)
        bar.set_postfix(loss=f"{train_loss:.3f}", val_acc=f"{val_acc:.1f}")
        yield {
            "epoch": epoch,
            "val_acc": val_acc,
            "train_loss": train_loss,
            "minibatches": epoch * batches_per_epoch,
            "images": epoch * num_train,
            "seconds": seconds,
        }


def batch_sizes(count: int, batch_size: int) -> list[int]:
    """Sizes of an epoch's ceil(count / batch_size) near-equal batches (none is left with a
    single image: BatchNorm needs two), each a multiple of `kernels.IMAGES_INTERLEAVED`
    images when that keeps them within `batch_size` (so they train in the interleaved
    layout); the count's remainder joins the last batch. The sizes are the same with the
    kernels off, so that switching them changes rounding only."""
    batches = math.ceil(count / batch_size)
    groups, remainder = divmod(count, kernels.IMAGES_INTERLEAVED)
    if groups < batches or math.ceil(groups / batches) * kernels.IMAGES_INTERLEAVED > batch_size:
        return _near_equal(count, batches)
    sizes = [size * kernels.IMAGES_INTERLEAVED for size in _near_equal(groups, batches)]
    sizes[-1] += remainder
    return sizes


def _near_equal(total: int, parts: int) -> list[int]:
    return [total // parts + (index < total % parts) for index in range(parts)]


@torch.no_grad()
def accuracy(net: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Top-1 accuracy in % (eval mode: BatchNorm uses its running statistics)."""
    net.eval()
    correct = sum(
        (net(part.contiguous(memory_format=kernels.training_layout())).argmax(1) == part_labels).sum().item()
        for part, part_labels in zip(images.split(_EVAL_BATCH), labels.split(_EVAL_BATCH))
    )
    return 100.0 * correct / len(labels)


def train_arch(
    config: TrainingConfig, arch: Hashable, data: TrainingData, seed: int, progress: bool = False,
    position: int | None = None,
) -> list[dict]:
    """Table rows (one per epoch) for `arch` trained under `config` on the device `data` is on."""
    net = build_network(config, arch, data.num_classes, seed).to(data.train_images.device)
    name = SPACE.format(arch)
    forward_flops = count_flops(net, (3, data.resolution, data.resolution))
    rows = []
    for record in train_network(net, config, data, batch_generator(config, seed), progress, position,
                                description=config.name):
        flops = TRAINING_FLOPS_PER_FORWARD * forward_flops * record["images"]
        rows.append({"config": config.name, "arch": name, **record, "flops": flops})
    return rows
