"""The proxy registry: `@register("name", needs=..., <metadata>)` on a function of a pass `Context`,
and `@register_aggregate("name", members, ...)` on a function of a scored table.

The metadata drives everything that lists proxies: the groups `--proxies` accepts are
derived from it, and the evaluation reads `higher_is_better` to orient scores. An
aggregate is a column over a scored set of networks, computed from its members' columns
(e.g. AZ-NAS's log-rank sum): a table that holds every member gets it, the group of its
name selects its members, and its cost is theirs. A new proxy or aggregate is one file.
"""

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import pandas as pd

from ..errors import ZcnasError
from .passes import known_results


@dataclass(frozen=True)
class Published:
    """A figure a paper reports for a proxy or aggregate: Spearman rho with the final test
    accuracy (NB101: validation accuracy) of the cells `protocol` names."""

    rho: float | tuple[float, float]  # a (low, high) range where papers disagree
    source: str
    space: str = "nb201"
    dataset: str = "cifar10"
    protocol: str | None = "all"  # all: every cell; non_isomorphic; None: not stated in our sources


# The source of Abdelfattah et al. (2021)'s own figures.
PAPER_TABLE2 = "Abdelfattah et al. 2021, Table 2"
PAPER_NB101 = "Abdelfattah et al. 2021 (NB101)"


def paper_figures(nb201: tuple[float, float, float], nb101: float) -> tuple[Published, ...]:
    """The paper's figures for one of its six proxies: NB201 CIFAR-10, CIFAR-100 and
    ImageNet16-120 (Table 2) and NB101 CIFAR-10."""
    return (*(Published(rho, PAPER_TABLE2, "nb201", dataset)
              for rho, dataset in zip(nb201, ("cifar10", "cifar100", "imagenet16-120"))),
            Published(nb101, PAPER_NB101, "nb101"))


@dataclass(frozen=True)
class Proxy:
    name: str
    compute: Callable
    needs: frozenset[str]  # results of the shared passes it reads
    higher_is_better: bool
    uses_labels: bool
    uses_data: bool  # False: reads neither inputs nor labels (only weights, architecture, input shape)
    citation: str
    paper: bool  # one of the six proxies of Abdelfattah et al. (2021), Table 1
    published: tuple[Published, ...] = ()


PROXIES: dict[str, Proxy] = {}

@dataclass(frozen=True)
class Group:
    description: str
    holds: Callable[[Proxy], bool]


GROUPS: dict[str, Group] = {
    "all": Group("every proxy", lambda proxy: True),
    "paper": Group("the six of Abdelfattah et al. 2021", lambda proxy: proxy.paper),
    "data-free": Group("reading no minibatch", lambda proxy: not proxy.uses_data),
    "label-free": Group("reading no labels", lambda proxy: not proxy.uses_labels),
}


def register(name: str, needs: Iterable[str] = (), *, higher_is_better: bool, uses_labels: bool, uses_data: bool,
             citation: str, paper: bool = False, published: Iterable[Published] = ()):
    """Register `compute(context) -> float` as proxy `name`, reading the pass results `needs`;
    `published`: the figures papers report for it, which the report sets beside ours."""
    needs = frozenset(needs)
    if unknown := needs - set(known_results()):
        raise ValueError(f"proxy {name!r} needs unknown results {sorted(unknown)}; known: {known_results()}")
    if name in GROUPS:
        raise ValueError(f"proxy {name!r} would hide the group of that name")
    if uses_labels and not uses_data:
        raise ValueError(f"proxy {name!r} cannot use labels without using data")

    def decorate(compute: Callable) -> Callable:
        if name in PROXIES:
            raise ValueError(f"proxy {name!r} is registered twice")
        PROXIES[name] = Proxy(name, compute, needs, higher_is_better, uses_labels, uses_data, citation, paper,
                              tuple(published))
        return compute

    return decorate


@dataclass(frozen=True)
class Aggregate:
    name: str
    members: tuple[str, ...]
    compute: Callable[[pd.DataFrame], pd.Series]  # one value per row of a table holding the members
    citation: str
    published: tuple[Published, ...] = ()


AGGREGATES: dict[str, Aggregate] = {}


def register_aggregate(name: str, members: Sequence[str], *, citation: str, description: str,
                       published: Iterable[Published] = ()):
    """Register `compute(table) -> Series` as the set-level column `name` of a table that
    holds every one of `members` (proxies), and `name` as the group of its members."""
    if name in GROUPS or name in AGGREGATES or name in PROXIES:
        raise ValueError(f"aggregate {name!r} would hide the proxy, group or aggregate of that name")
    members = tuple(members)

    def decorate(compute: Callable) -> Callable:
        AGGREGATES[name] = Aggregate(name, members, compute, citation, tuple(published))
        GROUPS[name] = Group(description, lambda proxy: proxy.name in members)
        return compute

    return decorate


def with_aggregate_names(proxies: Sequence[str]) -> list[str]:
    """`proxies` and the aggregates a table of them gets (those all of whose members it holds)."""
    proxies = list(proxies)
    return proxies + [name for name, aggregate in AGGREGATES.items()
                      if set(aggregate.members) <= set(proxies) and name not in proxies]


def with_aggregates(table: pd.DataFrame) -> pd.DataFrame:
    """`table` with a column for every aggregate all of whose members are its columns."""
    added = {name: AGGREGATES[name].compute(table) for name in with_aggregate_names(table.columns)
             if name in AGGREGATES and name not in table.columns}
    return table.assign(**added) if added else table


def cost_members(column: str) -> list[str]:
    """The proxies whose seconds a column costs: an aggregate costs its members."""
    return list(AGGREGATES[column].members) if column in AGGREGATES else [column]


def published_figures(space: str, source: str | None = None) -> dict[str, list[Published]]:
    """The published figures of every proxy and aggregate on `space` (from `source` only, if
    given), by name: proxies in name order, then aggregates."""
    found = {}
    for name, entry in [*sorted(PROXIES.items()), *AGGREGATES.items()]:
        figures = [figure for figure in entry.published
                   if figure.space == space and (source is None or figure.source == source)]
        if figures:
            found[name] = figures
    return found


def proxy_names() -> list[str]:
    return sorted(PROXIES)


def group(name: str) -> list[str]:
    """The proxies of a group, sorted by name."""
    return [proxy for proxy in proxy_names() if GROUPS[name].holds(PROXIES[proxy])]


def resolve_proxies(names: str | Iterable[str]) -> list[Proxy]:
    """Proxies by name or group name (see GROUPS), as a comma-separated string or a list;
    keeps order, drops repeats."""
    if isinstance(names, str):
        names = [part.strip() for part in names.split(",") if part.strip()]
    expanded: list[str] = []
    for name in names:
        if name in GROUPS:
            expanded += group(name)
        elif name in PROXIES:
            expanded.append(name)
        else:
            raise ZcnasError(f"unknown proxy {name!r}; expected one of: {_choices()}")
    if not expanded:
        raise ZcnasError(f"no proxy named; expected at least one of: {_choices()}")
    return [PROXIES[name] for name in dict.fromkeys(expanded)]


def _choices() -> str:
    return f"{', '.join(proxy_names())}, or a group: {', '.join(GROUPS)}"
