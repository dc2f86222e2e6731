"""Named reduced-training configurations (EcoNAS-style: fewer channels, lower resolution,
fewer epochs, a fraction of the training data).

In params they are a mapping name -> fields, with the short field names of the EcoNAS
paper (`r`, `c`, `e`, `s`) plus `schedule_epochs`, `batch_size` and the optimiser's `lr`,
`momentum`, `weight_decay`. A name such as `r8c4e40` encodes r, c and e itself; fields
given beside it must agree with it.

`e` epochs are trained of a learning-rate schedule `schedule_epochs` long (default: e), so
the paper's "epoch 20 of a 40-epoch schedule" is `{e: 20, schedule_epochs: 40}`: the
first 20 epochs of a 40-epoch run, bit for bit, stopped there.
"""

import math
import re
from dataclasses import asdict, dataclass
from typing import Mapping

from ..data import dataset_info
from ..errors import ZcnasError, choice_error

# NAS-Bench-201's own batch size, and on a CPU near the best throughput of the small
# configs: per-step overheads dominate below it (r8c4, 1 thread: ~700 images/s at 64,
# ~1500 at 128, ~1500-2100 at 256, ~1900 at 512) while larger batches mean fewer steps
# in the few epochs a reduced run has. (The EcoNAS comparison in the paper used 2048 on GPU.)
DEFAULT_BATCH_SIZE = 256

# Short (params) name -> TrainingConfig field.
FIELDS = {
    "r": "resolution",
    "c": "channels",
    "e": "epochs",
    "schedule_epochs": "schedule_epochs",
    "s": "fraction",
    "batch_size": "batch_size",
    "lr": "lr",
    "momentum": "momentum",
    "weight_decay": "weight_decay",
}
# Config names end up in table cells, file names and MLflow keys.
_NAME = re.compile(r"[A-Za-z0-9_.+-]+")
_ENCODED = re.compile(r"(?:r(?P<r>\d+))?(?:c(?P<c>\d+))?(?:e(?P<e>\d+))?")


@dataclass(frozen=True)
class TrainingConfig:
    """One reduced-training setting. Optimiser: SGD with Nesterov momentum; the learning
    rate follows a cosine from `lr` to 0 over `schedule_epochs`, stepped once per epoch
    (the paper's NB201 training script), of which the first `epochs` are run."""

    name: str
    resolution: int  # input size r (official NB201: 32)
    channels: int  # initial channels c (official NB201: 16)
    epochs: int  # e
    fraction: float = 1.0  # s: share of the (non-validation) training images used
    batch_size: int = DEFAULT_BATCH_SIZE
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule_epochs: int | None = None  # length of the cosine schedule; None: `epochs`

    def __post_init__(self):
        _check_name(self.name)
        if self.schedule_epochs is None:
            object.__setattr__(self, "schedule_epochs", self.epochs)
        for field in ("resolution", "channels", "epochs", "schedule_epochs", "batch_size"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise self._error(field, value, "a positive integer")
        if self.epochs > self.schedule_epochs:
            raise self._error("epochs", self.epochs, f"at most schedule_epochs ({self.schedule_epochs}): "
                              "the epochs trained are a prefix of the schedule")
        if self.resolution < 4:
            raise self._error("resolution", self.resolution, "at least 4 (three stages halve it twice)")
        self._check_number("fraction", lambda v: 0 < v <= 1, "in (0, 1]")
        self._check_number("lr", lambda v: v > 0, "> 0")
        self._check_number("momentum", lambda v: 0 <= v < 1, "in [0, 1)")
        self._check_number("weight_decay", lambda v: v >= 0, ">= 0")

    def _check_number(self, field: str, valid, expected: str) -> None:
        value = getattr(self, field)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not valid(value):
            raise self._error(field, value, f"a number {expected}")

    def _error(self, field: str, value: object, expected: str) -> ZcnasError:
        short = {long: short for short, long in FIELDS.items()}[field]
        named = field if short == field else f"{short} ({field})"
        return ZcnasError(f"reduced-training config {self.name!r}: {named} is {value!r}; expected {expected}")

    def check_dataset(self, dataset: str) -> None:
        """Inputs are only ever shrunk: upsampling would add cost and no information."""
        size = dataset_info(dataset).image_size
        if self.resolution > size:
            raise self._error("resolution", self.resolution, f"at most {dataset}'s image size {size}")

    def check_training_images(self, count: int) -> None:
        """A batch must fit in the training subset, or every epoch would be one short batch."""
        if self.batch_size > count:
            raise self._error("batch_size", self.batch_size, f"between 1 and the {count} images of its training subset")

    def fields(self) -> dict:
        """Everything that determines the training, as plain values (for journals and logs)."""
        return asdict(self)


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ZcnasError(
            f"bad reduced-training config name {name!r}; expected letters, digits and _ . + - (e.g. 'econas' or 'r8c4e40')"
        )


def parse_config_name(name: str) -> dict[str, int]:
    """The fields a name like `r8c4e40` encodes ({"r": 8, "c": 4, "e": 40}); {} for a plain name like `econas`."""
    _check_name(name)
    match = _ENCODED.fullmatch(name)
    if not match:
        return {}
    return {key: int(value) for key, value in match.groupdict().items() if value is not None}


def make_config(name: str, fields: Mapping | None = None) -> TrainingConfig:
    """A validated config from its name and params fields (short names: r, c, e, s, batch_size, ...)."""
    fields = dict(fields or {})
    encoded = parse_config_name(name)
    for key in fields:
        if key not in FIELDS:
            raise choice_error(f"field of reduced-training config {name!r}:", key, list(FIELDS))
    for key, value in encoded.items():
        if key in fields and fields[key] != value:
            raise ZcnasError(
                f"reduced-training config {name!r}: {key}={fields[key]!r} contradicts its name ({key}={value})"
            )
    merged = {**encoded, **fields}
    missing = [key for key in ("r", "c", "e") if key not in merged]
    if missing:
        raise ZcnasError(
            f"reduced-training config {name!r} needs {', '.join(missing)} "
            "(give them as fields, or name it like 'r8c4e40')"
        )
    return TrainingConfig(name=name, **{FIELDS[key]: value for key, value in merged.items()})


def configs_from_params(configs: Mapping[str, Mapping | None], dataset: str | None = None) -> list[TrainingConfig]:
    """All configs of a params mapping name -> fields, in order; checked against `dataset` when given."""
    if not isinstance(configs, Mapping) or not configs:
        raise ZcnasError(f"reduced-training configs must be a non-empty mapping name -> fields, got {configs!r}")
    result = []
    for name, fields in configs.items():
        if fields is not None and not isinstance(fields, Mapping):
            raise ZcnasError(f"reduced-training config {name!r} must map field names to values, got {fields!r}")
        config = make_config(name, fields)
        if dataset is not None:
            config.check_dataset(dataset)
        result.append(config)
    return result
