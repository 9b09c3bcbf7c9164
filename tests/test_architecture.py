"""The package's shape is part of the design: data flows one way and the folders show it.

tree file → model (`tree/`) → data (`data/`) → analyses (`analysis/`, `check/`) →
renderers (`render/`) → commands (`cli/`); `authoring/` (templates, drafts from a CSV) writes
tree files from the model and data layers, beside the analyses. A module may import its own
layer and the layers before it, never one after it (lazy imports inside functions included),
and no two modules import each other in a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "nsm_cli"

# Lower rank = earlier in the flow. The loose modules are the shared base.
LAYERS = {"diagnostics": 0, "codes": 0, "numbers": 0, "tree": 1, "data": 2,
          "analysis": 3, "authoring": 3, "check": 4, "render": 4, "api": 5, "cli": 6, "__main__": 7}
# The one cycle left: the polars/numpy CSV readers share private helpers with tables.py.
# They are retired when DuckDB reads every file (issue #11); then this set must be empty.
KNOWN_CYCLES: set[str] = set()
MAX_LOOSE = 4  # loose modules directly in nsm_cli/, besides __init__ and __main__


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports_of(path: Path) -> set[str]:
    """Every nsm_cli module this file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("nsm_cli"):
                found |= {_submodule(node.module, a.name) for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import; write nsm_cli.… in full")
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("nsm_cli")}
    return found


def _submodule(module: str, name: str) -> str:
    """`from nsm_cli.cli import commands` imports the module nsm_cli.cli.commands."""
    folder = PACKAGE.parent.joinpath(*module.split("."), name)
    if folder.with_suffix(".py").exists() or (folder / "__init__.py").exists():
        return f"{module}.{name}"
    return module


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in PACKAGE.rglob("*.py")}


def test_every_layer_imports_only_itself_and_earlier_layers():
    wrong = []
    for module, targets in graph().items():
        source = layer(module)
        for target in targets:
            if layer(target) in ("__init__",) or source == "__init__":
                continue
            if LAYERS[layer(target)] > LAYERS[source]:
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_no_import_cycles():
    edges = graph()
    modules = set(edges)
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges.get(module, ())):
            if target not in modules or target == module:
                continue
            if state.get(target) == 1:
                cycles.append(" → ".join(trail[trail.index(target):] + [target]))
            elif target not in state:
                visit(target, trail + [target])
        state[module] = 2

    for module in sorted(modules):
        if module not in state:
            visit(module, [module])
    assert set(cycles) - KNOWN_CYCLES == set()


def test_at_most_four_loose_modules():
    loose = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__"))
    assert len(loose) <= MAX_LOOSE, loose
    assert all(name in LAYERS for name in loose)
