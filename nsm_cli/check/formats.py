"""Renderers of a check result: pure functions from :class:`CheckResult` to output.

text for people (rich, grouped by file), json (the contract's shape), github
(workflow commands that annotate the pull request's diff) and sarif (2.1.0, for
code-scanning upload).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from itertools import groupby
from typing import Any

from nsm_cli.check.runner import CheckResult
from nsm_cli.diagnostics import ERROR, INFO, WARNING, Diagnostic
from nsm_cli.render import LaidOut, column_width, wrap_words

SYMBOLS = {ERROR: "✗", WARNING: "⚠", INFO: "ℹ"}
STYLES = {ERROR: "bold red", WARNING: "yellow", INFO: "cyan"}


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def summary(result: CheckResult) -> str:
    """`3 files, 1 error, 2 warnings` (and infos when there are any)."""
    parts = [_plural(len(result.files), "file"), _plural(result.errors, "error"),
             _plural(result.warnings, "warning")]
    if result.infos:
        parts.append(_plural(result.infos, "info"))
    return ", ".join(parts)


def _by_file(result: CheckResult) -> list[tuple[str, list[Diagnostic]]]:
    return [(file, list(items)) for file, items in
            groupby(result.diagnostics, key=lambda d: d.span.file)]


MESSAGE_ROOM = 30   # cells a message needs beside its location; narrower, it goes below


def render_text(result: CheckResult) -> Any:
    """Findings grouped under each file, aligned, then the summary line."""
    from rich.console import Group
    from rich.text import Text

    parts: list[Any] = []
    for file, items in _by_file(result):
        parts.append(Text(file, style="bold underline"))
        parts.append(Findings(items))
        parts.append(Text(""))
    style = "bold red" if result.errors else ("yellow" if result.warnings else "green")
    mark = "✗" if result.errors else ("⚠" if result.warnings else "✓")
    parts.append(Text(f"{mark} {summary(result)}", style=style))
    return Group(*parts)


def _findings_table(items: list[Diagnostic]) -> Any:
    from rich.text import Text

    from nsm_cli.render.text_table import TextTable

    table = TextTable.text_grid(padding=(0, 2), collapse_padding=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for d in items:
        table.add_row(f"{d.span.line}:{d.span.column}",
                      Text(f"{SYMBOLS[d.severity]} {d.severity}", style=STYLES[d.severity]),
                      Text(d.code, style="bold"), d.message)
    return table


class Findings(LaidOut):
    """The findings aligned in columns; on a narrow terminal each message goes below its
    location, wrapped between words, so no number in it is split."""

    def __init__(self, items: list[Diagnostic]):
        self.items = items

    def parts(self, width: int) -> list[Any]:
        table = _findings_table(self.items)
        lead = sum(column_width(c.cells) + 2 for c in table.columns[:3])
        if width - lead >= MESSAGE_ROOM:
            return [table]
        return [line for d in self.items for line in _finding_lines(d, width)]


def _finding_lines(d: Diagnostic, width: int) -> list[Any]:
    from rich.text import Text

    head = Text(f"{d.span.line}:{d.span.column}  ")
    head.append(f"{SYMBOLS[d.severity]} {d.severity}", style=STYLES[d.severity])
    head.append(f"  {d.code}", style="bold")
    return [head, *[Text("  " + line) for line in wrap_words(d.message, width - 2)]]


def check_result(result: CheckResult) -> dict[str, Any]:
    """The contract's JSON shape (plus `infos`)."""
    return {"files": len(result.files), "errors": result.errors, "warnings": result.warnings,
            "infos": result.infos, "diagnostics": [d.to_dict() for d in result.diagnostics]}


def render_json(result: CheckResult) -> str:
    return json.dumps(check_result(result), ensure_ascii=False, indent=2) + "\n"


# -- GitHub Actions workflow commands ----------------------------------------------------------

GITHUB_COMMANDS = {ERROR: "error", WARNING: "warning", INFO: "notice"}


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as @actions/core does (escapeData)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value, escaped as @actions/core does (escapeProperty)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def relative(file: str, base: str) -> str:
    """A path relative to `base` with forward slashes (as GitHub and SARIF want it)."""
    if os.path.isabs(file):
        with contextlib.suppress(ValueError):   # another drive on Windows
            file = os.path.relpath(file, base)
    return os.path.normpath(file).replace(os.sep, "/")


def render_github(result: CheckResult) -> str:
    """One `::group::` per file with findings, one annotation per finding, then the summary."""
    lines: list[str] = []
    for file, items in _by_file(result):
        shown = relative(file, result.base)
        lines.append(f"::group::{escape_data(shown)}")
        for d in items:
            props = ",".join(f"{key}={escape_property(value)}" for key, value in (
                ("file", shown), ("line", str(d.span.line)), ("col", str(d.span.column)),
                ("title", d.code)))
            lines.append(f"::{GITHUB_COMMANDS[d.severity]} {props}::{escape_data(d.message)}")
        lines.append("::endgroup::")
    lines.append(f"nsm check: {summary(result)}")
    return "\n".join(lines) + "\n"


# -- SARIF 2.1.0 ---------------------------------------------------------------------------------

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVELS = {ERROR: "error", WARNING: "warning", INFO: "note"}


def sarif_log(result: CheckResult) -> dict[str, Any]:
    """The SARIF log: every code as a rule of the driver, every finding as a result."""
    from nsm_cli import __version__
    from nsm_cli.check.catalogue import catalogue

    entries = catalogue()
    rules, index = [], {}
    for position, entry in enumerate(entries.values()):
        index[entry.code] = position
        help_text = entry.help
        if entry.bad:
            help_text += f"\nBad: {entry.bad}\nGood: {entry.good}"
        rules.append({
            "id": entry.code,
            "name": entry.name or entry.title,
            "shortDescription": {"text": entry.title},
            "fullDescription": {"text": entry.help or entry.title},
            "help": {"text": help_text},
            "defaultConfiguration": {"level": SARIF_LEVELS[entry.severity]},
            "properties": {"group": entry.group},
        })
    results = []
    for d in result.diagnostics:
        item: dict[str, Any] = {
            "ruleId": d.code,
            "level": SARIF_LEVELS[d.severity],
            "message": {"text": d.message},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": relative(d.span.file, result.base),
                                     "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": d.span.line, "startColumn": d.span.column},
            }}],
        }
        if d.code in index:
            item["ruleIndex"] = index[d.code]
        results.append(item)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "nsm",
                "semanticVersion": __version__,
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def render_sarif(result: CheckResult) -> str:
    return json.dumps(sarif_log(result), ensure_ascii=False, indent=2) + "\n"


def render_markdown(result: CheckResult) -> str:
    """A pull-request comment: one table of findings, then the summary."""
    from nsm_cli.render import md_cell as _md

    lines = [f"### nsm check · {summary(result)}", ""]
    if result.diagnostics:
        lines += ["| file | line | severity | code | message |", "|:--|--:|:--|:--|:--|"]
        lines += [f"| {_md(d.span.file)} | {d.span.line}:{d.span.column} | "
                  f"{SYMBOLS[d.severity]} {d.severity} | {d.code} | {_md(d.message)} |"
                  for d in result.diagnostics]
    else:
        lines.append("✓ no findings")
    return "\n".join(lines) + "\n"


CHECK_FORMATS: dict[str, Callable[[CheckResult], Any]] = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
    "github": render_github,
    "sarif": render_sarif,
}
