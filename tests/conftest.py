import os
from pathlib import Path

import pytest

from zcnas.proxies import PROXIES
from zcnas.proxies.registry import Proxy
from zcnas.resources import MIRROR_ENV


@pytest.fixture(autouse=True, scope="session")
def _cache_in_a_temporary_directory(tmp_path_factory):
    """Decoded-image caches go to a per-session folder, not the user's ~/.cache."""
    previous = os.environ.get("ZCNAS_CACHE_DIR")
    os.environ["ZCNAS_CACHE_DIR"] = str(tmp_path_factory.mktemp("zcnas-cache"))
    yield
    if previous is None:
        os.environ.pop("ZCNAS_CACHE_DIR")
    else:
        os.environ["ZCNAS_CACHE_DIR"] = previous


def shared_data_dir() -> Path:
    """The real-data mirror: $ZCNAS_MIRROR, else ../shared/data beside the repository."""
    return Path(os.environ.get(MIRROR_ENV) or Path(__file__).resolve().parents[1].parent / "shared" / "data")


@pytest.fixture
def shared_file():
    """Path of a file in the real-data mirror; skips the test when it is absent."""

    def locate(relative: str) -> Path:
        path = shared_data_dir() / relative
        if not path.exists():
            pytest.skip(f"{relative} not found under {shared_data_dir()} (set {MIRROR_ENV})")
        return path

    return locate


@pytest.fixture(scope="session")
def synthetic_data_dir(tmp_path_factory) -> Path:
    """A data directory holding a tiny random CIFAR-10 in the image-folder layout."""
    from zcnas.data.synthetic import write_image_folder

    root = tmp_path_factory.mktemp("synthetic-data")
    write_image_folder(root, "cifar10", per_class=4)
    return root


@pytest.fixture
def no_mirror(monkeypatch):
    monkeypatch.delenv(MIRROR_ENV, raising=False)


@pytest.fixture
def mirror(tmp_path, monkeypatch) -> Path:
    """An empty mirror directory that ZCNAS_MIRROR points at."""
    root = tmp_path / "mirror"
    root.mkdir()
    monkeypatch.setenv(MIRROR_ENV, str(root))
    return root


@pytest.fixture
def lower_is_better_proxy(monkeypatch):
    """A registered proxy whose lower scores are better, for the length of one test."""
    proxy = Proxy("lowproxy", lambda context: 0.0, frozenset(), higher_is_better=False, uses_labels=False,
                  uses_data=False, citation="test", paper=False)
    monkeypatch.setitem(PROXIES, "lowproxy", proxy)
    return "lowproxy"
