"""The `zcnas` command line.

Only the chosen command's options are built, and torch, the proxies and the data code
are imported by the commands that use them: `zcnas --help`, `--version`, `pipeline`
and `ui` start without loading torch.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from .errors import INTERRUPTED, ZcnasError, choice_error
from .pipeline.profile import RUNS_DIR, RunFailed, quick_run


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((token for token in argv if not token.startswith("-")), None)
    args = _parser(command).parse_args(argv)
    try:
        return args.run(args)
    except RunFailed as exc:  # the failing step's own output is already on the terminal
        print(f"zcnas: error: {exc}", file=sys.stderr)
        return 1
    except ZcnasError as exc:
        print(f"zcnas: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"zcnas: interrupted; {INTERRUPTED}", file=sys.stderr)
        return 130


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help ends with its default: `(default: X)`, `(default: off)` for a
    switch; an option without one (None) says in its help what happens instead."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "%(default)" in text or "(default:" in text or not action.option_strings \
                or action.default is None or action.default is argparse.SUPPRESS:
            return text
        if action.nargs == 0 and isinstance(action.default, bool):  # store_true / store_false
            return f"{text} (default: {'on' if action.default else 'off'})"
        return f"{text} (default: %(default)s)"


def _version() -> str:
    try:
        return metadata.version("zcnas")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        from . import __version__

        return __version__


ALL_COMMANDS = "*"


def _parser(command: str | None = ALL_COMMANDS) -> argparse.ArgumentParser:
    """The command line, with the options of `command` (None: of none; the command list
    of `zcnas --help` needs no options)."""
    parser = argparse.ArgumentParser(prog="zcnas", description="Zero-cost proxies for neural architecture search.",
                                     formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}",
                        help="print the installed zcnas version and exit")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    score = commands.add_parser(
        "score", help="score architectures with zero-cost proxies", formatter_class=_HelpFormatter,
        description="Score one architecture (--arch, prints JSON) or many (--archs FILE or --all-cells, with "
                    "--out TABLE; resumable). Every proxy on every NB201 cell, split in slices over machines: "
                    "zcnas score --all-cells --proxies all --cells 0:4000 --out part0.parquet (docs/cli.md).",
    )
    if command in (ALL_COMMANDS, "score"):  # its help lists the proxies, which imports them (and torch)
        _score_options(score)
    score.set_defaults(run=_score)

    pipeline = commands.add_parser(
        "pipeline", help="run the whole DVC pipeline under a profile, e.g. the few-minute smoke run",
        formatter_class=_HelpFormatter,
        description="Run the project's whole DVC pipeline (dvc.yaml) with params.yaml under profiles/PROFILE.yaml, "
                    "in a directory of its own, from the project root. Reads $ZCNAS_MIRROR or data/raw, else "
                    "synthetic stand-ins (numbers that are not results); logs to $MLFLOW_TRACKING_URI, else the "
                    "project's MLflow store (mlruns/mlflow.db). Run again, it reruns only what changed.",
    )
    pipeline.add_argument("--profile", default="smoke",
                          help="profiles/PROFILE.yaml: the params.yaml overrides the run uses")
    pipeline.add_argument("--dir", type=Path,
                          help=f"where the run's copy of the pipeline and its outputs go; an earlier run's "
                               f"directory is reused (default: {RUNS_DIR}/PROFILE in the project)")
    pipeline.set_defaults(run=_pipeline)

    ui = commands.add_parser(
        "ui", help="open this project's runs in the MLflow UI", formatter_class=_HelpFormatter,
        description="Serve the MLflow UI for the tracking store ($MLFLOW_TRACKING_URI, else mlruns/mlflow.db) and "
                    "print the link that opens the zcnas experiment on its runs table. With a tracking server in "
                    "$MLFLOW_TRACKING_URI, print the link to it and serve nothing. Ctrl-C stops the UI.",
    )
    ui.add_argument("--host", default="127.0.0.1", help="address the UI listens on (127.0.0.1: this machine only)")
    ui.add_argument("--port", type=int, default=5000, help="port the UI listens on")
    ui.set_defaults(run=_ui)
    return parser


def _score_options(score: argparse.ArgumentParser) -> None:
    from .data import CONVENTIONS, DEFAULT_DATA_DIR, METHODS
    from .execution import BACKENDS
    from .proxies import GROUPS, proxy_names
    from .spaces import space_names

    score.add_argument("--space", default="nb201", help=f"search space: {', '.join(space_names())}")
    score.add_argument("--dataset", default="cifar10", help="cifar10, cifar100 or imagenet16-120")
    which = score.add_mutually_exclusive_group(required=True)
    which.add_argument("--arch", help="one architecture: an NB201 string or an NB101 spec as JSON")
    which.add_argument("--archs", type=Path, help="a text file with one architecture per line ('#' starts a comment line)")
    which.add_argument("--all-cells", action="store_true",
                       help="every cell of the space in its own order (NB201: all 15,625); needs --out")
    score.add_argument("--cells", metavar="START:STOP",
                       help="score only this slice of the listed cells (0-based, STOP excluded, either may be left "
                            "out), e.g. one machine's share of --all-cells (default: all of them)")
    score.add_argument("--proxies", default="paper",
                       help=f"comma-separated proxies ({', '.join(proxy_names())}) or groups ("
                            + ", ".join(f"{name}: {group.description}" for name, group in GROUPS.items()) + ")")
    score.add_argument("--batch-size", type=int, default=64, help="images per minibatch")
    score.add_argument("--dataload", default="random", help=f"minibatch selection: {', '.join(METHODS)}")
    score.add_argument("--minibatch", default="per_arch", choices=CONVENTIONS,
                       help="per_arch: a fresh seeded batch per architecture, as the paper's code; shared: one for all")
    score.add_argument("--seed", type=int, default=42,
                       help="seed of each architecture's initial weights and of the minibatch draw")
    score.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    score.add_argument("--out", type=Path,
                       help="output table (.parquet or .csv); required with --archs, refused with --arch")
    score.add_argument("--workers", type=int, default=1, help="local processes scoring in parallel")
    score.add_argument("--executor", default="local", help=f"where --archs are scored: {', '.join(BACKENDS)} "
                                                           "(the scores are the same)")
    score.add_argument("--address", default="auto", help="--executor ray: the cluster, auto, host:port or ray://host:port")
    score.add_argument("--cpus-per-task", type=float, default=1.0, help="--executor ray: CPUs each actor reserves")
    score.add_argument("--gpus-per-task", type=float, default=0.0,
                       help="--executor ray: GPUs each actor reserves (a fraction shares one)")
    score.add_argument("--max-retries", type=int, default=3,
                       help="--executor ray: times an actor is restarted (its work rerun) when its worker process dies")
    score.add_argument("--threads-per-worker", type=int, default=1,
                       help="torch threads per worker (part of a score's identity: float sums round per thread split)")
    score.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                       help="where datasets are looked for (then $ZCNAS_MIRROR, then downloaded)")
    score.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _pipeline(args: argparse.Namespace) -> int:
    start = time.monotonic()
    run = quick_run(Path.cwd(), args.profile, args.dir, echo=lambda line: print(line, file=sys.stderr, flush=True))
    minutes, seconds = divmod(round(time.monotonic() - start), 60)
    print(f"zcnas: pipeline run {run.profile!r} finished in {minutes} min {seconds:02d} s"
          + ("" if run.real_data else " (on synthetic data)"))
    print(f"report:  {run.report}")
    print(f"metrics: {run.metrics}")
    return 0


def _ui(args: argparse.Namespace) -> int:
    try:
        from .tracking import runs_table_url, tracking_uri
    except ImportError as exc:
        raise ZcnasError(f"the MLflow UI needs mlflow ({exc}); pip install -e '.[pipeline]'") from None
    store = tracking_uri()
    if store.startswith(("http://", "https://")):  # a shared server: it already serves the UI
        print(runs_table_url(store))
        return 0
    print(f"MLflow UI for {store}: {runs_table_url(f'http://{args.host}:{args.port}')} (Ctrl-C stops it)",
          flush=True)
    command = [sys.executable, "-m", "mlflow", "server", "--host", args.host, "--port", str(args.port),
               "--workers", "1", "--backend-store-uri", store]
    # Without MLflow's job runner (for GenAI jobs): it makes the UI start several times slower.
    try:
        return subprocess.call(command, env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
    except KeyboardInterrupt:
        return 0


def _score(args: argparse.Namespace) -> int:
    from .data import METHODS, dataset_info, load_minibatches
    from . import kernels
    from .device import resolve_device
    from .execution import ExecutorSettings, check_cluster, torch_threads
    from .files import check_table_path
    from .proxies import resolve_proxies
    from .scoring import ScoringJob, score_architectures, score_one
    from .spaces import get_space

    # Every argument is checked before data is loaded or anything is written, so a
    # mistake costs neither hours of scoring nor leftover files.
    space = get_space(args.space)
    info = dataset_info(args.dataset)
    many = "--archs" if args.archs is not None else "--all-cells" if args.all_cells else None
    if many and args.out is None:
        raise ZcnasError(f"{many} needs --out TABLE (.parquet or .csv) for the results")
    if args.arch is not None and args.out is not None:
        raise ZcnasError("--out is for --archs or --all-cells; with --arch the scores are printed as JSON")
    if args.arch is not None and args.cells is not None:
        raise ZcnasError("--cells slices --archs or --all-cells; --arch scores one architecture")
    cells = _slice(args.cells)
    if args.all_cells and not hasattr(space, "all"):
        raise ZcnasError(f"the {space.name} space cannot list its cells here; give them with --archs FILE")
    if args.out is not None:
        check_table_path(args.out)
    _check_at_least_one("--workers", args.workers)
    executor = ExecutorSettings(args.executor, args.address, args.cpus_per_task, args.gpus_per_task, args.max_retries)
    _check_at_least_one("--threads-per-worker", args.threads_per_worker)
    if args.dataload not in METHODS:
        raise choice_error("--dataload", args.dataload, METHODS)
    resolve_device(args.device)
    kernels.enabled()  # a bad ZCNAS_KERNELS
    proxies = tuple(proxy.name for proxy in resolve_proxies(args.proxies))
    check_cluster(executor)  # the last check: it may wait on the network
    archs = ([space.parse(args.arch)] if args.arch is not None
             else space.all()[cells] if args.all_cells else _read_archs(space, args.archs)[cells])
    if not archs:
        raise ZcnasError(f"--cells {args.cells} selects none of the listed cells")
    batches = load_minibatches(args.dataset, args.dataload, args.batch_size, args.seed, args.minibatch, args.data_dir)
    job = ScoringJob(space, proxies, batches, info.num_classes, args.seed, args.device, threads=args.threads_per_worker)
    if args.arch is not None:
        # With the thread count a batch run uses, so that the numbers are the same.
        with torch_threads(job.threads):
            print(json.dumps(score_one(job, archs[0]), indent=2))
        return 0
    table = score_architectures(job, archs, args.out, args.workers, progress=not args.no_progress, executor=executor)
    print(f"wrote {len(table)} rows to {args.out}", file=sys.stderr)
    return 0


def _slice(text: str | None) -> slice:
    """`START:STOP` (either may be empty) as a slice; None is every cell."""
    if text is None:
        return slice(None)
    start, colon, stop = text.partition(":")
    try:
        bounds = [int(part) if part.strip() else None for part in (start, stop)]
    except ValueError:
        bounds = None
    if not colon or bounds is None or any(bound is not None and bound < 0 for bound in bounds):
        raise ZcnasError(f"--cells {text!r}: expected START:STOP with whole numbers >= 0, e.g. 0:4000 or 12000:")
    return slice(*bounds)


def _check_at_least_one(option: str, value: int) -> None:
    if value < 1:
        raise ZcnasError(f"{option} must be a whole number >= 1, got {value}")


def _read_archs(space, path: Path) -> list:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ZcnasError(f"architecture file {path} does not exist") from None
    except IsADirectoryError:
        raise ZcnasError(f"architecture file {path} is a directory; expected a text file, "
                         "one architecture per line") from None
    except UnicodeDecodeError as exc:
        raise ZcnasError(f"architecture file {path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at "
                         f"offset {exc.start}); expected a text file, one architecture per line") from None
    except OSError as exc:
        raise ZcnasError(f"cannot read architecture file {path}: {exc.strerror or exc}") from None
    archs = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        try:
            archs.append(space.parse(entry))
        except ZcnasError as exc:
            raise ZcnasError(f"{path}:{number}: {exc}") from None
    if not archs:
        raise ZcnasError(f"{path} names no architecture")
    return archs


if __name__ == "__main__":
    sys.exit(main())
