"""Search algorithms' settings, and the variant names that select them.

A variant name is the algorithm, then optionally `+warmup<N>` (rank N cells with the
proxy before any training), then optionally a move proposal: `+move` for aging
evolution, `+move<k>` for REINFORCE. E.g. `rs`, `rs+warmup3000`, `ae+move`, `rl+move10`,
`bp+warmup15625`. Everything else is a field with the papers' default, overridable.
"""

import dataclasses
import re
from dataclasses import dataclass
from typing import ClassVar, Mapping

from ..errors import ZcnasError, choice_error


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ZcnasError(message)


def _require_int(name: str, value: object, minimum: int) -> None:
    _require(isinstance(value, int) and not isinstance(value, bool) and value >= minimum,
             f"{name} must be an integer >= {minimum}, got {value!r}")


def _require_positive(name: str, value: object) -> None:
    _require(isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0,
             f"{name} must be a number > 0, got {value!r}")


@dataclass(frozen=True)
class RandomSearch:
    """Uniform sampling without replacement; warm-up trains the proxy's ranking of N random cells first."""

    warmup: int = 0
    algorithm: ClassVar[str] = "rs"
    move_form: ClassVar[str | None] = None

    def __post_init__(self):
        _require_int("warmup", self.warmup, 0)


@dataclass(frozen=True)
class AgingEvolution:
    """Regularised evolution (Real et al., 2019) with the zero-cost NAS paper's population and tournament."""

    population: int = 64
    tournament: int = 10
    warmup: int = 0
    move: bool = False
    # A mutation landing on a trained cell is redrawn; after this many draws the nearest
    # untrained cell is taken instead (see moves.mutate_untrained).
    mutation_tries: int = 100
    algorithm: ClassVar[str] = "ae"
    move_form: ClassVar[str | None] = "+move"

    def __post_init__(self):
        _require_int("warmup", self.warmup, 0)
        _require_int("population", self.population, 1)
        _require_int("tournament", self.tournament, 1)
        _require(self.tournament <= self.population,
                 f"tournament ({self.tournament}) must not exceed population ({self.population})")
        _require(isinstance(self.move, bool), f"move must be true or false, got {self.move!r}")
        _require_int("mutation_tries", self.mutation_tries, 1)


@dataclass(frozen=True)
class Reinforce:
    """A categorical distribution per decision trained by REINFORCE (NAS-Bench-201's baseline settings)."""

    learning_rate: float = 0.01
    optimizer: str = "adam"
    baseline_decay: float = 0.9
    warmup: int = 0
    move: int = 0  # k: sample k cells from the policy, train the proxy's best
    algorithm: ClassVar[str] = "rl"
    move_form: ClassVar[str | None] = "+move<k>"

    def __post_init__(self):
        _require_positive("learning_rate", self.learning_rate)
        if self.optimizer not in ("adam", "sgd"):
            raise choice_error("optimizer", self.optimizer, ("adam", "sgd"))
        _require(isinstance(self.baseline_decay, (int, float)) and 0 <= self.baseline_decay < 1,
                 f"baseline_decay must be in [0, 1), got {self.baseline_decay!r}")
        _require_int("warmup", self.warmup, 0)
        _require_int("move", self.move, 0)


@dataclass(frozen=True)
class BinaryPredictor:
    """BRP-NAS-style search: a GCN pairwise predictor picks the next cells to train, round by round."""

    initial: int = 10  # random cells trained before the first round (none with a warm-up)
    top_k: int = 10  # cells trained per round
    hidden: int = 32
    layers: int = 2
    steps: int = 100  # optimiser steps per round, each on a batch of pairs
    batch_pairs: int = 64
    learning_rate: float = 3e-3
    reference: int = 32  # a candidate's score: mean logit of beating this many random known cells
    pool: int | None = None  # candidates ranked per round: all untrained cells (None) or this many random ones
    warmup: int = 0
    warmup_steps: int = 300
    algorithm: ClassVar[str] = "bp"
    move_form: ClassVar[str | None] = None

    def __post_init__(self):
        for name in ("initial", "top_k", "hidden", "layers", "steps", "batch_pairs", "reference", "warmup_steps"):
            _require_int(name, getattr(self, name), 1)
        _require_positive("learning_rate", self.learning_rate)
        if self.pool is not None:
            _require_int("pool", self.pool, 1)
        _require_int("warmup", self.warmup, 0)


SearchConfig = RandomSearch | AgingEvolution | Reinforce | BinaryPredictor
ALGORITHMS: dict[str, type] = {
    config.algorithm: config for config in (RandomSearch, AgingEvolution, Reinforce, BinaryPredictor)}
_NAME = re.compile(r"^(?P<algorithm>[a-z]+)(?:\+warmup(?P<warmup>\d+))?(?:\+move(?P<move>\d*))?$")


def variant_name(config: SearchConfig) -> str:
    """The variant's name, e.g. `rs+warmup3000` (the inverse of `parse_variant`)."""
    name = config.algorithm + (f"+warmup{config.warmup}" if config.warmup else "")
    move = getattr(config, "move", False)
    if move is True:
        name += "+move"
    elif move:
        name += f"+move{move}"
    return name


def uses_proxy(config: SearchConfig) -> bool:
    return bool(config.warmup or getattr(config, "move", False))


def variant_forms(algorithm: str) -> str:
    config = ALGORITHMS[algorithm]
    forms = [algorithm, f"{algorithm}+warmup<N>"]
    if config.move_form:
        forms += [algorithm + config.move_form, f"{algorithm}+warmup<N>{config.move_form}"]
    return ", ".join(forms)


def parse_variant(name: str, settings: Mapping[str, object] | None = None) -> SearchConfig:
    """The settings a variant name selects, with `settings` overriding the algorithm's defaults."""
    if not isinstance(name, str):
        raise ZcnasError(f"variant name must be a string such as 'rs+warmup3000', got {name!r}")
    algorithm = name.partition("+")[0]
    if algorithm not in ALGORITHMS:
        raise choice_error("search algorithm", algorithm, tuple(ALGORITHMS))
    config_type = ALGORITHMS[algorithm]
    match = _NAME.match(name)
    if match is None:
        raise ZcnasError(f"malformed variant {name!r}; the forms for {algorithm} are: {variant_forms(algorithm)}")
    fields: dict[str, object] = {}
    if match["warmup"] is not None:
        warmup = int(match["warmup"])
        _require(warmup >= 1, f"warm-up size in {name!r} must be >= 1 (the plain variant is {algorithm!r})")
        fields["warmup"] = warmup
    if match["move"] is not None:
        fields["move"] = _parse_move(name, config_type, match["move"])
    tunable = [field.name for field in dataclasses.fields(config_type) if field.name not in ("warmup", "move")]
    for key, value in (settings or {}).items():
        if key in ("warmup", "move"):
            raise ZcnasError(f"{key!r} comes from the variant name (e.g. {variant_forms(algorithm)}), not the settings")
        if key not in tunable:
            raise choice_error(f"setting of {algorithm}", key, tunable)
        fields[key] = value
    config = config_type(**fields)
    # Names key results and seeds, so one variant must have exactly one spelling.
    _require(variant_name(config) == name, f"write variant {name!r} as {variant_name(config)!r}")
    return config


def _parse_move(name: str, config_type: type, digits: str) -> bool | int:
    if config_type.move_form is None:
        raise ZcnasError(f"{config_type.algorithm} has no move proposal ({name!r}); "
                         f"its variants are: {variant_forms(config_type.algorithm)}")
    if config_type.move_form == "+move":
        _require(digits == "", f"'{config_type.algorithm}+move' takes no number; got {name!r}")
        return True
    _require(digits != "", f"{name!r} needs a sample count k >= 1, e.g. '{config_type.algorithm}+move10'")
    k = int(digits)
    _require(k >= 1, f"move sample count in {name!r} must be >= 1")
    return k
