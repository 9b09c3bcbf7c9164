"""nsm: a workbench for North Star Metric trees, as a CLI and as a library.

In a notebook: `import nsm_cli as nsm; nsm.evaluate("trees/arpu.yaml")` (see
:mod:`nsm_cli.api`). The API is imported on first use, so `import nsm_cli` stays light.
"""

from __future__ import annotations

__version__ = "0.1.0"
ERRORS = ("NsmError", "RequestError")   # what the calls raise: `except nsm.NsmError`
__all__ = ["alerts", "by_segment", "evaluate", "explain", "forecast", "goal_seek", "load",
           "rank_levers", *ERRORS]


def __getattr__(name: str):
    if name in ERRORS:
        from nsm_cli import diagnostics

        return getattr(diagnostics, name)
    if name in __all__:
        from nsm_cli import api

        return getattr(api, name)
    raise AttributeError(f"module 'nsm_cli' has no attribute {name!r}")
