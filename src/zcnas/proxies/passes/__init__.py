"""Shared passes: registered functions whose results proxies read (see registry.py).

Every module of this package is imported here, so a new pass is one new file.
"""

import importlib
import pkgutil

from .context import Context
from .registry import PASSES, PRODUCERS, Pass, known_results, passes_for, register_pass

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Context", "PASSES", "PRODUCERS", "Pass", "known_results", "passes_for", "register_pass"]
