"""Zero-cost proxies: one registered function per proxy, one engine that shares passes.

Every module of this package is imported here, so a new proxy is one new file.
"""

import importlib
import pkgutil

from .engine import Scores, check_supported, score
from .passes import register_pass
from .registry import (AGGREGATES, GROUPS, PROXIES, Published, cost_members, group, proxy_names, published_figures,
                       register, register_aggregate, resolve_proxies, with_aggregate_names, with_aggregates)

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

# The six proxies of Abdelfattah et al. (2021), Table 1.
PAPER_PROXIES = tuple(group("paper"))

__all__ = ["AGGREGATES", "GROUPS", "PAPER_PROXIES", "PROXIES", "Published", "Scores", "check_supported", "cost_members", "group",
           "proxy_names", "published_figures", "register", "register_aggregate", "register_pass", "resolve_proxies", "score",
           "with_aggregate_names", "with_aggregates"]
