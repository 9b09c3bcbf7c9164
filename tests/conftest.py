"""Shared helpers: write tree files into a temporary folder and run the CLI in-process."""

from __future__ import annotations

import signal
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from nsm_cli.cli.main import main

# Property tests must not flake on a busy CI machine: no per-example deadline (tests that
# guard against hangs set their own), and the same examples on every run.
settings.register_profile("nsm", deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("nsm")

ROOT = Path(__file__).resolve().parent.parent
TREES = ROOT / "trees"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


@pytest.fixture(autouse=True)
def show_bugs(monkeypatch):
    """NSM_DEBUG=1 in every test: a bug in nsm fails the test with its traceback instead of
    hiding behind the one-line 'internal error' a user sees (tests of that line unset it)."""
    monkeypatch.setenv("NSM_DEBUG", "1")


@pytest.fixture
def nsm(capsys, monkeypatch):
    """Run `nsm ARGS...` in-process; return exit code, stdout and stderr separately."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("NSM_FORMAT", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)

    def run(*args: str) -> Run:
        capsys.readouterr()
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return Run(code, out.out, out.err)

    return run


@pytest.fixture
def write(tmp_path, monkeypatch):
    """Write files (dedented) below a temporary project folder that is also the cwd."""
    monkeypatch.chdir(tmp_path)

    def put(name: str, text: str, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding=encoding)
        return path

    return put


class Hang(BaseException):
    """Raised by alarm(): a BaseException, so no `except OSError/Exception` in nsm hides it."""


@contextmanager
def alarm(seconds: int):
    """Turn a hang into a test failure (SIGALRM: the main thread, POSIX)."""
    def timeout(signum, frame):
        raise Hang(f"still blocked after {seconds} s")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def plain_yaml(text: str, path: str = "<yaml>"):
    """A YAML document as JSON-like data, read the way nsm reads it (dates stay text)."""
    from nsm_cli.tree.yamlload import YMap, YSeq, load_yaml

    def plain(value):
        if isinstance(value, YMap):
            return {str(k.value): plain(v) for k, v in value.items}
        if isinstance(value, YSeq):
            return [plain(item) for item in value.items]
        if isinstance(value.value, (str, int, float, bool)) or value.value is None:
            return value.value
        return value.raw  # a date or timestamp: an editor's YAML server sees text

    return plain(load_yaml(path, text))


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL on 127.0.0.1 (tests/pgserver.py), stopped at the end."""
    from pgserver import start_server

    server = start_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def big_rows(tmp_path_factory, postgres):
    """A million order rows as CSV, Parquet, a DuckDB file and a PostgreSQL table."""
    import bigrows

    folder = tmp_path_factory.mktemp("big")
    rows = bigrows.make_rows(1_000_000)
    paths = {kind: str(folder / f"orders.{kind}") for kind in ("csv", "parquet", "duckdb")}
    bigrows.write_csv(rows, paths["csv"])
    bigrows.write_duckdb_and_parquet(paths["csv"], paths["duckdb"], paths["parquet"])
    bigrows.load_postgres(postgres.admin(), paths["csv"])
    return rows, folder, paths
