"""dvc.yaml names exactly what each stage reads: its project modules and its params keys.

Both are derived from the code: the modules a stage script imports, followed through
imports (function-level ones too), and the `params.<section>.<key>` reads in them. A
module or key missing from dvc.yaml would let `dvc repro` keep a stale output after a
change; one listed but never read reruns a stage for nothing.
"""

import ast
from pathlib import Path

import pytest
import yaml

from zcnas.pipeline.params import Params

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "src"
# The default pipeline and NAS-Bench-101's own (nb101/dvc.yaml, whose stages run from the root: wdir ..).
PIPELINES = {name: yaml.safe_load((REPO / name).read_text())["stages"] for name in ("dvc.yaml", "nb101/dvc.yaml")}
STAGES = {name: stage for stages in PIPELINES.values() for name, stage in stages.items()}

# Modules that cannot change a stage's numbers, not followed: params validation (its own
# stage, check_params, depends on it), running a stage, MLflow, the error type.
PLUMBING = {"zcnas.pipeline.params", "zcnas.pipeline.stage", "zcnas.tracking", "zcnas.errors"}
# Params that never change a result, so that changing them reruns no stage: the local
# worker processes and where the work runs (tests/test_scoring.py, tests/test_execution.py
# check it). Keys under them count too.
RESULT_FREE_PARAMS = {"workers", "executor"}


def module_path(name: str) -> Path | None:
    base = SOURCE.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def imported_modules(path: Path, name: str) -> set[str]:
    """zcnas modules `path` (module `name`) imports, anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if module_path(submodule):  # `from pkg import submodule`
                    found.add(submodule)
                if node.module or not module_path(submodule):  # a name defined in `base`
                    found.add(base)
    return {module for module in found if module.startswith("zcnas") and module_path(module)}


def stage_modules(script: Path) -> dict[str, Path]:
    """Every zcnas module the stage script reaches through imports, plumbing excluded
    (but for check_params, whose job is the params validation).

    The top package's __init__ (a re-export of the proxy API for library users) runs
    on any import but is not read unless imported by name.
    """
    skipped = PLUMBING - {"zcnas.pipeline.params"} if script.name == "check_params.py" else PLUMBING
    seen: dict[str, Path] = {}
    todo = list(imported_modules(script, "stage"))
    while todo:
        name = todo.pop()
        if name in seen or name in skipped:
            continue
        seen[name] = module_path(name)
        todo.extend(imported_modules(seen[name], name))
    return seen


def params_reads(path: Path) -> set[str]:
    """Dotted params keys read as `params.<field>[.<field>]` in `path`.

    Each attribute chain counts whole, at its outermost node: `params.search.budget` reads
    `search.budget`, while `config = params.search` reads the whole section `search` (its
    keys are read later through `config`, which this cannot follow), so the stage must list
    the section, not some of its keys.
    """
    tree = ast.parse(path.read_text())
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    reads = set()
    for node in ast.walk(tree):
        if id(node) in inner:
            continue
        chain, current = [], node
        while isinstance(current, ast.Attribute):
            chain.append(current.attr)
            current = current.value
        if not (isinstance(current, ast.Name) and current.id == "params" and chain):
            continue
        chain.reverse()
        # Only field names count: a method such as params.section(...) reads no key by itself.
        fields, key = Params.model_fields, []
        for attr in chain:
            if attr not in fields:
                break
            key.append(attr)
            annotation = fields[attr].annotation
            fields = getattr(annotation, "model_fields", {})
        if key:
            reads.add(".".join(key))
    return reads


def stage_script(stage: dict) -> Path:
    return REPO / next(part for part in stage["cmd"].split() if part.startswith("stages/"))


def covered(path: Path, deps: list[str]) -> bool:
    relative = path.relative_to(REPO).as_posix()
    return any(relative == dep or relative.startswith(dep.rstrip("/") + "/") for dep in deps)


def test_a_whole_section_read_counts_as_the_section(tmp_path):
    # Its keys are read later through `config`: the stage must list the section itself.
    source = tmp_path / "stage.py"
    source.write_text("config = params.search\nbudget = params.search.budget\nsample = params.score.sample\n"
                      "everything = params.section('econas')\n")
    assert params_reads(source) == {"search", "search.budget", "score.sample"}


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_deps_name_every_module_it_imports_and_no_other(name):
    stage = STAGES[name]
    deps = stage.get("deps", [])
    modules = stage_modules(stage_script(stage))
    missing = sorted(path.relative_to(REPO).as_posix() for path in modules.values() if not covered(path, deps))
    assert not missing, f"stage {name} imports modules dvc.yaml does not list as deps: {missing}"
    unused = [dep for dep in deps if dep.startswith("src/")
              and not any(covered(path, [dep]) for path in modules.values())]
    assert not unused, f"stage {name} lists deps it never imports: {unused}"


@pytest.mark.parametrize("name", sorted(set(STAGES) - {"check_params"}))
def test_stage_params_name_every_key_it_reads_and_no_other(name):
    stage = STAGES[name]
    listed = [key for key in stage.get("params", []) if isinstance(key, str)]
    files = [stage_script(stage), *stage_modules(stage_script(stage)).values()]
    reads = {key for key in set().union(*(params_reads(path) for path in files))
             if not any(key == free or key.startswith(free + ".") for free in RESULT_FREE_PARAMS)}
    missing = sorted(key for key in reads if not any(key == p or key.startswith(p + ".") for p in listed))
    assert not missing, f"stage {name} reads params dvc.yaml does not list: {missing}"
    broader = sorted(p for p in listed if not any(p == key or p.startswith(key + ".") for key in reads))
    assert not broader, f"stage {name} lists params it does not read (or a whole section for one key): {broader}"


def test_every_stage_waits_for_the_params_check():
    check = STAGES["check_params"]
    marker = check["outs"][0] if isinstance(check["outs"][0], str) else next(iter(check["outs"][0]))
    # The file's text, not its values: DVC compares 16.0 equal to 16, which a stage would reject.
    assert "params.yaml" in check["deps"] and "params" not in check
    for name, stage in STAGES.items():
        if name != "check_params":
            assert marker in stage.get("deps", []), f"stage {name} does not depend on {marker}"


def test_the_nb101_pipeline_runs_from_the_project_root_and_shares_no_output():
    assert all(stage.get("wdir") == ".." for stage in PIPELINES["nb101/dvc.yaml"].values())
    assert not set(PIPELINES["dvc.yaml"]) & set(PIPELINES["nb101/dvc.yaml"])

    def outputs(stages):
        return {next(iter(out)) if isinstance(out, dict) else out
                for stage in stages.values() for key in ("outs", "metrics") for out in stage.get(key, [])}

    assert not outputs(PIPELINES["dvc.yaml"]) & outputs(PIPELINES["nb101/dvc.yaml"])
    # The default run must not read the NB101 pipeline's outputs, or `dvc repro` would run it as an upstream.
    default_deps = {dep for stage in PIPELINES["dvc.yaml"].values() for dep in stage.get("deps", [])}
    assert not default_deps & outputs(PIPELINES["nb101/dvc.yaml"])


def test_the_closure_follows_function_level_imports():
    # get_space imports the NB201 module inside the function.
    modules = stage_modules(REPO / "stages" / "score.py")
    assert "zcnas.spaces.nb201" in modules and "zcnas.seeding" in modules
    assert "zcnas.tracking" not in modules
