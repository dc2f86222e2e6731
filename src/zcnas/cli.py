"""The `zcnas` command line."""

import argparse
import json
import sys
from pathlib import Path

from .data import DEFAULT_DATA_DIR, METHODS, dataset_info, load_minibatch
from .errors import ZcnasError
from .proxies import proxy_names, resolve_proxies
from .scoring import ScoringJob, score_architectures, score_one
from .spaces import get_space, space_names


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ZcnasError as exc:
        print(f"zcnas: error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zcnas", description="Zero-cost proxies for neural architecture search.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    score = commands.add_parser(
        "score", help="score architectures with zero-cost proxies",
        description="Score one architecture (--arch, prints JSON) or many (--archs FILE --out TABLE, resumable).",
    )
    score.add_argument("--space", default="nb201", help=f"search space: {', '.join(space_names())}")
    score.add_argument("--dataset", default="cifar10", help="cifar10, cifar100 or imagenet16-120")
    which = score.add_mutually_exclusive_group(required=True)
    which.add_argument("--arch", help="one architecture: an NB201 string or an NB101 spec as JSON")
    which.add_argument("--archs", type=Path, help="a text file with one architecture per line ('#' starts a comment line)")
    score.add_argument("--proxies", default="paper",
                       help=f"comma-separated: {', '.join(proxy_names())}; or 'paper' (the six) or 'all'")
    score.add_argument("--batch-size", type=int, default=64)
    score.add_argument("--dataload", default="random", help=f"minibatch selection: {', '.join(METHODS)}")
    score.add_argument("--seed", type=int, default=42)
    score.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    score.add_argument("--out", type=Path, help="output table (.parquet or .csv); required with --archs")
    score.add_argument("--workers", type=int, default=1, help="processes scoring in parallel")
    score.add_argument("--threads-per-worker", type=int, default=None, help="torch threads per worker")
    score.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                       help="where datasets are looked for (then $ZCNAS_MIRROR, then downloaded)")
    score.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    score.set_defaults(run=_score)
    return parser


def _score(args: argparse.Namespace) -> int:
    space = get_space(args.space)
    info = dataset_info(args.dataset)
    if args.archs is not None and args.out is None:
        raise ZcnasError("--archs needs --out TABLE (.parquet or .csv) for the results")
    archs = [space.parse(args.arch)] if args.arch is not None else _read_archs(space, args.archs)
    proxies = tuple(proxy.name for proxy in resolve_proxies(args.proxies))
    inputs, targets = load_minibatch(args.dataset, args.dataload, args.batch_size, args.seed, args.data_dir)
    job = ScoringJob(space, proxies, inputs, targets, info.num_classes, args.seed, args.device)
    if args.arch is not None:
        print(json.dumps(score_one(job, archs[0]), indent=2))
        return 0
    table = score_architectures(job, archs, args.out, args.workers, args.threads_per_worker,
                                progress=not args.no_progress)
    print(f"wrote {len(table)} rows to {args.out}", file=sys.stderr)
    return 0


def _read_archs(space, path: Path) -> list:
    if not path.exists():
        raise ZcnasError(f"architecture file {path} does not exist")
    archs = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            archs.append(space.parse(text))
        except ZcnasError as exc:
            raise ZcnasError(f"{path}:{number}: {exc}") from None
    if not archs:
        raise ZcnasError(f"{path} names no architecture")
    return archs


if __name__ == "__main__":
    sys.exit(main())
