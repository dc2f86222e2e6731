"""zcnas: zero-cost proxies for lightweight neural architecture search."""

from .proxies import PAPER_PROXIES, Scores, proxy_names, register, score
from .spaces import get_space

__version__ = "0.1.0"
__all__ = ["PAPER_PROXIES", "Scores", "get_space", "proxy_names", "register", "score", "__version__"]
