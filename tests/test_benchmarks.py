"""Tests for zcnas.benchmarks: readers, official-API conversion, validation, lookup, fetch and synthetic tables."""

import json
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from nasbench_pytorch.model import ModelSpec

from zcnas import resources
from zcnas.benchmarks import (
    accuracy_by_arch,
    convert_nb101_api,
    convert_nb201_api,
    fetch_ground_truth,
    find_benchmark,
    lookup_accuracy,
    read_ground_truth,
    read_nb101_sample,
    read_nb201_table,
    synthetic_nb201,
    validate_ground_truth,
    write_ground_truth,
    write_synthetic_nb201,
)
from zcnas.errors import ZcnasError
from zcnas.resources import MIRROR_ENV
from zcnas.spaces.nb201 import NB201

NUM_CELLS = 5**6
DATASETS = ("cifar10", "cifar100", "imagenet16-120")
WIDE_PREFIX = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16-120": "imagenet16"}
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
PTH = "NAS-Bench-201-v1_1-096897.pth"
NATS = "NATS-tss-v1_0-3ffb9-simple"
TFRECORD = "nasbench_only108.tfrecord"


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def synthetic() -> pd.DataFrame:
    return synthetic_nb201(seed=3)


def wide_table(n: int = NUM_CELLS) -> pd.DataFrame:
    """The first `n` NB201 cells in the wide accuracy.csv layout, with values that encode index and column."""
    index = np.arange(n)
    frame = pd.DataFrame({"index": index, "arch": [NB201.format(cell) for cell in NB201.all()[:n]]})
    for offset, column in enumerate(["cifar10_val", "cifar10_test", "cifar100_val", "cifar100_test",
                                     "imagenet16_val", "imagenet16_test"]):
        frame[column] = 10 * (offset + 1) + (index % 1000) / 1000
    return frame


@pytest.fixture(scope="module")
def wide_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("wide") / "accuracy.csv"
    wide_table().to_csv(path, index=False)
    return path


def small_nb201() -> pd.DataFrame:
    """A valid-looking long table of three cells on the three datasets (too few rows for the count check)."""
    archs = [BEST, ALL_NONE, NB201.format(NB201.all()[7])]
    rows = [
        {"space": "nb201", "index": i, "arch": arch, "dataset": dataset, "val_acc": 50.0 + i, "test_acc": 60.0 + i}
        for dataset in DATASETS
        for i, arch in enumerate(archs)
    ]
    return pd.DataFrame(rows)


def error_of(call, *args, **kwargs) -> str:
    with pytest.raises(ZcnasError) as info:
        call(*args, **kwargs)
    return str(info.value)


# ---------------------------------------------------------------- tidy NB201 table


def test_nb201_table_becomes_three_rows_per_cell_with_the_right_columns(wide_csv):
    table = read_nb201_table(wide_csv)
    assert len(table) == 3 * NUM_CELLS
    assert list(table.columns) == ["space", "index", "arch", "dataset", "val_acc", "test_acc"]
    row = table[(table["index"] == 1234)].set_index("dataset")
    # wide_table: value = 10 * (column position + 1) + (index % 1000) / 1000.
    assert row.loc["cifar10", ["val_acc", "test_acc"]].tolist() == pytest.approx([10.234, 20.234])
    assert row.loc["cifar100", ["val_acc", "test_acc"]].tolist() == pytest.approx([30.234, 40.234])
    assert row.loc["imagenet16-120", ["val_acc", "test_acc"]].tolist() == pytest.approx([50.234, 60.234])
    assert set(row["arch"]) == {NB201.format(NB201.all()[1234])}


def test_ground_truth_round_trips_through_parquet(wide_csv, tmp_path):
    table = read_nb201_table(wide_csv)
    write_ground_truth(table, tmp_path / "gt.parquet")
    pd.testing.assert_frame_equal(read_ground_truth(tmp_path / "gt.parquet"), table)


def test_small_hand_made_table_is_rejected_as_truncated(tmp_path):
    path = tmp_path / "accuracy.csv"
    wide_table(3).to_csv(path, index=False)
    message = error_of(read_nb201_table, path)
    assert str(path) in message and "3 of the 15,625" in message and "truncated" in message


# ---------------------------------------------------------------- validation


def setter(row: int, column: str, value):
    """A change that puts `value` at (row, column), whatever the column's type."""

    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.astype({column: object})
        frame.loc[row, column] = value
        return frame

    return change


@pytest.mark.parametrize(
    "change, fragments",
    [
        (lambda f: f.drop(columns=["test_acc", "dataset"]), ["missing column(s) dataset, test_acc"]),
        (setter(4, "val_acc", np.nan),
         ["'val_acc' has 1 missing value", "row 4", "dataset='cifar100'"]),
        (setter(5, "test_acc", 100.5), ["'test_acc' is 100.5", "row 5", "[0, 100]"]),
        (setter(2, "val_acc", -1.0), ["'val_acc' is -1.0", "row 2"]),
        (setter(1, "val_acc", "high"), ["'val_acc' holds 'high'", "row 1", "expected a number"]),
        (lambda f: f.assign(val_acc=f["val_acc"] / 100), ["at most 1", "percentages"]),
        (setter(0, "arch", BEST.replace("nor_conv_3x3~0|+", "conv~0|+", 1)),
         ["bad arch at row 0", "unknown NB201 operation 'conv'"]),
        (setter(0, "arch", " " + BEST), ["not in nb201's table form", repr(BEST)]),
        (setter(1, "arch", BEST), ["appears more than once", "row 0", "row 1"]),
        (setter(3, "dataset", "imagenet"), ["'dataset' is 'imagenet'", "row 3", "cifar100"]),
        (setter(3, "space", "nb101"), ["'space' is 'nb101'", "expected one of: nb201"]),
        (setter(3, "index", 1.5), ["'index' is 1.5", "integer"]),
        (setter(3, "index", 1), ["has 2 different"]),
    ],
)
def test_validation_names_the_problem(change, fragments):
    message = error_of(validate_ground_truth, change(small_nb201()), "nb201", "my-table.csv")
    assert message.startswith("my-table.csv: ")
    for fragment in fragments:
        assert fragment in message


def test_validation_reports_missing_architectures_per_dataset(synthetic):
    message = error_of(validate_ground_truth, synthetic.drop(index=NUM_CELLS + 5), "nb201")
    assert "15,624 of the 15,625 NB201 architectures for cifar100" in message


def test_validation_types_and_accepts_a_complete_table(synthetic):
    loose = synthetic.astype({"index": "float64"}).sample(frac=1.0, random_state=0)
    table = validate_ground_truth(loose, "nb201")
    assert table["index"].dtype == np.int64
    assert len(table) == 3 * NUM_CELLS


def test_missing_test_accuracy_is_allowed_for_nb101_only():
    arch = '{"matrix":[[0,1],[0,0]],"ops":["input","output"]}'
    nb101 = pd.DataFrame([{"space": "nb101", "index": 0, "arch": arch, "dataset": "cifar10", "val_acc": 80.0,
                           "test_acc": np.nan}])
    assert validate_ground_truth(nb101, "nb101")["test_acc"].isna().all()
    message = error_of(validate_ground_truth, setter(0, "test_acc", np.nan)(small_nb201()), "nb201")
    assert "'test_acc' has 1 missing value" in message


# ---------------------------------------------------------------- damaged files


def test_csv_cut_mid_line_is_reported_as_truncated(wide_csv, tmp_path):
    text = wide_csv.read_text()
    cut = tmp_path / "accuracy.csv"
    cut.write_text(text[: text.index("\n", len(text) // 2) + 40])  # 40 characters into a line
    message = error_of(read_nb201_table, cut)
    assert str(cut) in message and "ends in the middle of a line" in message and "truncated" in message


def test_csv_cut_at_a_line_end_is_reported_as_incomplete(wide_csv, tmp_path):
    text = wide_csv.read_text()
    cut = tmp_path / "accuracy.csv"
    cut.write_text(text[: text.index("\n", len(text) // 2) + 1])
    message = error_of(read_nb201_table, cut)
    assert str(cut) in message and "truncated or incomplete" in message


@pytest.mark.parametrize(
    "name, content, fragments",
    [
        ("accuracy.csv", b"", ["is empty"]),
        ("accuracy.csv", bytes(range(256)) * 8, ["cannot read", "corrupt"]),
        ("accuracy.parquet", b"PAR1 not really parquet", ["cannot read", "corrupt"]),
        ("accuracy.csv", b"index,arch\n0,x\n", ["missing column(s) cifar10_val"]),
        ("accuracy.txt", b"index,arch\n", ["unsupported table format"]),
    ],
)
def test_damaged_files_name_the_file_and_the_problem(tmp_path, name, content, fragments):
    path = tmp_path / name
    path.write_bytes(content)
    message = error_of(read_nb201_table, path)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_nb101_sample_cut_inside_a_quoted_field_is_reported(tmp_path):
    path = tmp_path / "sample.csv"
    path.write_text('matrix,ops,cifar10_val\n"[[0, 1], [0, 0]]","[""input"", ""out')
    message = error_of(read_nb101_sample, path)
    assert str(path) in message and "truncated" in message


def test_nb101_sample_with_bad_json_names_the_row(tmp_path):
    path = tmp_path / "sample.csv"
    path.write_text('matrix,ops,cifar10_val\n"[[0, 1], [0, 0]]","[""input"", ""output""]",90\n"[[0, 1]","[]",91\n')
    message = error_of(read_nb101_sample, path)
    assert "column 'matrix' at row 1" in message and "not valid JSON" in message


# ---------------------------------------------------------------- official NB201 APIs (stand-ins)

# The stand-in's numbers: dataset base + key code + (index % 1000) / 1000.
API_BASE = {"cifar10-valid": 10, "cifar10": 20, "cifar100": 30, "ImageNet16-120": 40}
API_KEY = {"valid-accuracy": 1, "test-accuracy": 2, "train-all-time": 3}


class FakeNB201API:
    """Answers the NASBench201API / NATS-Bench queries the converter makes, insisting on the documented arguments."""

    def __init__(self, size: int = NUM_CELLS, drop_key: str | None = None):
        self.cells = NB201.all()[:size]
        self.drop_key = drop_key

    def __len__(self):
        return len(self.cells)

    def arch(self, index):
        return NB201.format(self.cells[index])

    def get_more_info(self, index, dataset, iepoch=None, hp="12", is_random=True):
        assert hp == "200" and is_random is False
        fraction = (index % 1000) / 1000
        info = {key: API_BASE[dataset] + code + fraction for key, code in API_KEY.items()}
        info.pop(self.drop_key, None)
        return info

    def get_cost_info(self, index, dataset, hp="12"):
        return {"params": API_BASE[dataset] / 100 + (index % 1000) / 1000, "flops": API_BASE[dataset] * 10.0,
                "latency": 0.01}


def test_nb201_api_conversion_takes_each_figure_from_the_documented_dataset():
    table = convert_nb201_api(FakeNB201API())
    assert len(table) == 3 * NUM_CELLS
    row = table[table["index"] == 2345].set_index("dataset")
    columns = ["val_acc", "test_acc", "train_seconds", "params_m", "flops_m"]
    # cifar10: val from 'cifar10-valid' (base 10), test, time and cost from 'cifar10' (base 20).
    assert row.loc["cifar10", columns].tolist() == pytest.approx([11.345, 22.345, 23.345, 0.545, 200.0])
    assert row.loc["cifar100", columns].tolist() == pytest.approx([31.345, 32.345, 33.345, 0.645, 300.0])
    assert row.loc["imagenet16-120", columns].tolist() == pytest.approx([41.345, 42.345, 43.345, 0.745, 400.0])
    assert set(row["arch"]) == {NB201.format(NB201.all()[2345])}


def test_nb201_api_conversion_names_a_missing_field():
    message = error_of(convert_nb201_api, FakeNB201API(size=2, drop_key="valid-accuracy"))
    assert "architecture 0 on 'cifar10-valid' has no 'valid-accuracy'" in message


def test_nb201_api_conversion_validates_the_result():
    message = error_of(convert_nb201_api, FakeNB201API(size=10))
    assert "10 of the 15,625" in message


def test_pth_and_nats_files_are_read_through_their_packages(tmp_path, monkeypatch):
    pth, nats_dir = tmp_path / PTH, tmp_path / NATS
    pth.write_bytes(b"stand-in")
    nats_dir.mkdir()
    calls = []

    def nb201_api(path, verbose=True):
        calls.append(("nas_201_api", path, verbose))
        return FakeNB201API()

    def create(path, search_space, fast_mode=False, verbose=True):
        calls.append(("nats_bench", path, search_space, fast_mode, verbose))
        return FakeNB201API()

    monkeypatch.setitem(sys.modules, "nas_201_api", types.SimpleNamespace(NASBench201API=nb201_api))
    monkeypatch.setitem(sys.modules, "nats_bench", types.SimpleNamespace(create=create))
    from_pth = fetch_ground_truth("nb201", "pth", raw_dir=tmp_path, out=tmp_path / "pth.parquet")
    from_nats = fetch_ground_truth("nb201", "nats", raw_dir=tmp_path, out=tmp_path / "nats.parquet")
    assert calls == [("nas_201_api", str(pth), False), ("nats_bench", str(nats_dir), "tss", True, False)]
    pd.testing.assert_frame_equal(from_pth, from_nats)
    pd.testing.assert_frame_equal(read_ground_truth(tmp_path / "pth.parquet"), from_pth)


@pytest.mark.parametrize(
    "source, filename, module, hint",
    [("pth", PTH, "nas_201_api", "pip install nas-bench-201"), ("nats", NATS, "nats_bench", "pip install nats_bench")],
)
def test_missing_api_package_says_how_to_install_it(tmp_path, monkeypatch, no_mirror, source, filename, module, hint):
    (tmp_path / filename).write_bytes(b"stand-in")
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    message = error_of(fetch_ground_truth, "nb201", source, raw_dir=tmp_path, out=tmp_path / "gt.parquet")
    assert module in message and hint in message


def test_api_that_cannot_load_the_file_names_it(tmp_path, monkeypatch):
    (tmp_path / PTH).write_bytes(b"stand-in")

    def broken(path, verbose=True):
        raise EOFError("Ran out of input")

    monkeypatch.setitem(sys.modules, "nas_201_api", types.SimpleNamespace(NASBench201API=broken))
    message = error_of(fetch_ground_truth, "nb201", "pth", raw_dir=tmp_path, out=tmp_path / "gt.parquet")
    assert str(tmp_path / PTH) in message and "EOFError" in message and "corrupt" in message


# ---------------------------------------------------------------- official NB101 API (stand-in)


def nb101_metrics(matrix, ops, params, val, test, seconds):
    fixed = {"module_adjacency": np.array(matrix, dtype=np.int8), "module_operations": ops,
             "trainable_parameters": params, "module_hash": "unused"}
    runs = [{"final_validation_accuracy": v, "final_test_accuracy": t, "final_training_time": s,
             "final_train_accuracy": 1.0} for v, t, s in zip(val, test, seconds)]
    return fixed, {108: runs}


class FakeNASBench:
    def __init__(self, path=None):
        self.path = path
        self.metrics = {
            "bbb": nb101_metrics([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"],
                                 1_500_000, [0.90, 0.91, 0.92], [0.89, 0.90, 0.91], [100.0, 110.0, 120.0]),
            # Vertex 2 does not reach the output, so the cell prunes to input -> maxpool -> output.
            "aaa": nb101_metrics([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]],
                                 ["input", "maxpool3x3", "conv1x1-bn-relu", "output"],
                                 250_000, [0.5, 0.6, 0.7], [0.4, 0.5, 0.6], [10.0, 20.0, 60.0]),
        }

    def hash_iterator(self):
        return iter(self.metrics)

    def get_metrics_from_hash(self, module_hash):
        return self.metrics[module_hash]


def test_nb101_api_conversion_averages_runs_in_percent():
    table = convert_nb101_api(FakeNASBench())
    assert table["index"].tolist() == [0, 1]  # hash order: "aaa" first although the API yields "bbb" first
    assert table["arch"].tolist() == [
        '{"matrix":[[0,1,0],[0,0,1],[0,0,0]],"ops":["input","maxpool3x3","output"]}',
        '{"matrix":[[0,1,1],[0,0,1],[0,0,0]],"ops":["input","conv3x3-bn-relu","output"]}',
    ]
    assert table["val_acc"].tolist() == pytest.approx([60.0, 91.0])
    assert table["test_acc"].tolist() == pytest.approx([50.0, 90.0])
    assert table["train_seconds"].tolist() == pytest.approx([30.0, 110.0])
    assert table["params_m"].tolist() == pytest.approx([0.25, 1.5])
    assert set(table["dataset"]) == {"cifar10"} and set(table["space"]) == {"nb101"}


def test_nb101_api_conversion_names_malformed_metrics():
    api = FakeNASBench()
    del api.metrics["bbb"][1][108][0]["final_test_accuracy"]
    message = error_of(convert_nb101_api, api)
    assert "cell bbb" in message and "final_test_accuracy" in message


def test_tfrecord_is_read_through_the_nasbench_package(tmp_path, monkeypatch):
    (tmp_path / "nb101").mkdir()
    record = tmp_path / "nb101" / TFRECORD
    record.write_bytes(b"stand-in")
    api_module = types.SimpleNamespace(NASBench=FakeNASBench)
    monkeypatch.setitem(sys.modules, "nasbench", types.SimpleNamespace(api=api_module))
    monkeypatch.setitem(sys.modules, "nasbench.api", api_module)
    table = fetch_ground_truth("nb101", "tfrecord", raw_dir=tmp_path, out=tmp_path / "nb101.parquet")
    pd.testing.assert_frame_equal(table, convert_nb101_api(FakeNASBench()))
    pd.testing.assert_frame_equal(read_ground_truth(tmp_path / "nb101.parquet"), table)


# ---------------------------------------------------------------- finding the source


def test_fetch_reads_the_mirror_layout_and_writes_parquet(mirror, tmp_path, wide_csv):
    (mirror / "nb201").mkdir()
    (mirror / "nb201" / "accuracy.csv").write_bytes(wide_csv.read_bytes())
    out = tmp_path / "out" / "nb201.parquet"
    table = fetch_ground_truth("nb201", raw_dir=tmp_path / "raw", out=out)
    pd.testing.assert_frame_equal(pd.read_parquet(out), table)
    assert len(table) == 3 * NUM_CELLS and not list(tmp_path.glob("out/.*"))  # no temporary left behind


def test_auto_prefers_sources_in_order_and_local_over_mirror(mirror, tmp_path):
    raw = tmp_path / "raw"
    (mirror / PTH).write_bytes(b"x")
    assert find_benchmark("nb201", "auto", raw)[1] == mirror / PTH
    (mirror / "nb201").mkdir()
    (mirror / "nb201" / "accuracy.csv").write_bytes(b"x")
    source, path = find_benchmark("nb201", "auto", raw)
    assert (source.name, path) == ("table", mirror / "nb201" / "accuracy.csv")
    (raw / "nb201").mkdir(parents=True)
    (raw / "nb201" / "accuracy.csv").write_bytes(b"x")
    assert find_benchmark("nb201", "auto", raw)[1] == raw / "nb201" / "accuracy.csv"
    (mirror / "nb201" / NATS).mkdir()
    assert find_benchmark("nb201", "nats", raw)[1] == mirror / "nb201" / NATS


def test_offline_without_files_names_files_places_and_where_to_get_them(tmp_path, no_mirror):
    message = error_of(fetch_ground_truth, "nb201", raw_dir=tmp_path / "raw", out=tmp_path / "gt.parquet")
    for fragment in ["accuracy.csv", PTH, NATS, str(tmp_path / "raw"), MIRROR_ENV,
                     "https://github.com/D-X-Y/NAS-Bench-201", "https://github.com/D-X-Y/NATS-Bench"]:
        assert fragment in message
    assert not (tmp_path / "gt.parquet").exists()


def test_nb101_download_is_skipped_without_the_package_that_reads_it(tmp_path, no_mirror, monkeypatch):
    monkeypatch.setitem(sys.modules, "nasbench", None)
    monkeypatch.setattr(resources, "_download", lambda *args: pytest.fail("downloaded an unreadable file"))
    message = error_of(fetch_ground_truth, "nb101", raw_dir=tmp_path, out=tmp_path / "gt.parquet")
    assert "sample.csv" in message and TFRECORD in message and "Not downloaded" in message
    assert "github.com/google-research/nasbench" in message


def test_nb101_failed_download_names_the_url(tmp_path, no_mirror, monkeypatch):
    api_module = types.SimpleNamespace(NASBench=FakeNASBench)
    monkeypatch.setitem(sys.modules, "nasbench", types.SimpleNamespace(api=api_module))
    monkeypatch.setitem(sys.modules, "nasbench.api", api_module)

    def offline(url, target, md5):
        raise OSError("network is unreachable")

    monkeypatch.setattr(resources, "_download", offline)
    message = error_of(fetch_ground_truth, "nb101", "tfrecord", raw_dir=tmp_path, out=tmp_path / "gt.parquet")
    assert f"https://storage.googleapis.com/nasbench/{TFRECORD}" in message and "network is unreachable" in message


@pytest.mark.parametrize(
    "args, fragments",
    [
        (("nb201", "official"), ["'official'", "auto, table, pth, nats"]),
        (("nb301",), ["'nb301'", "nb201, nb101"]),
        (("nb101", "auto", "raw", "gt.csv"), ["'gt.csv'", ".parquet"]),
    ],
)
def test_bad_fetch_arguments_are_named(args, fragments):
    message = error_of(fetch_ground_truth, *args)
    for fragment in fragments:
        assert fragment in message


def test_reading_a_missing_ground_truth_says_how_to_make_it(tmp_path):
    assert "fetch_ground_truth" in error_of(read_ground_truth, tmp_path / "nope.parquet")


# ---------------------------------------------------------------- queries


def test_lookup_by_arch_string(synthetic):
    by_arch = accuracy_by_arch(synthetic, "cifar100", "val_acc")
    assert len(by_arch) == NUM_CELLS and by_arch.index.is_unique
    expected = synthetic[(synthetic["dataset"] == "cifar100") & (synthetic["arch"] == BEST)]["val_acc"].item()
    assert by_arch[BEST] == expected
    looked_up = lookup_accuracy(synthetic, "cifar100", [ALL_NONE, BEST, ALL_NONE], "val_acc")
    assert looked_up.index.tolist() == [ALL_NONE, BEST, ALL_NONE]
    assert looked_up.tolist() == [by_arch[ALL_NONE], expected, by_arch[ALL_NONE]]


def test_lookup_errors_name_the_bad_value(synthetic):
    assert "'train_acc'" in error_of(accuracy_by_arch, synthetic, "cifar10", "train_acc")
    assert "'imagenet'" in error_of(accuracy_by_arch, synthetic, "imagenet")
    message = error_of(lookup_accuracy, synthetic, "cifar10", [BEST, "|none~0|"])
    assert "1 arch(s) not in the cifar10 ground truth" in message and "'|none~0|'" in message


# ---------------------------------------------------------------- synthetic ground truth


def test_synthetic_table_is_deterministic_and_complete(synthetic, tmp_path):
    written = write_synthetic_nb201(tmp_path / "nb201" / "accuracy.csv", seed=3)
    pd.testing.assert_frame_equal(written, synthetic)
    # Written in the source layout, it reads back through the real table reader.
    pd.testing.assert_frame_equal(read_nb201_table(tmp_path / "nb201" / "accuracy.csv"), synthetic,
                                  check_exact=False, rtol=1e-12)
    other = synthetic_nb201(seed=4)
    assert (other["arch"] == synthetic["arch"]).all() and not np.allclose(other["test_acc"], synthetic["test_acc"])
    assert set(synthetic.groupby("dataset")["arch"].nunique()) == {NUM_CELLS}


def test_synthetic_accuracies_depend_plausibly_on_the_cell(synthetic):
    test = synthetic.pivot(index="arch", columns="dataset", values="test_acc")
    # Output cut off from the input: chance level (100 / classes).
    cut_off = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|"
    for arch in (ALL_NONE, cut_off):
        assert test.loc[arch].tolist() == pytest.approx([10.0, 100 / 100, 100 / 120], abs=0.3)
    skip_only = "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|"
    for dataset in DATASETS:
        ranked = test[dataset].rank(pct=True)
        assert ranked[BEST] > 0.9 and ranked[skip_only] < 0.3
    assert test["cifar10"].max() < 96 and (test["cifar10"] > test["cifar100"]).mean() > 0.99


# ---------------------------------------------------------------- the real shared files


def test_real_nb201_accuracy_table(shared_file):
    path = shared_file("nb201/accuracy.csv")
    table = read_nb201_table(path)
    assert len(table) == 46_875
    assert table.loc[table["dataset"] == "cifar10", "test_acc"].max() == pytest.approx(94.37, abs=0.005)
    raw = pd.read_csv(path).set_index("arch")
    sample = raw.index[::997]
    for dataset, prefix in WIDE_PREFIX.items():
        assert lookup_accuracy(table, dataset, sample, "val_acc").tolist() == raw.loc[sample, f"{prefix}_val"].tolist()
        assert lookup_accuracy(table, dataset, sample).tolist() == raw.loc[sample, f"{prefix}_test"].tolist()


def test_real_nb101_sample_has_one_row_per_pruned_cell(shared_file):
    path = shared_file("nb101/sample.csv")
    table = read_nb101_sample(path)
    raw = pd.read_csv(path)
    assert len(raw) == 500
    # Prune independently with the official-compatible ModelSpec and average repeated cells.
    pruned = [ModelSpec(np.array(json.loads(m)), json.loads(o)) for m, o in zip(raw["matrix"], raw["ops"])]
    raw["cell"] = [json.dumps([spec.matrix.tolist(), spec.ops]) for spec in pruned]
    expected = raw.groupby("cell", sort=False)["cifar10_val"].mean()
    assert len(table) == len(expected) < 500
    assert table["index"].tolist() == raw.drop_duplicates("cell").index.tolist()
    assert table["val_acc"].to_numpy() == pytest.approx(expected.to_numpy())
    assert table["test_acc"].isna().all() and {"params_m", "flops_m"} <= set(table.columns)
