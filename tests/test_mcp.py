"""`nsm mcp` driven as an assistant drives it: the SDK's stdio client, a real server process.

One session initialises, lists the tools and calls each one; its answers must be the JSON
the commands print with --format json, and the MAU levers the articles' +65 / +50 / +15.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT

pytest.importorskip("mcp")

TOOLS = {"eval", "rank-levers", "explain", "goal-seek", "alerts", "forecast", "check"}
CALLS = {  # name → (tool arguments, the same request on the command line)
    "rank-levers": ({"tree": "trees/mau.yaml", "points": True},
                    ["rank-levers", "trees/mau.yaml", "--points"]),
    "eval": ({"tree": "trees/arpu.yaml", "scenario": "li_plan"},
             ["eval", "trees/arpu.yaml", "--scenario", "li_plan"]),
    "explain": ({"tree": "trees/mau.yaml", "from_period": "2025-05", "to_period": "2025-06"},
                ["explain", "trees/mau.yaml", "--from", "2025-05", "--to", "2025-06"]),
    "goal-seek": ({"tree": "trees/funnel.yaml", "target": "600000", "levers": ["contact_rate"]},
                  ["goal-seek", "trees/funnel.yaml", "--target", "600000", "--lever",
                   "contact_rate"]),
    "alerts": ({"tree": "trees/mau.yaml", "changes": ["complaint_rate=2%"]},
               ["alerts", "trees/mau.yaml", "--set", "complaint_rate=2%"]),
    "check": ({"paths": ["trees"]}, ["check", "trees"]),
    "forecast": ({"tree": "trees/mau.yaml", "seed": 1, "backtest": 1},
                 ["forecast", "trees/mau.yaml", "--seed", "1", "--backtest", "1"]),
}
SEGMENTS = {  # case → (tool, arguments, the same request on the command line)
    "eval by": ("eval", {"tree": "trees/regions.yaml", "by": "region"},
                ["eval", "trees/regions.yaml", "--by", "region"]),
    "levers by": ("rank-levers", {"tree": "trees/regions.yaml", "by": "region",
                                  "where": ["store=北京一店"]},
                  ["rank-levers", "trees/regions.yaml", "--by", "region", "--where",
                   "store=北京一店"]),
    "explain by": ("explain", {"tree": "trees/regions.yaml", "by": "store"},
                   ["explain", "trees/regions.yaml", "--by", "store"]),
    "alerts by": ("alerts", {"tree": "trees/regions.yaml", "by": "region",
                             "changes": ["items_per_order=x0.9"]},
                  ["alerts", "trees/regions.yaml", "--by", "region", "--set",
                   "items_per_order=x0.9"]),
    "eval where": ("eval", {"tree": "trees/regions.yaml", "where": ["region=华北"]},
                   ["eval", "trees/regions.yaml", "--where", "region=华北"]),
    "explain where": ("explain", {"tree": "trees/regions.yaml", "where": ["region=华南"]},
                      ["explain", "trees/regions.yaml", "--where", "region=华南"]),
}
FAILING = {  # name → arguments an assistant may get wrong, and what the error says
    "missing": ("eval", {"tree": "trees/nope.yaml"}, "no such file: trees/nope.yaml [E100]"),
    "usage": ("rank-levers", {"tree": "trees/mau.yaml", "sort": "size"}, "--sort"),
    "outside": ("eval", {"tree": "/etc/passwd"}, "/etc/passwd is outside the folder nsm mcp "
                "serves"),
    "escape": ("check", {"paths": ["trees/../.."]}, "is outside the folder"),
    "no trees": ("check", {"paths": ["requirements"]}, "no *.yaml or *.yml files in "
                 "requirements"),
    "unknown segment": ("eval", {"tree": "trees/regions.yaml", "by": "city"},
                        "--by city: no data block lists 'city' under segments; declared "
                        "segment columns are region, store"),
    "no rows": ("alerts", {"tree": "trees/regions.yaml", "where": ["region=华西"]},
                "--where region=华西: no rows of data 'orders' (trees/regions.csv) match"),
    "no value": ("rank-levers", {"tree": "trees/regions.yaml", "by": "region",
                                 "where": ["region"]},
                 "usage: --where region: expected COL=VALUE (like region=华北)"),
    "split value": ("eval", {"tree": "trees/regions.yaml", "by": "region",
                             "changes": ["orders=10"]},
                    "usage: --set orders=10: a new value for 'orders' (10) cannot be split "
                    "into segments: its rows add up across segments (agg count)"),
}


async def _session() -> dict:
    from mcp import StdioServerParameters
    from mcp.client.session import ClientSession
    from mcp.client.stdio import stdio_client

    server = StdioServerParameters(command=sys.executable,
                                   args=["-m", "nsm_cli", "mcp", "--root", str(ROOT)],
                                   cwd=str(ROOT / "tests"), env={"NO_COLOR": "1"})
    found: dict = {}
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        found["init"] = await session.initialize()
        found["tools"] = (await session.list_tools()).tools
        for name, (arguments, _) in CALLS.items():
            found[name] = await session.call_tool(name, arguments)
        for case, (name, arguments, _) in [*SEGMENTS.items(), *FAILING.items()]:
            found[case] = await session.call_tool(name, arguments)
    return found


@pytest.fixture(scope="module")
def answers() -> dict:
    import anyio

    return anyio.run(_session)


def text_of(result) -> str:
    [content] = result.content
    return content.text


@pytest.mark.slow
def test_the_server_introduces_itself_and_lists_one_tool_per_analysis(answers):
    assert answers["init"].server_info.name == "nsm"
    tools = {tool.name: tool for tool in answers["tools"]}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert len(tool.description) > 30
        assert set(tool.input_schema["required"]) in ({"tree"}, {"paths"})


@pytest.mark.slow
def test_rank_levers_on_mau_gives_the_articles_levers(answers):
    result = answers["rank-levers"]
    assert not result.is_error
    levers = {lever["id"]: lever for lever in json.loads(text_of(result))["levers"]}
    assert levers["retention_rate"]["delta"] == pytest.approx(6_500 * 0.01)     # +65
    assert levers["recall_rate"]["delta"] == pytest.approx(5_000 * 0.01)        # +50
    assert levers["first_service_rate"]["delta"] == pytest.approx(1_500 * 0.01)  # +15
    assert levers["retention_rate"]["potential"] == pytest.approx(6_500 * 0.03)  # +195


@pytest.mark.slow
@pytest.mark.parametrize("name", CALLS)
def test_every_tool_answers_what_the_command_prints_with_format_json(answers, nsm, monkeypatch,
                                                                       name):
    monkeypatch.chdir(ROOT)
    run = nsm(*CALLS[name][1], "--format", "json")
    assert run.code in (0, 3), run.stderr
    assert not answers[name].is_error, text_of(answers[name])
    assert text_of(answers[name]) == run.stdout


@pytest.mark.slow
@pytest.mark.parametrize("case", FAILING)
def test_bad_input_is_a_tool_error_with_the_commands_message(answers, case):
    result = answers[case]
    assert result.is_error
    assert FAILING[case][2] in text_of(result)
    assert "Traceback" not in text_of(result)


def test_without_the_extra_it_says_what_to_install(nsm, monkeypatch):
    for name in [m for m in sys.modules if m == "mcp" or m.startswith("mcp.")] + ["mcp"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if the SDK were not installed
    monkeypatch.delitem(sys.modules, "nsm_cli.cli.mcp_server", raising=False)
    run = nsm("mcp")
    assert run.code == 1 and run.stdout == ""
    assert "pip install 'nsm-cli[mcp]'" in run.stderr


@pytest.mark.slow
def test_the_sdk_and_jsonschema_load_only_for_their_commands():
    probe = ("import sys; from nsm_cli.cli.main import main; main(['init', '--list']); "
             "print(sorted(m for m in ('mcp', 'jsonschema', 'pydantic') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert run.stdout.splitlines()[-1] == "[]"


@pytest.mark.slow
@pytest.mark.parametrize("case", SEGMENTS)
def test_segment_tools_answer_what_the_command_prints_with_format_json(answers, nsm,
                                                                       monkeypatch, case):
    monkeypatch.chdir(ROOT)
    run = nsm(*SEGMENTS[case][2], "--format", "json")
    assert run.code in (0, 3), run.stderr
    assert not answers[case].is_error, text_of(answers[case])
    assert text_of(answers[case]) == run.stdout


@pytest.mark.slow
def test_segments_through_the_server_give_the_hand_computed_values(answers):
    """trees/regions.yaml, 2025-06 (trees/README): 27 items of 9 orders; 华北 5 orders × 2.6
    = 13, 华南 2 × 5 = 10, 华东 2 × 2 = 4. 北京一店 alone: 3 orders of 2, 2, 5 items, so a
    1% step of its orders adds 0.03 × 3 = 0.09 items, of its items per order 3 × 0.03."""
    result = json.loads(text_of(answers["eval by"]))
    roots = {s["segment"]: s["nodes"][0]["value"] for s in result["segments"]}
    assert result["nodes"][0]["value"] == 27
    assert roots == pytest.approx({"华北": 13, "华南": 10, "华东": 4})
    assert list(roots) == ["华北", "华南", "华东"]
    levers = json.loads(text_of(answers["levers by"]))
    assert levers["root_value"] == 9 and levers["where"] == {"store": "北京一店"}
    assert [(x["segment"], x["id"]) for x in levers["levers"]] == [
        ("华北", "orders"), ("华北", "items_per_order")]
    assert [x["delta"] for x in levers["levers"]] == pytest.approx([0.09, 0.09])
    fired = json.loads(text_of(answers["alerts by"]))["fired"]
    assert [(a["segment"], a["id"]) for a in fired] == [("华北", "items_per_order"),
                                                        ("华东", "items_per_order")]
    assert [a["value"] for a in fired] == pytest.approx([2.34, 1.8])   # 2.6 and 2 × 0.9
