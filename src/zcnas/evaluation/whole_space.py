"""How well the whole-space scores rank the whole space, under the literature's protocols.

Papers report a proxy's correlation over every cell of the space (AZ-NAS, MeCo, VKDNW
on all 15,625 NB201 cells) or over the non-isomorphic cells only (NAS-Bench-Suite-Zero,
GRAF: 9,445), and search cares most about the top of the ranking, which nDCG and
top-k hits measure. The inputs are the `score_space` stage's tables, one per weight
seed, all scoring the same cells.
"""

from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import ZcnasError
from .bootstrap import ci_metrics, spearman_interval
from .combined import spec_score
from ..spaces.nb201.cell import Cell, edge_ops, nodes_reaching_output
from .ranks import kendall, spearman
from .top_ranking import TOP_K, top_ranking_metrics


def protocol_metrics(score_tables: Sequence[pd.DataFrame], truth: pd.DataFrame, specs: Sequence[str],
                     resamples: int, seed: int, *identity: object, top_k: Sequence[int] = TOP_K) -> dict:
    """{spec: metrics} over the cells of `truth` (`arch`, `test_acc`) that the tables score,
    one entry per spec (a proxy or a combination, see `combined.spec_score`) of their columns.

    Each metric is computed on the first table (the global seed's weights, the figure
    that is quoted) with a bootstrap interval over cells; `spearman_test_seed_sd` is the
    spread of rho over all tables (the weight seeds). Keys: `spearman_test`,
    `kendall_test`, `ndcg_<k>_test`, `hits_<k>_test` (share of the true top k in the
    score's top k), their `_ci_low`/`_ci_high`, and `n`, the cells with a finite score
    (the literature's protocols when the tables score the whole space).
    """
    if not score_tables:
        raise ZcnasError("whole-space evaluation needs at least one score table; got none")
    joined = [_join(table, truth) for table in score_tables]
    if any(not table["arch"].equals(joined[0]["arch"]) for table in joined):
        raise ZcnasError("the weight seeds' whole-space tables score different cells; expected the same cells "
                         "in each (rerun the score_space stage)")
    metrics = {}
    for spec in specs:
        per_seed = [(spec_score(table, spec).to_numpy(dtype=float), table["test_acc"].to_numpy(dtype=float))
                    for table in joined]
        per_seed = [(score[finite], acc[finite]) for score, acc in per_seed
                    for finite in [np.isfinite(score)]]
        score, acc = per_seed[0]
        entry = {"n": int(len(score)), "spearman_test": spearman(score, acc), "kendall_test": kendall(score, acc),
                 **ci_metrics("spearman_test", spearman_interval(score, acc, resamples, seed, *identity, spec)),
                 **top_ranking_metrics(score, acc, resamples, seed, *identity, spec, top_k=top_k)}
        entry["spearman_test_seed_sd"] = float(np.std([spearman(s, a) for s, a in per_seed]))
        metrics[spec] = entry
    return metrics


def _join(table: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """The truth's cells that the table scores (all of them when it scores the whole space),
    in the truth's row order, with `test_acc` beside the scores."""
    return truth[["arch", "test_acc"]].merge(table, on="arch", how="inner", validate="one_to_one")


def without_dead_edges(cell: Cell) -> Cell:
    """The NB201 cell with `none` on every edge that lies on no path from the input to the output.

    Such an edge cannot change the output, so cells that differ only there are one
    graph: this form has 9,445 distinct values, the non-isomorphic cells of the
    literature's 9,445-cell protocol (NAS-Bench-Suite-Zero, GRAF), and each class's
    representative is its one member already in this form. It is a reporting
    convention, hence here rather than in the space: it merges fewer cells than the
    space's `canonical_key`, which also relabels nodes and collapses skips (4,930 classes).
    """
    ops = edge_ops(cell)
    from_input = {0}
    for target in sorted({target for target, _ in ops}):
        if any(ops[(target, source)] != "none" for source in from_input if source < target):
            from_input.add(target)
    to_output = nodes_reaching_output(cell)
    return tuple(op if source in from_input and target in to_output else "none"
                 for (target, source), op in ops.items())
