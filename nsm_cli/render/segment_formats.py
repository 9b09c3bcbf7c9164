"""Renderers for `--by`: the segment matrix (nodes × segments), levers and explain by segment.

Text marks read without colour: ★ the best segment of a node, ✓/✗ ahead of or behind its
benchmark (green/red where colour is on). With more segments than `--top`, the rest are
summarised in one column (their range), and a table wider than the terminal continues
below with the names repeated, so no number is ever cut.
"""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring
from typing import Any

from rich.console import Group
from rich.text import Text

from nsm_cli.analysis.results import (
    SegmentColumn,
    SegmentEvalResult,
    SegmentExplainResult,
    SegmentLeversResult,
    SegmentNode,
    SegmentRest,
    present,
)
from nsm_cli.numbers import change_text, percent, value_text
from nsm_cli.render import (
    Fitted,
    keep_numbers_whole,
    md_cell,
    md_table,
    min_name_width,
    plain_table,
    to_json,
    tree_guides,
    tree_label,
)
from nsm_cli.render.eval_formats import MARKS, STYLES

BEST = "★"
DEFAULT_TOP = 6  # segments shown as columns when --top is not given
DEFAULT_PAIRS = 20  # (segment, leaf) pairs rank-levers --by shows people without --top


Segmented = SegmentEvalResult | SegmentLeversResult | SegmentExplainResult


def _guides(result: SegmentEvalResult) -> list[tuple[str, str, bool]]:
    """The tree's rows (guides, id, shared) from the total's nodes."""
    return tree_guides(result.nodes, result.root)


def _where(result: Segmented) -> str:
    """The title's tail: the scenario or --set changes applied, and the rows kept."""
    pairs, scenario = result.where, present(getattr(result, "scenario", None))
    changes = [(c.id, c.change) for c in present(getattr(result, "changes", None)) or []]
    said = (f" · scenario {scenario}" if scenario else
            " · set " + ", ".join(f"{i} {c}" for i, c in changes) if changes else "")
    return said + (" · where " + ", ".join(f"{k}={v}" for k, v in pairs.items())
                   if pairs else "")


def _shown(result: SegmentEvalResult) -> tuple[list[SegmentColumn], SegmentRest]:
    """The segments shown as columns and the summary of the rest."""
    top = result.top or DEFAULT_TOP
    return result.segments[:top], result.rest


def _cell(cell: SegmentNode, unit: str | None, best: bool) -> Text:
    mark = " ".join(m for m in (BEST if best else "", MARKS[cell.status]) if m)
    text = value_text(cell.value, unit) + (f" {mark}" if mark else "")
    style = STYLES[cell.status] + (" bold" if best else "")
    return Text(text, style=style.strip())


def _rest(span: list[float | None], unit: str | None) -> str:
    low, high = span
    if low is None or high is None:
        return "—"
    if low == high:
        return value_text(low, unit)
    return f"{value_text(low, None if unit != '%' else unit)}…{value_text(high, unit)}"


def matrix_table(result: SegmentEvalResult, width: int | None = None, compact: bool = False):
    """Nodes down, the total then each shown segment across, the rest as one range column."""
    shown, rest = _shown(result)
    table = plain_table()
    table.add_column("metric", no_wrap=True)
    table.add_column("total", justify="right", no_wrap=True)
    for segment in shown:
        table.add_column(segment.segment, justify="right", no_wrap=True)
    if rest.count:
        table.add_column(f"{rest.count} more", justify="right", no_wrap=True)
    total = {node.id: node for node in result.nodes}
    columns = [{n.id: n for n in segment.nodes} for segment in shown]
    best = result.best
    rows = _guides(result)
    for position, (prefix, node_id, is_ref) in enumerate(rows):
        node = total[node_id]
        kids = position + 1 < len(rows) and len(rows[position + 1][0]) > len(prefix)
        name = f"↪ {node.name}" if is_ref else node.name
        extra = [(f" [{node.unit}]", "dim")] if compact and node.unit not in (None, "%") \
            else []
        label = tree_label(prefix, name, width, kids, "bold" if node.depth == 0 else "", extra)
        unit = node.unit if not compact or node.unit == "%" else None
        cells: list[Any] = [value_text(node.value, unit)]
        for segment, by_id in zip(shown, columns, strict=True):
            cells.append(_cell(by_id[node_id], unit, best.get(node_id) == segment.segment))
        if rest.count:
            cells.append(Text(_rest(rest.range[node_id], unit), style="dim"))
        table.add_row(label, *cells)
    return keep_numbers_whole(table)


def render_eval_text(result: SegmentEvalResult) -> Group:
    shown, rest = _shown(result)
    count = len(shown) + rest.count
    title = (f"{result.tree or result.root} · period {result.period} · by "
             f"{result.by} ({count} segment{'s' if count != 1 else ''}, best "
             f"{result.nodes[0].name} first){_where(result)}")
    legend = f"{BEST} best segment  ✓ ahead of benchmark  ✗ behind"
    if rest.count:
        legend += f"  ·  {rest.count} more: their lowest…highest (--top N shows more)"
    narrowest = min_name_width(_guides(result))
    return Group(Text(title, style="bold"),
                 Fitted(lambda width, compact: matrix_table(result, width, compact), narrowest),
                 Text(legend, style="dim"))


def render_eval_markdown(result: SegmentEvalResult) -> str:
    shown, rest = _shown(result)
    lines = [f"### {md_cell(result.tree or result.root)} · {result.period} · by "
             f"{md_cell(result.by)}{md_cell(_where(result))}", ""]
    header = ["metric", "total", *[md_cell(s.segment) for s in shown]]
    if rest.count:
        header.append(f"{rest.count} more")
    columns = [{n.id: n for n in s.nodes} for s in shown]
    body = []
    for node in result.nodes:
        row = ["&nbsp;" * 2 * node.depth + md_cell(node.name), value_text(node.value, node.unit)]
        for segment, by_id in zip(shown, columns, strict=True):
            cell = by_id[node.id]
            best = result.best.get(node.id) == segment.segment
            mark = " ".join(m for m in (BEST if best else "", MARKS[cell.status]) if m)
            row.append(value_text(cell.value, node.unit) + (f" {mark}" if mark else ""))
        if rest.count:
            row.append(_rest(rest.range[node.id], node.unit))
        body.append(row)
    lines += md_table(header, [":--"] + ["--:"] * (len(header) - 1), body)
    lines += ["", f"{BEST} best segment · ✓ ahead of benchmark · ✗ behind"]
    return "\n".join(lines) + "\n"


def render_eval_json(result: SegmentEvalResult) -> str:
    """`eval --by --format json`: the same bytes as to_json of the plain rows, with every
    segment's node rows written straight from their columns (no record per row)."""
    from dataclasses import replace

    from nsm_cli.analysis.segments import SegmentRows

    rows = result.segments
    if not isinstance(rows, SegmentRows):
        return to_json(result)
    text = to_json(replace(result, segments=[]))
    marker = '\n  "segments": []'   # a top-level key: only those are indented by 2 spaces
    at = text.index(marker)
    return "".join([text[:at], '\n  "segments": ', *_segments_json(rows),
                    text[at + len(marker):]])


def _float_token(value: float) -> str:
    return float.__repr__(value) if math.isfinite(value) else json.dumps(value)


_TOKENS = {type(None): lambda _: "null", str: encode_basestring, float: _float_token,
           int: int.__repr__, bool: lambda v: "true" if v else "false"}


def _token(value: Any) -> str:
    """One JSON scalar as json.dumps writes it (ensure_ascii off); exact types only."""
    write = _TOKENS.get(type(value))
    return write(value) if write is not None else json.dumps(value, ensure_ascii=False)


def _tokens(values: list[Any]) -> list[str]:
    if all(v is None for v in values):
        return ["null"] * len(values)
    return [_TOKENS[type(v)](v) if type(v) in _TOKENS else _token(v) for v in values]


def _segments_json(rows: Any) -> list[str]:
    """The `segments` list at json.dumps' indent=2, built node column by node column (each
    column's fields in NODE_FIELDS order, as segment_rows makes them)."""
    from nsm_cli.analysis.segments import NODE_FIELDS

    if not rows.labels:
        return ["[]"]
    inner = "\n          "
    k0, k1, k2, k3, k4, k5, k6 = (f'{inner}"{key}": ' for key in NODE_FIELDS)
    per_node: list[list[str]] = []
    for head, column in zip(rows.heads, rows.columns, strict=True):
        start = "        {" + "".join(f'{inner}"{key}": {_token(value)},'
                                    for key, value in head.items())
        per_node.append([f"{start}{k0}{a},{k1}{b},{k2}{c},{k3}{d},{k4}{e},{k5}{f},{k6}{g}"
                         "\n        }"
                         for a, b, c, d, e, f, g in zip(*map(_tokens, column.values()),
                                                        strict=True)])
    out = ["[\n"]   # the pieces, joined once by the caller (the text is ~170 MB at 500,000 rows)
    for at, label in enumerate(rows.labels):
        out.append(",\n" if at else "")
        out.append(f'    {{\n      "segment": {_token(label)},\n      "nodes": ')
        if per_node:
            out.append("[\n")
            out.extend(piece for node in per_node for piece in (node[at], ",\n"))
            out[-1] = "\n      ]\n    }"
        else:
            out.append("[]\n    }")
    out.append("\n  ]")
    return out


SEGMENT_EVAL_FORMATS = {"text": render_eval_text, "json": render_eval_json,
                        "markdown": render_eval_markdown}


# ---------------------------------------------------------------- rank-levers --by


def _lever_rows(result: SegmentLeversResult) -> list[list[str]]:
    rows = []
    root_unit = result.root_unit
    for lever in result.levers:
        segment = lever.segment if lever.segment is not None else "(all)"
        if lever.delta is None:
            move, effect = "", lever.reason or ""
        else:
            move = (f"{value_text(lever.value, lever.unit)} → "
                    f"{value_text(lever.new_value, lever.unit)}")
            pct = lever.delta_pct
            effect = change_text(lever.delta, root_unit if root_unit == "%" else None) + (
                f" ({percent(pct, signed=True, decimals=2)})" if pct is not None else "")
        rows.append([str(lever.rank or ""), segment, lever.name, move, effect])
    return rows


def _lever_title(result: SegmentLeversResult) -> str:
    step = (f"{percent(result.step)} step" if result.mode == "relative"
            else f"{result.step * 100:g} pp step for rates")
    return (f"{result.tree} · period {result.period} · by {result.by} · {step} in one "
            f"segment · change of the total {result.root_name} "
            f"({value_text(result.root_value, result.root_unit)}){_where(result)}")


def _levers_table(result: SegmentLeversResult) -> Any:
    """One row per pair: `1  华北 · 订单数`, the segment's step, the total root's change."""
    table = plain_table()
    table.add_column(f"#  {result.by} · leaf", no_wrap=True)
    table.add_column("segment's value", justify="right", no_wrap=True)
    table.add_column("total root", no_wrap=True)
    for rank, segment, name, move, effect in _lever_rows(result):
        table.add_row(f"{rank:>{len(str(result.total))}}  {segment} · {name}", move, effect)
    return keep_numbers_whole(table, (f"#  {result.by} · leaf", "total root"))


def render_levers_text(result: SegmentLeversResult) -> Group:
    parts: list[Any] = [Text(_lever_title(result), style="bold"),
                        Fitted(lambda width, compact: _levers_table(result))]
    if result.hidden:
        unranked = f"; {result.unranked} without a delta" if result.unranked else ""
        parts.append(Text(f"{result.hidden} more pairs (--top N shows more{unranked})",
                          style="dim"))
    return Group(*parts)


def render_levers_markdown(result: SegmentLeversResult) -> str:
    lines = [f"### {md_cell(_lever_title(result))}", ""]
    lines += md_table(["#", md_cell(result.by), "leaf", "segment's value", "total root"],
                      ["--:", ":--", ":--", "--:", ":--"],
                      [[md_cell(c) for c in row] for row in _lever_rows(result)])
    return "\n".join(lines) + "\n"


SEGMENT_LEVER_FORMATS = {"text": render_levers_text, "json": to_json,
                         "markdown": render_levers_markdown}


# ---------------------------------------------------------------- explain --by


def _explain_rows(result: SegmentExplainResult) -> tuple[list[str], list[list[str]]]:
    unit = result.root_unit
    split = result.volume is not None
    header = [result.by, "from", "to", "contribution", "share"]
    if split:
        header += ["volume", "mix", "rate"]
    rows = []
    for row in result.segments:
        cells = [row.segment, value_text(row.from_value, unit),
                 value_text(row.to_value, unit), change_text(row.contribution, unit),
                 "" if row.share is None else percent(row.share, decimals=1)]
        if split:
            cells += [change_text(present(value), unit) for value in (row.volume, row.mix,
                                                                      row.rate)]
        rows.append(cells)
    if result.interaction:
        rows.append(["(together)", "", "", change_text(result.interaction, unit), ""]
                    + ([""] * 3 if split else []))
    return header, rows


def _explain_title(result: SegmentExplainResult) -> list[str]:
    unit = result.root_unit
    lines = [f"{result.root_name}: {value_text(result.from_value, unit)} ({result.from_})"
             f" → {value_text(result.to_value, unit)} ({result.to}), "
             f"{change_text(result.change, unit)} · by {result.by}{_where(result)}"]
    if result.additive:
        how = "the total is the sum of the segments: each segment's own change"
        if result.volume:
            how += (f"; volume = {result.volume_name}'s growth, mix = its shift between "
                    "segments, rate = the segment's own rate (they sum exactly)")
    else:
        how = ("the total is not a sum of segments: each segment's change moves the total "
               "alone; (together) is what the segments' changes add only together")
    lines.append(how)
    return lines


def _leaf_lines(result: SegmentExplainResult) -> list[str]:
    out = []
    for row in result.segments:
        leaves = present(row.leaves)
        if not leaves:
            continue
        parts = [f"{leaf.name} {change_text(leaf.contribution, result.root_unit)}"
                 for leaf in leaves[:5]]
        out.append(f"{row.segment}: " + ", ".join(parts))
    return out


def _explain_table(result: SegmentExplainResult) -> Any:
    header, rows = _explain_rows(result)
    table = plain_table()
    for position, name in enumerate(header):
        table.add_column(name, justify="left" if position == 0 else "right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    return keep_numbers_whole(table, ())


def render_explain_text(result: SegmentExplainResult) -> Group:
    title = _explain_title(result)
    parts: list[Any] = [Text(title[0], style="bold"), Text(title[1], style="dim"),
                        Fitted(lambda width, compact: _explain_table(result))]
    leaves = _leaf_lines(result)
    if leaves:
        parts.append(Text("within the top segments, by leaf:", style="bold"))
        parts += [Text(line) for line in leaves]
    return Group(*parts)


def render_explain_markdown(result: SegmentExplainResult) -> str:
    header, rows = _explain_rows(result)
    title = _explain_title(result)
    lines = [f"### {md_cell(title[0])}", "", md_cell(title[1]), ""]
    lines += md_table([md_cell(h) for h in header], [":--"] + ["--:"] * (len(header) - 1),
                      [[md_cell(c) for c in row] for row in rows])
    leaves = _leaf_lines(result)
    if leaves:
        lines += ["", *[f"- {md_cell(line)}" for line in leaves]]
    return "\n".join(lines) + "\n"


SEGMENT_EXPLAIN_FORMATS = {"text": render_explain_text, "json": to_json,
                           "markdown": render_explain_markdown}
