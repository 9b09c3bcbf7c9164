"""A bug in nsm (an exception nobody expected) ends in one line asking for a report, exit 1;
NSM_DEBUG=1 shows its traceback; Ctrl-C exits 130 quietly."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import TREES

# Any command reaches evaluate; a probe replaces it with a bug, in a fresh interpreter
PROBE = """
import sys
import nsm_cli.analysis.evaluate as evaluate
def broken(*args, **kwargs):
    raise {error}
evaluate.evaluate = broken
from nsm_cli.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def run_with_bug(error: str, debug: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "NSM_DEBUG"}
    if debug is not None:
        env["NSM_DEBUG"] = debug
    return subprocess.run([sys.executable, "-c", PROBE.format(error=error), "eval",
                           str(TREES / "mau.yaml")], capture_output=True, text=True,
                          timeout=60, env=env)


@pytest.mark.parametrize("debug", [None, "0", ""])
def test_a_bug_is_one_line_asking_for_a_report(debug):
    run = run_with_bug("ZeroDivisionError('float division by zero')", debug)
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr == ("nsm: internal error: ZeroDivisionError: float division by zero — "
                          "please report it (set NSM_DEBUG=1 for the traceback)\n")


def test_a_bug_with_a_multiline_message_stays_on_one_line():
    run = run_with_bug("KeyError()", None)
    assert run.returncode == 1
    assert run.stderr == ("nsm: internal error: KeyError — please report it "
                          "(set NSM_DEBUG=1 for the traceback)\n")
    run = run_with_bug("RuntimeError('two\\\\nlines')", None)
    assert run.stderr == ("nsm: internal error: RuntimeError: two\\nlines — please report it "
                          "(set NSM_DEBUG=1 for the traceback)\n")


def test_nsm_debug_shows_the_traceback():
    run = run_with_bug("ZeroDivisionError('float division by zero')", "1")
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr.startswith("Traceback (most recent call last):")
    assert "in broken" in run.stderr
    assert run.stderr.endswith("ZeroDivisionError: float division by zero\n")
    assert "internal error" not in run.stderr


def test_ctrl_c_exits_130_quietly():
    run = run_with_bug("KeyboardInterrupt()", None)
    assert (run.returncode, run.stdout, run.stderr) == (130, "", "")


def test_in_process_a_bug_reaches_the_test_with_its_traceback(nsm, monkeypatch):
    """The test suite runs with NSM_DEBUG=1 (conftest), so a bug fails a test loudly."""
    import nsm_cli.analysis.evaluate as evaluate

    def broken(*args, **kwargs):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(evaluate, "evaluate", broken)
    with pytest.raises(ZeroDivisionError):
        nsm("eval", TREES / "mau.yaml")
    monkeypatch.delenv("NSM_DEBUG")
    run = nsm("eval", TREES / "mau.yaml")
    assert (run.code, run.stdout) == (1, "")
    assert run.stderr.startswith("nsm: internal error: ZeroDivisionError:")
