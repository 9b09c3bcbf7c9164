"""One module per command; importing this package registers them all on the app."""

from . import eval_cmd  # noqa: F401
