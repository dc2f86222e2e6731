"""NAS algorithms run against a benchmark table, accelerated by zero-cost proxies.

"Training" a cell looks its accuracy up; the budget counts distinct trained cells;
proxy scores are free. See `run_search` / `run_variants` for runs (the latter over
several proxy replicates, e.g. weight seeds), `summarize` and `plot_search` for
results, `parse_variant` for the variant names.
"""

from .benchmark import Benchmark
from .plot import plot_search
from .proxy import ProxyRanking, count_distinct_rankings, proxy_ranking, replicate_of
from .runner import check_search, proxy_replicates, run_search, run_variants, search_history
from .summary import (curves_frame, curves_from_frame, mean_band, models_to_target, seed_spread, summarize,
                      target_label)
from .variants import (ALGORITHMS, AgingEvolution, BinaryPredictor, RandomSearch, Reinforce, SearchConfig,
                       parse_variant, uses_proxy, variant_name)

__all__ = [
    "ALGORITHMS", "AgingEvolution", "Benchmark", "BinaryPredictor", "ProxyRanking", "RandomSearch", "Reinforce",
    "SearchConfig", "check_search", "count_distinct_rankings", "curves_frame", "curves_from_frame", "mean_band",
    "models_to_target", "parse_variant", "plot_search", "proxy_ranking", "proxy_replicates", "replicate_of",
    "run_search", "run_variants", "search_history", "seed_spread", "summarize", "target_label", "uses_proxy",
    "variant_name",
]
