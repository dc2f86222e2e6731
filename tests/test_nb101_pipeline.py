"""The NAS-Bench-101 pipeline (nb101/dvc.yaml) under DVC, on a few cells of the real sample:
it runs apart from the default pipeline and its numbers come from its own tables."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from scipy import stats

from conftest import shared_data_dir
from zcnas.pipeline import profile
from zcnas.pipeline.nb101 import PIPELINE, REPORT

REPO = Path(__file__).resolve().parents[1]
pytest.importorskip("dvc")
CELLS = 6


def run(command: list[str], cwd: Path, env: dict) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    mirror = shared_data_dir()
    if not ((mirror / "nb101" / "sample.csv").exists() and (mirror / "cifar10").exists()):
        pytest.skip(f"the NAS-Bench-101 sample or CIFAR-10 is not under {mirror}")
    root = tmp_path_factory.mktemp("nb101-project")
    profile.copy_pipeline(REPO, root, "smoke")
    (root / "nb101").mkdir()
    shutil.copy2(REPO / PIPELINE, root / PIPELINE)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["nb101"].update(sample=CELLS, proxies=["synflow", "snip"])  # the smoke profile's ensembles' members
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**os.environ, "ZCNAS_MIRROR": str(mirror), "ZCNAS_TRACKING": "off",
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
           "PYTHONPATH": str(root / "src")}
    run(["git", "init", "-q"], root, env)
    run([sys.executable, "-m", "dvc", "init", "-q"], root, env)
    output = run([sys.executable, "-m", "dvc", "repro", PIPELINE], root, env)
    return root, env, output


def test_the_nb101_pipeline_runs_its_own_stages_only(project):
    root, env, output = project
    ran = {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")}
    assert ran == {"check_params", f"{PIPELINE}:fetch_nb101", f"{PIPELINE}:score_nb101",
                   f"{PIPELINE}:evaluate_nb101", f"{PIPELINE}:report_nb101"}
    assert not (root / "data" / "scores").exists()  # the default pipeline's
    assert "Running stage" not in run([sys.executable, "-m", "dvc", "repro", PIPELINE], root, env)


def test_its_rho_is_that_of_its_own_tables(project):
    root, _, _ = project
    metrics = json.loads((root / "metrics" / "correlation_nb101.json").read_text())
    scores = pd.read_parquet(root / "data" / "scores_nb101" / "nb101-cifar10.parquet")
    truth = pd.read_parquet(root / "data" / "benchmarks_nb101" / "nb101.parquet")
    joined = scores.merge(truth, on="arch")
    assert len(joined) == CELLS
    assert metrics["cifar10"]["synflow"]["spearman_val"] == pytest.approx(
        stats.spearmanr(joined["synflow"], joined["val_acc"]).statistic)
    summary = json.loads((root / "metrics" / "summary_nb101.json").read_text())
    assert summary["nb101"]["cifar10"]["synflow"] == metrics["cifar10"]["synflow"]["spearman_val"]
    report = (root / REPORT).read_text()
    assert f"| synflow | 0.37 | {metrics['cifar10']['synflow']['spearman_val']:.2f} [" in report
