"""zcnas.execution: every backend and worker count gives the in-process results, bit for
bit; errors in workers reach the caller; no worker outlives its job or its driver."""

import itertools
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import execution_jobs
from test_econas import CONFIGS, noise_images, random_archs
from test_scoring import archs, make_job
from test_search import SMALL_OPS, additive_table
from zcnas.econas import train_archs
from zcnas.errors import ZcnasError
from zcnas.execution import LOCAL, ExecutorSettings, execute, torch_threads
from zcnas.pipeline.params import parse_params
from zcnas.scoring import score_architectures
from zcnas.search import Benchmark, proxy_ranking, run_variants
from zcnas.spaces.nb201 import NB201

TESTS = Path(__file__).resolve().parent


def running(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie, dead but not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.1)


# --- the layer itself ----------------------------------------------------------------

def test_results_come_with_their_item_index_whatever_the_workers():
    items = [3, 1, 4, 1, 5]
    for workers in (1, 2):
        results = dict(execute(execution_jobs.square, items, shared=10, workers=workers))
        assert results == {index: item * item + 10 for index, item in enumerate(items)}
    assert list(execute(execution_jobs.square, [], shared=0, workers=2)) == []


def test_local_workers_get_items_through_a_bounded_window(monkeypatch):
    # Submitting every item at once made the driver wait on all of them for every result:
    # its cost grew with the number of items (bench/scaling.py, part overhead).
    import zcnas.execution as execution

    submitted = [0]

    class CountingPool(execution.ProcessPoolExecutor):
        def submit(self, *args, **kwargs):
            submitted[0] += 1
            return super().submit(*args, **kwargs)

    monkeypatch.setattr(execution, "ProcessPoolExecutor", CountingPool)
    items = list(range(120))
    ahead, results = [], {}
    for received, (index, result) in enumerate(execute(execution_jobs.square, items, shared=0, workers=2), start=1):
        ahead.append(submitted[0] - received)  # submitted, not yet received
        results[index] = result
    assert results == {index: item * item for index, item in enumerate(items)}
    assert max(ahead) <= execution.LOCAL_IN_FLIGHT_PER_WORKER * 2, max(ahead)


@pytest.mark.parametrize("settings, fragments", [
    ({"backend": "rey"}, ["executor backend 'rey'", "local, ray"]),
    ({"cpus_per_task": -1}, ["cpus_per_task", "-1"]),
    ({"cpus_per_task": 0, "gpus_per_task": 0}, ["both 0"]),
    ({"max_retries": -1}, ["max_retries", "-1"]),
    ({"address": ""}, ["address", "host:port"]),
])
def test_bad_settings_are_named(settings, fragments):
    with pytest.raises(ZcnasError) as error:
        ExecutorSettings(**settings)
    assert all(fragment in str(error.value) for fragment in fragments)


def test_a_workers_setup_holds_for_every_item():
    # A thread count other than the default, so that a setup undone after the first item shows.
    count = max(torch.get_num_threads(), os.cpu_count() or 1) + 1
    seen = dict(execute(execution_jobs.threads_seen, range(6), shared=count, setup=execution_jobs.threads, workers=2))
    assert seen == {index: count for index in range(6)}


def test_bad_worker_counts_are_refused():
    with pytest.raises(ZcnasError, match="workers must be a positive integer, got 0"):
        list(execute(execution_jobs.square, [1], shared=0, workers=0))


def test_a_workers_error_reaches_the_caller_and_stops_the_other_worker(tmp_path):
    # One worker fails once both are busy; the other would sleep ten minutes.
    started = time.time()
    with pytest.raises(ZcnasError, match="item 'fail' refused"):
        list(execute(execution_jobs.record_then_wait, ["fail", 600], shared=str(tmp_path), workers=2))
    pids = [int(path.name) for path in tmp_path.iterdir()]
    assert len(pids) == 2 and os.getpid() not in pids
    wait_until(lambda: not any(map(running, pids)), 60, "the workers to exit")
    assert time.time() - started < 500


def test_workers_of_a_killed_driver_stop(tmp_path):
    driver = subprocess.Popen([sys.executable, "-c", (
        "import sys; sys.path.insert(0, sys.argv[1]); import execution_jobs; from zcnas.execution import execute; "
        "list(execute(execution_jobs.record_then_wait, [600, 600], shared=sys.argv[2], workers=2))"),
        str(TESTS), str(tmp_path)])
    try:
        wait_until(lambda: len(list(tmp_path.iterdir())) == 2, 500, "both workers to start")
    finally:
        driver.send_signal(signal.SIGKILL)  # no cleanup runs in the driver
        driver.wait()
    pids = [int(path.name) for path in tmp_path.iterdir()]
    wait_until(lambda: not any(map(running, pids)), 60, "the orphaned workers to exit")


# --- the three jobs: 1 or 2 local workers, any order, the same numbers ---------------

def test_scoring_is_bit_identical_in_process_and_in_workers(tmp_path):
    cells = archs(4, seed=11)
    shuffled = random.Random(0).sample(cells, len(cells))
    job = make_job(proxies=("synflow", "snip", "grad_norm"))
    one = score_architectures(job, cells, tmp_path / "one.parquet", workers=1, progress=False)
    two = score_architectures(job, shuffled, tmp_path / "two.parquet", workers=2, progress=False)
    columns = ["synflow", "snip", "grad_norm", "batch_parts"]
    assert two["arch"].tolist() == [NB201.format(cell) for cell in shuffled]  # the order asked for
    pd.testing.assert_frame_equal(one.set_index("arch")[columns], two.set_index("arch")[columns].loc[one["arch"]],
                                  check_exact=True)


def test_reduced_training_is_bit_identical_in_process_and_in_workers(tmp_path):
    images, labels = noise_images(60)
    cells = random_archs(2, seed=12)
    tables = [train_archs(CONFIGS, order, images, labels, "cifar10", 0, "cpu", tmp_path / f"{workers}.parquet",
                          workers=workers, progress=False)
              for workers, order in ((1, cells), (2, cells[::-1]))]
    one, two = (table.drop(columns="seconds").set_index(["config", "arch", "epoch"]).sort_index() for table in tables)
    pd.testing.assert_frame_equal(one, two, check_exact=True)


def test_search_curves_are_bit_identical_in_process_and_in_workers():
    table = additive_table(list(itertools.product(SMALL_OPS, repeat=6)), NB201)
    benchmark = Benchmark(NB201, table)
    oracle = proxy_ranking(benchmark, pd.Series(table["test_acc"].to_numpy(), index=table["arch"]), "oracle")
    variants = ["rs+warmup20", "ae", "bp"]
    one = run_variants(variants, benchmark, oracle, 70, runs=2, seed=3, workers=1)
    two = run_variants(variants[::-1], benchmark, oracle, 70, runs=2, seed=3, workers=2)
    assert all(np.array_equal(one[name], two[name]) for name in variants)


def test_the_callers_thread_count_is_restored():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen = list(execute(lambda state, item: torch.get_num_threads(), [1], setup=lambda shared: torch_threads(1)))
        assert seen == [(0, 1)] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


# --- params and the command line -----------------------------------------------------

def test_the_executor_section_is_validated_with_its_key():
    assert parse_params({}).executor.settings() == LOCAL
    with pytest.raises(ZcnasError, match=r"executor: unknown executor backend 'rey'; expected one of: local, ray"):
        parse_params({"executor": {"backend": "rey"}})
    with pytest.raises(ZcnasError, match=r"executor.max_retries: .*'3'"):
        parse_params({"executor": {"max_retries": "3"}})


def test_cli_names_a_bad_backend(tmp_path, capsys):
    from zcnas.cli import main

    (tmp_path / "archs.txt").write_text(NB201.format(archs(1)[0]) + "\n")
    code = main(["score", "--archs", str(tmp_path / "archs.txt"), "--out", str(tmp_path / "s.csv"),
                 "--executor", "rey", "--data-dir", str(tmp_path)])
    assert code == 2 and "'rey'" in capsys.readouterr().err
    assert not (tmp_path / "s.csv").exists()
