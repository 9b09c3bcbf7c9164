"""Documentation for every code `nsm check` can report, with a bad and a good example.

The core's codes (E1xx file and schema, E2xx formulas, E3xx data, W2xx evaluation)
get their titles from :data:`nsm_cli.codes.CORE_CODES` and their examples here; the
tree-quality rules (W4xx) describe themselves in :mod:`nsm_cli.check.rules`. The README
table, `nsm check --list-rules` and the SARIF rule list are all made from this one list.
"""

from __future__ import annotations

from dataclasses import dataclass

from nsm_cli.check.rules import RULES
from nsm_cli.codes import CORE_CODES

INTERNAL = "E999"   # nsm itself failed on a file: a bug, reported so other files still run

GROUPS = {
    "E1": "file and schema",
    "E2": "formulas",
    "E3": "data",
    "W2": "evaluation",
    "W3": "data",
    "I3": "data",
    "W4": "tree quality",
    "E9": "nsm itself",
}

# code → (bad, good, what to do); short enough for a table cell
_CORE_EXAMPLES: dict[str, tuple[str, str, str]] = {
    "E100": ("a missing, binary, non-UTF-8 or >10 MB file", "a UTF-8 text file under 10 MB",
             "Check the path; save the tree file as UTF-8 text."),
    "E101": ("formula: [a + b", "formula: a + b", "Fix the YAML at the line shown."),
    "E102": ("value: !!python/object:os.system", "value: 1200",
             "Use plain values only: no tags, no alias bombs, no deep nesting; share a driver "
             "with ref."),
    "E103": ("children: a, b", "children: [{id: a, value: 1}]",
             "Give the key the type it needs (text, number, list or mapping)."),
    "E104": ("formla: a + b", "formula: a + b", "Fix the key's spelling (the message suggests "
             "the closest key)."),
    "E105": ("a file without root:", "name: ARPU and root: {id: arpu, ...}",
             "Add the key the message names."),
    "E106": ("id: 2nd-visit", "id: second_visit",
             "Ids start with a letter or _ and hold letters, digits and _ (formulas use them); "
             "function names (log, min, …) and keywords (if, lambda, …) are reserved."),
    "E107": ("two nodes with id: visits", "one id per node; {ref: visits} to reuse it",
             "Rename one node, or reuse it with ref."),
    "E108": ("- ref: vists", "- ref: visits", "Name a node defined in the file."),
    "E109": ("a → {ref: b}, b → {ref: a}", "no node depends on itself",
             "Break the loop: a node cannot depend on itself."),
    "E110": ("a leaf {id: a}", "{id: a, value: 1} or {id: a, source: d.a}",
             "Give each leaf exactly one of source or value; parents get neither value."),
    "E111": ('set: {rate: "+2xx"}', 'set: {rate: "+2pp"}',
             "Write changes as 0.5, 50%, +10%, +2pp (rates only) or x1.1."),
    "E112": ("direction: upward", "direction: up", "Use one of the values the message lists."),
    "E113": ("unit: 元 twice in one node", "each key once per mapping",
             "Remove the duplicate key (YAML would silently keep the last)."),
    "E114": ("alert: {min: low}", "alert: {min: 90%}",
             "Alert rules are min, max, falls_for, change_below, change_above with numbers, "
             "and forecast_below_target (a probability) on a node with a target."),
    "E201": ("formula: a * (b + c", "formula: a * (b + c)", "Fix the formula's syntax."),
    "E202": ("formula: __import__('os')", "formula: max(a, b)",
             "Use only ids, numbers, + - * / ** and min max abs sqrt log exp round clip."),
    "E203": ("formula: a * d (d is no child)", "formula: a * b",
             "Name only the node's children in its formula."),
    "E204": ("children a, b; formula: a * 2", "formula: a * b",
             "Use every child in the formula, or move the child elsewhere."),
    "E205": ("children without formula:", "formula: a + b",
             "Say how the children combine."),
    "E206": ("a leaf with formula: 2 * 3", "value: 6",
             "List the formula's inputs as children, or give the leaf a value or source."),
    "E207": ("a formula of 3,000 characters", "intermediate nodes, each a short formula",
             "Split the formula into intermediate nodes."),
    "E301": ("source: slaes.visits", "source: sales.visits",
             "Name a data source from the file's data section."),
    "E302": ("source: sales.vists", "source: sales.visits",
             "Name a column (or long-format metric) the data file has."),
    "E303": ("data: {sales: missing.csv}", "data: {sales: sales.csv} (exists, UTF-8 or "
             "encoding: gbk)", "Check the data path, that it is a CSV file, and its encoding."),
    "E304": ("a cell reading abc", "1,200 · 92% · ¥1,200 · 1.2e3 · empty",
             "Fix the cell in the CSV at the line and column shown."),
    "E305": ("two rows for 2025-06, no agg", "source: {data: d, column: visits, agg: sum}",
             "Say how rows of one period combine: agg: sum|mean|min|max|last|count."),
    "E306": ("a long file without a metric column", "header period,metric,value",
             "Give the file the columns its format needs, or set period_column."),
    "E308": ("data: {x: ../../etc/passwd}", "data: {x: data/x.csv}",
             "Keep data files beside the tree file or below the current folder."),
    "E312": ("data a monthly (2025-06), data b daily (2025-06-03)",
             "data b: {path: b.csv, time: day, grain: month}",
             "Give every data block one grain; raw rows roll up with time: and grain:."),
    "E313": ("where: status = paid", "where: status = 'paid' and amount >= 100",
             "Write the filter as COL OP LITERAL joined by and/or, text in 'single quotes'."),
    "E310": ("nsm explain --from 2025-04 where a leaf's 2025-04 cell is empty",
             "a value for every leaf in the periods compared",
             "Fill the data for the periods the analysis needs (nsm check does not report it)."),
    "E311": ("nsm goal-seek where the root's formula divides by zero",
             "a formula that has a value in the period",
             "Guard the formula (max, clip) or fix the data (nsm check does not report it)."),
    "E320": ("data: {o: {connection: wh2, table: orders}} with no wh2",
             "connections: {wh: {url: ${NSM_WH_URL}}}",
             "Name an entry of the top-level connections, with a URL scheme nsm knows."),
    "E321": ("url: ${NSM_WH_URL} with NSM_WH_URL unset", "export NSM_WH_URL=postgresql://…",
             "Set the variable, or run nsm check --offline where there is no database."),
    "E322": ("url: postgresql://me:secret@db/sales", "url: ${NSM_WH_URL}",
             "Keep passwords out of tree files: read the URL from the environment."),
    "E323": ("sql: DELETE FROM orders", "sql: SELECT day, amount FROM orders",
             "Give one SELECT (or WITH … SELECT) query; nsm never writes to a database."),
    "E324": ("a server that refuses the connection", "a reachable server, right credentials",
             "Check the host, port, database and credentials in the URL's variable."),
    "E325": ("table: sales.ordrs", "table: sales.orders",
             "Fix the table, column or query; raise the connection's timeout if it is slow."),
    "E326": ("postgresql://… without psycopg", "pip install 'nsm-cli[postgres]'",
             "Install the extra the message names."),
    "W301": ("d.csv holding only period,visits", "d.csv with a row per period",
             "Export the rows too, or point the data entry at the file that has them."),
    "I301": ("nsm check on a tree reading a 60 MB CSV", "—",
             "Nothing to fix: nsm check reads the columns and the first 10,000 rows of a "
             "big block; nsm eval reads every row (and reports any bad cell further down)."),
    "W201": ("formula: a / b where b is 0", "formula: a / max(b, 1)",
             "Guard the formula (max, clip) or fix the data that makes it undefined."),
    "W202": ("nsm explain over 5,000 changed leaves of a 10,000-node tree",
             "fewer changed leaves, or --max-exact/--samples sized to the tree",
             "Read the ± errors: they say how precise the sampled contributions are "
             "(nsm check does not report it)."),
    INTERNAL: ("nsm crashed on this file", "—",
               "A bug in nsm: please report it with the file; other files were still checked."),
}


@dataclass(frozen=True)
class Entry:
    """One code: what it means, how severe, a bad and a good example, what to do."""

    code: str
    severity: str
    title: str
    bad: str
    good: str
    help: str
    name: str = ""

    @property
    def group(self) -> str:
        return GROUPS.get(self.code[:2], "")


def _core_severity(code: str) -> str:
    return {"E": "error", "I": "info"}.get(code[0], "warning")


def catalogue() -> dict[str, Entry]:
    """Every code, sorted: core codes first by number, then the W4xx rules."""
    entries: dict[str, Entry] = {}
    titles = dict(CORE_CODES)
    titles[INTERNAL] = "internal error in nsm"
    for code, title in titles.items():
        bad, good, todo = _CORE_EXAMPLES.get(code, ("", "", ""))
        entries[code] = Entry(code, _core_severity(code), title, bad, good, todo or title)
    for code, rule in RULES.items():
        doc = " ".join((rule.__doc__ or "").split())
        entries[code] = Entry(code, rule.SEVERITY, rule.SUMMARY, rule.BAD_SNIPPET,
                              rule.GOOD_SNIPPET, doc, rule.NAME)
    order = list(GROUPS)
    return dict(sorted(entries.items(), key=lambda item: (order.index(item[0][:2]), item[0])))


def markdown_table() -> str:
    """The README's table of every code."""
    def cell(text: str) -> str:
        text = text.replace("|", "\\|")
        return f"`{text}`" if text and text != "—" else (text or "—")

    lines = ["| code | severity | what | bad | good |", "|---|---|---|---|---|"]
    for entry in catalogue().values():
        lines.append(f"| {entry.code} | {entry.severity} | {entry.title} | {cell(entry.bad)} | "
                     f"{cell(entry.good)} |")
    return "\n".join(lines) + "\n"
