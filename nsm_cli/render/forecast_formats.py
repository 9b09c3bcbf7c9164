"""`nsm forecast` renderers: a fan chart per node for people, Markdown, and the contract's JSON.

The text fan chart draws, per node, the recent history followed by the forecast's p90, p50
and p10 as three sparklines on one shared scale, so the band opens up where the
uncertainty grows; the numbers of each future period stand in their own columns, split
into several blocks rather than cut when the horizon is long. Plain characters only: it
reads the same with NO_COLOR and in a log file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rich.cells import cell_len

from nsm_cli.analysis.forecast import ForecastResult, NodeForecast
from nsm_cli.numbers import MISSING, percent, plain, value_text
from nsm_cli.render import LaidOut, Renderer, md_cell, md_row, to_json, wrap_words

WIDTH = 80        # the widest the text gets; a narrower terminal gets its own width
MIN_CHART = 8     # cells of the shortest fan chart: narrower, the numbers stand alone
NOT_AVAILABLE = "n/a"   # a chance that cannot be known
NAME_ROOM = 36      # cells a name may take beside a bar of shares
BARS = "▁▂▃▄▅▆▇█"
GAP = "·"
SPLIT = "│"
BAND = ("p90", "p50", "p10")   # the rows of a fan, top to bottom


def decimals(values: Sequence[float | None]) -> int:
    """One number of decimals for a row of figures, so they line up: none when all are
    whole or any reaches 1,000, one from 100, else two."""
    present = [abs(v) for v in values if v is not None and math.isfinite(v)]
    if not present or all(v == round(v) for v in present) or max(present) >= 1000:
        return 0
    return 1 if max(present) >= 100 else 2


def _number(value: float | None, unit: str | None, places: int | None = None) -> str:
    if value is None or not math.isfinite(value):
        return MISSING
    return percent(value) if unit == "%" else plain(value, places)


def _bars(values: Sequence[float | None], low: float, high: float) -> str:
    span = high - low
    out = []
    for value in values:
        if value is None or not math.isfinite(value):
            out.append(GAP)
        elif span <= 1e-12 * max(1.0, abs(high), abs(low)):
            out.append(BARS[3])
        else:
            level = round((value - low) / span * (len(BARS) - 1))
            out.append(BARS[min(max(level, 0), len(BARS) - 1)])
    return "".join(out)


def fan(node: NodeForecast, room: int = 40) -> list[str]:
    """Three sparklines (p90, p50, p10): the shared history, `│`, then the band.

    At most `room` characters: the history gives way first (down to 4 periods), then the
    far end of the forecast."""
    ahead = min(len(node.p50), room - 1 - min(4, len(node.history)))
    past = node.history[-max(0, room - 1 - ahead):] if room - 1 - ahead > 0 else ()
    seen = [v for v in (*past, *node.p10[:ahead], *node.p90[:ahead], *node.p50[:ahead])
            if v is not None and math.isfinite(v)]
    low, high = (min(seen), max(seen)) if seen else (0.0, 0.0)
    history = _bars(past, low, high)
    return [history + SPLIT + _bars(getattr(node, key)[:ahead], low, high) for key in BAND]


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - cell_len(text))
    return gap + text if right else text + gap


def _chance_label(node: NodeForecast) -> str:
    sign = "≤" if node.direction == "down" else "≥"
    return f"P({sign} {value_text(node.target, node.unit)})"


def node_block(node: NodeForecast, periods: Sequence[str], width: int = WIDTH) -> list[str]:
    """The lines of one node: its title, the fan rows with numbers, the probability row."""
    target = "" if node.target is None else f" · target {value_text(node.target, node.unit)}"
    unit = f" ({node.unit})" if node.unit and node.unit != "%" else ""
    indent = "  " * node.depth
    title = node.name + unit + target + (" · guardrail" if node.guardrail else "")
    lines = [indent + line for line in wrap_words(title, width - len(indent))]
    places = decimals([*node.p10, *node.p50, *node.p90])
    rows = [[_number(v, node.unit, places) for v in getattr(node, key)] for key in BAND]
    cell = max(cell_len(text) for text in [*periods, *(t for row in rows for t in row)]) + 2
    room = min(width // 2, width - 7 - cell - 2)   # a narrow terminal: a shorter chart
    charts = fan(node, room=room) if room >= MIN_CHART else ["", "", ""]
    labels = list(BAND)
    if node.p_target is not None:
        rows.append([chance_text(p) for p in node.p_target])
        labels.append(_chance_label(node))
        charts.append("")
    lead = max(cell_len(label) for label in BAND) + 4
    chart = max(cell_len(c) for c in charts) + 2
    if node.p_target is not None:
        chart = max(chart, cell_len(labels[-1]) + 4 - lead)
    if lead + chart + cell > width:   # not even one period beside the labels: records
        return lines + [line for i, period in enumerate(periods) for line in
                        [f"  {period}", *(f"    {label}: {row[i]}"
                                          for label, row in zip(labels, rows, strict=True))]]
    per_block = max(1, (width - lead - chart) // cell)
    for begin in range(0, len(periods), per_block):
        shown = range(begin, min(begin + per_block, len(periods)))
        head = _pad("", lead + chart) + "".join(_pad(periods[i], cell, True) for i in shown)
        lines.append(head.rstrip())
        for label, art, row in zip(labels, charts, rows, strict=True):
            art = art if begin == 0 else ""
            line = _pad(_pad("  " + label, lead) + art, lead + chart)
            lines.append((line + "".join(_pad(row[i], cell, True) for i in shown)).rstrip())
    return lines


def chance_text(probability: float | None) -> str:
    """`59%`, or `n/a` when no leaf could be forecast (0% would read as a certainty)."""
    return NOT_AVAILABLE if probability is None else percent(probability, decimals=0)


def _unknown(result: ForecastResult, width: int = WIDTH) -> list[str]:
    """The plain sentence when nothing was forecast: the bands have no width for lack of data."""
    if result.no_forecast is None:
        return []
    text = (f"{result.no_forecast[0].upper()}{result.no_forecast[1:]}. The bands have no width "
            f"(p10 = p50 = p90) and the chance of meeting a target is not available "
            f"({NOT_AVAILABLE}).")
    return ["", *wrap_words(text, width)]


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _title(result: ForecastResult, width: int = WIDTH) -> list[str]:
    first, last = result.periods[0], result.periods[-1]
    span = first if first == last else f"{first} … {last}"
    mode = "backtest of" if result.backtest is not None else "forecast"
    seed = "" if result.seed is None else f" · seed {result.seed}"
    second = (f"{_count(len(result.history_periods), 'period')} of history · "
              f"{result.samples:,} paths{seed} · chart: history │ forecast")
    return [*wrap_words(f"{result.tree or result.root} · {mode} {span}", width),
            *([second] if cell_len(second) <= width else wrap_words(second, width))]


def _kept(result: ForecastResult) -> list[str]:
    kept = [leaf for leaf in result.leaves if leaf.method in ("constant", "last_value")]
    if not kept:
        return []
    lines = ["", "Kept at their last value:"]
    lines += [f"  {leaf.id}: {leaf.reason}" for leaf in kept]
    return lines


def _variance(result: ForecastResult, width: int = WIDTH) -> list[str]:
    if not result.variance:
        return []
    names = {n.id: n.name for n in result.nodes}
    lines = ["", *wrap_words(f"Which leaf matters: share of the root's variance in "
                             f"{result.periods[-1]} (first order)", max(width, WIDTH))]
    if width < WIDTH:
        lines[1:] = wrap_words(" ".join(lines[1:]), width)
    terminal = width
    width = min(NAME_ROOM, max(cell_len(names.get(v.id, v.id)) for v in result.variance),
                max(terminal - 2 - 2 - 6, 4))
    bar_room = max(0, min(30, terminal - 2 - width - 2 - 6 - 2))
    for share in result.variance:
        amount = share.share or 0.0
        bar = "█" * round(amount * bar_room)
        lines.append(f"  {_pad(crop(names.get(share.id, share.id), width), width)}  "
                     f"{_pad(percent(amount, decimals=1), 6, True)}  {bar}".rstrip())
    return lines


def crop(text: str, width: int) -> str:
    """A name cut to `width` cells with `…` (names may be cut, numbers never)."""
    if cell_len(text) <= width:
        return text
    while text and cell_len(text) > width - 1:
        text = text[:-1]
    return text + "…"


def _errors(mae: float | None, mape: float | None, unit: str | None, places: int) -> str:
    if mae is None:
        return MISSING
    text = plain(mae, places) if unit != "%" else f"{mae * 100:.2f} pp"
    return text + ("" if mape is None else f" ({percent(mape, decimals=1)})")


def better(mae: float, naive_mae: float) -> str:
    """`forecast`, `last value` or `tie` (equal up to float noise: a formula of last values)."""
    if abs(mae - naive_mae) <= 1e-9 * max(1.0, abs(mae), abs(naive_mae)):
        return "tie"
    return "forecast" if mae < naive_mae else "last value"


def _backtest(result: ForecastResult, width: int = WIDTH) -> list[str]:
    if result.backtest is None:
        return []
    nodes = {n.id: n for n in result.nodes}
    hidden = len(result.periods)
    what = "the last period" if hidden == 1 else f"the last {hidden} periods"
    lines = ["", f"Backtest: {what} hidden and forecast from the periods before;",
             "errors of the p50 and of the last value: MAE (MAPE)", ""]
    header = ["node", "forecast", "last value", "better"]
    table = [header]
    for row in result.backtest:
        node = nodes[row.id]
        verdict = MISSING
        if row.mae is not None and row.naive_mae is not None:
            verdict = better(row.mae, row.naive_mae)
        places = decimals([row.mae, row.naive_mae])
        table.append(["  " * node.depth + node.name,
                      _errors(row.mae, row.mape, node.unit, places),
                      _errors(row.naive_mae, row.naive_mape, node.unit, places), verdict])
    widths = [max(cell_len(r[i]) for r in table) for i in range(len(header))]
    widths[0] = max(cell_len(header[0]), min(widths[0], width - 6 - sum(widths[1:])))
    if sum(widths) + 6 > width:   # a narrow terminal: one record per node
        return lines + [line for r in table[1:] for line in
                        [r[0].strip(), *(f"  {h}: {c}" for h, c in zip(header[1:], r[1:],
                                                                      strict=True))]]
    for r in table:
        r[0] = crop(r[0], widths[0])
        lines.append("  ".join(_pad(c, w, i in (1, 2)) for i, (c, w) in
                               enumerate(zip(r, widths, strict=True))).rstrip())
    return lines


def text_lines(result: ForecastResult, width: int = WIDTH) -> list[str]:
    """The text output's lines, at most `width` cells wide where the numbers allow."""
    lines = _title(result, width) + _unknown(result, width)
    for node in result.nodes:
        lines.append("")
        lines += node_block(node, result.periods, width)
    lines += _kept(result) + _variance(result, width) + _backtest(result, width)
    return lines


class ForecastText(LaidOut):
    """The fan charts laid out when printed: WIDTH cells wide, or the terminal's width."""

    def __init__(self, result: ForecastResult):
        self.result = result

    def parts(self, width: int) -> list[Any]:
        from rich.text import Text

        return [Text(line) for line in text_lines(self.result, min(width, WIDTH))]


def render_text(result: ForecastResult) -> ForecastText:
    return ForecastText(result)


def render_markdown(result: ForecastResult) -> str:
    """A table of p50 (p10–p90) per node and period, the root's chances, the backtest."""
    lines = [f"### Forecast · {md_cell(result.tree or result.root)}", "",
             f"{len(result.history_periods)} periods of history, {result.samples:,} paths; "
             f"cells are p50 (p10–p90).", ""]
    if result.no_forecast is not None:
        lines += [md_cell(" ".join(_unknown(result)).strip()), ""]
    lines.append(md_row(["node", *map(md_cell, result.periods)]))
    lines.append("|---|" + "---:|" * len(result.periods))
    for node in result.nodes:
        places = decimals([*node.p10, *node.p50, *node.p90])
        cells = [f"{_number(b, node.unit, places)} ({_number(a, node.unit, places)}–"
                 f"{_number(c, node.unit, places)})"
                 for a, b, c in zip(node.p10, node.p50, node.p90, strict=True)]
        lines.append(md_row([f"{'&nbsp;' * 2 * node.depth}{md_cell(node.name)}", *cells]))
    root = result.node(result.root)
    if root.p_target is not None:
        lines.append(f"| **{md_cell(_chance_label(root))}** | " +
                     " | ".join(chance_text(p) for p in root.p_target) + " |")
    lines += _md_extra(result)
    return "\n".join(lines) + "\n"


def _md_extra(result: ForecastResult) -> list[str]:
    lines = []
    if result.backtest is not None:
        nodes = {n.id: n for n in result.nodes}
        lines += ["", "| backtest | forecast MAE (MAPE) | last value MAE (MAPE) |",
                  "|---|---:|---:|"]
        for row in result.backtest:
            unit = nodes[row.id].unit
            places = decimals([row.mae, row.naive_mae])
            lines.append(md_row([md_cell(nodes[row.id].name),
                                 _errors(row.mae, row.mape, unit, places),
                                 _errors(row.naive_mae, row.naive_mape, unit, places)]))
    return lines


def render_json(result: ForecastResult) -> str:
    return to_json(result.to_json())


FORECAST_FORMATS: dict[str, Renderer] = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
}
