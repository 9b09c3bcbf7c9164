"""`nsm report`: one self-contained HTML page (inline CSS and SVG, no script, nothing remote).

A pure function of :func:`nsm_cli.analysis.report.report_result`'s plain data. The page
must open offline and as an e-mail attachment, so it loads nothing: no fonts (a system font
stack with CJK fallbacks), no scripts, no images but inline SVG drawn here. Every piece of
user text goes through :func:`esc`.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len

from nsm_cli.analysis.results import (
    AlertsResult,
    EvalNode,
    EvalResult,
    GuardrailRow,
    LeversResult,
    ReportResult,
    SegmentEvalResult,
    SegmentLeversResult,
    present,
)
from nsm_cli.numbers import PREFIX_UNITS, change_text, json_number, percent, value_text
from nsm_cli.render import tree_guides, wrap_words
from nsm_cli.render.eval_formats import gap_text, move_text, target_gap
from nsm_cli.render.explain_formats import amount, amount_digits, share_text
from nsm_cli.render.levers_formats import change_cell, decimals, level_text, short_name

if TYPE_CHECKING:   # numpy stays unloaded until a forecast is made
    from nsm_cli.analysis.forecast import ForecastResult, NodeForecast

BOX_W, BOX_H, GAP_X, GAP_Y = 196, 90, 18, 44
NAME_PX = BOX_W - 22     # room for a name line inside a box
COLOURS = {"ahead": "#1e8e3e", "behind": "#d93025", "on_par": "#e37400", None: "#80868b"}
FILLS = {"ahead": "#e6f4ea", "behind": "#fce8e6", "on_par": "#fef7e0", None: "#ffffff"}
FONTS = ('system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Helvetica Neue", '
         'Arial, "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", '
         '"Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", sans-serif')

CSS = """
@page { size: A4 landscape; margin: 10mm; }
* { box-sizing: border-box; }
body { font-family: FONTS; color: #202124; margin: 0; background: #f8f9fa;
  font-variant-numeric: tabular-nums; -webkit-print-color-adjust: exact;
  print-color-adjust: exact; }
main { max-width: 1400px; margin: 0 auto; padding: 20px 28px 40px; }
header { display: flex; flex-wrap: wrap; gap: 16px 40px; align-items: flex-end;
  border-bottom: 3px solid #1a73e8; padding-bottom: 12px; margin-bottom: 18px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 0 0 10px; color: #1a73e8; }
.sub { color: #5f6368; font-size: 13px; }
.kpi .value { font-size: 34px; font-weight: 700; line-height: 1.1; }
.kpi .line { font-size: 13px; margin-top: 2px; }
section { background: #fff; border: 1px solid #dadce0; border-radius: 8px;
  padding: 14px 18px; margin-bottom: 16px; break-inside: avoid; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; margin-bottom: 16px; }
.grid section { margin-bottom: 0; }
.tree { overflow-x: auto; }
.tree svg { display: block; max-width: 100%; height: auto; margin: 0 auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 4px 8px; border-bottom: 1px solid #eceff1; vertical-align: middle; }
th { text-align: left; color: #5f6368; font-weight: 600; }
td.n, th.n { text-align: right; white-space: nowrap; }
td.name { min-width: 11em; }
td.owner { white-space: nowrap; }
.ahead, .better, .ok { color: #1e8e3e; } .behind, .worse, .bad { color: #d93025; }
.on_par { color: #e37400; } .muted { color: #80868b; }
.bar { display: inline-block; height: 10px; border-radius: 2px; background: #1a73e8; }
.bar.neg { background: #d93025; }
ul.alerts { list-style: none; padding: 0; margin: 0; }
ul.alerts li { border-left: 4px solid #d93025; background: #fce8e6; padding: 6px 10px;
  margin-bottom: 6px; border-radius: 0 4px 4px 0; font-size: 13px; }
footer { color: #80868b; font-size: 11px; margin-top: 12px; }
@media print {
  body { background: #fff; font-size: 10pt; }
  main { max-width: none; padding: 0; }
  section { border-color: #bbb; padding: 8px 10px; margin-bottom: 8px; }
  .tree { overflow: visible; break-after: page; }
  .tree svg { max-height: 160mm; }
  .grid { grid-template-columns: 1fr 1fr; gap: 8px; }
}
@media screen and (max-width: 900px) { .grid { grid-template-columns: 1fr; } }
""".replace("FONTS", FONTS)


def esc(text: object) -> str:
    """User text (names, owners, messages) as safe HTML or SVG text."""
    return html.escape(str(text), quote=True)


def render_report(report: ReportResult) -> str:
    """The whole page as one string."""
    ev = report.eval
    title = f"{ev.tree or ev.root} · {ev.period}" + "".join(
        f" · {c}={v}" for c, v in (present(ev.where) or {}).items())
    body = [_header(ev), _tree_section(ev)]
    body.append('<div class="grid">' + _levers_section(report.levers)
                + _why_section(report) + "</div>")
    body.append('<div class="grid">' + _guardrails_section(ev)
                + _alerts_section(report.alerts) + "</div>")
    if report.forecast is not None:
        body.append(_forecast_section(report.forecast, report.forecast_note or ""))
    for part in report.segments:
        body.append('<div class="grid">' + _segments_section(part.eval)
                    + _segment_levers_section(part.levers) + "</div>")
    body.append(_footer(ev))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; img-src data:\">\n"
            f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(body) + "\n</main>\n</body>\n</html>\n")


def _root(ev: EvalResult) -> EvalNode:
    return next(node for node in ev.nodes if node.id == ev.root)


def target_text(node: EvalNode) -> tuple[str, str]:
    """`target 8,400 人 · ✗ −420 人` and its class: the gap to the target, judged by direction."""
    if node.target is None:
        return "", ""
    text = f"target {value_text(node.target, node.unit)}"
    mark, met = target_gap(node)
    if met is None:
        return text, "muted"
    return f"{text} · {mark}", "ok" if met else "bad"


def _header(ev: EvalResult) -> str:
    root = _root(ev)
    what = [f"period {esc(ev.period)}"]
    if where := present(ev.where):   # --where: the rows every part of the page was computed on
        what.append("where " + esc(" and ".join(f"{c}={v}" for c, v in where.items())))
    if ev.scenario:
        what.append(f"scenario {esc(ev.scenario)}"
                    + (f" — {esc(ev.scenario_description)}" if ev.scenario_description else ""))
    lines = []
    target, css = target_text(root)
    if target:
        lines.append(f'<div class="line {css}">{esc(target)}</div>')
    if root.benchmark is not None:
        lines.append(f'<div class="line {root.status or ""}">benchmark '
                     f'{esc(value_text(root.benchmark, root.unit))} · '
                     f'{esc(gap_text(root))}</div>')
    trend = present(root.trend)
    move = move_text(trend, root.unit)
    if move:
        lines.append(f'<div class="line {trend.verdict or ""}">vs '
                     f'{esc(trend.previous_period)}: {esc(move)}</div>')
    if present(root.change) is not None:
        lines.append(f'<div class="line">vs base: {esc(change_text(root.change, root.unit))}'
                     f"</div>")
    return (f'<header><div><h1>{esc(ev.tree or ev.root)}</h1>'
            f'<div class="sub">{" · ".join(what)}</div></div>'
            f'<div class="kpi"><div class="sub">{esc(root.name)}</div>'
            f'<div class="value">{esc(value_text(root.value, root.unit))}</div>'
            + "".join(lines) + "</div></header>")


# ------------------------------------------------------------------ the tree diagram


def layout(ev: EvalResult) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
    """Boxes (x, y, node, is_ref) and edges between box indices: leaves side by side, each
    parent centred over its children; a shared driver drawn again as a reference box."""
    rows = tree_guides(ev.nodes, ev.root)
    depth_of = [_depth(prefix) for prefix, _, _ in rows]
    boxes: list[dict[str, Any]] = []
    edges: list[tuple[int, int]] = []
    parents: list[int] = []
    next_x = 0.0
    for position, (_, node_id, is_ref) in enumerate(rows):
        depth = depth_of[position]
        parents = parents[:depth]
        boxes.append({"id": node_id, "ref": is_ref, "depth": depth, "x": None,
                      "y": depth * (BOX_H + GAP_Y)})
        if parents:
            edges.append((parents[-1], position))
        parents.append(position)
        leaf = position + 1 >= len(rows) or depth_of[position + 1] <= depth
        if leaf:
            boxes[position]["x"] = next_x
            next_x += BOX_W + GAP_X
    for position in reversed(range(len(boxes))):
        if boxes[position]["x"] is None:
            kids = [boxes[b]["x"] for a, b in edges if a == position]
            boxes[position]["x"] = (min(kids) + max(kids)) / 2
    return boxes, edges


def _depth(prefix: str) -> int:
    return len(prefix) // 4


def _sparkline(values: list[float | None], x: float, y: float, w: float, h: float,
               colour: str) -> str:
    points = [(i, v) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if len(points) < 2:
        return ""
    low, high = min(v for _, v in points), max(v for _, v in points)
    span = high - low or 1.0
    step = w / max(len(values) - 1, 1)
    coords = [(x + i * step, y + h - (v - low) / span * h if high > low else y + h / 2)
              for i, v in points]
    path = " ".join(f"{px:.1f},{py:.1f}" for px, py in coords)
    last_x, last_y = coords[-1]
    return (f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>'
            f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2" fill="{colour}"/>')


def text_px(text: str, size: float = 12.5) -> float:
    """About how wide `text` is at `size` px in a sans-serif font: Han and other wide
    characters take an em, Latin letters and digits about 0.6 em."""
    return sum(size * (1.0 if cell_len(char) == 2 else 0.6) for char in text)


def wrap_name(name: str, room: float = NAME_PX, lines: int = 2) -> list[str]:
    """The name in lines at most `room` px wide, broken between words (inside a word when it
    is longer than a line, as Chinese names are); the last line ends in … if cut."""
    out = wrap_words(" ".join(name.split()), room, text_px)
    if len(out) > lines:
        out = out[:lines]
        while out[-1] and text_px(out[-1] + "…") > room:
            out[-1] = out[-1][:-1]
        out[-1] = out[-1].rstrip() + "…"
    return out


def value_parts(value: float | None, unit: str | None) -> tuple[str, str]:
    """The number as it stands big in a box (`$97.50`, `92%`, `1,530`) and a word unit after
    it in small type (` customers`, ` 人`)."""
    if unit is None or unit == "%" or unit in PREFIX_UNITS:
        return value_text(value, unit), ""
    return value_text(value, None), "" if value is None else f" {unit}"


def _box(box: dict[str, Any], node: EvalNode) -> str:
    x, y = box["x"], box["y"]
    status = None if box["ref"] else node.status
    parts = [f'<g class="node" data-id="{esc(node.id)}">',
             f"<title>{esc(_tooltip(node))}</title>",
             f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" '
             f'fill="{FILLS[status]}" stroke="{COLOURS[status]}" stroke-width="1.5"'
             + (' stroke-dasharray="5 3"' if box["ref"] else "") + "/>",
             f'<rect x="{x}" y="{y}" width="5" height="{BOX_H}" rx="2" fill="{COLOURS[status]}"/>']
    name_lines = wrap_name(("↪ " if box["ref"] else "") + node.name)
    for i, line in enumerate(name_lines):
        weight = "700" if node.depth == 0 else "600"
        parts.append(f'<text x="{x + 12}" y="{y + 17 + 15 * i}" font-size="12.5" '
                     f'font-weight="{weight}">{esc(line)}</text>')
    top = y + 17 + 15 * len(name_lines) + 6
    big, small = value_parts(node.value, node.unit)
    parts.append(f'<text x="{x + 12}" y="{top}" font-size="17" font-weight="700">{esc(big)}'
                 f'<tspan font-size="11" font-weight="400" fill="#5f6368">{esc(small)}</tspan>'
                 f"</text>")
    if not box["ref"]:
        parts += _box_details(node, x, top)
    parts.append("</g>")
    return "".join(parts)


def _tooltip(node: EvalNode) -> str:
    """The whole name and what a box may leave out, shown on hover."""
    lines = [node.name]
    if node.benchmark is not None:
        lines.append(f"benchmark {value_text(node.benchmark, node.unit)}")
    if node.owner:
        lines.append(f"owner {node.owner}")
    return "\n".join(lines)


def _trend_values(row: EvalNode | GuardrailRow) -> list[float | None]:
    trend = present(row.trend)
    return (trend.values if trend is not None else None) or []


def _box_details(node: EvalNode, x: float, top: float) -> list[str]:
    parts = []
    big, small = value_parts(node.value, node.unit)
    if 12 + text_px(big, 17) + text_px(small, 11) <= BOX_W - 66:   # beside the value only
        parts.append(_sparkline(_trend_values(node), x + BOX_W - 60, top - 14, 50, 14,
                                "#1a73e8"))
    lines: list[tuple[str, str]] = []
    if node.benchmark is not None:
        text = f"{gap_text(node)} vs {value_text(node.benchmark, node.unit)}"
        if text_px(text, 11) > BOX_W - 20:
            text = gap_text(node)   # the benchmark itself is in the box's tooltip
        lines.append((text, COLOURS[node.status]))
    target, css = target_text(node)
    if target:
        lines.append((target, COLOURS["ahead"] if css == "ok" else COLOURS["behind"]))
    if node.owner and len(lines) < 2:
        lines.append((node.owner, "#5f6368"))
    for i, (text, colour) in enumerate(lines[:2]):
        parts.append(f'<text x="{x + 12}" y="{top + 16 + 14 * i}" font-size="11" '
                     f'fill="{colour}">{esc(text)}</text>')
    return parts


def _edge(a: dict[str, Any], b: dict[str, Any]) -> str:
    x1, y1 = a["x"] + BOX_W / 2, a["y"] + BOX_H
    x2, y2 = b["x"] + BOX_W / 2, b["y"]
    middle = y1 + GAP_Y / 2
    return (f'<path d="M{x1},{y1} V{middle} H{x2} V{y2}" fill="none" stroke="#9aa0a6" '
            f'stroke-width="1.2"/>')


def tree_svg(ev: EvalResult) -> str:
    """The tree as an inline SVG, sized by its viewBox so it scales to the page."""
    nodes = {node.id: node for node in ev.nodes}
    boxes, edges = layout(ev)
    width = max(box["x"] for box in boxes) + BOX_W + 2
    height = max(box["y"] for box in boxes) + BOX_H + 2
    shapes = [_edge(boxes[a], boxes[b]) for a, b in edges]
    shapes += [_box(box, nodes[box["id"]]) for box in boxes]
    return (f'<svg viewBox="-1 -1 {width:.0f} {height:.0f}" '
            f'width="{width:.0f}" height="{height:.0f}" role="img" '
            f'aria-label="{esc(ev.tree or ev.root)}" font-family=\'{FONTS}\' '
            f'fill="#202124">' + "".join(shapes) + "</svg>")


def _tree_section(ev: EvalResult) -> str:
    legend = ('<span class="ahead">■ ahead of benchmark</span> · '
              '<span class="behind">■ behind</span> · <span class="on_par">■ on par</span> · '
              '<span class="muted">■ no benchmark</span> · line: last '
              f'{len(ev.trend.periods) if ev.trend else 0} periods')
    return (f'<section class="tree"><h2>The tree</h2>{tree_svg(ev)}'
            f'<div class="sub">{legend}</div></section>')


# ------------------------------------------------------------------ the other sections


def _levers_section(levers: LeversResult) -> str:
    unit = levers.root_unit
    rows = [row for row in levers.levers if row.delta is not None]
    digits = decimals([row.delta for row in rows], unit)
    largest = max((abs(row.delta) for row in rows), default=0.0) or 1.0
    body = []
    for row in levers.levers:
        ranked = row.delta is not None
        width = 0.0 if not ranked else abs(row.delta) / largest * 100
        neg = " neg" if ranked and row.delta < 0 else ""
        body.append(
            f'<tr><td class="n">{row.rank or ""}</td><td class="name">{esc(row.name)}</td>'
            f'<td class="muted owner">{esc(row.owner or "")}</td>'
            f'<td class="n">{esc(level_text(row.value, row.unit))} → '
            f'{esc(level_text(row.new_value, row.unit) if ranked else "")}</td>'
            f'<td class="n">{esc(change_cell(row.delta, unit, digits))}</td>'
            f'<td style="width:22%"><span class="bar{neg}" style="width:{width:.1f}%"></span>'
            + ("" if ranked else f'<span class="muted">{esc(row.reason or "")}</span>')
            + "</td></tr>")
    size = f"{levers.step * 100:g}"
    step = f"{size} pt for rates, +{size}% for others" if levers.mode == "points" else f"{size}%"
    header = esc(f"Δ {short_name(levers.root_name)}" + (f" ({unit})" if unit and unit != "%"
                                                       else ""))
    return (f"<section><h2>Levers: each leaf alone one step (+{step}) better</h2>"
            f'<table><tr><th class="n">#</th><th>lever</th><th>owner</th>'
            f'<th class="n">value → stepped</th><th class="n">{header}</th><th></th></tr>'
            + "".join(body) + "</table></section>")


def _segments_section(result: SegmentEvalResult) -> str:
    """The segment matrix: nodes down, the total and the best segments across, ★ the best
    segment of each node, the gap to the benchmark coloured."""
    segments, rest = result.segments, result.rest
    head = "".join(f'<th class="n">{esc(s.segment)}</th>' for s in segments)
    head += f'<th class="n">{rest.count} more</th>' if rest.count else ""
    columns = [{n.id: n for n in s.nodes} for s in segments]
    rows = []
    for node in result.nodes:
        cells = [f'<td class="name" style="padding-left:{node.depth * 12}px">'
                 f'{esc(node.name)}</td><td class="n">'
                 f'{esc(value_text(node.value, node.unit))}</td>']
        for segment, by_id in zip(segments, columns, strict=True):
            cell = by_id[node.id]
            best = result.best.get(node.id) == segment.segment
            status = {"ahead": " ahead", "behind": " behind"}.get(cell.status or "", "")
            mark = " ★" if best else ""
            cells.append(f'<td class="n{status}">{esc(value_text(cell.value, node.unit))}'
                         f"{mark}</td>")
        if rest.count:
            low, high = rest.range[node.id]
            span = "—" if low is None else (f"{value_text(low, node.unit)}…"
                                            f"{value_text(high, node.unit)}")
            cells.append(f'<td class="n muted">{esc(span)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<section><h2>By {esc(result.by)}: the total and the best segments</h2>"
            f'<table><tr><th>metric</th><th class="n">total</th>{head}</tr>'
            + "".join(rows) + '</table><p class="muted">★ the best segment of each node</p>'
            "</section>")


def _segment_levers_section(levers: SegmentLeversResult) -> str:
    unit = levers.root_unit
    rows = []
    for row in levers.levers:
        rows.append(f'<tr><td class="n">{row.rank or ""}</td>'
                    f'<td>{esc(row.segment if row.segment is not None else "(all)")}</td>'
                    f'<td class="name">{esc(row.name)}</td>'
                    f'<td class="n">{esc(change_text(row.delta, unit if unit == "%" else None))}'
                    f'</td><td class="muted">{esc(row.reason or "")}</td></tr>')
    return (f"<section><h2>Where to act: one step in one {esc(levers.by)}</h2>"
            f'<table><tr><th class="n">#</th><th>{esc(levers.by)}</th><th>lever</th>'
            f'<th class="n">Δ total {esc(short_name(levers.root_name))}</th><th></th></tr>'
            + "".join(rows) + "</table></section>")


def _why_section(report: ReportResult) -> str:
    why = report.explain
    if why is None:
        return (f"<section><h2>Why the root moved</h2><p class=\"muted\">"
                f"{esc(report.explain_note or '')}</p></section>")
    unit = why.root_unit
    moving = [row for row in why.contributions if row.contribution]
    digits = amount_digits([row.contribution for row in moving], unit, [why.change or 0.0])
    running = [why.from_value]
    for row in moving:
        running.append(running[-1] + row.contribution)
    low, high = min(running), max(running)
    body = [_why_row(f"{why.from_} {why.root_name}", "",
                     why.from_value, why.from_value, low, high, unit, digits, True)]
    for row, before, after in zip(moving, running, running[1:], strict=False):
        body.append(_why_row(row.name, amount(row.contribution, unit, digits)
                             + f" · {share_text(row.share)}", before, after, low, high,
                             unit, digits, False))
    body.append(_why_row(f"{why.to} {why.root_name}", amount(why.change, unit, digits),
                         why.to_value, why.to_value, low, high, unit, digits, True))
    move = change_text(why.change, unit)
    if unit != "%" and why.change_pct is not None:
        move += f", {percent(why.change_pct, signed=True, decimals=1)}"
    note = " (the data, without the scenario)" if report.eval.scenario else ""
    return (f"<section><h2>Why the root moved: {esc(why.from_)} → {esc(why.to)}, "
            f"{esc(move)}</h2><table><tr><th>step</th><th class=\"n\">contribution</th>"
            f"<th class=\"n\">running</th><th></th></tr>" + "".join(body)
            + f"</table><div class=\"sub\">Shapley contributions of the leaves; they add up to "
            f"the change{esc(note)}.</div></section>")


def _why_row(label: str, contribution: str, before: float, after: float, low: float,
             high: float, unit: str | None, digits: int, total: bool) -> str:
    from nsm_cli.render.explain_formats import level

    width = 220.0
    span = (high - low) or 1.0
    left = (min(before, after) - low) / span * width
    length = max(abs(after - before) / span * width, 1.5)
    colour = "#5f6368" if total else ("#1e8e3e" if after >= before else "#d93025")
    bar = (f'<svg width="{width + 4:.0f}" height="12" aria-hidden="true">'
           f'<rect x="{left:.1f}" y="1" width="{length:.1f}" height="10" rx="1" '
           f'fill="{colour}"/></svg>')
    weight = ' style="font-weight:600"' if total else ""
    return (f"<tr{weight}><td>{esc(label)}</td><td class=\"n\">{esc(contribution)}</td>"
            f"<td class=\"n\">{esc(level(after, unit, digits))}</td><td>{bar}</td></tr>")


def _guardrails_section(ev: EvalResult) -> str:
    if not ev.guardrails:
        return "<section><h2>Guardrails</h2><p class=\"muted\">none in this tree</p></section>"
    body = []
    for guard in ev.guardrails:
        bounds = []
        if guard.min is not None:
            bounds.append(f"≥ {value_text(guard.min, guard.unit)}")
        if guard.max is not None:
            bounds.append(f"≤ {value_text(guard.max, guard.unit)}")
        state = ("muted", "? no value") if guard.value is None else (
            ("bad", "✗ breached") if guard.breached else ("ok", "✓ ok"))
        spark = _sparkline(_trend_values(guard), 2, 2, 60, 12, "#1a73e8")
        body.append(f"<tr><td>{esc(guard.name)}</td>"
                    f"<td class=\"n\">{esc(value_text(guard.value, guard.unit))}</td>"
                    f"<td><svg width=\"64\" height=\"16\" aria-hidden=\"true\">{spark}</svg></td>"
                    f"<td>{esc(', '.join(bounds) or 'no bound')}</td>"
                    f"<td class=\"{state[0]}\">{state[1]}</td>"
                    f"<td class=\"muted\">{esc(guard.owner or '')}</td></tr>")
    return ("<section><h2>Guardrails</h2><table><tr><th>metric</th><th class=\"n\">value</th>"
            "<th>trend</th><th>bound</th><th></th><th>owner</th></tr>" + "".join(body)
            + "</table></section>")


def _alerts_section(alerts: AlertsResult) -> str:
    fired = alerts.fired
    if not alerts.checked:
        inner = '<p class="muted">no alert rules in this tree</p>'
    elif not fired:
        inner = '<p class="ok">✓ no alert fired</p>'
    else:
        inner = '<ul class="alerts">' + "".join(
            f"<li><b>{esc(a.name)}</b> · {esc(a.rule_text)} · "
            f"{esc(value_text(a.value, a.unit))}<br>{esc(a.message)}"
            + (f" <span class=\"muted\">({esc(a.owner)})</span>" if a.owner else "")
            + "</li>" for a in fired) + "</ul>"
    count = f"{len(fired)} fired of {alerts.checked} checked"
    return f"<section><h2>Alerts · {count}</h2>{inner}</section>"


def _footer(ev: EvalResult) -> str:
    from nsm_cli import __version__

    return (f"<footer>nsm {esc(__version__)} · {esc(ev.file)} · period {esc(ev.period)}"
            f" · values as of the data; gaps against each node's benchmark and target</footer>")


# ------------------------------------------------------------------ the forecast


def fan_svg(node: NodeForecast, width: float = 460, height: float = 130) -> str:
    """The root's history, its p10–p90 band and p50 ahead, and its target, as inline SVG."""
    past = list(node.history)
    ahead = [{"p10": a, "p50": b, "p90": c} for a, b, c in zip(node.p10, node.p50, node.p90,
                                                                 strict=True)]
    target = json_number(node.target)
    values = [v for v in past if v is not None] + [
        v for f in ahead for v in (f["p10"], f["p90"]) if v is not None]
    if target is not None:
        values.append(target)
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    count = len(past) + len(ahead)
    step = (width - 8) / max(count - 1, 1)

    def xy(i: int, v: float) -> str:
        return f"{4 + i * step:.1f},{4 + (height - 8) * (1 - (v - low) / span):.1f}"

    parts = []
    start = len(past) - 1
    band = [(start + 1 + k, f["p90"]) for k, f in enumerate(ahead)] + [
        (start + 1 + k, f["p10"]) for k, f in reversed(list(enumerate(ahead)))]
    if past and past[-1] is not None:
        band = [(start, past[-1]), *band]
    if all(v is not None for _, v in band):
        parts.append('<polygon points="' + " ".join(xy(i, v) for i, v in band)
                     + '" fill="#d2e3fc" stroke="none"/>')
    line = [(i, v) for i, v in enumerate(past) if v is not None]
    parts.append('<polyline points="' + " ".join(xy(i, v) for i, v in line)
                 + '" fill="none" stroke="#5f6368" stroke-width="1.5"/>')
    middle = ([(start, past[-1])] if past and past[-1] is not None else []) + [
        (start + 1 + k, f["p50"]) for k, f in enumerate(ahead) if f["p50"] is not None]
    parts.append('<polyline points="' + " ".join(xy(i, v) for i, v in middle)
                 + '" fill="none" stroke="#1a73e8" stroke-width="2"/>')
    if target is not None:
        y = xy(0, target).split(",")[1]
        parts.append(f'<line x1="4" x2="{width - 4:.0f}" y1="{y}" y2="{y}" stroke="#e37400" '
                     'stroke-dasharray="4 3"/>')
    return (f'<svg width="{width:.0f}" height="{height:.0f}" role="img" aria-label="forecast '
            f'of {esc(node.name)}">' + "".join(parts) + "</svg>")


def _forecast_section(result: ForecastResult, note: str) -> str:
    periods = result.periods
    kept = sum(leaf.method in ("constant", "last_value") for leaf in result.leaves)
    if kept == len(result.leaves):
        return ("<section><h2>Forecast</h2><p class=\"muted\">No leaf has the 6 periods of "
                f"history a forecast needs (the data has {len(result.history_periods)}), so "
                f"every value would stay where it is. {esc(note)}</p></section>")
    root = result.node(result.root)
    shown = [n for n in result.nodes if n.depth <= 1 and not n.guardrail]
    head = "".join(f'<th class="n">{esc(p)}</th>' for p in periods)
    rows = []
    for node in shown:
        cells = "".join(
            f'<td class="n">{esc(value_text(p50, node.unit))} <span class="muted">'
            f'({esc(value_text(p10, node.unit))}–'
            f'{esc(value_text(p90, node.unit))})</span></td>'
            for p10, p50, p90 in zip(node.p10, node.p50, node.p90, strict=True))
        rows.append(f"<tr><td class=\"name\">{'&nbsp;' * 4 * node.depth}"
                    f"{esc(node.name)}</td>{cells}</tr>")
    if root.p_target is not None:
        sign = "≤" if root.direction == "down" else "≥"
        cells = "".join(f'<td class="n"><b>{esc(percent(p, decimals=0))}</b></td>'
                        for p in root.p_target)
        rows.append(f"<tr><td>P({sign} target "
                    f"{esc(value_text(json_number(root.target), root.unit))})</td>{cells}</tr>")
    names = {n.id: n.name for n in result.nodes}
    shares = [(v.id, json_number(v.share, 6)) for v in result.variance[:5]]
    shares_html = "".join(
        f'<tr><td>{esc(names.get(leaf, leaf))}</td><td class="n">'
        f'{esc(percent(share or 0.0, decimals=1))}</td><td style="width:40%">'
        f'<span class="bar" style="width:{(share or 0.0) * 100:.1f}%"></span></td></tr>'
        for leaf, share in shares)
    notes = [note] if note else []
    if kept:
        notes.append(f"{kept} of {len(result.leaves)} leaves stay at their last value "
                     "(too little history, or constant): see nsm forecast.")
    variance = ("<h2>Which leaf's uncertainty matters</h2><table>" + shares_html + "</table>"
                if shares_html else "")
    return (f"<section><h2>Forecast: the next {len(periods)} periods, p50 (p10–p90), "
            f"{result.samples:,} simulated paths</h2>"
            f'<div class="grid"><div>{fan_svg(root)}<div class="sub">{esc(root.name)}: '
            "grey the last periods, blue the p50 and the p10–p90 band ahead, dashed the "
            f'target</div></div><div>{variance}</div></div>'
            f"<table><tr><th>metric</th>{head}</tr>" + "".join(rows) + "</table>"
            + "".join(f'<div class="sub">{esc(n)}</div>' for n in notes) + "</section>")
