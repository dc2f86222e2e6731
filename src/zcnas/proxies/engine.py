"""Scoring one network with many proxies, sharing the passes they have in common."""

import math
import time
import warnings
from contextlib import contextmanager
from typing import Iterable

import numpy as np
import torch
from torch import nn

from ..device import synchronize
from ..errors import ZcnasError
from .passes import Context, passes_for
from .registry import Proxy, resolve_proxies

SPLIT_EFFECT = ("BatchNorm normalises each part by its own statistics, so the scores of networks with BatchNorm "
                "differ from whole-batch scores (the data-free proxies, which read no batch, are unchanged)")


class Scores(dict):
    """proxy name -> score, with `seconds`: proxy name -> cost in seconds.

    A proxy's seconds are its own time plus the full time of every shared pass it
    read, i.e. about what it would cost alone; `total_seconds` is the real wall time.
    `parts` is the number of parts the batch was measured in (1 = whole).
    """

    def __init__(self, values: dict[str, float], seconds: dict[str, float], total_seconds: float, parts: int = 1):
        super().__init__(values)
        self.seconds = seconds
        self.total_seconds = total_seconds
        self.parts = parts


def score(net: nn.Module, batch: tuple[torch.Tensor, torch.Tensor], proxies: str | Iterable[str] = "paper",
          parts: int = 1, warn_on_split: bool = True) -> Scores:
    """Score `net` at its current weights with the named proxies (or groups) on one minibatch.

    Runs each pass the proxies need, directly or through other passes, once, in
    dependency order. The network is left exactly as it was: weights untouched,
    BatchNorm running statistics restored, training mode restored. The batch is
    measured in `parts` parts, and on a GPU out-of-memory error split in twice as many
    and every pass rerun; a split batch changes the scores of BatchNorm networks (see
    SPLIT_EFFECT), which `warn_on_split` reports.
    """
    selected = resolve_proxies(proxies)
    _check_supported(net, selected)
    needs = set().union(*(proxy.needs for proxy in selected))
    # A network without parameters (an all-skip cell, a test's identity) runs where its batch is.
    device = next(net.parameters(), batch[0]).device
    inputs, targets = (tensor.to(device) for tensor in batch)
    if not 1 <= parts <= len(targets):
        raise ZcnasError(f"batch parts must be between 1 and the batch size {len(targets)}, got {parts}")
    synchronize(device)
    start = time.perf_counter()
    with _state_preserved(net):
        net.train()
        context = _run_splitting_on_oom(net, inputs, targets, needs, parts)
        values, seconds = {}, {}
        for proxy in selected:
            values[proxy.name], own_seconds = _compute(proxy, context)
            seconds[proxy.name] = own_seconds + sum(context.seconds[p.name] for p in passes_for(proxy.needs))
    if context.parts > 1 and warn_on_split:
        warnings.warn(f"the batch was measured in {context.parts} parts: {SPLIT_EFFECT}", RuntimeWarning)
    return Scores(values, seconds, time.perf_counter() - start, context.parts)


def check_supported(net: nn.Module, proxies: str | Iterable[str]) -> None:
    """ZcnasError naming every proxy (names or groups) that cannot run on `net` and why: a
    pass it needs calls a method of the search-space protocol (`requires`) the network lacks."""
    _check_supported(net, resolve_proxies(proxies))


def _check_supported(net: nn.Module, selected: list[Proxy]) -> None:
    problems = []
    for proxy in selected:
        for registered in passes_for(proxy.needs):
            if missing := [m for m in registered.requires if not callable(getattr(net, m, None))]:
                calls = ", ".join(f"{method}()" for method in missing)
                problems.append(f"{proxy.name} (its pass {registered.name!r} calls {calls})")
    if problems:
        raise ZcnasError(f"{type(net).__name__} networks lack what these proxies read: {'; '.join(problems)}; "
                         "a search space's networks provide it (zcnas.spaces.base.FeatureNetwork)")


def run_passes(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, needs: Iterable[str],
               parts: int = 1) -> Context:
    """The context holding the results `needs`, after running, once each, the passes they take."""
    passes = passes_for(needs)
    # A fused pass computes only the results something reads.
    context = Context(net, inputs, targets, parts, set(needs).union(*(p.reads for p in passes)))
    for registered in passes:
        with context.reading(registered.reads), _timed(context.seconds, registered.name, context.device):
            output = registered.run(context)
        if len(registered.produces) == 1:
            output = {registered.produces[0]: output}
        elif missing := {r for r in registered.produces if context.wants(r)} - output.keys():
            raise RuntimeError(f"pass {registered.name!r} did not return the results asked of it: {sorted(missing)}")
        context.store(output)
    return context


@contextmanager
def _timed(seconds: dict[str, float], name: str, device: torch.device):
    """Time a pass; on a GPU, only once its queued kernels have run."""
    synchronize(device)
    start = time.perf_counter()
    yield
    synchronize(device)
    seconds[name] = time.perf_counter() - start


def _run_splitting_on_oom(net, inputs, targets, needs, parts: int) -> Context:
    while True:
        try:
            return run_passes(net, inputs, targets, needs, parts)
        except torch.OutOfMemoryError:
            if parts >= len(targets):
                raise
            parts = min(parts * 2, len(targets))
            if inputs.is_cuda:
                torch.cuda.empty_cache()


def _compute(proxy: Proxy, context: Context) -> tuple[float, float]:
    # Proxies compute on the passes' tensors, so on a GPU the queued kernels count too.
    synchronize(context.device)
    start = time.perf_counter()
    try:
        with context.reading(proxy.needs):
            value = float(proxy.compute(context))
        if not math.isfinite(value):
            warnings.warn(f"proxy {proxy.name} gave {value}; recorded as NaN", RuntimeWarning)
            value = math.nan
    except (ArithmeticError, np.linalg.LinAlgError, torch.linalg.LinAlgError) as exc:
        warnings.warn(f"proxy {proxy.name} failed numerically ({exc}); recorded as NaN", RuntimeWarning)
        value = math.nan
    except (ZcnasError, torch.OutOfMemoryError):
        raise
    except Exception as exc:
        # Not a number that went bad but a bug or a network the proxy cannot read: stop, naming it.
        raise ZcnasError(f"proxy {proxy.name} failed on this {type(context.net).__name__}: "
                         f"{type(exc).__name__}: {exc}") from exc
    return value, time.perf_counter() - start


@contextmanager
def _state_preserved(net: nn.Module):
    """Restore buffers (BatchNorm statistics) and train/eval mode after scoring."""
    # Listed once: walking a network's modules costs more than copying its few small buffers.
    modules, buffers = list(net.modules()), list(net.buffers())
    modes = [module.training for module in modules]
    saved = [buffer.clone() for buffer in buffers]
    try:
        yield
    finally:
        with torch.no_grad():
            for buffer, value in zip(buffers, saved):
                buffer.copy_(value)
        for module, mode in zip(modules, modes):
            module.training = mode
