"""The import graph of the package, read statically with imports inside functions included (docs/architecture.md):

- floors: no module imports a module on a higher floor (0 the ground: config, I/O, the landmark schema and its
  metrics; 1 datasets; 2 the methods layer; 3 the methods, RED and the baselines, which do not import each
  other; 4 the benchmark; 5 the CLI and the pipeline generator);
- no cycle among the modules' own imports (a module's import of its own package's `__init__`, which Python runs
  first anyway, is not counted; an import of a sibling through its package is).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from redbench.pipeline.imports import CODE_DIRS, REPO, direct_imports, module_file, module_name

FLOORS = [  # (floor, module prefix); the longest matching prefix decides
    (0, "redbench"), (1, "redbench.datasets"), (2, "redbench.methods"), (3, "redbench.red"),
    (3, "redbench.baselines"), (4, "redbench.benchmark"), (5, "redbench.cli"), (5, "redbench.pipeline"),
]
SIBLINGS = [("redbench.red", "redbench.baselines")]  # same floor, never importing each other


def floor(name: str) -> tuple[int, str]:
    """(floor, the prefix that placed it)."""
    return max(((f, p) for f, p in FLOORS if name == p or name.startswith(p + ".")), key=lambda fp: len(fp[1]))


def modules() -> dict[str, Path]:
    return {module_name(p): p for d in CODE_DIRS for p in sorted((REPO / d).rglob("*.py"))
            if "__pycache__" not in p.parts}


def explicit_imports(path: Path) -> set[str]:
    """The project modules `path` names in its import statements (at any depth), without their parent
    packages: `from a.b import c` is a.b.c when c is a module, else a.b."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                out.add(f"{base}.{alias.name}" if module_file(f"{base}.{alias.name}") else base)
    ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
    return {m for m in out if module_file(m) is not None and m not in ancestors and m != name}


def floor_violations(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for a, targets in sorted(graph.items()):
        (fa, pa) = floor(a)
        for b in sorted(targets):
            (fb, pb) = floor(b)
            if fb > fa or (pa, pb) in SIBLINGS or (pb, pa) in SIBLINGS:
                bad.append(f"{a} (floor {fa}) imports {b} (floor {fb})")
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_module_imports_a_higher_floor() -> None:
    graph = {name: set(direct_imports(path)) for name, path in modules().items()}
    assert floor_violations(graph) == []


def test_no_import_cycle() -> None:
    assert cycles({name: explicit_imports(path) for name, path in modules().items()}) == []


def test_the_checks_see_a_violation_and_a_cycle() -> None:
    graph = {"redbench.red.infer": {"redbench.benchmark.metrics", "redbench.metrics"},
             "redbench.baselines.sdm": {"redbench.red.model"},
             "redbench.benchmark.compare": {"redbench.datasets.table"}}
    assert floor_violations(graph) == ["redbench.baselines.sdm (floor 3) imports redbench.red.model (floor 3)",
                                       "redbench.red.infer (floor 3) imports redbench.benchmark.metrics (floor 4)"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    # read from the files: a function-level import is an edge, a module's own package is not
    raw = explicit_imports(REPO / "datasets" / "raw.py")
    assert "redbench.datasets.table" in raw and "redbench.datasets" not in raw
    assert explicit_imports(REPO / "datasets" / "synthetic" / "generate.py") >= {
        "redbench.datasets.synthetic.layouts", "redbench.datasets.synthetic.writers", "redbench.datasets.table"}


@pytest.mark.parametrize("name", ["redbench.metrics", "redbench.datasets.table", "redbench.methods.table",
                                  "redbench.red.checkpoint", "redbench.benchmark.bootstrap_config",
                                  "redbench.pipeline.stages"])
def test_every_module_has_a_floor(name: str) -> None:
    assert name in modules() and floor(name)[0] == {"redbench.metrics": 0, "redbench.datasets.table": 1,
                                                    "redbench.methods.table": 2, "redbench.red.checkpoint": 3,
                                                    "redbench.benchmark.bootstrap_config": 4,
                                                    "redbench.pipeline.stages": 5}[name]
