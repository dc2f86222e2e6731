"""The evaluate_space stage: the whole-space scores judged over every NB201 cell and over
the non-isomorphic ones, on every dataset of the benchmark, as papers report them."""

from pathlib import Path

from ..benchmarks import read_ground_truth
from ..errors import ZcnasError
from ..evaluation.whole_space import protocol_metrics, without_dead_edges
from ..files import read_table, write_json
from ..metric_keys import keyed
from ..spaces.nb201 import NB201
from ..tracking import StageRun
from .params import Params
from .space_scores import proxy_scores_for

# The literature's two NB201 protocols: every cell, and one cell per graph once edges on no
# input-output path are dropped (`without_dead_edges`).
ALL, NON_ISOMORPHIC = "all", "non_isomorphic"


def evaluate_space_stage(params: Params, ground_truth_dir: Path, space_scores_dir: Path, metrics_path: Path,
                         run: StageRun) -> dict:
    """{dataset: {"scored_on": dataset, protocol: {spec: metrics}}} into `metrics_path`.

    Specs are the whole-space proxies and their training-free combinations
    (`score_space.combinations`). A dataset without its own
    whole-space scores is judged with CIFAR-10's, as search uses them, and says so in
    `scored_on`.
    """
    if params.score.space != NB201.name:
        raise ZcnasError(f"evaluate_space judges the NB201 space; score.space is {params.score.space!r}")
    truth = read_ground_truth(Path(ground_truth_dir) / f"{NB201.name}.parquet")
    specs = [*params.score_space.proxies, *params.score_space.combinations]
    report = {}
    for dataset in truth["dataset"].drop_duplicates():
        cells = truth.loc[truth["dataset"] == dataset, ["arch", "test_acc"]].reset_index(drop=True)
        paths, source = proxy_scores_for(space_scores_dir, NB201.name, dataset, params.score_space.datasets[0],
                                         params.score_space.seeds)
        tables = [read_table(path) for path in paths]
        kept = cells["arch"].map(lambda arch: (cell := NB201.parse(arch)) == without_dead_edges(cell))
        report[dataset] = {"scored_on": source}
        for protocol, rows in ((ALL, cells), (NON_ISOMORPHIC, cells[kept])):
            report[dataset][protocol] = protocol_metrics(tables, rows, specs, params.evaluate.bootstrap,
                                                         params.seed, dataset, protocol)
    report = keyed(report)
    write_json(report, metrics_path)
    run.log_metrics(report)
    run.headline = ", ".join(f"{dataset} {spec} ρ {entry['spearman_test']:.3f} over {entry['n']} cells"
                             for dataset, protocols in report.items()
                             for spec, entry in protocols[ALL].items())
    return report
