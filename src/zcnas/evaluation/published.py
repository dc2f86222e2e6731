"""Published figures that zcnas's results are set beside (Spearman rho on NAS-Bench-201).

A proxy's or aggregate's figures are its registry metadata (`published`, one file per
proxy); here are the tables the report and the EcoNAS comparison read, and the figures
of methods that are no proxy of zcnas's (the paper's vote, few-shot, VKDNW).
"""

from ..proxies import published_figures
from ..proxies.registry import PAPER_TABLE2

# Abdelfattah et al. (2021), Table 2: Spearman rho on NAS-Bench-201 of its six proxies
# (their `published` metadata) and of their vote (pairwise accuracy), by dataset.
PAPER_VOTE = {"cifar10": 0.82, "cifar100": 0.83, "imagenet16-120": 0.81}
PAPER_NB201 = {**{name: {figure.dataset: figure.rho for figure in figures}
                  for name, figures in published_figures("nb201", PAPER_TABLE2).items()},
               "vote": PAPER_VOTE}
ZERO_COST_PREFIX = "zc/"  # zero-cost proxies' rows in the EcoNAS metrics
# The paper's NB201 CIFAR-10 figures of its EcoNAS comparison (Figure 1, Table 1).
PAPER_ECONAS = {"econas": 0.61, "econas+": 0.80,
                **{f"{ZERO_COST_PREFIX}{proxy}": by_dataset["cifar10"] for proxy, by_dataset in PAPER_NB201.items()}}
