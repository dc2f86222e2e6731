from pathlib import Path

import pytest
import yaml

from zcnas.errors import ZcnasError
from zcnas.pipeline.params import Params, load_params, parse_params, training_configs
from zcnas.pipeline.sampling import sample_archs
from zcnas.proxies import group, proxy_names

REPO = Path(__file__).resolve().parents[1]


def flat_keys(data: dict, prefix: str = "", stop: tuple = ()) -> set[str]:
    keys = set()
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in stop:
            keys |= flat_keys(value, f"{name}.", stop)
        else:
            keys.add(name)
    return keys


def test_the_repository_params_are_valid_and_spell_out_every_key():
    # DVC tracks only the keys params.yaml holds: a key left to its code default
    # would change results without `dvc status` noticing.
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    load_params(REPO / "params.yaml")
    free_form = ("econas.configs", "econas.shortened", "search.budget", "search.runs", "search.targets", "search.settings")
    assert flat_keys(raw, stop=free_form) == flat_keys(Params().model_dump(), stop=free_form)


def test_shortened_configs_train_under_their_own_names():
    params = parse_params({"econas": {"shortened": {"econas+": {"e": 3}}}})
    assert training_configs(params.econas.configs, params.econas.shortened) == {
        "econas": params.econas.configs["econas"],
        "econas+-shortened": {**params.econas.configs["econas+"], "e": 3},
    }
    paper_scale = parse_params({"econas": {"shortened": {}}})
    assert training_configs(paper_scale.econas.configs, paper_scale.econas.shortened) == paper_scale.econas.configs


def test_unknown_top_level_section_is_refused():
    with pytest.raises(ZcnasError, match="scoer: unknown key"):
        parse_params({"scoer": {"sample": 10}})


@pytest.mark.parametrize(
    "raw, fragments",
    [
        ({"score": {"batch_size": "64"}}, ["score.batch_size", "'64'"]),
        ({"score": {"batch_size": 0}}, ["score.batch_size", "greater than or equal to 1"]),
        ({"score": {"proxies": ["synflow", "synflw"]}}, ["score.proxies", "'synflw'", "jacob_cov"]),
        ({"score": {"datasets": ["mnist"]}}, ["score.datasets", "'mnist'", "cifar100"]),
        ({"score": {"space": "nb301"}}, ["score.space", "'nb301'", "nb201"]),
        ({"score": {"sample": -3}}, ["score.sample", "-3"]),
        ({"score": {"batchsize": 64}}, ["score.batchsize", "unknown key"]),
        ({"score": {"dataload": "grsp"}}, ["score.dataload", "'grsp'", "random"]),
        ({"workers": "many"}, ["workers", "'many'"]),
        ({"seed": 4.5}, ["seed"]),
        ({"evaluate": {"top_fraction": 1.5}}, ["evaluate.top_fraction"]),
        ({"evaluate": {"vote": ["snap"]}}, ["evaluate.vote", "'snap'"]),
        ({"evaluate": {"log_rank": ["snap"]}}, ["evaluate.log_rank", "'snap'"]),
        ({"evaluate": {"fewshot_k": 0}}, ["evaluate.fewshot_k", "greater than or equal to 1"]),
        ({"score": {"sample": 50}, "evaluate": {"fewshot_k": 49}},
         ["evaluate.fewshot_k 49", "score.sample 50", "expected 1 to 48"]),
        ({"evaluate": {"log_rank": ["synflow", "zico"]}}, ["evaluate.log_rank names zico", "score.proxies"]),
        ({"score": {"proxies": ["snip", "synflow"]}}, ["evaluate.vote names jacob_cov", "score.proxies"]),
        ({"search": {"proxy": "ensemble:synflow+unknown"}},
         ["search.proxy", "unknown proxy 'unknown'", "jacob_cov, l2_norm", "'ensemble:synflow+unknown'"]),
        ({"search": {"proxy": "log_rank:"}}, ["search.proxy", "'log_rank:' leaves a proxy out",
                                              "log_rank:a+b+c with a, b, c among:", "jacob_cov, l2_norm"]),
        ({"search": {"proxy": "vote:synflow+snip"}}, ["search.proxy", "pairwise majority", "ensemble:a+b+c"]),
        ({"search": {"proxy": "ensemble:synflow+snip"}},
         ["search.proxy 'ensemble:synflow+snip' names snip", "score_space.proxies does not compute (synflow)"]),
        ({"search": {"compare": ["meco"]}},
         ["search.compare 'meco' names meco", "score_space.proxies does not compute (synflow)"]),
        ({"search": {"compare": ["synflow"]}}, ["search.compare names search.proxy 'synflow'", "runs anyway"]),
        ({"search": {"compare": ["meco", "meco"]}, "score_space": {"proxies": ["synflow", "meco"]}},
         ["search.compare", "names meco more than once"]),
        ({"search": {"compare": ["log_rank:"]}}, ["search.compare", "'log_rank:' leaves a proxy out"]),
        ({"score_space": {"combinations": ["log_rank:synflow+meco"]}},
         ["score_space.combinations", "'log_rank:synflow+meco' names meco", "does not compute (synflow)"]),
        ({"score_space": {"combinations": ["synflow"]}},
         ["score_space.combinations", "'synflow' is a single proxy", "log_rank:a+b"]),
        ({"score_space": {"combinations": ["mean:synflow+meco"], "proxies": ["synflow", "meco"]}},
         ["score_space.combinations", "unknown ensemble 'mean'", "ensemble:a+b+c"]),
        ({"score_space": {"batch_size": 0}}, ["score_space.batch_size", "greater than or equal to 1"]),
        ({"score_space": {"dataload": "sorted"}}, ["score_space.dataload", "'sorted'", "random"]),
        ({"econas": {"val_fraction": 0.01}},
         ["econas.val_fraction 0.01", "holds out 500 of cifar10's 50000", "at least 1000", "from 0.02"]),
        ({"econas": {"configs": {"econas": {"r": 8, "c": 4, "e": 41, "schedule_epochs": 40}}, "shortened": {}}},
         ["econas.configs", "'econas': e (epochs) is 41", "at most schedule_epochs (40)"]),
        ({"econas": {"configs": {"econas": {"r": 8, "c": 4, "e": 2, "s": 0.01, "batch_size": 2048}}, "shortened": {}}},
         ["econas.configs", "'econas': batch_size is 2048", "between 1 and the 450 images"]),
        ({"econas": {"configs": {"econas": {"r": 64, "c": 4, "e": 2}}, "shortened": {}}},
         ["econas.configs", "r (resolution) is 64", "at most cifar10's image size 32"]),
        ({"econas": {"shortened": {"econas++": {"e": 1}}}},
         ["econas.shortened names ['econas++']", "econas.configs (econas, econas+)"]),
        ({"econas": {"shortened": {"econas+": {"s": 0.05, "batch_size": 4096}}}},
         ["'econas+-shortened': batch_size is 4096", "2250 images"]),
        ({"nb101": {"proxies": ["synflw"]}}, ["nb101.proxies", "'synflw'", "jacob_cov"]),
        ({"nb101": {"sample": 0}}, ["nb101.sample", "'all' or a positive integer"]),
        ({"nb101": {"enabled": True}}, ["nb101.enabled", "unknown key"]),  # the task is its own pipeline now
        ({"score": {"sample": 99_999}}, ["score.sample 99999", "exceeds the 15,625 architectures of nb201"]),
        ({"score_space": {"sample": 15_626}}, ["score_space.sample 15626", "15,625 architectures of nb201"]),
        ({"nb101": {"sample": 500_000}}, ["nb101.sample 500000", "423,624 architectures of nb101"]),
        ({"score": {"batch_size": 16.0}}, ["score.batch_size", "16.0"]),  # DVC compares it equal to 16
        ({"nb101": {"proxies": ["synflow", "snip"]}},
         ["evaluate.vote names jacob_cov", "nb101.proxies"]),
    ],
)
def test_bad_params_name_the_key(raw, fragments):
    with pytest.raises(ZcnasError) as info:
        parse_params(raw)
    assert all(fragment in str(info.value) for fragment in fragments), str(info.value)


def test_the_nb101_task_scores_every_proxy_by_default():
    task = load_params(REPO / "params.yaml").nb101
    assert task.proxies == proxy_names() and task.sample == "all"
    task = parse_params({"nb101": {"proxies": ["paper"], "sample": 50}}).nb101
    assert task.proxies == group("paper") and task.sample == 50


def test_bad_yaml_and_missing_file(tmp_path):
    with pytest.raises(ZcnasError, match="not found"):
        load_params(tmp_path / "absent.yaml")
    broken = tmp_path / "params.yaml"
    broken.write_text("score: [unclosed\n")
    with pytest.raises(ZcnasError, match="not valid YAML"):
        load_params(broken)


def test_sample_is_seeded_and_independent_of_table_order():
    archs = [f"a{i}" for i in range(100)]
    first = sample_archs(archs, 10, seed=1, purpose="p", what="toy")
    assert first == sample_archs(archs[::-1], 10, seed=1, purpose="p", what="toy")
    assert first != sample_archs(archs, 10, seed=2, purpose="p", what="toy")
    assert len(set(first)) == 10
    assert sample_archs(archs, "all", seed=1, purpose="p", what="toy") == sorted(archs)


def test_sample_larger_than_the_space_is_refused():
    with pytest.raises(ZcnasError, match="sample size 101 exceeds the 100 architectures of toy"):
        sample_archs([f"a{i}" for i in range(100)], 101, seed=1, purpose="p", what="toy")
