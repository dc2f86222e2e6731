"""Zero-cost proxies: one registered function per proxy, one engine that shares passes."""

from . import fisher, flops, grad_norm, grasp, jacob_cov, l2_norm, params, plain, snip, synflow  # noqa: F401  (registers)
from .engine import Scores, score
from .registry import PAPER_PROXIES, PROXIES, proxy_names, register, resolve_proxies

__all__ = ["PAPER_PROXIES", "PROXIES", "Scores", "proxy_names", "register", "resolve_proxies", "score"]
