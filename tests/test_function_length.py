"""Functions stay short enough to read at once: none in nsm_cli/ is over 60 lines."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "nsm_cli"
MAX_LINES = 60
# The numpy fast CSV path was retired when DuckDB came to read big files (issue #11).
RETIRING: set[str] = set()


def long_functions() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                where = f"{path.relative_to(PACKAGE)}:{node.name}"
                if length > MAX_LINES and where not in RETIRING:
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} "
                                 f"({length} lines)")
    return found


def test_no_function_over_60_lines():
    assert long_functions() == []
