"""The command line: a thin layer that parses options, calls the library and renders."""

from nsm_cli.cli.main import main, run

__all__ = ["main", "run"]
