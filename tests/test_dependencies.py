"""What the code imports, read statically (ast, imports inside functions included), against what is declared.

- dvc.yaml and reference/dvc.yaml: each stage lists as code deps exactly the project modules its command imports
  (redbench.pipeline.stages.command_modules: the command's CLI module, plus the modules the tables name for its
  arguments); a foreach / matrix stage the union over its items; a folder dep covers the modules below it and
  must be imported whole. Docstring-only package __init__ files carry no code and are neither required nor
  counted. The files are generated (redbench pipeline write): this checks the generator against an independent
  reading of the files.
(The floors and cycles of the import graph: tests/test_import_graph.py.)
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
import yaml

from redbench.pipeline.imports import CODE_DIRS, REPO, closure, direct_imports, has_code, module_file
from redbench.pipeline.stages import command_modules


# ---- dvc.yaml ----------------------------------------------------------------------------------------------

def expand_stages(dvc: dict) -> dict[str, dict]:
    """dvc.yaml's stages with foreach / matrix expanded: name -> {group, cmd, deps, params}."""
    out = {}
    for name, stage in dvc["stages"].items():
        if "foreach" in stage:
            items = [(str(i), {"item": i}) for i in stage["foreach"]]
            body = stage["do"]
        elif "matrix" in stage:
            keys = list(stage["matrix"])
            items = [("-".join(map(str, combo)), {f"item.{k}": v for k, v in zip(keys, combo)})
                     for combo in itertools.product(*stage["matrix"].values())]
            body = stage
        else:
            items, body = [("", {})], stage
        for suffix, subs in items:
            def fill(s: str) -> str:
                return re.sub(r"\$\{([^}]+)\}", lambda m: str(subs[m.group(1)]), s)
            deps = [fill(d if isinstance(d, str) else next(iter(d))) for d in body.get("deps", [])]
            params = [fill(k) for p in body.get("params", [])
                      for k in (next(iter(p.values())) if isinstance(p, dict) else [p])]
            out[f"{name}@{suffix}" if suffix else name] = {"group": name, "cmd": fill(body["cmd"]), "deps": deps,
                                                           "params": params}
    return out


def declared_code(deps: list[str], folder: Path = REPO) -> set[Path]:
    out: set[Path] = set()
    for dep in deps:
        path = (folder / dep).resolve()
        if path.relative_to(REPO).parts[0] not in CODE_DIRS:
            continue  # data, models, predictions
        out |= set(path.rglob("*.py")) if path.is_dir() else {path}
    return {p for p in out if not p.is_file() or has_code(p)}  # a missing file: declared, not imported


def group_problems(stages: list[dict], folder: Path = REPO) -> list[str]:
    """A foreach / matrix stage is one definition: it declares the union of what its items' commands import."""
    imported = {p for s in stages for p in closure(command_modules(s["cmd"])) if has_code(p)}
    declared = set().union(*(declared_code(s["deps"], folder) for s in stages))
    rel = lambda paths: sorted(str(p.relative_to(REPO)) for p in paths)  # noqa: E731
    return ([f"imported, not declared: {p}" for p in rel(imported - declared)]
            + [f"declared, not imported: {p}" for p in rel(declared - imported)])


def stage_problems(stage: dict) -> list[str]:
    return group_problems([stage])


DVC_FILES = ("dvc.yaml", "reference/dvc.yaml")


def _stages(dvc_file: str = "dvc.yaml") -> dict[str, dict]:
    return expand_stages(yaml.safe_load((REPO / dvc_file).read_text()))


def _groups() -> list[tuple[str, str]]:
    return [(f, g) for f in DVC_FILES for g in dict.fromkeys(s["group"] for s in _stages(f).values())]


@pytest.mark.parametrize("dvc_file, group", _groups())
def test_dvc_stage_declares_the_code_it_imports(dvc_file: str, group: str) -> None:
    stages = [s for s in _stages(dvc_file).values() if s["group"] == group]
    assert group_problems(stages, (REPO / dvc_file).parent) == []


def test_the_check_sees_a_missing_and_an_extra_dep() -> None:
    good = _stages()["train_sdm"]
    assert stage_problems(good) == []
    deps = [d for d in good["deps"] if d != "baselines/_hog.py"] + ["benchmark/compare.py"]
    assert stage_problems({**good, "deps": deps}) == ["imported, not declared: baselines/_hog.py",
                                                      "declared, not imported: benchmark/compare.py"]


def test_every_predicted_method_is_compared() -> None:
    """No prediction stage builds a row that compare leaves out, and compare reads no row nothing builds."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    built = {m.group(1) for s in _stages().values() for m in [re.match(r"redbench predict (\S+) ", s["cmd"])] if m}
    assert built == set(params["compare"]["methods"])


def missing_params(dvc_file: Path) -> list[str]:
    params = yaml.safe_load((dvc_file.parent / "params.yaml").read_text())
    missing = []
    for stage, body in expand_stages(yaml.safe_load(dvc_file.read_text())).items():
        for key in body["params"]:
            node = params
            for part in key.split("."):
                if not isinstance(node, dict) or part not in node:
                    missing.append(f"{stage}: {key}")
                    break
                node = node[part]
    return missing


@pytest.mark.parametrize("dvc_file", ["dvc.yaml", "reference/dvc.yaml"])
def test_every_declared_param_exists(dvc_file: str) -> None:
    """`dvc repro` stops at a stage whose params key its params.yaml lacks (the reference run did, at predict)."""
    assert missing_params(REPO / dvc_file) == []


def test_the_params_check_sees_a_missing_key(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_text("stages:\n  s:\n    cmd: x\n    params: [a.b, c]\n")
    (tmp_path / "params.yaml").write_text("a: {b: 1}\n")
    assert missing_params(tmp_path / "dvc.yaml") == ["s: c"]


# ---- the import reader ---------------------------------------------------------------------------------------

def test_the_import_reader_follows_function_level_and_relative_imports() -> None:
    # redbench.cli.train_cmd imports the methods layer inside its command body only
    assert "redbench.methods" in direct_imports(REPO / "redbench/cli/train_cmd.py")
    # `from redbench.red import ddp` names a module: both the package and the module are imported
    assert {"redbench.red", "redbench.red.ddp"} <= direct_imports(REPO / "red/train.py")
    assert module_file("redbench.methods.table") == REPO / "redbench/methods/table.py"
    assert module_file("numpy") is None and module_file("redbench.red.nothing_here") is None
