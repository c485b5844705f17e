"""What the code imports, read statically (ast; imports inside functions included).

A stage's true code dependencies are the files of every project module its command may execute: the closure
of the imports of its CLI module and of the modules the tables name for its arguments. The files are read from
the checkout that holds this package (pyproject.toml's package-dir maps the root folders under `redbench.*`).
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# installed name -> folder (pyproject.toml's package-dir; redbench's own subpackages live under redbench/)
ROOTS = {"redbench.datasets": "datasets", "redbench.red": "red", "redbench.baselines": "baselines",
         "redbench.benchmark": "benchmark", "redbench": "redbench"}
CODE_DIRS = ("datasets", "red", "baselines", "benchmark", "redbench")


def module_file(name: str) -> Path | None:
    """The file of project module `name` (a package's __init__.py), or None when it is not the project's."""
    for prefix, folder in ROOTS.items():
        if name == prefix or name.startswith(prefix + "."):
            base = REPO / folder / Path(*name[len(prefix) + 1:].split(".")) if name != prefix else REPO / folder
            for path in (base.with_suffix(".py"), base / "__init__.py"):
                if path.is_file():
                    return path
            return None
    return None


def module_name(path: Path) -> str:
    rel = path.relative_to(REPO)
    for prefix, folder in ROOTS.items():
        if rel.parts[0] == folder:
            parts = [*prefix.split("."), *rel.with_suffix("").parts[1:]]
            return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    raise ValueError(path)


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


@lru_cache(maxsize=None)
def direct_imports(path: Path) -> frozenset[str]:
    """Project modules that executing `path` may import (every import statement in it, at any depth)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.update(_parents(alias.name))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            out.update(_parents(base))
            out.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import submodule`
    return frozenset(n for n in out if module_file(n) is not None)


def closure(modules: list[str]) -> set[Path]:
    """Files of every project module executed when `modules` are imported (their parents included)."""
    seen: set[str] = set()
    todo = [p for m in modules for p in _parents(m)]
    while todo:
        name = todo.pop()
        if name in seen or module_file(name) is None:
            continue
        seen.add(name)
        todo.extend(direct_imports(module_file(name)))
    return {module_file(n) for n in seen}


@lru_cache(maxsize=None)
def has_code(path: Path) -> bool:
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return not all(isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) for s in body)
