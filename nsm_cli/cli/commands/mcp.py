"""`nsm mcp`: serve the analyses to AI assistants over the Model Context Protocol (stdio)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from nsm_cli.cli.app import EXIT_INVALID, app

INSTALL_HINT = "nsm mcp needs the MCP SDK: pip install 'nsm-cli[mcp]'"

RootOpt = Annotated[
    Path | None,
    typer.Option("--root", metavar="DIR", file_okay=False, exists=True,
                 help="The folder tool paths are relative to, and the project data paths "
                 "must stay in (default: the current folder)."),
]


@app.command("mcp")
def mcp_command(root: RootOpt = None) -> None:
    """Serve eval, rank-levers, explain, goal-seek, alerts and check as MCP tools.

    The Model Context Protocol on stdin/stdout, for AI assistants: configure
    the command `nsm mcp --root DIR`, DIR being the folder that holds the
    trees (tool paths are relative to it). Each tool returns the same JSON as
    the command's --format json. Needs the optional extra:
    pip install 'nsm-cli\\[mcp]'.
    """
    try:
        from nsm_cli.cli.mcp_server import serve
    except ImportError as exc:
        if (exc.name or "").split(".")[0] != "mcp":
            raise
        print(INSTALL_HINT, file=sys.stderr)
        raise typer.Exit(EXIT_INVALID) from None
    if root is not None:
        import os

        os.chdir(root)  # this process only serves; paths resolve as from a shell in DIR
    serve()
