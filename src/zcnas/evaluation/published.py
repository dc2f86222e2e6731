"""Published figures that zcnas's results are set beside (Spearman rho on NAS-Bench-201)."""

# Abdelfattah et al. (2021), Table 2: Spearman rho on NAS-Bench-201 (vote: pairwise accuracy).
PAPER_NB201 = {
    "grad_norm": {"cifar10": 0.59, "cifar100": 0.64, "imagenet16-120": 0.58},
    "snip": {"cifar10": 0.60, "cifar100": 0.64, "imagenet16-120": 0.58},
    "grasp": {"cifar10": 0.51, "cifar100": 0.55, "imagenet16-120": 0.55},
    "fisher": {"cifar10": 0.36, "cifar100": 0.39, "imagenet16-120": 0.33},
    "synflow": {"cifar10": 0.74, "cifar100": 0.76, "imagenet16-120": 0.75},
    "jacob_cov": {"cifar10": 0.73, "cifar100": 0.70, "imagenet16-120": 0.70},
    "vote": {"cifar10": 0.82, "cifar100": 0.83, "imagenet16-120": 0.81},
}
ZERO_COST_PREFIX = "zc/"  # zero-cost proxies' rows in the EcoNAS metrics
# The paper's NB201 CIFAR-10 figures of its EcoNAS comparison (Figure 1, Table 1).
PAPER_ECONAS = {"econas": 0.61, "econas+": 0.80,
                **{f"{ZERO_COST_PREFIX}{proxy}": by_dataset["cifar10"] for proxy, by_dataset in PAPER_NB201.items()}}
