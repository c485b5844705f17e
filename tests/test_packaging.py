"""The install maps the root folders under `redbench.*` and never installs a top-level `datasets` etc."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROOT_FOLDERS = {"datasets": "redbench.datasets", "red": "redbench.red",
                "baselines": "redbench.baselines", "benchmark": "redbench.benchmark"}


def _setuptools() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def _package_folders() -> dict[str, Path]:
    """Dotted package name -> folder, for every folder with an __init__.py under the package roots."""
    found = {}
    roots = {"redbench": REPO / "redbench", **{pkg: REPO / folder for folder, pkg in ROOT_FOLDERS.items()}}
    for package, root in roots.items():
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root)
            if "__pycache__" in rel.parts:
                continue
            found[".".join((package, *rel.parts))] = init.parent
    return found


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(_setuptools()["packages"])
    missing = sorted(set(_package_folders()) - listed)
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_listed_packages_map_to_folders_under_the_redbench_namespace():
    cfg = _setuptools()
    package_dir = cfg.get("package-dir", {})
    for folder, package in ROOT_FOLDERS.items():
        assert package_dir[package] == folder
    for package in cfg["packages"]:
        assert package == "redbench" or package.startswith("redbench."), package
        assert (_folder_of(package, package_dir) / "__init__.py").is_file(), package


def _folder_of(package: str, package_dir: dict[str, str]) -> Path:
    """Where setuptools finds `package`: under the longest mapped prefix, else under the repository root."""
    for prefix in sorted(package_dir, key=len, reverse=True):
        if package == prefix or package.startswith(prefix + "."):
            rest = package[len(prefix) + 1:]
            return REPO / package_dir[prefix] / Path(*rest.split(".")) if rest else REPO / package_dir[prefix]
    return REPO / Path(*package.split("."))


def test_installed_redbench_datasets_is_ours_and_no_top_level_datasets_is(tmp_path):
    # Run outside the repository so the working directory cannot shadow anything.
    code = (
        "import importlib.util, json, redbench.datasets\n"
        "out = {'redbench.datasets': redbench.datasets.__file__}\n"
        "for name in ('datasets', 'red', 'baselines', 'benchmark'):\n"
        "    spec = importlib.util.find_spec(name)\n"
        "    out[name] = None if spec is None else (spec.origin or str(list(spec.submodule_search_locations or [])))\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    found = json.loads(result.stdout)
    assert Path(found["redbench.datasets"]).resolve() == (REPO / "datasets" / "__init__.py").resolve()
    for name in ROOT_FOLDERS:
        origin = found[name]
        if origin is not None:  # another project's package of that name may be installed: fine, if not ours
            assert str(REPO) not in origin, f"top-level {name!r} resolves into this repository: {origin}"


@pytest.mark.parametrize("module", ["redbench.cli", "redbench.datasets.fetch", "redbench.datasets.vw300"])
def test_modules_import_without_side_effects(tmp_path, module):
    # nothing happens at import time: no files written in the working directory, nothing printed
    result = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and list(tmp_path.iterdir()) == []
