"""Search spaces by name."""

from ..errors import choice_error
from .base import SearchSpace


def space_names() -> tuple[str, ...]:
    return ("nb201", "nb101")


def get_space(name: str) -> SearchSpace:
    if name == "nb201":
        from .nb201 import NB201

        return NB201
    if name == "nb101":
        from .nb101 import NB101

        return NB101
    raise choice_error("search space", name, space_names())
