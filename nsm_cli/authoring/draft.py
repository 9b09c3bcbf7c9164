"""`nsm init --from-csv`: a first tree drafted from a CSV's columns, for data without a tree.

The draft is honest about what it does not know: every numeric column becomes a leaf under a
root whose formula is a placeholder sum, to be rewritten by someone who knows how the metrics
make up the North Star. It passes `nsm check` (with the warnings that say what to fill in)
and evaluates as written.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import dataclass

from nsm_cli.authoring.templates import InitError
from nsm_cli.data.tables import MISSING_CELLS, parse_cell
from nsm_cli.tree.parser import resolve_data_path
from nsm_cli.tree.yamlload import read_regular

MAX_BYTES = 10 * 1024 * 1024  # enough rows to judge every column
PERIOD_NAMES = ("period", "month", "date", "day", "week", "quarter", "year", "time",
                "期间", "月份", "日期", "周", "季度", "年份", "月", "年")
PERIOD_LIKE = re.compile(r"^\s*\d{4}([-/年.]?\s*(Q\d|W\d+|\d{1,2}))?")
CURRENCIES = {"¥": "元", "￥": "元", "$": "$", "€": "€", "£": "£"}
ROOT_ID = "north_star"
# What YAML refuses or folds even inside quotes (control characters, NEL, line and paragraph
# separators): written as \u escapes.
_UNPRINTABLE = re.compile("[^\t\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd"
                          "\U00010000-\U0010ffff]")
FUNCTIONS = frozenset({"min", "max", "abs", "sqrt", "log", "exp", "round", "clip"})


@dataclass(frozen=True)
class Column:
    """A numeric column and the leaf it becomes."""

    name: str
    id: str
    unit: str | None


@dataclass(frozen=True)
class Draft:
    """What the CSV told: its period column, its leaves, the columns left out."""

    period_column: str | None
    columns: list[Column]
    skipped: list[str]
    encoding: str
    repeated_periods: bool


def read_csv(path: str) -> tuple[list[str], list[list[str]], str]:
    """Header, rows and encoding of a CSV (UTF-8 with or without BOM, else GB18030)."""
    # a FIFO would block, a folder is no CSV: refused at once, as for trees and data
    data = read_regular(path, MAX_BYTES, "CSV files", kind="a CSV file", cut=True)[:MAX_BYTES]
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes every byte string
        raise InitError(f"{path} is neither UTF-8 nor GB18030 text")
    if len(data) == MAX_BYTES:
        text = text[: text.rfind("\n") + 1]  # drop a row cut short
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        raise InitError(f"{path} is empty: a CSV with a header row and data rows is needed")
    return [cell.strip() for cell in rows[0]], rows[1:], encoding


def leaf_id(name: str, taken: set[str], position: int) -> str:
    """A formula-safe id from a column name: `Store visitors` → `store_visitors`."""
    base = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_").lower()
    if not base or base[0].isdigit():
        base = f"column_{position}" if not base else f"m_{base}"
    if base in FUNCTIONS:
        base += "_"
    found, n = base, 2
    while found in taken:
        found, n = f"{base}_{n}", n + 1
    taken.add(found)
    return found


def unit_of(cells: list[str]) -> str | None:
    """`%` when cells are written as percents, a currency when they carry its sign."""
    if any(cell.strip().endswith(("%", "％")) for cell in cells):
        return "%"
    for sign, unit in CURRENCIES.items():
        if any(sign in cell for cell in cells):
            return unit
    return None


def find_period(header: list[str], rows: list[list[str]]) -> int | None:
    """The period column: named like one, else a first column of period-like labels."""
    for index, name in enumerate(header):
        if name.lower() in PERIOD_NAMES:
            return index
    first = [row[0] for row in rows if row and row[0].strip()]
    labels = any(parse_cell(cell) is None for cell in first) or not header[0]
    if first and labels and all(PERIOD_LIKE.match(cell) for cell in first):
        return 0
    return None


def analyse(path: str) -> Draft:
    """Which column is the period, which are numbers (and in what unit), which are text."""
    header, rows, encoding = read_csv(path)
    period = find_period(header, rows)
    taken: set[str] = {ROOT_ID}
    columns, skipped = [], []
    for index, name in enumerate(header):
        if index == period:
            continue
        cells = [row[index] for row in rows if index < len(row)]
        present = [c for c in cells if c.strip().lower() not in MISSING_CELLS]
        if not name or not present or any(parse_cell(c) is None for c in present):
            skipped.append(name or f"column {index + 1}")
            continue
        columns.append(Column(name, leaf_id(name, taken, index + 1), unit_of(present)))
    if not columns:
        raise InitError(f"{path} has no numeric column: a tree needs at least one metric")
    labels = [row[period] for row in rows if period is not None and period < len(row)]
    repeated = len(set(labels)) < len(labels) if period is not None else len(rows) > 1
    return Draft(None if period is None else header[period], columns, skipped, encoding,
                 repeated)


def _q(text: str) -> str:
    """A YAML scalar that reads back as this exact text (JSON strings are YAML)."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_ ]*", text) and text.lower() not in (
            "yes", "no", "on", "off", "true", "false", "null", "y", "n"):
        return text
    quoted = json.dumps(text, ensure_ascii=False)
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _source(data: str, column: Column, agg: str | None) -> str:
    if agg is None and re.fullmatch(r"[A-Za-z0-9_]+", column.name):
        return f"{data}.{column.name}"
    extra = f", agg: {agg}" if agg else ""
    return f"{{data: {data}, column: {_q(column.name)}{extra}}}"


def draft_tree(csv_path: str, directory: str) -> tuple[str, str]:
    """The draft tree's file name and text, for a CSV and the folder the tree goes into."""
    from nsm_cli.tree.schema import SCHEMA_FILE

    draft = analyse(csv_path)
    stem = os.path.splitext(os.path.basename(csv_path))[0] or "data"
    data = leaf_id(stem, set(), 0)
    data = "data" if data.startswith("column_") else data
    relative = os.path.relpath(csv_path, directory).replace(os.sep, "/")
    tree_file = os.path.join(directory, f"{stem}.yaml")
    _, refusal = resolve_data_path(tree_file, relative)
    if refusal:
        raise InitError(f"{csv_path}: {refusal}")
    lines = [f"# yaml-language-server: $schema={SCHEMA_FILE}",
             f"# Drafted by `nsm init --from-csv` from the columns of {relative}. To finish it:",
             "# 1. write the root's formula: how these metrics make up your North Star (the",
             "#    sum below is a placeholder), and group the leaves under drivers (3–4 levels);",
             "# 2. give each leaf an owner, actions and a benchmark, and the root a target;",
             f"# 3. run `nsm check --strict {stem}.yaml` until it is clean."]
    if draft.skipped:
        lines.append(f"# Columns left out (not numbers): {', '.join(draft.skipped)}.")
    lines += ["version: 1", f"name: {_q(stem)}", "data:"]
    options = []
    if draft.period_column is not None and draft.period_column != "period":
        options.append(f"period_column: {_q(draft.period_column)}")
    if draft.encoding != "utf-8-sig":
        options.append(f"encoding: {draft.encoding}")
    path = _q(relative)
    lines.append(f"  {data}: " + (f"{{path: {path}, {', '.join(options)}}}" if options
                                  else path))
    ids = [c.id for c in draft.columns]
    lines += ["root:", f"  id: {ROOT_ID}", "  name: North Star (to fill in)",
              f"  formula: {' + '.join(ids)}   # TODO: the real formula", "  children:"]
    for column in draft.columns:
        agg = ("mean" if column.unit == "%" else "sum") if draft.repeated_periods else None
        lines += [f"    - id: {column.id}", f"      name: {_q(column.name)}"]
        if column.unit:
            lines.append(f"      unit: {_q(column.unit)}")
        lines.append(f"      source: {_source(data, column, agg)}")
    return f"{stem}.yaml", "\n".join(lines) + "\n"
