import json
import os
import signal
import subprocess
import sys

import pytest

from zcnas.errors import ZcnasError
from zcnas.journal import Journal

# A second process that opens a journal, says so, and holds it until killed.
HOLDER = """
import sys, time
from zcnas.journal import Journal
journal = Journal(sys.argv[1], {"seed": 1})
journal.append({"arch": "held"})
print("holding", flush=True)
time.sleep(600)
"""


@pytest.fixture
def holder():
    """Start a process holding the journal at a path; yields the Popen. Killed at the end."""
    processes = []

    def start(path):
        process = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True)
        processes.append(process)
        assert process.stdout.readline().strip() == "holding"
        return process

    yield start
    for process in processes:
        process.kill()
        process.wait()


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_journal_with_other_settings_is_kept_beside_the_new_one(tmp_path):
    path = tmp_path / "scores.csv.journal.jsonl"
    old = json.dumps({"settings": {"seed": 0}}) + "\n" + json.dumps({"arch": "a", "synflow": 1.0}) + "\n"
    path.write_text(old)
    with pytest.warns(RuntimeWarning, match="other settings") as caught:
        journal = Journal(path, {"seed": 1})
    stale = list(tmp_path.glob("scores.csv.journal.stale-*Z.jsonl"))
    assert len(stale) == 1 and stale[0].read_text() == old  # the old rows are not lost
    assert str(stale[0]) in str(caught[0].message)
    assert journal.rows == [] and lines(path) == [{"settings": {"seed": 1}}]  # nor mixed in
    journal.append({"arch": "b"})
    journal.close()
    assert lines(path) == [{"settings": {"seed": 1}}, {"arch": "b"}] and stale[0].read_text() == old


def test_stale_journals_never_overwrite_each_other(tmp_path):
    path = tmp_path / "s.parquet.journal.jsonl"
    for seed in range(3):  # within one second: the same timestamp
        path.write_text(json.dumps({"settings": {"seed": seed}}) + "\n")
        with pytest.warns(RuntimeWarning, match="other settings"):
            Journal(path, {"seed": 99}).close()
    kept = sorted(json.loads(p.read_text())["settings"]["seed"] for p in tmp_path.glob("*.stale-*.jsonl"))
    assert kept == [0, 1, 2]


def test_matching_journal_is_resumed_and_torn_line_dropped(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text(json.dumps({"settings": {"seed": 1}}) + "\n" + json.dumps({"arch": "a"}) + '\n{"arch": "|to')
    with pytest.warns(RuntimeWarning, match="torn"):
        journal = Journal(path, {"seed": 1})
    journal.close()
    assert journal.rows == [{"arch": "a"}] and not list(tmp_path.glob("*.stale-*"))


@pytest.mark.parametrize("damage", ["{}", "null", "[1, 2]", '"arch"', '{"synflow": 1.0}', "[" * 100_000 + "]" * 100_000])
def test_a_line_that_is_json_but_not_a_row_is_dropped_like_a_torn_one(tmp_path, damage):
    path = tmp_path / "j.jsonl"
    path.write_text("\n".join([json.dumps({"settings": {"seed": 1}}), json.dumps({"arch": "a"}), damage,
                               json.dumps({"arch": "b"})]) + "\n")
    with pytest.warns(RuntimeWarning, match="not a row"):
        journal = Journal(path, {"seed": 1})
    journal.close()
    assert journal.rows == [{"arch": "a"}, {"arch": "b"}]
    assert lines(path) == [{"settings": {"seed": 1}}, {"arch": "a"}, {"arch": "b"}]  # rewritten without it


def test_the_stale_warning_names_the_settings_that_differ(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text(json.dumps({"settings": {"seed": 1, "code": "abc", "threads": 1}}) + "\n")
    with pytest.warns(RuntimeWarning, match="other settings") as caught:
        Journal(path, {"seed": 1, "code": "def", "threads": 1}).close()
    message = str(caught[0].message)
    assert 'code "abc" -> "def"' in message and "seed" not in message.split("kept it")[0].split("differing")[1]


def test_a_journal_closed_without_a_row_leaves_no_file(tmp_path):
    # e.g. a run whose cluster could not be reached: no stub journal stays behind.
    Journal(tmp_path / "j.jsonl", {"seed": 1}).close()
    assert list(tmp_path.iterdir()) == []


def test_second_process_is_refused_naming_the_holder(tmp_path, holder):
    path = tmp_path / "scores.csv.journal.jsonl"
    process = holder(path)
    with pytest.raises(ZcnasError, match=rf"in use by another run \(process {process.pid}\b"):
        Journal(path, {"seed": 1})
    assert lines(path) == [{"settings": {"seed": 1}}, {"arch": "held"}]  # the holder's journal is untouched

    # The kernel drops the lock when its owner dies, even by SIGKILL: the next run resumes.
    process.send_signal(signal.SIGKILL)
    process.wait()
    journal = Journal(path, {"seed": 1})
    assert journal.rows == [{"arch": "held"}]
    journal.remove()
    assert os.listdir(tmp_path) == []  # neither journal nor lock file left


def test_closing_releases_the_lock_within_a_process(tmp_path):
    path = tmp_path / "j.jsonl"
    first = Journal(path, {"seed": 1})
    with pytest.raises(ZcnasError, match=f"process {os.getpid()}"):
        Journal(path, {"seed": 1})
    first.append({"arch": "a"})
    first.close()
    assert not path.with_name("j.jsonl.lock").exists()
    second = Journal(path, {"seed": 1})
    assert second.rows == [{"arch": "a"}]
    second.close()
