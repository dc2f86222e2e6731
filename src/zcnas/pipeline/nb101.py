"""NAS-Bench-101 as a second correlation task (params `nb101`): its own DVC pipeline,
`nb101/dvc.yaml`, and where the paper's figures it is compared with come from (the figures
themselves are the proxies' metadata: `published` in `zcnas.proxies.registry`).

The task has a pipeline of its own because every proxy on its cells costs about an hour
of CPU time on top of the default run's two; `dvc repro` runs the NB201 pipeline only,
`dvc repro nb101/dvc.yaml` this one, and their results are committed side by side.

Kept free of the scoring and evaluation code, so that the fetch stage, which writes the
task's ground truth, does not depend on them.
"""

SPACE = "nb101"
PIPELINE = "nb101/dvc.yaml"
REPRODUCE_WITH = f"dvc repro {PIPELINE}"
REPORT = "results/nb101.md"

PAPER_NB101_SOURCE = ("Abdelfattah et al. (2021), Zero-Cost Proxies for Lightweight NAS (ICLR): Spearman rho of "
                      "each proxy over all 423,624 NAS-Bench-101 cells (CIFAR-10)")
