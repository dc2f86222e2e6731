"""NAS-Bench-101 as a second correlation task (params `nb101`): the paper's figures it is
compared with, and what its stages write while it is switched off.

The task is off by default: every proxy on its cells costs about as much CPU time as the
rest of the pipeline. Switched off, each of its stages still writes the outputs DVC
expects, saying so and how to switch it on instead of holding numbers.

Kept free of the scoring and evaluation code, so that the fetch stage, which writes the
task's ground truth, does not depend on them.
"""

from pathlib import Path

from ..files import atomic_path

SPACE = "nb101"
ENABLE_WITH = "dvc exp run -S nb101.enabled=true"
# Every proxy on 5 cells of the sample, one process with one torch thread, CPU time on a 2-core
# CPU while other jobs ran: an upper bound (README: Stages).
COST = "about 26 s per cell per core with every proxy, so about 65 min for the sample's 301 distinct cells on 2 workers"
DISABLED_MARKER = "DISABLED.txt"

PAPER_NB101_SOURCE = ("Abdelfattah et al. (2021), Zero-Cost Proxies for Lightweight NAS (ICLR): Spearman rho of "
                      "each proxy over all 423,624 NAS-Bench-101 cells (CIFAR-10)")
PAPER_NB101 = {"grad_norm": 0.20, "snip": 0.16, "grasp": 0.45, "fisher": 0.26, "synflow": 0.37, "jacob_cov": 0.38}


def disabled_metrics() -> dict:
    """The task's metrics while it is switched off: what it would cost and how to switch it on."""
    return {"enabled": False, "enable_with": ENABLE_WITH, "cost": COST}


def write_disabled_marker(directory: Path | str) -> Path:
    """A note in `directory` that the task is off: the output of a stage that had nothing to do."""
    marker = Path(directory) / DISABLED_MARKER
    with atomic_path(marker) as tmp:
        tmp.write_text(f"The NAS-Bench-101 task is switched off (params.yaml: nb101.enabled: false), so this stage "
                       f"computed nothing.\nCost: {COST}.\nSwitch it on with: {ENABLE_WITH}\n")
    return marker
