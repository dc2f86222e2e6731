"""Optional packages that read the official benchmark files, imported only when needed."""

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from ..errors import ZcnasError


@dataclass(frozen=True)
class OptionalPackage:
    module: str  # what to import, e.g. "nasbench.api"
    purpose: str  # what it is needed for, completing "... needs the package"
    install: str  # how to get it

    @property
    def name(self) -> str:
        return self.module.split(".")[0]

    def load(self) -> ModuleType:
        try:
            return importlib.import_module(self.module)
        except ImportError as error:
            raise ZcnasError(
                f"{self.purpose} needs the {self.name!r} package, which is not installed ({error}). "
                f"Install it with: {self.install}"
            ) from None

    def open(self, path: Path | str, create: Callable[[ModuleType], Any]) -> Any:
        """`create(module)`, the package's API object for the file at `path`, or a ZcnasError naming the file."""
        module = self.load()
        try:
            return create(module)
        # The official loaders unpickle whatever the file holds, so a damaged file can raise almost anything.
        except Exception as error:
            raise ZcnasError(
                f"{self.name} cannot load {path} ({type(error).__name__}: {error}); the file may be "
                "corrupt, truncated or of another version: replace it with a good copy"
            ) from error

    def available(self) -> bool:
        try:
            self.load()
        except ZcnasError:
            return False
        return True


NAS_201_API = OptionalPackage(
    "nas_201_api", "reading NAS-Bench-201-v1_1-096897.pth", "pip install nas-bench-201"
)
NATS_BENCH = OptionalPackage("nats_bench", "reading the NATS-Bench topology files", "pip install nats_bench")
NASBENCH = OptionalPackage(
    "nasbench.api",
    "reading nasbench_only108.tfrecord",
    "pip install git+https://github.com/google-research/nasbench (it needs TensorFlow; see that page)",
)
