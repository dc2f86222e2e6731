"""DVC stage `check_params`: validate params.yaml before any other stage runs.

Every other stage depends on this stage's output, so DVC runs it first: a bad value
(a typo'd key, an unknown section, a wrong type) stops the pipeline here, before DVC
deletes any other stage's outputs. The output's content never changes, so a valid
params change reruns only the stages whose own params changed.
"""

import argparse
import sys
from pathlib import Path

from zcnas.errors import ZcnasError
from zcnas.files import atomic_path
from zcnas.pipeline.params import DEFAULT_PARAMS, load_params

VALID = "params.yaml is valid\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="the params file to validate")
    parser.add_argument("--out", type=Path, required=True, help="marker written when the params are valid")
    args = parser.parse_args()
    try:
        load_params(args.params)
    except ZcnasError as exc:
        print(f"zcnas check_params: error: {exc}", file=sys.stderr)
        sys.exit(2)
    with atomic_path(args.out) as tmp:
        tmp.write_text(VALID)


if __name__ == "__main__":
    main()
