"""The Ray backend on a real two-node Ray cluster that the tests start on 127.0.0.1:
every job gives the local backend's numbers bit for bit, a worker killed mid-task is
retried, and a cluster that cannot be reached is named before any work."""

import itertools
import json
import operator
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# Ray otherwise advertises (and its driver looks for its node at) the machine's outward
# address; with this, every node, the driver and every socket stay on 127.0.0.1. Ray
# reads it when imported, so it is set before any test imports Ray.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import execution_jobs  # noqa: E402
from test_econas import CONFIGS, noise_images, random_archs  # noqa: E402
from test_scoring import archs, make_job  # noqa: E402
from test_search import SMALL_OPS, additive_table  # noqa: E402
from zcnas.cli import main  # noqa: E402
from zcnas.econas import train_archs  # noqa: E402
from zcnas.errors import ZcnasError  # noqa: E402
from zcnas.execution import ExecutorSettings, check_cluster, execute  # noqa: E402
from zcnas.scoring import score_architectures  # noqa: E402
from zcnas.search import Benchmark, proxy_ranking, run_variants  # noqa: E402
from zcnas.spaces.nb201 import NB201  # noqa: E402

# Scores compared between backends: the values and how the batch was split.
SCORE_COLUMNS = ["synflow", "snip", "grad_norm", "batch_parts"]


def test_without_ray_the_backend_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(ZcnasError, match=r"pip install -e '.\[ray\]'"):
        list(execute(execution_jobs.square, [1], shared=0, executor=ExecutorSettings("ray")))


def test_an_ipv6_address_is_parsed_and_checked():
    pytest.importorskip("ray")
    with pytest.raises(ZcnasError, match=r"cannot reach the Ray cluster at '\[::1\]:1'"):
        check_cluster(ExecutorSettings("ray", "[::1]:1"))  # the port was parsed; nothing listens there
    with pytest.raises(ZcnasError, match=r"'\[::1\]' is not 'auto', 'host:port', '\[ipv6\]:port'"):
        check_cluster(ExecutorSettings("ray", "[::1]"))


def test_an_unreachable_cluster_is_named_before_any_work(tmp_path, capsys):
    pytest.importorskip("ray")
    started = time.time()
    with pytest.raises(ZcnasError, match="127.0.0.1:1"):
        list(execute(execution_jobs.square, [1, 2], shared=0, executor=ExecutorSettings("ray", "127.0.0.1:1")))
    assert time.time() - started < 30
    (tmp_path / "archs.txt").write_text(NB201.format(archs(1)[0]) + "\n")
    code = main(["score", "--archs", str(tmp_path / "archs.txt"), "--out", str(tmp_path / "s.csv"),
                 "--executor", "ray", "--address", "127.0.0.1:1", "--data-dir", str(tmp_path)])
    assert code == 2 and "127.0.0.1:1" in capsys.readouterr().err
    assert not (tmp_path / "s.csv").exists()


@pytest.fixture(scope="module")
def ray_cluster():
    """Two Ray nodes of one CPU each (Ray's own multi-node test helper, every process
    on 127.0.0.1); yields the cluster, whose `address` the backend connects to."""
    pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    cluster = Cluster()
    try:
        for _ in range(2):
            cluster.add_node(num_cpus=1, object_store_memory=100_000_000, include_dashboard=False)
        cluster.wait_for_nodes()
        assert {node.node_ip_address for node in cluster.list_all_nodes()} == {"127.0.0.1"}
        yield cluster
    finally:
        cluster.shutdown()


def on_ray(cluster, **settings) -> ExecutorSettings:
    return ExecutorSettings("ray", cluster.address, **settings)


def compare_scores(expected: pd.DataFrame, actual: pd.DataFrame) -> None:
    assert sorted(actual["arch"]) == sorted(expected["arch"])  # one row per cell, none twice
    pd.testing.assert_frame_equal(expected.set_index("arch")[SCORE_COLUMNS],
                                  actual.set_index("arch")[SCORE_COLUMNS].loc[expected["arch"]], check_exact=True)


def test_a_long_job_goes_in_chunks_and_every_item_comes_back_once_with_its_index(ray_cluster, monkeypatch):
    import zcnas.execution as execution

    monkeypatch.setattr(execution, "RAY_CHUNKED_FROM", 4)  # 50 items: chunks of 3 (RAY_CHUNK)
    monkeypatch.setattr(execution, "RAY_CHUNK", 3)
    items = list(range(100, 150))
    # operator.add(state, item): a job every Ray worker can import.
    results = list(execute(operator.add, items, shared=7, executor=on_ray(ray_cluster)))
    assert sorted(index for index, _ in results) == list(range(50))
    assert dict(results) == {index: item + 7 for index, item in enumerate(items)}


def test_scoring_20_cells_on_ray_equals_the_local_backend(ray_cluster, tmp_path):
    cells = archs(20, seed=13)
    job = make_job(proxies=SCORE_COLUMNS[:-1])
    local = score_architectures(job, cells, tmp_path / "local.csv", progress=False)
    remote = score_architectures(job, cells[::-1], tmp_path / "ray.csv", progress=False,
                                 executor=on_ray(ray_cluster))
    compare_scores(local, remote)


def worker_pids(raylet_pid: int) -> list[int]:
    """Processes of the raylet `raylet_pid` whose actor runs a chunk of the backend's items now."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):  # it ended meanwhile
            continue
        if int(stat.rsplit(") ", 1)[1].split()[1]) == raylet_pid and b"_RayWorker.run" in command:
            found.append(int(entry.name))
    return found


def test_a_worker_killed_mid_run_is_retried_and_every_cell_is_scored_once(ray_cluster, tmp_path):
    cells = archs(20, seed=14)
    job = make_job(proxies=SCORE_COLUMNS[:-1])
    local = score_architectures(job, cells, tmp_path / "local.csv", progress=False)
    # The second node's raylet started its task workers: kill the first one seen at work.
    from ray._private import ray_constants

    second = ray_cluster.list_all_nodes()[1]
    raylet = second.all_processes[ray_constants.PROCESS_TYPE_RAYLET][0].process.pid
    killed, done = [], threading.Event()

    def kill_one_worker():
        while not done.is_set() and not killed:
            for pid in worker_pids(raylet):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                break
            time.sleep(0.01)

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    try:
        remote = score_architectures(job, cells, tmp_path / "ray.csv", progress=False,
                                     executor=on_ray(ray_cluster, max_retries=2))
    finally:
        done.set()
        killer.join()
    assert killed, "no task worker of the second node was seen at work"
    compare_scores(local, remote)


def test_a_search_sweep_on_ray_equals_the_local_backend(ray_cluster):
    table = additive_table(list(itertools.product(SMALL_OPS, repeat=6)), NB201)
    benchmark = Benchmark(NB201, table)
    oracle = proxy_ranking(benchmark, pd.Series(table["test_acc"].to_numpy(), index=table["arch"]), "oracle")
    variants = ["rs+warmup20", "ae", "bp"]
    local = run_variants(variants, benchmark, oracle, 70, runs=2, seed=3)
    remote = run_variants(variants, benchmark, oracle, 70, runs=2, seed=3, executor=on_ray(ray_cluster))
    assert all(np.array_equal(local[name], remote[name]) for name in variants)


def test_reduced_training_on_ray_equals_the_local_backend(ray_cluster, tmp_path):
    images, labels = noise_images(60)
    cells = random_archs(2, seed=12)
    tables = [train_archs(CONFIGS, cells, images, labels, "cifar10", 0, "cpu", tmp_path / f"{name}.parquet",
                          progress=False, executor=executor)
              for name, executor in (("local", ExecutorSettings()), ("ray", on_ray(ray_cluster)))]
    local, remote = (table.drop(columns="seconds").set_index(["config", "arch", "epoch"]).sort_index()
                     for table in tables)
    pd.testing.assert_frame_equal(local, remote, check_exact=True)


def start_cluster(nodes: int = 1):
    from ray.cluster_utils import Cluster

    cluster = Cluster()
    for _ in range(nodes):
        cluster.add_node(num_cpus=1, object_store_memory=100_000_000, include_dashboard=False)
    cluster.wait_for_nodes()
    return cluster


def test_a_head_killed_mid_run_ends_the_run_in_one_line_and_a_new_cluster_resumes_it(tmp_path,
                                                                                     synthetic_data_dir):
    # The driver in a process of its own, as a user runs it: Ray ends a driver that lost its head.
    pytest.importorskip("ray")
    out, journal = tmp_path / "scores.csv", tmp_path / "scores.csv.journal.jsonl"
    argv = ["score", "--proxies", "synflow", "--batch-size", "8", "--data-dir", str(synthetic_data_dir),
            "--no-progress", "--all-cells", "--cells", "0:300", "--out", str(out), "--executor", "ray"]
    first = start_cluster()
    try:
        driver = subprocess.Popen([sys.executable, "-c", "import sys; from zcnas.cli import main; sys.exit(main())",
                                   *argv, "--address", first.address], stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not (journal.exists() and len(journal.read_text().splitlines()) > 3):
            assert driver.poll() is None and time.monotonic() < deadline, "no row journalled"
            time.sleep(0.1)
        first.head_node.kill_all_processes(check_alive=False, allow_graceful=False)
        killed = time.monotonic()
        _, stderr = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            driver.kill()
        first.shutdown()
    assert driver.returncode == 2, stderr
    assert time.monotonic() - killed < 50  # before Ray's own 60 s limit ends the process
    assert "Traceback" not in stderr
    line = stderr.strip().splitlines()[-1]
    assert line.startswith("zcnas: error: the Ray cluster's head at ") and "run the same command again" in line
    finished = {json.loads(row)["arch"] for row in journal.read_text().splitlines()[1:]}
    assert 3 <= len(finished) < 300 and not out.exists()

    second = start_cluster()
    try:
        assert main([*argv, "--address", second.address]) == 0
    finally:
        second.shutdown()
    assert pd.read_csv(out)["arch"].tolist() == [NB201.format(cell) for cell in NB201.all()[:300]]
