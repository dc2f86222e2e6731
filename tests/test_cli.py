"""The `zcnas score` command: arguments checked up front, one-line errors, no leftovers."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

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

    monkeypatch.setattr(cli, "load_minibatches", must_not_load)


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
