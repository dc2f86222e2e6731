"""The datasets the proxies are scored on: class count, image size, normalisation."""

from dataclasses import dataclass

from ..errors import choice_error


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    num_classes: int
    image_size: int
    mean: tuple[float, float, float]  # per channel (RGB), on the [0, 1] scale
    std: tuple[float, float, float]
    train_images: int  # size of the training split, which reduced training splits further


def _scaled(values: tuple[float, float, float]) -> tuple[float, float, float]:
    return tuple(v / 255 for v in values)


# The NAS-Bench-201 (xautodl) constants, so networks see the inputs they were benchmarked with.
DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo("cifar10", 10, 32, _scaled((125.3, 123.0, 113.9)), _scaled((63.0, 62.1, 66.7)), 50_000),
        DatasetInfo("cifar100", 100, 32, _scaled((129.3, 124.1, 112.4)), _scaled((68.2, 65.4, 70.4)), 50_000),
        DatasetInfo("imagenet16-120", 120, 16, _scaled((122.68, 116.66, 104.01)), _scaled((63.22, 61.26, 65.09)), 151_700),
    )
}


def dataset_info(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        raise choice_error("dataset", name, list(DATASETS)) from None
