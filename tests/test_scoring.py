import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch

from zcnas import resumable, scoring
from zcnas.data import Minibatches
from zcnas.errors import ZcnasError
from zcnas.fingerprint import source_digest
from zcnas.scoring import ScoringJob, score_architectures
from zcnas.spaces.nb201 import NB201

PROXIES = ("synflow", "snip", "params")


def make_job(seed=42, proxies=PROXIES):
    generator = torch.Generator().manual_seed(0)
    inputs, targets = torch.randn(4, 3, 32, 32, generator=generator), torch.randint(0, 10, (4,), generator=generator)
    return ScoringJob(NB201, proxies, Minibatches.shared(inputs, targets), num_classes=10, seed=seed, device="cpu")


def archs(count, seed=0):
    rng = random.Random(seed)
    return list(dict.fromkeys(NB201.sample(rng) for _ in range(count)))


def test_table_has_one_row_per_arch_and_a_column_per_proxy(tmp_path):
    cells = archs(4)
    table = score_architectures(make_job(), cells + cells[:1], tmp_path / "scores.parquet", progress=False)
    assert table["arch"].tolist() == [NB201.format(c) for c in cells]
    for name in PROXIES:
        assert name in table and f"seconds_{name}" in table
    assert pd.read_parquet(tmp_path / "scores.parquet").equals(table)
    assert not list(tmp_path.glob("*.journal.jsonl"))  # the journal goes once the table is written


def test_scores_do_not_depend_on_order_or_process(tmp_path):
    cells = archs(4, seed=1)
    forward = score_architectures(make_job(), cells, tmp_path / "a.csv", progress=False)
    backward = score_architectures(make_job(), cells[::-1], tmp_path / "b.csv", progress=False)
    parallel = score_architectures(make_job(), cells, tmp_path / "c.csv", workers=2, progress=False)
    columns = list(PROXIES)
    by_arch = lambda table: table.set_index("arch")[columns].sort_index()  # noqa: E731
    pd.testing.assert_frame_equal(by_arch(forward), by_arch(backward))
    pd.testing.assert_frame_equal(by_arch(forward), by_arch(parallel))


def test_the_global_seed_changes_the_weights(tmp_path):
    cells = archs(2, seed=2)
    a = score_architectures(make_job(seed=1), cells, tmp_path / "a.csv", progress=False)
    b = score_architectures(make_job(seed=2), cells, tmp_path / "b.csv", progress=False)
    assert not a["synflow"].equals(b["synflow"])
    assert a["params"].equals(b["params"])


def test_resume_after_a_crash_scores_nothing_twice(tmp_path, monkeypatch):
    cells = archs(6, seed=3)
    out = tmp_path / "scores.parquet"
    scored = []
    real_score_seeds = scoring.score_seeds

    def crash_after_three(job, arch, seeds, **options):
        if len(scored) == 3:
            raise KeyboardInterrupt  # as if killed
        scored.append(arch)
        return real_score_seeds(job, arch, seeds, **options)

    monkeypatch.setattr(scoring, "score_seeds", crash_after_three)
    with pytest.raises(KeyboardInterrupt):
        score_architectures(make_job(), cells, out, progress=False)
    assert not out.exists()  # no half-written table
    journal = out.with_name(out.name + ".journal.jsonl")
    assert len(journal.read_text().splitlines()) == 1 + 3  # settings + three rows
    with journal.open("a") as handle:
        handle.write('{"arch": "|torn')  # killed mid-write

    scored.clear()
    monkeypatch.setattr(scoring, "score_seeds", lambda job, arch, seeds, **options: (
        scored.append(arch), real_score_seeds(job, arch, seeds, **options))[1])
    with pytest.warns(RuntimeWarning, match="torn"):
        table = score_architectures(make_job(), cells, out, progress=False)
    assert scored == cells[3:]
    assert table["arch"].tolist() == [NB201.format(c) for c in cells]
    fresh = score_architectures(make_job(), cells, tmp_path / "fresh.parquet", progress=False)
    pd.testing.assert_frame_equal(table[list(PROXIES)], fresh[list(PROXIES)])


def test_journal_from_other_settings_is_not_mixed_in(tmp_path, monkeypatch):
    cells = archs(2, seed=4)
    out = tmp_path / "scores.csv"
    journal = out.with_name(out.name + ".journal.jsonl")
    journal.write_text(json.dumps({"settings": {"seed": 0}}) + "\n" + json.dumps({"arch": NB201.format(cells[0])}) + "\n")
    with pytest.warns(RuntimeWarning, match="other settings"):
        table = score_architectures(make_job(), cells, out, progress=False)
    assert table["synflow"].notna().all()


def test_timings_can_go_to_their_own_table_so_scores_rerun_bit_identical(tmp_path):
    cells = archs(2, seed=10)
    first = score_architectures(make_job(), cells, tmp_path / "a.csv", progress=False, timings_out=tmp_path / "ta.csv")
    score_architectures(make_job(), cells, tmp_path / "b.csv", progress=False, timings_out=tmp_path / "tb.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    timings = pd.read_csv(tmp_path / "ta.csv")
    assert list(timings.columns) == ["arch", *[c for c in first.columns if c.startswith("seconds_")]]
    assert not any(c.startswith("seconds_") for c in pd.read_csv(tmp_path / "a.csv").columns)


def test_any_worker_count_gives_bit_identical_tables(tmp_path):
    # Before threads were fixed per worker, one worker ran two threads and two workers
    # one each, and snip differed in the 7th digit.
    cells = archs(5, seed=6)
    job = make_job(proxies=("snip", "grad_norm", "jacob_cov", "synflow"))
    one = score_architectures(job, cells, tmp_path / "one.parquet", workers=1, progress=False)
    two = score_architectures(job, cells, tmp_path / "two.parquet", workers=2, progress=False)
    columns = ["arch", "snip", "grad_norm", "jacob_cov", "synflow", "batch_parts"]
    assert (one[columns] == two[columns]).all().all()


def test_library_call_leaves_the_callers_thread_count_alone(tmp_path):
    before = torch.get_num_threads()
    score_architectures(make_job(), archs(1, seed=7), tmp_path / "s.csv", progress=False)
    assert torch.get_num_threads() == before


def test_journal_settings_name_everything_that_determines_a_row(tmp_path, monkeypatch):
    settings = make_job().settings()
    assert settings["device_type"] == "cpu"
    assert settings["threads"] == 1 and settings["batch_parts"] == 1 and settings["minibatch"] == "shared"
    changed = [ScoringJob(NB201, PROXIES, make_job().batches, 10, 42, "cpu", threads=2),
               ScoringJob(NB201, PROXIES, make_job().batches, 10, 42, "cpu", batch_parts=2),
               ScoringJob(NB201, PROXIES, make_job().batches, 10, 42, "cpu", speed_kernels=not settings["speed_kernels"]),
               make_job(seed=43)]
    assert all(job.settings() != settings for job in changed)
    # The journal adds the code that computes a row and torch's version.
    monkeypatch.setattr(scoring, "with_aggregates", lambda table: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        score_architectures(make_job(), archs(1), tmp_path / "s.csv", progress=False)
    header = json.loads((tmp_path / "s.csv.journal.jsonl").read_text().splitlines()[0])["settings"]
    assert header == {**settings, "code": source_digest(*scoring.SCORING_CODE), "torch": torch.__version__}


def test_a_journal_from_other_code_is_set_aside_not_resumed(tmp_path, monkeypatch):
    cells = archs(3, seed=8)
    out = tmp_path / "scores.csv"
    monkeypatch.setattr(resumable, "source_digest", lambda *parts: "old-code")
    real_score_seeds = scoring.score_seeds

    def crash_after_one(job, arch, seeds, **options):
        if crash_after_one.calls == 1:
            raise KeyboardInterrupt
        crash_after_one.calls += 1
        return real_score_seeds(job, arch, seeds, **options)

    crash_after_one.calls = 0
    monkeypatch.setattr(scoring, "score_seeds", crash_after_one)
    with pytest.raises(KeyboardInterrupt):
        score_architectures(make_job(), cells, out, progress=False)
    monkeypatch.setattr(resumable, "source_digest", lambda *parts: "new-code")
    scored = []
    monkeypatch.setattr(scoring, "score_seeds", lambda job, arch, seeds, **options: (
        scored.append(arch), real_score_seeds(job, arch, seeds, **options))[1])
    with pytest.warns(RuntimeWarning, match="other settings"):
        table = score_architectures(make_job(), cells, out, progress=False)
    assert scored == cells  # nothing reused from the old code's journal
    assert len(table) == 3


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_worker_or_thread_counts_fail_before_any_journal(tmp_path, bad):
    with pytest.raises(ZcnasError, match="workers must be a positive integer"):
        score_architectures(make_job(), archs(1), tmp_path / "s.csv", workers=bad, progress=False)
    with pytest.raises(ZcnasError, match="threads must be a positive integer"):
        ScoringJob(NB201, PROXIES, make_job().batches, 10, 42, "cpu", threads=bad)
    assert not list(tmp_path.iterdir())


def test_per_arch_minibatches_are_seeded_by_the_architecture(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(200, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(200) % 10
    batches = Minibatches.per_arch(images, labels, "cifar10", "random", 8, seed=1)
    first, second = batches.batch("a"), batches.batch("b")
    assert torch.equal(batches.batch("a")[0], first[0]) and not torch.equal(first[0], second[0])
    shared = Minibatches.shared(*first)
    assert torch.equal(shared.batch("b")[0], first[0]) and shared.digest() != batches.digest()
    job = ScoringJob(NB201, ("snip",), batches, 10, 42, "cpu")
    cells = archs(3, seed=9)
    forward = score_architectures(job, cells, tmp_path / "f.csv", progress=False)
    backward = score_architectures(job, cells[::-1], tmp_path / "b.csv", workers=2, progress=False)
    assert forward.set_index("arch")["snip"].sort_index().equals(backward.set_index("arch")["snip"].sort_index())


def test_cli_scores_one_arch_as_json(synthetic_data_dir, no_mirror, capsys):
    from zcnas.cli import main

    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    code = main(["score", "--arch", arch, "--proxies", "synflow,params", "--batch-size", "8",
                 "--data-dir", str(synthetic_data_dir)])
    assert code == 0
    row = json.loads(capsys.readouterr().out)
    assert row["arch"] == arch and row["params"] > 0 and row["seconds_synflow"] > 0


def test_cli_one_arch_gives_the_numbers_of_a_batch_run(synthetic_data_dir, no_mirror, capsys, tmp_path):
    from zcnas.cli import main

    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    common = ["--proxies", "snip,jacob_cov", "--batch-size", "8", "--data-dir", str(synthetic_data_dir)]
    threads = torch.get_num_threads()
    assert main(["score", "--arch", arch, *common]) == 0
    assert torch.get_num_threads() == threads  # the caller's setting is restored
    single = json.loads(capsys.readouterr().out)
    (tmp_path / "archs.txt").write_text(arch + "\n")
    assert main(["score", "--archs", str(tmp_path / "archs.txt"), "--out", str(tmp_path / "s.csv"), "--no-progress",
                 *common]) == 0
    batch = pd.read_csv(tmp_path / "s.csv").iloc[0]
    assert single["snip"] == batch["snip"] and single["jacob_cov"] == batch["jacob_cov"]


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--arch", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"], "'conv'"),
        (["--arch", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--proxies", "synflw"], "'synflw'"),
        (["--arch", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--dataset", "mnist"], "'mnist'"),
        (["--arch", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--space", "nb999"], "'nb999'"),
    ],
)
def test_cli_bad_input_exits_nonzero_naming_it(argv, fragment, tmp_path):
    result = subprocess.run([sys.executable, "-m", "zcnas.cli", "score", "--data-dir", str(tmp_path), *argv],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_cli_resumes_after_sigkill(tmp_path, synthetic_data_dir):
    cells = archs(30, seed=5)
    arch_file = tmp_path / "archs.txt"
    arch_file.write_text("# thirty random cells\n" + "\n".join(NB201.format(c) for c in cells) + "\n")
    out = tmp_path / "scores.csv"
    journal = out.with_name(out.name + ".journal.jsonl")
    command = [sys.executable, "-m", "zcnas.cli", "score", "--archs", str(arch_file), "--out", str(out),
               "--proxies", "synflow,grad_norm", "--batch-size", "8", "--data-dir", str(synthetic_data_dir),
               "--no-progress"]
    env = {**os.environ, "ZCNAS_MIRROR": ""}
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and (not journal.exists() or len(journal.read_text().splitlines()) < 4):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = len(journal.read_text().splitlines()) - 1
    assert 3 <= done_before < len(cells) and not out.exists()

    subprocess.run(command, env=env, check=True, stderr=subprocess.DEVNULL)
    table = pd.read_csv(out)
    assert table["arch"].tolist() == [NB201.format(c) for c in cells]
    assert table["synflow"].notna().all() and not journal.exists()


def test_scoring_runs_deterministic_float32_kernels(tmp_path, monkeypatch):
    # TF32 (PyTorch's default for GPU convolutions) moved GraSP's ranking on an H200; a
    # proxy reading the flags while it is scored sees them off, whatever they were.
    from zcnas.proxies import PROXIES
    from zcnas.proxies.registry import Proxy

    seen = []

    def flags(context) -> float:
        seen.append((torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32,
                     torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark))
        return 0.0

    monkeypatch.setitem(PROXIES, "flags", Proxy("flags", flags, frozenset(), higher_is_better=True, uses_labels=False,
                                                uses_data=False, citation="test", paper=False))
    # The flags' own setters (monkeypatch cannot undo torch.backends.cuda.matmul's).
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    before = (cudnn.allow_tf32, matmul.allow_tf32, cudnn.deterministic, cudnn.benchmark)
    cudnn.allow_tf32, matmul.allow_tf32, cudnn.deterministic, cudnn.benchmark = True, True, False, True
    try:
        score_architectures(make_job(proxies=("flags",)), archs(1), tmp_path / "flags.csv", progress=False)
    finally:
        cudnn.allow_tf32, matmul.allow_tf32, cudnn.deterministic, cudnn.benchmark = before
    assert seen == [(False, False, True, False)]


def _without_seconds(table):
    return table.drop(columns=[column for column in table if column.startswith("seconds_")])


@pytest.mark.parametrize("workers", [1, 2])
def test_scoring_under_several_seeds_gives_each_seeds_own_table(tmp_path, workers):
    cells, seeds = archs(4, seed=12), (42, 7, 1234)
    outs = [tmp_path / f"seed{seed}.parquet" for seed in seeds]
    tables = scoring.score_under_seeds(make_job(), seeds, cells, outs, workers=workers, progress=False,
                                       timings_outs=[tmp_path / f"timings{seed}.csv" for seed in seeds])
    for seed, out, table in zip(seeds, outs, tables):
        alone = score_architectures(make_job(seed=seed), cells, tmp_path / f"alone{seed}.parquet", progress=False)
        pd.testing.assert_frame_equal(_without_seconds(table), _without_seconds(alone))
        pd.testing.assert_frame_equal(pd.read_parquet(out), _without_seconds(alone))
    assert not tables[0]["synflow"].equals(tables[1]["synflow"])
    assert not list(tmp_path.glob("*.journal.jsonl"))


def test_a_cell_is_built_once_for_all_its_seeds_where_the_space_can_reinitialise(tmp_path, monkeypatch):
    built, real_build = [], NB201.build
    monkeypatch.setattr(NB201, "build", lambda arch, **options: (built.append(arch), real_build(arch, **options))[1])
    cells = archs(3, seed=13)
    scoring.score_under_seeds(make_job(), (1, 2, 3), cells, [tmp_path / f"{seed}.csv" for seed in (1, 2, 3)],
                              progress=False)
    assert built[1:] == cells  # the first build checks the space supports the proxies


def test_a_space_that_cannot_reinitialise_builds_each_seed_afresh(tmp_path):
    from zcnas.spaces.nb101 import NB101

    generator = torch.Generator().manual_seed(0)
    batch = Minibatches.shared(torch.randn(2, 3, 32, 32, generator=generator), torch.tensor([0, 1]))
    job = ScoringJob(NB101, ("synflow", "params"), batch, num_classes=10, seed=0, device="cpu")
    cells = [NB101.sample(random.Random(seed)) for seed in (1, 2)]
    together = scoring.score_under_seeds(job, (5, 6), cells, [tmp_path / "5.csv", tmp_path / "6.csv"], progress=False)
    for seed, table in zip((5, 6), together):
        alone = score_architectures(ScoringJob(NB101, ("synflow", "params"), batch, num_classes=10, seed=seed,
                                               device="cpu"), cells, tmp_path / f"alone{seed}.csv", progress=False)
        pd.testing.assert_frame_equal(_without_seconds(table), _without_seconds(alone))


def test_several_seeds_resume_a_cell_missing_from_any_of_their_journals(tmp_path, monkeypatch):
    cells, seeds = archs(4, seed=14), (3, 4)
    outs = [tmp_path / "a.csv", tmp_path / "b.csv"]
    scored, real_score_seeds = [], scoring.score_seeds

    def crash_after_two(job, arch, seeds, **options):
        if len(scored) == 2:
            raise KeyboardInterrupt
        scored.append(arch)
        return real_score_seeds(job, arch, seeds, **options)

    monkeypatch.setattr(scoring, "score_seeds", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        scoring.score_under_seeds(make_job(), seeds, cells, outs, progress=False)
    # As if killed between a cell's two rows: its second seed's row is lost.
    second = outs[1].with_name(outs[1].name + ".journal.jsonl")
    second.write_text("".join(second.read_text().splitlines(keepends=True)[:-1]))
    scored.clear()
    monkeypatch.setattr(scoring, "score_seeds", lambda job, arch, seeds, **options: (
        scored.append(arch), real_score_seeds(job, arch, seeds, **options))[1])
    tables = scoring.score_under_seeds(make_job(), seeds, cells, outs, progress=False)
    assert scored == cells[1:]
    for seed, table in zip(seeds, tables):
        fresh = score_architectures(make_job(seed=seed), cells, tmp_path / f"fresh{seed}.csv", progress=False)
        pd.testing.assert_frame_equal(_without_seconds(table), _without_seconds(fresh))


@pytest.mark.parametrize("seeds, tables, fragment", [((1, 1), 2, r"distinct seeds.*\[1, 1\]"),
                                                     ((1, 2), 1, "got seeds \\[1, 2\\] and 1 tables"),
                                                     ((), 0, "distinct seeds")])
def test_several_seeds_need_distinct_seeds_and_a_table_each(tmp_path, seeds, tables, fragment):
    with pytest.raises(ZcnasError, match=fragment):
        scoring.score_under_seeds(make_job(), seeds, archs(1), [tmp_path / f"{n}.csv" for n in range(tables)],
                                  progress=False)
    assert not list(tmp_path.iterdir())
