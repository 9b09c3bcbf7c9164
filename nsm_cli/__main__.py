"""`python -m nsm_cli` runs the same command line as `nsm`."""

from .cli import run

run()
