"""Where the whole-space score tables of a dataset are, for the stages that read them."""

from pathlib import Path

from ..errors import ZcnasError
from .tables import score_table_path


def proxy_scores_for(space_scores_dir: Path, space: str, dataset: str, fallback: str,
                     seeds: int) -> tuple[list[Path], str]:
    """The whole-space score tables of `dataset`, one per weight seed, else those of
    `fallback` (the proxy's ranking hardly depends on the classifier width; synflow does
    not read images at all), and the dataset they were scored on."""
    tables = {name: [score_table_path(space_scores_dir, space, name, k) for k in range(seeds)]
              for name in (dataset, fallback)}
    source = dataset if tables[dataset][0].exists() else fallback
    missing = [str(path) for path in tables[source] if not path.exists()]
    if missing:
        raise ZcnasError(f"no whole-space {space} proxy scores at {', '.join(missing)}; the score_space stage "
                         f"writes one table per weight seed (score_space.seeds is {seeds})")
    return tables[source], source
