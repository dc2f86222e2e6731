"""One score per architecture from several proxies, and the specs that name a score.

A spec is a proxy name (`synflow`) or a training-free ensemble of proxies:
`ensemble:a+b+c`, the mean of the members' ranks (`rank_average`), or
`log_rank:a+b+c`, AZ-NAS's sum of log(rank / M) (`log_rank_sum`). Members are
oriented first (a lower-is-better proxy is negated), so every score is higher-is-better.
The paper's vote is no spec: a pairwise majority gives no score per architecture,
and three or more voters need not even order the architectures (a majority cycle).
"""

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import ZcnasError
from ..proxies import PROXIES
from ..proxies.az_nas import log_rank_sum
from .ranks import rank_average

VOTE, ENSEMBLE, LOG_RANK = "vote", "ensemble", "log_rank"
COMBINATIONS = (ENSEMBLE, LOG_RANK)


def higher_is_better(name: str, directions: Mapping[str, bool] | None = None) -> bool:
    """Whether a higher score of column `name` means a better architecture: `directions[name]`
    when given, else the registered proxy's declaration, else True (e.g. an accuracy column)."""
    if directions is not None and name in directions:
        return directions[name]
    registered = PROXIES.get(name)
    return True if registered is None else registered.higher_is_better


def oriented(table: pd.DataFrame, columns, directions: Mapping[str, bool] | None = None) -> pd.DataFrame:
    """`table` with each of `columns` whose lower scores are better negated, so that higher is better throughout."""
    lower = [name for name in columns if not higher_is_better(name, directions)]
    return table.assign(**{name: -table[name] for name in lower})


def all_finite(table: pd.DataFrame, columns) -> np.ndarray:
    """Whether each row is finite in every one of `columns`."""
    return np.isfinite(table[list(columns)].to_numpy(dtype=float)).all(axis=1)


def combined_score(oriented_table: pd.DataFrame, combination: str, members: Sequence[str]) -> pd.Series:
    """The `combination` of the `members` columns (already higher-is-better) for each row.

    `ensemble` ranks only the rows where every member is finite (NaN elsewhere);
    `log_rank` ranks every row, a missing member value last. Both depend on the
    rows' values only, not on their order.
    """
    if combination == LOG_RANK:
        return log_rank_sum(oriented_table, members)
    if combination != ENSEMBLE:
        raise ZcnasError(f"unknown combination {combination!r}; expected one of: {', '.join(COMBINATIONS)}")
    ranked = all_finite(oriented_table, members)
    score = pd.Series(np.nan, index=oriented_table.index)
    score[ranked] = rank_average([oriented_table.loc[ranked, member] for member in members])
    return score


def parse_spec(spec: str) -> tuple[str | None, list[str]]:
    """(None, [name]) for a proxy name, (combination, members) for `combination:a+b+c`.

    Every error ends with the forms to write, so a caller may append which names a, b, c may be.
    """
    combination, colon, members = spec.partition(":")
    if not colon:
        return None, [spec]
    forms = "write ensemble:a+b+c or log_rank:a+b+c"
    if combination == VOTE:
        raise ZcnasError(f"{spec!r}: the vote is a pairwise majority, not the score per architecture that "
                         f"search ranks cells by; {forms}")
    if combination not in COMBINATIONS:
        raise ZcnasError(f"unknown ensemble {combination!r} in {spec!r}; {forms}")
    names = members.split("+")
    if not all(names):
        raise ZcnasError(f"{spec!r} leaves a proxy out; {forms}")
    if repeated := sorted({name for name in names if names.count(name) > 1}):
        raise ZcnasError(f"{spec!r} names {', '.join(repeated)} more than once; {forms}")
    return combination, names


def spec_score(table: pd.DataFrame, spec: str) -> pd.Series:
    """Each row's oriented score under `spec`: the proxy's column, or its members' combination
    (`table` holds a column per member; see `parse_spec` for the names)."""
    combination, members = parse_spec(spec)
    table = oriented(table, members)
    return table[members[0]] if combination is None else combined_score(table, combination, members)
