"""params.yaml, validated before any work starts.

Every section is a strict pydantic model: wrong types, unknown keys (typos) and
unknown names (proxies, spaces, datasets) fail with the key's dotted path.
"""

import hashlib
import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator,
                      model_validator)

from ..data import CONVENTIONS, DATASETS, METHODS
from ..errors import ZcnasError
from ..evaluation.combined import parse_spec
from ..execution import ExecutorSettings
from ..proxies import proxy_names, resolve_proxies
from ..spaces import get_space, space_names

DEFAULT_PARAMS = Path("params.yaml")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _known(kind: str, value: str, valid) -> str:
    if value not in valid:
        raise ValueError(f"unknown {kind} {value!r}; expected one of: {', '.join(valid)}")
    return value


def _positive_or_word(value, key: str, word: str):
    if isinstance(value, int) and value < 1:
        raise ValueError(f"{key} must be {word!r} or a positive integer, got {value}")
    return value


def _proxy(value: str) -> str:
    return _known("proxy", value, proxy_names())


def _proxy_list(values: list[str]) -> list[str]:
    """Proxy names, each group name (`all`, `paper`, ...) replaced by its members."""
    if not values:
        raise ValueError("name at least one proxy")
    try:
        return [proxy.name for proxy in resolve_proxies(values)]
    except ZcnasError as exc:
        raise ValueError(str(exc)) from None


class FetchParams(Section):
    spaces: list[str] = ["nb201"]
    nb201_source: Literal["auto", "table", "pth", "nats"] = "auto"
    nb101_source: Literal["auto", "sample", "tfrecord"] = "auto"

    @field_validator("spaces")
    @classmethod
    def _spaces(cls, values: list[str]) -> list[str]:
        return [_known("search space", v, space_names()) for v in values]


class ScoreParams(Section):
    space: str = "nb201"
    datasets: list[str] = ["cifar10"]
    proxies: list[str] = ["grad_norm", "snip", "grasp", "fisher", "jacob_cov", "synflow"]
    sample: StrictInt | Literal["all"] = 1000
    batch_size: StrictInt = Field(64, ge=1)
    dataload: str = "random"
    minibatch: str = "per_arch"

    @field_validator("space")
    @classmethod
    def _space(cls, value: str) -> str:
        return _known("search space", value, space_names())

    @field_validator("datasets")
    @classmethod
    def _datasets(cls, values: list[str]) -> list[str]:
        if not values:
            raise ValueError("name at least one dataset")
        return [_known("dataset", v, tuple(DATASETS)) for v in values]

    @field_validator("proxies")
    @classmethod
    def _proxies(cls, values: list[str]) -> list[str]:
        return _proxy_list(values)

    @field_validator("sample")
    @classmethod
    def _sample(cls, value):
        return _positive_or_word(value, "sample", "all")

    @field_validator("dataload")
    @classmethod
    def _dataload(cls, value: str) -> str:
        return _known("dataload", value, METHODS)

    @field_validator("minibatch")
    @classmethod
    def _minibatch(cls, value: str) -> str:
        return _known("minibatch convention", value, CONVENTIONS)


class ScoreSpaceParams(Section):
    """The cheap proxies over the whole space, for search and the whole-space protocols."""

    datasets: list[str] = ["cifar10"]
    proxies: list[str] = ["synflow"]
    sample: StrictInt | Literal["all"] = "all"
    # Weight seeds: the space is scored once per seed (seed 0 is the global seed), and
    # search run r reads seed r mod seeds, so no search result rests on one initialisation.
    seeds: StrictInt = Field(2, ge=1)
    # The minibatch of the proxies that read data (e.g. meco), apart from score's, so that an
    # ablation of the sample's minibatch does not rescore the whole space.
    batch_size: StrictInt = Field(64, ge=1)
    dataload: str = "random"
    minibatch: str = "per_arch"
    # Training-free combinations of the proxies above that the whole-space protocols also judge.
    combinations: list[str] = []

    _datasets = field_validator("datasets")(ScoreParams._datasets.__func__)
    _sample = field_validator("sample")(ScoreParams._sample.__func__)
    _dataload = field_validator("dataload")(ScoreParams._dataload.__func__)
    _minibatch = field_validator("minibatch")(ScoreParams._minibatch.__func__)

    @field_validator("proxies")
    @classmethod
    def _proxies(cls, values: list[str]) -> list[str]:
        return _proxy_list(values)

    @model_validator(mode="after")
    def _combinations_of_scored_proxies(self):
        for spec in self.combinations:
            try:
                combination, members = parse_spec(spec)
            except ZcnasError as exc:
                raise ValueError(f"score_space.combinations: {exc}") from None
            if combination is None:
                raise ValueError(f"score_space.combinations: {spec!r} is a single proxy; write ensemble:a+b or "
                                 "log_rank:a+b (single proxies are judged anyway)")
            if missing := [member for member in members if member not in self.proxies]:
                raise ValueError(f"score_space.combinations: {spec!r} names {', '.join(missing)}, which "
                                 f"score_space.proxies does not compute ({', '.join(self.proxies)})")
        return self


class EvaluateParams(Section):
    bootstrap: StrictInt = Field(1000, ge=0)
    top_fraction: float = Field(0.1, gt=0, le=1)
    vote: list[str] = ["synflow", "jacob_cov", "snip"]
    ensemble: list[str] = ["synflow", "jacob_cov", "snip"]
    log_rank: list[str] = ["synflow", "jacob_cov", "snip"]
    fewshot_k: StrictInt = Field(100, ge=1)

    @field_validator("vote", "ensemble", "log_rank")
    @classmethod
    def _proxies(cls, values: list[str]) -> list[str]:
        return _proxy_list(values)


SHORTENED = "-shortened"
def training_configs(configs: dict, shortened: dict) -> dict:
    """The econas configs (name -> fields) as trained: one named in `shortened` (name ->
    fields replaced) under its own name, so that none of its results passes for the
    setting it shortens."""
    return {f"{name}{SHORTENED}" if name in shortened else name: {**(fields or {}), **shortened.get(name, {})}
            for name, fields in configs.items()}


# Validation accuracy on fewer held-out images is too coarse to rank networks by (the paper reads 10,000).
MIN_VAL_IMAGES = 1000


class EconasParams(Section):
    """Reduced-training baselines on a subset of the score sample (same architectures)."""

    dataset: str = "cifar10"
    sample: StrictInt = Field(30, ge=2)
    val_fraction: float = Field(0.1, gt=0, lt=1)
    # name -> {r, c, e, schedule_epochs, s, batch_size, lr, momentum, weight_decay}; checked by zcnas.econas.
    # The paper's two settings (its NB201 training script: batch 2048, a 40-epoch cosine, all training images).
    configs: dict[str, dict[str, StrictInt | float] | None] = {
        "econas": {"r": 8, "c": 4, "e": 20, "schedule_epochs": 40, "s": 1.0, "batch_size": 2048},
        "econas+": {"r": 16, "c": 8, "e": 15, "schedule_epochs": 40, "s": 1.0, "batch_size": 2048},
    }
    # name -> fields replaced to fit a CPU budget; such a config trains as "<name>-shortened".
    # {} trains every config at its own setting.
    shortened: dict[str, dict[str, StrictInt | float]] = {"econas+": {"e": 5, "s": 0.05, "batch_size": 256}}

    @field_validator("dataset")
    @classmethod
    def _dataset(cls, value: str) -> str:
        return _known("dataset", value, tuple(DATASETS))

    @model_validator(mode="after")
    def _configs_are_valid(self):
        from ..econas import configs_from_params
        from ..econas.data import split_sizes

        if not self.configs:
            raise ValueError("econas.configs: name at least one configuration")
        if unknown := sorted(set(self.shortened) - set(self.configs)):
            raise ValueError(f"econas.shortened names {unknown}, which are not among econas.configs "
                             f"({', '.join(self.configs)})")
        try:
            configs = configs_from_params(training_configs(self.configs, self.shortened), self.dataset)
        except ZcnasError as exc:
            raise ValueError(f"econas.configs: {exc}") from None
        # Checked on the dataset's known size, so that no stage starts training with a split it cannot make.
        num_images = DATASETS[self.dataset].train_images
        try:
            num_val, _ = split_sizes(num_images, self.val_fraction, 1.0)
            if num_val < MIN_VAL_IMAGES:
                raise ValueError(
                    f"econas.val_fraction {self.val_fraction} holds out {num_val} of {self.dataset}'s {num_images} "
                    f"training images for validation; expected at least {MIN_VAL_IMAGES} "
                    f"(val_fraction from {MIN_VAL_IMAGES / num_images:g}, below 1)")
            for config in configs:
                config.check_training_images(split_sizes(num_images, self.val_fraction, config.fraction)[1])
        except ZcnasError as exc:
            raise ValueError(f"econas.configs: {exc}") from None
        return self


def _proxy_spec(value: str) -> str:
    """A proxy name, or an ensemble of proxies such as `ensemble:synflow+snip` (see zcnas.evaluation.combined)."""
    try:
        members = parse_spec(value)[1]
    except ZcnasError as exc:
        raise ValueError(f"{exc} with a, b, c among: {', '.join(proxy_names())}") from None
    for member in members:
        _proxy(member)
    return value


class SearchParams(Section):
    """Simulated NAS on the benchmark, with and without the zero-cost proxy."""

    datasets: list[str] = ["cifar10", "cifar100", "imagenet16-120"]
    proxy: str = "synflow"
    # Further proxies (or combinations) whose variants also run, to compare with `proxy`.
    compare: list[str] = []
    variants: list[str] = ["rs", "rs+warmup3000", "ae", "ae+warmup15625", "ae+move", "rl", "rl+warmup3000",
                           "rl+move10", "bp", "bp+warmup3000"]
    budget: dict[str, StrictInt] = {"rs": 300, "ae": 300, "rl": 300, "bp": 100}
    runs: dict[str, StrictInt] = {"rs": 100, "ae": 100, "rl": 30, "bp": 10}
    targets: dict[str, list[float]] = {"cifar10": [93.5, 94.0], "cifar100": [72.5, 73.0, 73.2],
                                       "imagenet16-120": [46.0, 46.5]}
    select_by: Literal["val", "test"] = "val"
    # Hyper-parameters per algorithm, e.g. {ae: {population: 64, tournament: 10}}; the
    # defaults follow the papers (see zcnas/search/variants.py).
    settings: dict[str, dict[str, StrictInt | float]] = {}

    _datasets = field_validator("datasets")(ScoreParams._datasets.__func__)

    def config(self, variant: str):
        from ..search import parse_variant

        return parse_variant(variant, self.settings.get(parse_variant(variant).algorithm))

    @field_validator("proxy")
    @classmethod
    def _proxy(cls, value: str) -> str:
        return _proxy_spec(value)

    @field_validator("compare")
    @classmethod
    def _compare(cls, values: list[str]) -> list[str]:
        if repeated := sorted({value for value in values if values.count(value) > 1}):
            raise ValueError(f"names {', '.join(repeated)} more than once")
        return [_proxy_spec(value) for value in values]

    @field_validator("variants")
    @classmethod
    def _variants(cls, values: list[str]) -> list[str]:
        from ..search import parse_variant

        if not values:
            raise ValueError("name at least one variant")
        for value in values:
            try:
                parse_variant(value)
            except ZcnasError as exc:
                raise ValueError(str(exc)) from None
        return values

    @model_validator(mode="after")
    def _every_algorithm_has_budget_and_runs(self):
        for value in self.variants:
            try:
                algorithm = self.config(value).algorithm
            except ZcnasError as exc:
                raise ValueError(f"search.settings: {exc}") from None
            for key in ("budget", "runs"):
                count = getattr(self, key).get(algorithm)
                if count is None or count < 1:
                    raise ValueError(f"search.{key}.{algorithm} must be a positive integer for variant {value!r}, "
                                     f"got {count!r}")
        for dataset in self.datasets:
            if not self.targets.get(dataset):
                raise ValueError(f"search.targets.{dataset}: give at least one target accuracy")
        return self


class Nb101Params(Section):
    """NAS-Bench-101's sample as a second correlation task, the pipeline nb101/dvc.yaml (apart
    from the default run: it costs about an hour of CPU time more; docs/stages.md)."""

    proxies: list[str] = Field(default_factory=proxy_names)
    sample: StrictInt | Literal["all"] = "all"

    _proxies = field_validator("proxies")(ScoreParams._proxies.__func__)
    _sample = field_validator("sample")(ScoreParams._sample.__func__)


class ExecutorParams(Section):
    """Where the long stages (score, score_space, score_nb101, econas, search) run their
    work: `local` processes (`workers` of them) or Ray actors; checked by zcnas.execution.
    No setting changes a result (tests/test_execution.py)."""

    backend: str = "local"
    address: str = "auto"
    cpus_per_task: float = 1.0
    gpus_per_task: float = 0.0
    max_retries: StrictInt = 3

    @model_validator(mode="after")
    def _settings_are_valid(self):
        try:
            self.settings()
        except ZcnasError as exc:
            raise ValueError(str(exc)) from None
        return self

    def settings(self) -> ExecutorSettings:
        return ExecutorSettings(**self.model_dump())


class Params(Section):
    seed: StrictInt = 42
    device: str = "auto"
    workers: StrictInt | Literal["auto"] = "auto"
    executor: ExecutorParams = ExecutorParams()
    fetch: FetchParams = FetchParams()
    score: ScoreParams = ScoreParams()
    score_space: ScoreSpaceParams = ScoreSpaceParams()
    evaluate: EvaluateParams = EvaluateParams()
    econas: EconasParams = EconasParams()
    search: SearchParams = SearchParams()
    nb101: Nb101Params = Nb101Params()

    @field_validator("workers")
    @classmethod
    def _workers(cls, value):
        return _positive_or_word(value, "workers", "auto")

    @model_validator(mode="after")
    def _evaluated_proxies_are_scored(self):
        # Both tasks are evaluated with the evaluate section's ensembles.
        for scored in ("score", "nb101"):
            computed = getattr(self, scored).proxies
            for key in ("vote", "ensemble", "log_rank"):
                missing = [p for p in getattr(self.evaluate, key) if p not in computed]
                if missing:
                    raise ValueError(f"evaluate.{key} names {', '.join(missing)}, which {scored}.proxies does not "
                                     f"compute ({', '.join(computed)})")
        if self.score.sample != "all" and self.evaluate.fewshot_k > self.score.sample - 2:
            raise ValueError(f"evaluate.fewshot_k {self.evaluate.fewshot_k} leaves fewer than two of the "
                             f"score.sample {self.score.sample} cells to evaluate on; expected 1 to "
                             f"{self.score.sample - 2}")
        for key, sample, space in (("score.sample", self.score.sample, self.score.space),
                                   ("score_space.sample", self.score_space.sample, self.score.space),
                                   ("nb101.sample", self.nb101.sample, "nb101")):
            if sample != "all" and sample > get_space(space).size:
                raise ValueError(f"{key} {sample} exceeds the {get_space(space).size:,} architectures of {space}; "
                                 "expected at most that, or 'all'")
        if self.score.sample != "all" and self.econas.sample > self.score.sample:
            raise ValueError(f"econas.sample {self.econas.sample} exceeds score.sample {self.score.sample}: "
                             "reduced training runs on a subset of the scored architectures")
        if self.econas.dataset not in self.score.datasets:
            raise ValueError(f"econas.dataset {self.econas.dataset!r} is not among score.datasets "
                             f"({', '.join(self.score.datasets)}), whose scores it is compared with")
        for key, spec in [("proxy", self.search.proxy), *(("compare", spec) for spec in self.search.compare)]:
            if unscored := [p for p in parse_spec(spec)[1] if p not in self.score_space.proxies]:
                raise ValueError(f"search.{key} {spec!r} names {', '.join(unscored)}, which "
                                 f"score_space.proxies does not compute ({', '.join(self.score_space.proxies)}), "
                                 "the scores search reads")
        if self.search.proxy in self.search.compare:
            raise ValueError(f"search.compare names search.proxy {self.search.proxy!r}, which runs anyway")
        return self

    def section(self, name: str) -> dict:
        value = getattr(self, name)
        return value.model_dump() if isinstance(value, BaseModel) else {name: value}

    def digest(self, *sections: str) -> str:
        """A short hash of the named sections (all when none named), for tagging runs."""
        data = self.model_dump() if not sections else {name: self.section(name) for name in sections}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


def load_params(path: Path | str = DEFAULT_PARAMS, overrides: dict | None = None) -> Params:
    path = Path(path)
    if not path.exists():
        raise ZcnasError(f"params file {path} not found")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ZcnasError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ZcnasError(f"{path} must hold a mapping of sections, got {type(raw).__name__}")
    return parse_params(raw, source=str(path))


def parse_params(raw: dict, source: str = "params") -> Params:
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        problems: dict[str, list[str]] = {}
        for error in exc.errors():
            # Drop the union-member tags pydantic appends (e.g. `workers.int`).
            parts = [str(p) for p in error["loc"] if not _is_type_tag(p)]
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown key (a typo?)"
            if "got" not in message and parts:
                message += f" (got {error.get('input')!r})"
            problems.setdefault(".".join(parts), []).append(message)
        lines = [f"{key}: {' or '.join(messages)}" if key else " or ".join(messages) for key, messages in problems.items()]
        raise ZcnasError(f"{source}: invalid parameters:\n  " + "\n  ".join(lines)) from None


def _is_type_tag(part) -> bool:
    return isinstance(part, str) and (part in {"int", "str", "float", "bool", "list"} or "[" in part)
