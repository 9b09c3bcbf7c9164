"""`nsm check`: the linter for tree files, made for CI (library side; the command is thin)."""

from nsm_cli.check.config import Config, find_config, load_config
from nsm_cli.check.runner import CheckResult, check_paths

__all__ = ["CheckResult", "Config", "check_paths", "find_config", "load_config"]
