"""Start-up stays light whatever the commands grow (issue 18): `nsm --help`, every command's
`--help`, and eval/check of a small tree import none of the heavy optional modules.

A fresh process runs them all and lists which heavy modules ended up in `sys.modules`; the
timing itself is a benchmark (bench/run.py, case 1), never a unit test.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT

HEAVY = ("duckdb", "jsonschema", "mcp", "sqlglot", "statsmodels", "polars", "pandas",
         "pyarrow", "pydantic", "scipy", "sklearn", "psycopg", "psycopg2", "jinja2", "httpx",
         "anyio", "starlette", "uvicorn", "playwright", "matplotlib")

PROBE = """
import contextlib, io, json, sys
import typer
from nsm_cli.cli.main import main
from nsm_cli.cli.app import app
from nsm_cli.cli import commands  # noqa: F401  (registers the commands)

runs = [["--help"]]
runs += [[name, "--help"] for name in sorted(typer.main.get_command(app).commands)]
runs += [["eval", "trees/mau.yaml"], ["eval", "trees/mau.yaml", "--format", "json"],
         ["eval", "trees/arpu.yaml", "--trend"], ["check", "trees/mau.yaml"]]
loaded = {}
for argv in runs:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv)
    heavy = sorted(m.split(".")[0] for m in sys.modules if m.split(".")[0] in HEAVY)
    loaded[" ".join(argv)] = [code, sorted(set(heavy))]
print(json.dumps(loaded))
"""


@pytest.mark.slow
def test_help_and_a_small_eval_import_no_heavy_module():
    probe = f"HEAVY = {HEAVY!r}\n" + PROBE
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    loaded = json.loads(run.stdout.splitlines()[-1])
    assert "eval --help" in loaded and "check trees/mau.yaml" in loaded
    assert len(loaded) >= 8   # --help, a --help per command, the evals and the check
    for argv, (code, heavy) in loaded.items():
        assert code in (0, 1), argv
        assert heavy == [], f"`nsm {argv}` imported {heavy}"
