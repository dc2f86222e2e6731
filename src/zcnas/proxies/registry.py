"""The proxy registry: `@register("name", needs=...)` on a function of the shared measurements."""

from dataclasses import dataclass
from typing import Callable, Iterable

from ..errors import ZcnasError

# What a proxy may read from the shared passes (see measure.py).
NEEDS = frozenset({"gradients", "activations", "jacobian", "hessian", "synflow", "flops"})
# The six proxies of Abdelfattah et al. (2021), Table 1.
PAPER_PROXIES = ("grad_norm", "snip", "grasp", "fisher", "jacob_cov", "synflow")
GROUPS = {"paper": PAPER_PROXIES}


@dataclass(frozen=True)
class Proxy:
    name: str
    compute: Callable
    needs: frozenset[str]
    higher_is_better: bool = True


PROXIES: dict[str, Proxy] = {}


def register(name: str, needs: Iterable[str] = (), higher_is_better: bool = True):
    """Register `compute(net, measurements) -> float` as proxy `name`."""
    needs = frozenset(needs)
    if unknown := needs - NEEDS:
        raise ValueError(f"proxy {name!r} needs unknown measurements {sorted(unknown)}; known: {sorted(NEEDS)}")

    def decorate(compute: Callable) -> Callable:
        if name in PROXIES:
            raise ValueError(f"proxy {name!r} is registered twice")
        PROXIES[name] = Proxy(name, compute, needs, higher_is_better)
        return compute

    return decorate


def proxy_names() -> list[str]:
    return sorted(PROXIES)


def resolve_proxies(names: str | Iterable[str]) -> list[Proxy]:
    """Proxies by name; `all` means every registered proxy, `paper` the paper's six.

    Accepts a comma-separated string or a list; keeps order, drops repeats.
    """
    if isinstance(names, str):
        names = [part.strip() for part in names.split(",") if part.strip()]
    expanded: list[str] = []
    for name in names:
        if name == "all":
            expanded += proxy_names()
        elif name in GROUPS:
            expanded += GROUPS[name]
        elif name in PROXIES:
            expanded.append(name)
        else:
            valid = ", ".join(proxy_names() + ["all", *GROUPS])
            raise ZcnasError(f"unknown proxy {name!r}; expected one of: {valid}")
    if not expanded:
        raise ZcnasError("no proxy named; expected at least one of: " + ", ".join(proxy_names() + ["all", *GROUPS]))
    return [PROXIES[name] for name in dict.fromkeys(expanded)]
