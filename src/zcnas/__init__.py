"""zcnas: zero-cost proxies for lightweight neural architecture search.

The proxy API is imported on first use (PEP 562), so that importing a light module
(`zcnas.errors`, `zcnas.cli` for `--help`) does not load torch and every proxy.
"""

import importlib

__version__ = "0.1.0"
# Public name -> the submodule that defines it.
_API = {"PAPER_PROXIES": "proxies", "Scores": "proxies", "proxy_names": "proxies", "register": "proxies",
        "score": "proxies", "get_space": "spaces"}
__all__ = [*_API, "__version__"]


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'zcnas' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
