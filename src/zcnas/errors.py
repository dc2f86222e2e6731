"""User-facing errors.

A `ZcnasError` is bad input or a missing resource the user can fix; the CLI and the
DVC stages print its message (no traceback) and exit with status 2. Ctrl-C ends
them with one line (INTERRUPTED) and status 130, as a shell reports SIGINT.
"""

# What the line after Ctrl-C says: long jobs journal every finished item as it completes.
INTERRUPTED = "every finished item is journalled; run the same command again to resume"


class ZcnasError(Exception):
    """Bad input or a missing resource, described in words the user can act on."""


def choice_error(what: str, value: object, valid: "list[str] | tuple[str, ...]") -> ZcnasError:
    """An error naming the bad value and the valid choices."""
    return ZcnasError(f"unknown {what} {value!r}; expected one of: {', '.join(map(str, valid))}")


def check_positive_integer(name: str, value: object) -> None:
    """A ZcnasError naming `name` unless `value` is an int >= 1 (a bool is not a count)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ZcnasError(f"{name} must be a positive integer, got {value!r}")
