"""`nsm mcp`: the analyses as tools for AI assistants, over the Model Context Protocol (stdio).

Each tool calls the library and the `--format json` renderer the matching command uses, so an
assistant reads exactly what a script reads. Invalid input comes back as a tool error with
the same `file:line:column: message [CODE]` lines the command prints. Imported only by
`nsm mcp`: the SDK (with pydantic) never loads for the other commands.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from nsm_cli import __version__
from nsm_cli.cli.options import OPTION_NAMES
from nsm_cli.diagnostics import InputError, NsmError, RequestError, UsageError

INSTRUCTIONS = (
    "nsm evaluates North Star Metric trees: YAML files whose root is the North Star, each "
    "node a formula over its children, leaves bound to CSV columns. Paths are relative to "
    "the folder the server runs in. Start with eval (every node's value, benchmark, gap), "
    "then rank-levers (which leaf moves the root most), explain (why the root moved between "
    "two periods), goal-seek (what each lever must reach for a target), alerts and forecast "
    "(the next periods with their uncertainty). check lints tree files. Every tool returns "
    "the JSON of the command's --format json."
)

# The arguments' descriptions, shared as the CLI's options are.
Tree = Annotated[str, Field(description="The tree file (YAML), relative to the server's "
                            "folder, e.g. trees/mau.yaml.")]
Period = Annotated[str | None, Field(description="Period to use, e.g. 2025-06 (default: the "
                                     "file's period, else the latest).")]
Scenario = Annotated[str | None, Field(description="A scenario from the file's scenarios.")]
Changes = Annotated[list[str] | None, Field(
    description="Changes as ID=CHANGE: a new value (0.5, 50%), an amount to add (+200, -5), "
    "a relative change (+10%), percentage points for rates (+2pp) or a factor (x1.1); "
    "applied after the scenario.")]
Step = Annotated[str, Field(description="Step size: 1% (default), 0.5%, or 1pp (points).")]
Points = Annotated[bool, Field(description="Move % leaves by percentage points, not "
                               "relatively (other leaves still by the step in %).")]
Top = Annotated[int | None, Field(description="Keep only the N strongest levers.")]
Sort = Annotated[str, Field(description="delta (default) or potential.")]
From = Annotated[str | None, Field(description="The earlier period (default: the "
                                   "second-to-last in the data).")]
To = Annotated[str | None, Field(description="The later period (default: the last).")]
Method = Annotated[str, Field(description="shapley (default) or lmdi (products of positive "
                              "factors only).")]
Target = Annotated[str | None, Field(description="The root's target, e.g. 600000 or 80% "
                                     "(default: the root's target in the file).")]
Levers = Annotated[list[str] | None, Field(description="Node ids to solve for (default: "
                                           "every leaf).")]
Paths = Annotated[list[str], Field(description="Tree files, or folders of *.yaml files.")]
Horizon = Annotated[int, Field(description="How many periods ahead, 1–120 (default 3).")]
Samples = Annotated[int, Field(description="Simulated paths of every leaf (default 2000).")]
Seed = Annotated[int | None, Field(description="Seed of the simulation, for repeatable "
                                   "answers.")]
Backtest = Annotated[int | None, Field(description="Hide the last K periods, forecast them "
                                       "and report the error beside the last value's.")]
By = Annotated[str | None, Field(description="A segment column (listed under a data block's "
                                "segments): the answer for every value of it, beside the total "
                                "over all rows.")]
Where = Annotated[list[str] | None, Field(
    description="Keep only the rows whose segment column COL holds VALUE, each as COL=VALUE "
    "(a literal, e.g. region=华北); all must hold.")]
Tolerance = Annotated[str | None, Field(description="W401: how far an observed value may be "
                                        "from its formula, e.g. 1%.")]


def _inside(path: str) -> str:
    """A path in the served folder; an assistant cannot be talked into reading other files."""
    import os

    base = os.path.realpath(".")
    real = os.path.realpath(path)
    if real != base and not real.startswith(base.rstrip(os.sep) + os.sep):
        raise UsageError(f"{path} is outside the folder nsm mcp serves ({base}): give a path "
                         "relative to it")
    return path


def eval_tool(tree: Tree, period: Period = None, scenario: Scenario = None,
              changes: Changes = None, by: By = None, where: Where = None) -> str:
    """Fill every node of the tree for a period: value, observed, benchmark, gap, status;
    with `by`, for every segment too (best root first)."""
    from nsm_cli import api

    return _json(api.evaluate(_inside(tree), period=period, scenario=scenario, set=changes,
                              by=by, where=where))


def rank_levers_tool(tree: Tree, period: Period = None, step: Step = "1%", points: Points = False,
                     top: Top = None, sort: Sort = "delta", scenario: Scenario = None,
                     changes: Changes = None, by: By = None, where: Where = None) -> str:
    """Rank the leaves by how much the root moves when each alone improves by one step; with
    `by`, (segment, leaf) pairs by how much the total root moves."""
    from nsm_cli import api

    return _json(api.rank_levers(_inside(tree), period=period, step=step, points=points,
                                 sort=sort, top=top, scenario=scenario, set=changes, by=by,
                                 where=where))


def explain_tool(tree: Tree, from_period: From = None, to_period: To = None,
                 method: Method = "shapley", by: By = None, where: Where = None) -> str:
    """Split the root's change between two periods into one contribution per leaf; with `by`,
    first into each segment's part."""
    from nsm_cli import api

    return _json(api.explain(_inside(tree), from_period=from_period, to_period=to_period,
                             method=method, by=by, where=where))


def goal_seek_tool(tree: Tree, target: Target = None, levers: Levers = None,
                   period: Period = None, scenario: Scenario = None,
                   changes: Changes = None) -> str:
    """The value each lever alone must reach for the root to hit the target."""
    from nsm_cli import api

    return _json(api.goal_seek(_inside(tree), target=target, levers=levers or [],
                               period=period, scenario=scenario, set=changes))


def alerts_tool(tree: Tree, period: Period = None, scenario: Scenario = None,
                changes: Changes = None, by: By = None, where: Where = None) -> str:
    """The alert rules and guardrail bounds that fire in a period (default: the latest); with
    `by`, in every segment too."""
    from nsm_cli import api

    return _json(api.alerts(_inside(tree), period=period, scenario=scenario, set=changes,
                            by=by, where=where))


def forecast_tool(tree: Tree, horizon: Horizon = 3, samples: Samples = 2000,
                  seed: Seed = None, backtest: Backtest = None) -> str:
    """Forecast every node: p10/p50/p90 per future period, the chance the root meets its
    target, and which leaf's uncertainty matters (damped-trend smoothing per leaf)."""
    from nsm_cli import api

    result = api.forecast(_inside(tree), horizon=horizon, samples=samples, seed=seed,
                          backtest=backtest)
    return _json(result.to_json())


def _json(result: Any) -> str:
    """The result as the command's `--format json` prints it."""
    from nsm_cli.render import to_json

    return to_json(result)


def check_tool(paths: Paths, tolerance: Tolerance = None) -> str:
    """Lint tree files or folders: errors, and the five rules of a good tree as warnings."""
    from nsm_cli.check import check_paths, find_config
    from nsm_cli.check.config import apply
    from nsm_cli.check.formats import CHECK_FORMATS

    config = find_config()
    if tolerance is not None:
        config = apply(config, {"tolerance": tolerance}, "tolerance")
    result = check_paths([_inside(path) for path in paths], config)
    if not result.files and not result.diagnostics:
        raise UsageError(f"no *.yaml or *.yml files in {', '.join(paths)}")
    return CHECK_FORMATS["json"](result)


TOOLS = {"eval": eval_tool, "rank-levers": rank_levers_tool, "explain": explain_tool,
         "goal-seek": goal_seek_tool, "alerts": alerts_tool, "forecast": forecast_tool,
         "check": check_tool}


def _guarded(tool):
    """The tool, with nsm's errors turned into tool errors an assistant can read."""
    import functools

    @functools.wraps(tool)
    def run(*args, **kwargs):
        try:
            return tool(*args, **kwargs)
        except NsmError as exc:
            raise ToolError(str(exc)) from None
        except UsageError as exc:
            raise ToolError(f"usage: {exc}") from None
        except InputError as exc:   # the data cannot answer it (exit 1 on the command line)
            raise ToolError(exc.describe(OPTION_NAMES)) from None
        except RequestError as exc:   # named as the command's options, as the CLI says it
            raise ToolError(f"usage: {exc.describe(OPTION_NAMES)}") from None

    return run


def build_server() -> MCPServer:
    """A server with one tool per analysis, named as the commands are."""
    server = MCPServer("nsm", version=__version__, instructions=INSTRUCTIONS,
                       log_level="WARNING")
    for name, tool in TOOLS.items():
        server.add_tool(_guarded(tool), name=name, description=tool.__doc__,
                        structured_output=False)
    return server


def serve() -> None:
    """Serve the tools on stdin/stdout until the client closes them."""
    build_server().run("stdio")
