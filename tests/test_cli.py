"""The `zcnas` command line: `score` (arguments checked up front, one-line errors, no leftovers),
`pipeline` (the quick run of the whole DVC pipeline under a profile), --version and help."""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import zcnas.data
from zcnas import cli
from zcnas.cli import main

CELLS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
]


@pytest.fixture
def arch_file(tmp_path):
    path = tmp_path / "archs.txt"
    path.write_text("\n".join(CELLS) + "\n")
    return path


@pytest.fixture
def score(synthetic_data_dir, no_mirror, capsys):
    """Run `zcnas score --archs ... ` in-process on tiny data; returns (exit code, stderr)."""

    def run(*argv):
        code = main(["score", "--proxies", "synflow", "--batch-size", "8", "--data-dir", str(synthetic_data_dir),
                     "--no-progress", *map(str, argv)])
        return code, capsys.readouterr().err

    return run


@pytest.fixture
def no_data_loading(monkeypatch):
    """Fail the test if the command gets as far as loading data."""

    def must_not_load(*args, **kwargs):
        raise AssertionError("data loaded before the arguments were checked")

    monkeypatch.setattr(zcnas.data, "load_minibatches", must_not_load)


def files_under(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


def assert_one_line_error(code, stderr, *fragments):
    assert code == 2
    assert stderr.count("\n") == 1 and stderr.startswith("zcnas: error: "), stderr
    for fragment in fragments:
        assert fragment in stderr


def test_scores_a_file_of_archs_and_leaves_only_the_table(score, arch_file, tmp_path):
    out = tmp_path / "scores.csv"
    code, stderr = score("--archs", arch_file, "--out", out)
    assert code == 0 and f"wrote 2 rows to {out}" in stderr
    assert pd.read_csv(out)["arch"].tolist() == CELLS
    assert files_under(tmp_path) == ["archs.txt", "scores.csv"]  # no journal, lock or temporary file


@pytest.mark.parametrize(
    "out, fragments",
    [
        ("a.txt", ["a.txt", "unsupported format '.txt'", ".parquet or .csv"]),
        ("scores", ["scores", "no format suffix", ".parquet or .csv"]),
        ("folder.csv", ["folder.csv", "is a directory"]),
        ("archs.txt/scores.csv", ["archs.txt/scores.csv", "archs.txt is a file, not a directory"]),
        ("archs.txt/deeper/scores.csv", ["archs.txt is a file, not a directory"]),
    ],
)
def test_bad_out_fails_before_any_data_is_loaded(score, arch_file, tmp_path, no_data_loading, out, fragments):
    (tmp_path / "folder.csv").mkdir()
    before = files_under(tmp_path)
    code, stderr = score("--archs", arch_file, "--out", tmp_path / out)
    assert_one_line_error(code, stderr, *fragments)
    assert files_under(tmp_path) == before


@pytest.mark.parametrize("under", ["", "new/"])
def test_out_in_a_read_only_directory_is_refused(score, arch_file, tmp_path, no_data_loading, monkeypatch, under):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if os.geteuid() == 0:
        # Root writes through any mode bits; answer as the kernel would for anyone else.
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if Path(path) == locked and mode & os.W_OK
                            else real_access(path, mode, **kw))
    before = files_under(tmp_path)
    code, stderr = score("--archs", arch_file, "--out", locked / under / "scores.parquet")
    assert_one_line_error(code, stderr, f"directory {locked} is not writable")
    assert files_under(tmp_path) == before
    locked.chmod(0o755)


def test_out_where_no_file_can_be_created_is_refused_before_any_data_is_loaded(score, arch_file, no_data_loading):
    # /proc passes every mode check for root, yet refuses new files.
    code, stderr = score("--archs", arch_file, "--out", "/proc/scores.parquet")
    assert_one_line_error(code, stderr, "/proc/scores.parquet", "cannot create a file in /proc")


def test_a_symlinked_out_is_written_through(score, arch_file, tmp_path):
    target = tmp_path / "results" / "scores.csv"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "scores.csv"
    link.symlink_to(target)
    code, _ = score("--archs", arch_file, "--out", link)
    assert code == 0 and link.is_symlink() and link.resolve() == target
    assert pd.read_csv(target)["arch"].tolist() == CELLS


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["--workers", "0"], ["--workers", "got 0"]),
        (["--workers", "-2"], ["--workers", "got -2"]),
        (["--threads-per-worker", "-1"], ["--threads-per-worker", "got -1"]),
        (["--threads-per-worker", "0"], ["--threads-per-worker", "got 0"]),
        (["--dataload", "sorted"], ["'sorted'", "random, grasp"]),
        (["--device", "tpu:9"], ["'tpu:9'"]),
    ],
)
def test_bad_option_fails_before_any_data_is_loaded(score, arch_file, tmp_path, no_data_loading, argv, fragments):
    code, stderr = score("--archs", arch_file, "--out", tmp_path / "scores.csv", *argv)
    assert_one_line_error(code, stderr, *fragments)
    assert files_under(tmp_path) == ["archs.txt"]  # no stub journal


def test_archs_that_is_a_directory_or_not_utf8_is_named(score, tmp_path, no_data_loading):
    code, stderr = score("--archs", tmp_path, "--out", tmp_path / "s.csv")
    assert_one_line_error(code, stderr, f"architecture file {tmp_path} is a directory")
    latin1 = tmp_path / "archs.txt"
    latin1.write_bytes(CELLS[0].encode() + b"\n# caf\xe9\n")
    code, stderr = score("--archs", latin1, "--out", tmp_path / "s.csv")
    assert_one_line_error(code, stderr, f"architecture file {latin1} is not UTF-8", "byte 0xe9")
    assert files_under(tmp_path) == ["archs.txt"]


def test_out_with_a_single_arch_is_refused(score, tmp_path, no_data_loading):
    code, stderr = score("--arch", CELLS[0], "--out", tmp_path / "s.csv")
    assert_one_line_error(code, stderr, "--out is for --archs")


# A second process that holds the journal of an `--out`, as a running `zcnas score` does.
HOLDER = """
import sys, time
from zcnas.journal import Journal
journal = Journal(sys.argv[1], {"seed": 1})
print("holding", flush=True)
time.sleep(600)
"""


def test_second_run_on_the_same_out_is_refused_naming_the_first(score, arch_file, tmp_path):
    out = tmp_path / "scores.csv"
    journal = tmp_path / "scores.csv.journal.jsonl"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(journal)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        code, stderr = score("--archs", arch_file, "--out", out)
        assert_one_line_error(code, stderr, str(journal), f"process {holder.pid}")
        assert not out.exists() and json.loads(journal.read_text()) == {"settings": {"seed": 1}}
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # Its death frees the journal; the holder's rows were written with other settings, so they are kept aside.
    with pytest.warns(RuntimeWarning, match="other settings"):
        assert score("--archs", arch_file, "--out", out)[0] == 0
    assert len(pd.read_csv(out)) == 2 and len(list(tmp_path.glob("scores.csv.journal.stale-*.jsonl"))) == 1


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002], ids=oct)
def test_output_mode_follows_the_umask(score, arch_file, tmp_path, umask):
    previous = os.umask(umask)
    try:
        assert score("--archs", arch_file, "--out", tmp_path / "scores.parquet")[0] == 0
    finally:
        os.umask(previous)
    assert (tmp_path / "scores.parquet").stat().st_mode & 0o777 == 0o666 & ~umask


# --- the command line as a whole: --version, help text and defaults -------------------------

REPO = Path(__file__).resolve().parents[1]


def test_version_prints_the_installed_version(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"zcnas {version('zcnas')}"


def subcommands() -> dict:
    actions = [action for action in cli._parser()._actions if isinstance(action, argparse._SubParsersAction)]
    return dict(actions[0].choices)


def help_entries(text: str) -> dict[str, str]:
    """{option string: its whole entry, whitespace collapsed} of an argparse help text."""
    entries, current = {}, None
    for line in text.splitlines():
        if line.startswith("  -"):
            current = line.split()[0].rstrip(",")
            entries[current] = line
        elif current and line.startswith("   "):
            entries[current] += " " + line
        else:
            current = None
    return {option: " ".join(entry.split()) for option, entry in entries.items()}


def test_there_are_the_subcommands_the_readme_names():
    assert {"score", "pipeline"} <= set(subcommands())


@pytest.mark.parametrize("command", sorted(subcommands()))
def test_every_option_has_help_and_its_default_is_shown(command, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    entries = help_entries(capsys.readouterr().out)
    parser = subcommands()[command]
    required_groups = {id(action) for group in parser._mutually_exclusive_groups if group.required
                       for action in group._group_actions}
    options = [action for action in parser._actions if action.option_strings and action.dest != "help"]
    assert options
    for action in options:
        name = action.option_strings[0]
        assert name in entries, f"{name} missing from `zcnas {command} --help`"
        entry = entries[name]
        assert action.help and len(entry) > len(name) + 10, f"{name} has no help text: {entry!r}"
        if isinstance(action.default, bool):
            assert f"(default: {'on' if action.default else 'off'})" in entry, entry
        elif action.default is not None:
            assert f"(default: {action.default})" in entry, entry
        else:  # no default value: the help says what happens instead
            assert id(action) in required_groups or "(default:" in entry or "required" in entry, entry


def test_top_level_help_lists_version_and_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "--version" in out and "score" in out and "pipeline" in out


# --- zcnas pipeline: the quick run of the whole DVC pipeline ---------------------------------


def test_profiles_merge_key_by_key_over_params():
    from zcnas.pipeline.profile import merged, profile_params

    assert merged({"a": {"b": 1, "c": 2}, "d": [1]}, {"a": {"c": 3}, "d": [2], "e": {"f": 4}}) == \
        {"a": {"b": 1, "c": 3}, "d": [2], "e": {"f": 4}}
    params = profile_params(REPO, "smoke")
    assert params["score"]["sample"] == 20 and params["score"]["dataload"] == "random"
    # A nested override keeps the keys it does not name.
    assert params["econas"]["configs"]["econas"]["schedule_epochs"] == 40


def test_the_run_logs_to_the_projects_mlflow_store_unless_told_otherwise(tmp_path):
    from zcnas.pipeline.profile import run_environment

    env = run_environment(tmp_path, "smoke", {"PATH": "/usr/bin"})
    assert env["MLFLOW_TRACKING_URI"] == f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    assert env["ZCNAS_RUN_LABEL"] == "smoke"
    assert env["PATH"].split(os.pathsep) == [str(Path(sys.executable).parent), "/usr/bin"]
    assert run_environment(tmp_path, "x", {"MLFLOW_TRACKING_URI": "http://server:5000"})["MLFLOW_TRACKING_URI"] \
        == "http://server:5000"


@pytest.fixture
def pipeline(capfd):
    """Run `zcnas pipeline ...` in-process; returns (exit code, stdout, stderr), git's and DVC's included."""

    def run(*argv):
        code = main(["pipeline", *map(str, argv)])
        captured = capfd.readouterr()
        return code, captured.out, captured.err

    return run


def test_pipeline_outside_the_project_root_names_what_it_expected(pipeline, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, stderr = pipeline("--profile", "smoke")
    assert_one_line_error(code, stderr, str(tmp_path), "dvc.yaml", "project root")
    assert files_under(tmp_path) == []


def test_pipeline_with_an_unknown_profile_lists_the_profiles(pipeline, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    code, _, stderr = pipeline("--profile", "smokey", "--dir", tmp_path / "run")
    assert_one_line_error(code, stderr, "'smokey'", "smoke")
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("where", ["full", "src", "."])
def test_pipeline_refuses_a_directory_it_would_clobber(pipeline, tmp_path, monkeypatch, where):
    monkeypatch.chdir(REPO)
    (tmp_path / "notes.txt").write_text("mine")
    directory = {"full": tmp_path, "src": REPO / "src" / "run", ".": REPO}[where]
    code, _, stderr = pipeline("--dir", directory)
    assert_one_line_error(code, stderr, "--dir")
    assert files_under(tmp_path) == ["notes.txt"] and not (REPO / "src" / "run").exists()


TINY_DVC_YAML = """
stages:
  report:
    cmd: python stages/report.py
    deps: [stages/report.py, src]
    params: [n]
    outs:
      - results/report.md:
          cache: false
"""
TINY_STAGE = """
import os, pathlib, sys, yaml
import tiny  # from the run's copy of src/
n = yaml.safe_load(open("params.yaml"))["n"]
if n < 0:
    sys.exit("n must be >= 0")
raw = sorted(p.name for p in pathlib.Path("data/raw").iterdir()) if pathlib.Path("data/raw").exists() else []
pathlib.Path("results").mkdir(exist_ok=True)
pathlib.Path("results/report.md").write_text(f"n={n} tiny={tiny.VALUE} raw={raw} "
    f"uri={os.environ['MLFLOW_TRACKING_URI']} label={os.environ['ZCNAS_RUN_LABEL']}")
"""


@pytest.fixture
def tiny_project(tmp_path, monkeypatch):
    """A project with a one-stage pipeline and a profile `quick`, as the current directory."""
    pytest.importorskip("dvc")
    root = tmp_path / "project"
    (root / "stages").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "profiles").mkdir()
    (root / "dvc.yaml").write_text(TINY_DVC_YAML)
    (root / "stages" / "report.py").write_text(TINY_STAGE)
    (root / "src" / "tiny.py").write_text("VALUE = 1\n")
    (root / "params.yaml").write_text("n: 1\nother: {a: 1, b: 2}\n")
    (root / "profiles" / "quick.yaml").write_text("n: 2\nother: {b: 3}\n")
    monkeypatch.chdir(root)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("ZCNAS_MIRROR", raising=False)
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)  # src/__pycache__ must not look like a change
    return root


def notes(stderr: str) -> list[str]:
    """The command's own lines on stderr (DVC's are there too)."""
    return [line for line in stderr.splitlines() if line.startswith("zcnas: ")]


def test_pipeline_runs_in_runs_profile_and_a_second_run_reuses_it(tiny_project, pipeline, tmp_path, monkeypatch):
    import yaml

    run_dir = tiny_project / "runs" / "quick"
    code, out, err = pipeline("--profile", "quick")
    assert code == 0, out + err
    assert "Running stage 'report'" in out  # DVC's own output reaches the terminal
    assert len(notes(err)) == 1 and "synthetic data" in notes(err)[0]
    assert f"report:  {run_dir / 'results' / 'report.md'}" in out and f"metrics: {run_dir / 'metrics'}" in out
    report = (run_dir / "results" / "report.md").read_text()
    assert "n=2 tiny=1 raw=['cifar10-jpeg', 'nb201']" in report
    assert f"uri=sqlite:///{tiny_project / 'mlruns' / 'mlflow.db'} label=quick" in report
    assert yaml.safe_load((run_dir / "params.yaml").read_text()) == {"n": 2, "other": {"a": 1, "b": 3}}

    # Nothing changed: DVC runs nothing.
    code, out, err = pipeline("--profile", "quick")
    assert code == 0 and "Running stage" not in out and "didn't change" in out

    # The project's code and params changed: the copy is refreshed and the stage reruns.
    (tiny_project / "src" / "tiny.py").write_text("VALUE = 7\n")
    (tiny_project / "profiles" / "quick.yaml").write_text("n: 3\n")
    code, out, _ = pipeline("--profile", "quick")
    assert code == 0 and "Running stage 'report'" in out
    assert "n=3 tiny=7" in (run_dir / "results" / "report.md").read_text()

    # Other data (a mirror now): DVC cannot see it, so every stage reruns, on the mirror only.
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    monkeypatch.setenv("ZCNAS_MIRROR", str(mirror))
    code, out, err = pipeline("--profile", "quick")
    assert code == 0 and "Running stage 'report'" in out
    assert len(notes(err)) == 1 and "data changed" in notes(err)[0]
    assert "raw=[]" in (run_dir / "results" / "report.md").read_text()


def test_a_failing_stage_exits_non_zero_with_one_line(tiny_project, pipeline, tmp_path, monkeypatch):
    monkeypatch.setenv("ZCNAS_MIRROR", str(tmp_path))
    (tiny_project / "profiles" / "quick.yaml").write_text("n: -1\n")
    code, out, err = pipeline("--profile", "quick", "--dir", tmp_path / "elsewhere")
    assert code == 1
    assert notes(err) == [err.splitlines()[-1]]  # one line, the last
    assert notes(err)[0].startswith("zcnas: error: dvc repro failed") and str(tmp_path / "elsewhere") in err
    assert "n must be >= 0" in err  # the stage's own message, above the summary
    assert "report:" not in out



def test_ui_serves_the_store_and_links_to_the_runs_table_of_the_zcnas_experiment(tmp_path, monkeypatch, capsys):
    mlflow = pytest.importorskip("mlflow")
    from zcnas import cli
    from zcnas.tracking import EXPERIMENT

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    experiment_id = mlflow.tracking.MlflowClient().create_experiment(EXPERIMENT)
    started = []
    monkeypatch.setattr(cli.subprocess, "call", lambda command, env: started.append((command, env)) or 0)
    assert cli.main(["ui", "--port", "5123"]) == 0
    # MLflow 3.17 opens GenAI pages unless the link asks for model training.
    link = f"http://127.0.0.1:5123/#/experiments/{experiment_id}?workflowType=machine_learning"
    assert link in capsys.readouterr().out
    ((command, env),) = started
    assert command[command.index("--backend-store-uri") + 1] == store
    assert command[command.index("--host") + 1] == "127.0.0.1" and command[command.index("--port") + 1] == "5123"


def test_all_cells_in_slices_give_the_table_of_the_whole_range(score, tmp_path):
    from zcnas.spaces.nb201 import NB201

    whole, first, second = (tmp_path / name for name in ("whole.csv", "first.csv", "second.csv"))
    assert score("--all-cells", "--cells", "3:7", "--out", whole)[0] == 0
    assert score("--all-cells", "--cells", "3:5", "--out", first)[0] == 0
    assert score("--all-cells", "--cells", "5:7", "--out", second)[0] == 0
    expected = [NB201.format(cell) for cell in NB201.all()[3:7]]
    table = pd.read_csv(whole)
    assert table["arch"].tolist() == expected
    joined = pd.concat([pd.read_csv(first), pd.read_csv(second)], ignore_index=True)
    pd.testing.assert_frame_equal(joined.drop(columns=[c for c in joined if c.startswith("seconds_")]),
                                  table.drop(columns=[c for c in table if c.startswith("seconds_")]))


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["--all-cells"], ["--all-cells needs --out TABLE"]),
        (["--all-cells", "--cells", "5", "--out", "x.csv"], ["--cells '5'", "START:STOP", "0:4000"]),
        (["--all-cells", "--cells", "a:b", "--out", "x.csv"], ["--cells 'a:b'", "whole numbers >= 0"]),
        (["--all-cells", "--cells=-1:", "--out", "x.csv"], ["--cells '-1:'", "whole numbers >= 0"]),
        (["--all-cells", "--cells", "20000:", "--out", "x.csv"], ["--cells 20000: selects none"]),
        (["--arch", CELLS[0], "--cells", "0:1"], ["--cells slices --archs or --all-cells"]),
        (["--space", "nb101", "--all-cells", "--out", "x.csv"], ["nb101 space cannot list its cells", "--archs"]),
    ],
)
def test_bad_whole_space_arguments_are_named_before_any_work(score, no_data_loading, tmp_path, monkeypatch, argv,
                                                           fragments):
    monkeypatch.chdir(tmp_path)
    code, stderr = score(*argv)
    assert_one_line_error(code, stderr, *fragments)
    assert files_under(tmp_path) == []


def test_ctrl_c_ends_a_scoring_run_in_one_line_and_the_rerun_resumes(score, synthetic_data_dir, tmp_path):
    from zcnas.spaces.nb201 import NB201

    out, journal = tmp_path / "scores.csv", tmp_path / "scores.csv.journal.jsonl"
    argv = ["--all-cells", "--cells", "0:200", "--workers", "2", "--out", str(out)]
    command = [sys.executable, "-c", "import sys; from zcnas.cli import main; sys.exit(main())", "score",
               "--proxies", "synflow", "--batch-size", "8", "--data-dir", str(synthetic_data_dir), "--no-progress",
               *argv]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (journal.exists() and len(journal.read_text().splitlines()) > 3):
            assert process.poll() is None and time.monotonic() < deadline, "no row journalled"
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the driver and its workers
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and stderr.strip().splitlines()[-1].startswith("zcnas: interrupted; "), stderr
    finished = len(journal.read_text().splitlines()) - 1
    assert 0 < finished < 200 and not out.exists()
    code, _ = score(*argv)
    assert code == 0 and not journal.exists()
    assert pd.read_csv(out)["arch"].tolist() == [NB201.format(cell) for cell in NB201.all()[:200]]


def test_help_version_and_the_light_modules_start_without_torch():
    probe = ("import sys\nfrom zcnas.cli import main\n"
             "for argv in (['--help'], ['--version'], ['ui', '--help'], ['pipeline', '--help']):\n"
             "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
             "import zcnas, zcnas.errors, zcnas.journal\n"
             "print('torch' in sys.modules, file=sys.stderr)\n"
             "zcnas.score\nprint('torch' in sys.modules, file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stderr.split() == ["False", "True"]  # the proxy API loads it when first used
