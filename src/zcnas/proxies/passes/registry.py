"""The pass registry: `@register_pass("name", produces=..., reads=...)` on a function of a `Context`.

A pass computes results that proxies (and later passes) read by name from the context,
e.g. `context["gradients"]`. It declares the results it produces (by default one, named
as the pass) and the results it reads. A result must already be registered when a pass
reads it, so registration order is a topological order of the passes and a cycle cannot
be registered (a pass reading its own result is rejected as one).
"""

from dataclasses import dataclass
from typing import Callable, Iterable


@dataclass(frozen=True)
class Pass:
    """`run(context)` returns its one result, or, producing several, a dict of those the
    context `wants` (a fused pass computes only what the selected proxies read)."""

    name: str
    run: Callable
    produces: tuple[str, ...]
    reads: frozenset[str]
    order: int  # registration index: a pass runs after every pass it reads
    requires: tuple[str, ...] = ()  # methods of the network it calls (see zcnas.spaces.base.FeatureNetwork)


PASSES: dict[str, Pass] = {}
# result name -> the pass that produces it
PRODUCERS: dict[str, Pass] = {}


def register_pass(name: str, produces: Iterable[str] | None = None, reads: Iterable[str] = (),
                  requires: Iterable[str] = ()):
    """Register `run(context)` as pass `name`; ValueError on a cycle, an unknown read or a clash.
    `requires` names the network methods it calls (`feature_modules`, `blocks`), so that a
    network lacking one is refused before any work (`zcnas.proxies.engine.check_supported`)."""
    produces = tuple(produces) if produces is not None else (name,)
    reads = frozenset(reads)
    if cycle := reads & set(produces):
        raise ValueError(f"pass {name!r} reads its own result {sorted(cycle)}: a cycle")
    if unknown := reads - PRODUCERS.keys():
        raise ValueError(f"pass {name!r} reads unknown results {sorted(unknown)}; known: {sorted(PRODUCERS)} "
                         "(a pass can only read results registered before it: import their module first)")
    if name in PASSES:
        raise ValueError(f"pass {name!r} is registered twice")
    if clash := set(produces) & PRODUCERS.keys():
        raise ValueError(f"pass {name!r} produces {sorted(clash)}, which other passes already produce")
    if not produces or len(set(produces)) != len(produces):
        raise ValueError(f"pass {name!r} must produce at least one result, each named once; got {list(produces)}")

    def decorate(run: Callable) -> Callable:
        registered = Pass(name, run, produces, reads, len(PASSES), tuple(requires))
        PASSES[name] = registered
        PRODUCERS.update(dict.fromkeys(produces, registered))
        return run

    return decorate


def passes_for(results: Iterable[str]) -> list[Pass]:
    """The passes that produce `results`, and transitively what they read, in running order."""
    needed: dict[str, Pass] = {}
    pending = list(results)
    while pending:
        producer = PRODUCERS[pending.pop()]
        if producer.name not in needed:
            needed[producer.name] = producer
            pending.extend(producer.reads)
    return sorted(needed.values(), key=lambda p: p.order)


def known_results() -> list[str]:
    return sorted(PRODUCERS)
