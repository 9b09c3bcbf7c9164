"""Every key a tree file may hold: name, kind of value, meaning — the one table behind them all.

The parser takes its allowed keys from here, `nsm schema` turns the table into a JSON Schema
(so an editor's hover shows these words) and the README's key table is printed from it
(`nsm schema --format markdown`). A key added to the format is added here, once; the tests
fail when the parser, the schema and the README disagree.

A kind names the shape of a value; `nsm_cli.tree.schema.KINDS` gives each one's schema, and a
new kind needs an entry there: `text` (a string), `label` (text or a number: names, units,
owners), `number` (a number, or text like `92%` or `1,200`), `count` (a whole number ≥ 1),
`change` (`-5%`, `+2pp`), `id`, `labels`, `choice` (one of `choices`), `version`, `path`,
`node`, `nodes`, `children`, `source`, `benchmark`, `data_map`, `scenario_map`, `changes`,
`alert`, `forecast_rule` (a probability, or {probability, horizon}) and `domain`.
"""

from __future__ import annotations

from dataclasses import dataclass

ID_REGEX = r"^[A-Za-z_][A-Za-z0-9_]*$"


@dataclass(frozen=True)
class Key:
    """One key of one kind of mapping: what it holds and what it means."""

    name: str
    kind: str
    description: str
    required: bool = False
    choices: tuple[str, ...] = ()


# The kinds of mapping in a tree file, each with its keys in the order the README lists them.
SECTIONS: dict[str, tuple[Key, ...]] = {
    "top": (
        Key("version", "version", "Format version; 1, the only one so far (default 1)."),
        Key("name", "label", "Title of the tree.", required=True),
        Key("description", "text", "Free text about the tree."),
        Key("data", "data_map", "Named data sources: NAME: PATH (a CSV file relative to the "
            "tree file), or NAME: {path, period_column, format, encoding, time, grain, "
            "segments}."),
        Key("period", "label", "Default period to show: latest (the default) or a period "
            "label such as 2025-06."),
        Key("root", "node", "The root node: the North Star Metric.", required=True),
        Key("guardrails", "nodes", "Nodes evaluated beside the tree (counter-metrics), each may "
            "carry min and/or max."),
        Key("scenarios", "scenario_map", "What-ifs: NAME: {description, set: {NODE_ID: "
            "CHANGE}}."),
        Key("connections", "connection_map", "Databases the data blocks read: NAME: {url, "
            "timeout}; the url is usually ${VAR}, read from the environment."),
    ),
    "node": (
        Key("id", "id", "Unique in the file; letters, digits and _, not starting with a digit: "
            "formulas use it.", required=True),
        Key("name", "label", "Display name, any language (defaults to the id)."),
        Key("unit", "label", "Display unit. \"%\" means the value is a fraction shown as a "
            "percent (0.92 shows as 92%)."),
        Key("formula", "label", "Required when the node has children: arithmetic over the "
            "children's ids (+ - * / **, parentheses, numbers, min max abs sqrt log exp round "
            "clip)."),
        Key("children", "children", "The nodes this one is computed from; an item {ref: "
            "OTHER_ID} reuses a node defined elsewhere in the file (a shared driver)."),
        Key("source", "source", "Where the value comes from: NAME.column, or {data, column, "
            "agg}. On a node with a formula, the observed value to compare with it."),
        Key("value", "number", "A constant (an assumption) instead of a source."),
        Key("benchmark", "benchmark", "The competitor's or industry's value: a number or "
            "NAME.column; or {best: COL}, the best segment's value (by the node's direction)."),
        Key("target", "number", "The goal for this metric."),
        Key("direction", "choice", "up (default: higher is better) or down (churn, "
            "complaints, cost).", choices=("up", "down")),
        Key("owner", "label", "Who moves this metric (a team or a person)."),
        Key("actions", "labels", "What the owner does to move it (1–3 concrete actions)."),
        Key("description", "label", "The metric's definition (口径): what is counted and "
            "where it comes from."),
        Key("tags", "labels", "Free labels for grouping."),
        Key("ignore", "labels", "Lint codes nsm check should not report on this node "
            "(say why in a comment)."),
        Key("min", "number", "Lower bound: a value below it is flagged (and fires in nsm "
            "alerts)."),
        Key("max", "number", "Upper bound: a value above it is flagged (and fires in nsm "
            "alerts)."),
        Key("alert", "alert", "Early-warning rules: min, max, falls_for, change_below, "
            "change_above, forecast_below_target."),
        Key("domain", "domain", "[low, high]: the values the metric can take (null for an "
            "open end; default 0–100% for rates, ≥ 0 otherwise)."),
    ),
    "data": (
        Key("path", "path", "The data file or a glob (orders/*.parquet), relative to the tree "
            "file: .csv .tsv .txt, .parquet, .jsonl, .ndjson; required unless the block names "
            "a connection."),
        Key("period_column", "label", "The column that names the period (default period)."),
        Key("format", "choice", "wide (default: one column per metric) or long (columns "
            "period, metric, value).", choices=("wide", "long")),
        Key("encoding", "text", "The file's encoding: utf-8 (default, BOM accepted), gbk or "
            "gb18030."),
        Key("time", "label", "Raw rows: a date or timestamp column; the rows roll up to "
            "grain (instead of period_column)."),
        Key("grain", "choice", "The periods raw rows roll up to (required with time).",
            choices=("day", "week", "month", "quarter", "year")),
        Key("segments", "labels", "Columns that slice the rows (region, store): nsm eval "
            "--by COL and --where COL=VALUE."),
        Key("connection", "text", "The name of an entry under connections: the rows live in "
            "a database."),
        Key("table", "text", "With connection: a table or view (schema.table)."),
        Key("sql", "text", "With connection: one SELECT (or WITH … SELECT) query whose result "
            "is the table; anything else is refused."),
    ),
    "source": (
        Key("data", "text", "The name of a data source under data.", required=True),
        Key("column", "label", "The column (wide) or metric (long) to read (optional for "
            "agg: count, which then counts rows)."),
        Key("agg", "choice", "How several rows of one period combine (required when they "
            "do); count and count_distinct read any text.",
            choices=("sum", "mean", "min", "max", "last", "median", "count", "count_distinct")),
        Key("where", "text", "A filter on the rows: COL OP LITERAL with = != < <= > >=, COL "
            "in (...), and, or, not, parentheses; 'quoted strings'."),
        Key("weight", "label", "With agg: mean, a column that weights each row: Σ w·v / Σ w."),
    ),
    "scenario": (
        Key("description", "text", "What the scenario assumes."),
        Key("set", "changes", "NODE_ID: CHANGE, where CHANGE is a new value (0.5, 50%), a "
            "relative change (\"+10%\"), percentage points for rates (\"+2pp\") or a factor "
            "(\"x1.1\").", required=True),
    ),
    "connection": (
        Key("url", "text", "The database URL, usually ${VAR} from the environment: "
            "duckdb:///file.duckdb (relative to the tree), postgresql://user@host:port/db, "
            "bigquery://, snowflake://, trino://, spark://, clickhouse://. A password written "
            "here is refused.", required=True),
        Key("timeout", "number", "Seconds a query may run (default 60)."),
    ),
    "alert": (
        Key("min", "number", "Fires when the value is below this (4.5, 92%)."),
        Key("max", "number", "Fires when the value is above this."),
        Key("falls_for", "count", "Fires when the last N period-on-period moves all went the "
            "worse way for the node's direction."),
        Key("change_below", "change", "Fires when the change against the previous period is "
            "below this: -5% (relative) or -2pp (points, for a % node)."),
        Key("change_above", "change", "Fires when the change against the previous period is "
            "above this: +5% or +2pp."),
        Key("forecast_below_target", "forecast_rule", "Fires when the forecast's chance that "
            "the node meets its target N periods ahead is below a probability: 50%, or "
            "{probability: 50%, horizon: 3} (horizon 1–120, default 1). Needs the node's "
            "target."),
    ),
}

# How each section is named in messages and in the README.
TITLES = {"top": "the tree file", "node": "a node", "data": "a data source",
          "source": "a source", "scenario": "a scenario", "connection": "a connection",
          "alert": "an alert"}


def key_names(section: str) -> tuple[str, ...]:
    """The keys a mapping of this section may hold, in table order."""
    return tuple(key.name for key in SECTIONS[section])


def choices_of(section: str, name: str) -> tuple[str, ...]:
    """The allowed values of a `choice` key (`agg`, `format`, `direction`)."""
    return next(key.choices for key in SECTIONS[section] if key.name == name)


def markdown_tables() -> str:
    """The README's key tables, one per section, printed from this table."""
    out: list[str] = []
    for section, keys in SECTIONS.items():
        out += [f"**{TITLES[section].capitalize()}**", "", "| key | required | meaning |",
                "|---|---|---|"]
        for key in keys:
            meaning = key.description.replace("|", "\\|")
            out.append(f"| `{key.name}` | {'yes' if key.required else ''} | {meaning} |")
        out.append("")
    return "\n".join(out)
