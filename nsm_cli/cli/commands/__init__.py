"""One module per command; importing this package registers them all on the app."""

from nsm_cli.cli.commands import (
    alerts,  # noqa: F401
    check,  # noqa: F401
    diff,  # noqa: F401
    eval,  # noqa: F401
    explain,  # noqa: F401
    forecast,  # noqa: F401
    goal_seek,  # noqa: F401
    init,  # noqa: F401
    mcp,  # noqa: F401
    rank_levers,  # noqa: F401
    report,  # noqa: F401
    schema,  # noqa: F401
)
