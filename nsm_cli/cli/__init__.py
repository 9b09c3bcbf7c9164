"""The command line: a thin layer that parses options, calls the library and renders.

`run` is the console script. It imports typer and the commands only after an `nsm eval` of a
tree with database blocks has sent their queries (data/ahead.py), so the database works
while the command line loads.
"""

from __future__ import annotations

import sys

__all__ = ["run"]   # the command line in-process: nsm_cli.cli.main.main(argv)


def run() -> None:
    """Console-script entry: send a plain eval's database queries, then run the command."""
    from nsm_cli.data.ahead import send_early

    try:
        send_early(sys.argv[1:])
    except KeyboardInterrupt:
        sys.exit(130)   # 128 + SIGINT, as cli.main reports it
    except Exception:   # noqa: BLE001 — the command asks in its turn and reports it there
        pass
    from nsm_cli.cli.main import run as run_command

    run_command()
