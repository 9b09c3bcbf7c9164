"""`python -m nsm_cli` runs the same command line as `nsm`."""

from nsm_cli.cli import run

run()
