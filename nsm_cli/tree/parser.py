"""Tree file → :class:`TreeFile`: checks every key's shape and reports all problems at once."""

from __future__ import annotations

import difflib
import keyword
import os
import re
from collections.abc import Iterator

from nsm_cli.diagnostics import Diagnostic, Span, error
from nsm_cli.numbers import NumberError, read_value
from nsm_cli.tree.changes import POINTS, Change, parse_change
from nsm_cli.tree.functions import FUNCTIONS
from nsm_cli.tree.keys import choices_of, key_names
from nsm_cli.tree.model import (
    AGGS,
    FORMATS,
    GRAINS,
    BestOf,
    Child,
    DataSpec,
    Node,
    Scenario,
    SourceRef,
    TreeFile,
    text_codec,
)
from nsm_cli.tree.where import WhereError, parse_where
from nsm_cli.tree.yamlload import YMap, YScalar, YSeq, YValue, load_yaml, read_text

ID_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def reserved(node_id: str) -> str | None:
    """Why an id cannot name a node ('a function', 'a keyword'), or None when it can."""
    if node_id in FUNCTIONS:
        return "a function"
    if keyword.iskeyword(node_id):
        return "a keyword"
    return None


# The keys each mapping may hold come from the one key table (also behind `nsm schema`).
TOP_KEYS = key_names("top")
NODE_KEYS = key_names("node")
DATA_KEYS = key_names("data")
SOURCE_KEYS = key_names("source")
SCENARIO_KEYS = key_names("scenario")
DIRECTIONS = choices_of("node", "direction")
PROJECT_MARKERS = ("pyproject.toml", ".git", ".nsm.yaml")
SUPPORTED_VERSIONS = (1,)


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """A ` (did you mean 'x'?)` suffix, or '' when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _kind(value: YValue) -> str:
    if isinstance(value, YMap):
        return "a mapping"
    if isinstance(value, YSeq):
        return "a list"
    if value.value is None:
        return "empty"
    if isinstance(value.value, bool):
        return "true/false"
    if isinstance(value.value, (int, float)):
        return "a number"
    return "text"


def _numeric(value: object) -> bool:
    """A number of the grammar, or one written wrong (`0,55`): not a `NAME.column`."""
    try:
        read_value(value)
    except NumberError as exc:
        return not exc.shapeless
    return True


def project_root(tree_path: str) -> str:
    """The tree's own project: the nearest folder at or above the tree holding
    pyproject.toml, .git or .nsm.yaml; else the tree's own folder. Never the working folder."""
    start = os.path.dirname(os.path.realpath(tree_path))
    folder = start
    while True:
        if any(os.path.exists(os.path.join(folder, marker)) for marker in PROJECT_MARKERS):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return start
        folder = parent


def inside(path: str, root: str) -> bool:
    """Whether `path` (resolved, symlinks followed) lies in the folder `root`."""
    real = os.path.realpath(path)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def resolve_data_path(tree_path: str, raw: str) -> tuple[str, str | None]:
    """The data path as the user sees it, and why it is refused (None when it is fine).

    A tree file from a pull request must not read files outside its project (see
    :func:`project_root`), whichever folder nsm runs from.
    """
    shown = os.path.normpath(os.path.join(os.path.dirname(tree_path), raw))
    if os.path.isabs(raw) or raw.startswith("~"):
        return shown, "absolute paths are not allowed: give a path relative to the tree file"
    root = project_root(tree_path)
    fixed = shown
    for i, part in enumerate(shown.split(os.sep)):
        if any(c in part for c in "*?["):  # a glob: its folder must be inside; each match later
            fixed = os.sep.join(shown.split(os.sep)[:i]) or "."
            break
    if not inside(fixed, root):
        return shown, (f"data path '{raw}' points outside the project ({root}): keep data "
                       "files in the folder of the tree file's project (the nearest folder "
                       "above it with pyproject.toml, .git or .nsm.yaml)")
    return shown, None


class _Parser:
    def __init__(self, path: str):
        self.path = path
        self.diagnostics: list[Diagnostic] = []
        self.tree = TreeFile(path=path)
        self.refused_data: set[str] = set()  # named, but refused: no E301 for their uses

    # -- small checks -------------------------------------------------------
    def err(self, code: str, message: str, span: Span) -> None:
        self.diagnostics.append(error(code, message, span))

    def check_keys(self, mapping: YMap, allowed: tuple[str, ...], what: str) -> None:
        for key, _ in mapping.items:
            if key.value not in allowed:
                name = str(key.value)
                hint = suggest(name, allowed)
                if not hint:
                    hint = f": {what} keys are {', '.join(allowed)}"
                self.err("E104", f"unknown key '{name}' in {what}{hint}", key.span)

    def text(self, value: YValue | None, key: str, *, numbers_ok: bool = False) -> str | None:
        if value is None:
            return None
        if isinstance(value, YScalar):
            if isinstance(value.value, str):
                return value.value
            if numbers_ok and isinstance(value.value, (int, float)) and not isinstance(
                value.value, bool
            ):
                return value.raw
        self.err("E103", f"'{key}' must be text, not {_kind(value)}", value.span)
        return None

    def choice(self, value: YValue | None, key: str, allowed: tuple[str, ...]) -> str | None:
        """Text that must be one of `allowed`; anything else is reported and read as None."""
        text = self.text(value, key)
        if value is not None and text is not None and text not in allowed:
            self.err("E112", f"{key} must be one of {', '.join(allowed)}, not '{text}'"
                     f"{suggest(text, allowed)}", value.span)
            return None
        return text

    def number(self, value: YValue | None, key: str) -> float | None:
        if value is None:
            return None
        if isinstance(value, YScalar):
            try:
                return read_value(value.value)
            except NumberError as exc:
                if not exc.shapeless:
                    self.err("E112", f"'{key}' must be a finite number" if isinstance(
                        value.value, float) else f"'{key}': {exc}", value.span)
                    return None
        self.err("E103", f"'{key}' must be a number (like 1200 or 92%), not {_kind(value)}",
                 value.span)
        return None

    def text_list(self, value: YValue | None, key: str) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, YSeq):
            self.err("E103", f"'{key}' must be a list of text, not {_kind(value)}", value.span)
            return []
        items = [self.text(item, key, numbers_ok=True) for item in value.items]
        return [item for item in items if item is not None]

    def mapping(self, value: YValue | None, what: str) -> YMap | None:
        if value is None:
            return None
        if not isinstance(value, YMap):
            self.err("E103", f"{what} must be a mapping, not {_kind(value)}", value.span)
            return None
        return value

    # -- the file ------------------------------------------------------------
    def parse(self, top: YValue | None) -> TreeFile:
        tree = self.tree
        if top is None:
            self.err("E103", "the file is empty: a tree file is a mapping with name and root",
                     Span(self.path))
            return tree
        if not isinstance(top, YMap):
            self.err("E103", f"the top level must be a mapping with name and root, not "
                     f"{_kind(top)}", top.span)
            return tree
        tree.span = top.span
        self.check_keys(top, TOP_KEYS, "the tree file")
        version = top.get("version")
        if version is not None and not (
            isinstance(version, YScalar) and version.value in SUPPORTED_VERSIONS
        ):
                self.err("E112", f"unsupported version {getattr(version, 'raw', '')!r}: "
                         "this nsm reads version 1", version.span)
        for key in ("name", "root"):
            if top.get(key) is None:
                self.err("E105", f"missing required key '{key}'", top.span)
        tree.name = self.text(top.get("name"), "name", numbers_ok=True) or ""
        tree.description = self.text(top.get("description"), "description")
        period = top.get("period")
        tree.period = self.text(period, "period", numbers_ok=True)
        tree.period_span = period.span if period is not None else None
        from nsm_cli.tree.connections import parse_connections

        tree.connections = parse_connections(self, top.get("connections"))
        self.parse_data(top.get("data"))
        root = top.get("root")
        if root is not None:
            tree.root = self.parse_node(root)
        guardrails = top.get("guardrails")
        if guardrails is not None:
            if isinstance(guardrails, YSeq):
                for item in guardrails.items:
                    node = self.parse_node(item, guardrail=True)
                    if node is not None:
                        tree.guardrails.append(node)
            else:
                self.err("E103", f"'guardrails' must be a list of nodes, not {_kind(guardrails)}",
                         guardrails.span)
        self.parse_scenarios(top.get("scenarios"))
        return tree

    def entries(self, value: YValue | None, what: str) -> Iterator[tuple[str, YScalar, YValue]]:
        """(name, key, value) of each entry of a mapping section (`data`, `scenarios`)."""
        section = self.mapping(value, what)
        for key, entry in section.items if section is not None else ():
            yield str(key.value), key, entry

    def parse_data(self, value: YValue | None) -> None:
        for name, key, entry in self.entries(value, "'data'"):
            if not ID_PATTERN.match(name):
                self.err("E106", f"data name '{name}' must be a plain id (letters, digits, _)",
                         key.span)
                self.refused_data.add(name)   # its sources are not "unknown data" too
                continue
            options: dict[str, object] = {}
            if isinstance(entry, YMap):
                self.check_keys(entry, DATA_KEYS, f"data '{name}'")
                raw = self.text(entry.get("path"), "path")
                if entry.get("path") is None and all(
                        entry.get(key) is None for key in ("connection", "table", "sql")):
                    self.err("E105", f"data '{name}' needs a path", entry.span)
                pc = entry.get("period_column")
                if pc is not None:
                    options["period_column"] = self.text(pc, "period_column", numbers_ok=True)
                    options["period_column_set"] = True
                fmt = self.text(entry.get("format"), "format")
                if fmt is not None:
                    if fmt not in FORMATS:
                        self.err("E112", f"format must be wide or long, not '{fmt}'",
                                 entry.get("format").span)
                    else:
                        options["format"] = fmt
                self.raw_rows_options(name, entry, options)
                encoding = self.text(entry.get("encoding"), "encoding")
                if encoding is not None:
                    try:
                        text_codec(encoding)  # LookupError also for rot13, hex: not text
                        options["encoding"] = encoding
                    except LookupError:
                        self.err("E112", f"unknown encoding '{encoding}' (try utf-8, gbk or "
                                 "gb18030)", entry.get("encoding").span)
                if any(entry.get(key) is not None for key in ("connection", "table", "sql")):
                    self.parse_database_entry(name, entry, options)
                    continue
            else:
                raw = self.text(entry, f"data '{name}'")
            if raw is None:
                continue
            if "\x00" in raw:  # no file has such a name; os would raise ValueError
                self.err("E112", f"data '{name}': a path cannot contain a NUL character",
                         entry.span)
                self.refused_data.add(name)
                continue
            shown, refusal = resolve_data_path(self.path, raw)
            if refusal:
                self.err("E308", refusal, entry.span)
                self.refused_data.add(name)
                continue
            options = {k: v for k, v in options.items() if v is not None}
            self.tree.data[name] = DataSpec(name=name, path=shown, span=entry.span, **options)

    def parse_database_entry(self, name: str, entry: YMap, options: dict[str, object]) -> None:
        """A data block whose rows live in a database (see :mod:`nsm_cli.tree.connections`)."""
        from nsm_cli.tree.connections import parse_database

        database = parse_database(self, name, entry)
        if database is None:
            self.refused_data.add(name)
            return
        if options.get("format") == "long":
            self.err("E112", f"data '{name}': a database block is read as columns (format: "
                     "wide); pivot long rows in its sql", entry.get("format").span)
        options = {k: v for k, v in options.items() if v is not None and k != "format"}
        self.tree.data[name] = DataSpec(name=name, path=f"<{database.connection}>",
                                        span=entry.span, database=database, **options)

    def raw_rows_options(self, name: str, entry: YMap, options: dict[str, object]) -> None:
        """`time`, `grain` and `segments` of a data block."""
        time = self.text(entry.get("time"), "time", numbers_ok=True)
        grain = self.choice(entry.get("grain"), "grain", GRAINS)
        if time is not None and entry.get("grain") is None:
            self.err("E105", f"data '{name}' has a time column: add grain: "
                     f"{' | '.join(GRAINS)} (the periods its rows roll up to)", entry.span)
        if grain is not None and time is None:
            self.err("E105", f"data '{name}' has a grain but no time column: add time: COLUMN "
                     "(a date or timestamp)", entry.get("grain").span)
        if time is not None and entry.get("period_column") is not None:
            self.err("E112", f"data '{name}': give either time (raw rows) or period_column, "
                     "not both", entry.get("period_column").span)
        if time is not None and entry.get("format") is not None:
            self.err("E112", f"data '{name}': raw rows (time) are wide: remove format",
                     entry.get("format").span)
        options["time"], options["grain"] = time, grain
        options["segments"] = tuple(self.text_list(entry.get("segments"), "segments"))

    def source_extras(self, value: YMap, agg: str | None) -> dict[str, object]:
        """`where` (parsed here, so a bad filter points at its character) and `weight`."""
        extras: dict[str, object] = {}
        where = value.get("where")
        text = self.text(where, "where")
        if text is not None and isinstance(where, YScalar):
            try:
                extras["where"] = parse_where(text)
                extras["where_text"] = text
            except WhereError as exc:
                span = where.text_span(exc.offset) if callable(getattr(where, "text_span",
                                                                       None)) else where.span
                self.err("E313", f"where: {exc.message}", span)
        weight = self.text(value.get("weight"), "weight", numbers_ok=True)
        if weight is not None:
            if agg != "mean":
                self.err("E112", "weight makes a weighted mean: use it with agg: mean",
                         value.get("weight").span)
            else:
                extras["weight"] = weight
        return extras

    def parse_source(self, value: YValue, key: str) -> SourceRef | None:
        if isinstance(value, YScalar) and isinstance(value.value, str):
            data, dot, column = value.value.partition(".")
            if not dot or not data or not column:
                self.err("E112", f"'{key}' must read NAME.column (like mau.retention_rate), "
                         f"not '{value.value}'", value.span)
                return None
            ref = SourceRef(data.strip(), column.strip(), None, value.span)
        elif isinstance(value, YMap):
            self.check_keys(value, SOURCE_KEYS, f"'{key}'")
            data = self.text(value.get("data"), "data")
            column = self.text(value.get("column"), "column", numbers_ok=True)
            agg = self.choice(value.get("agg"), "agg", AGGS)
            for needed in ("data", "column"):
                if value.get(needed) is None and not (needed == "column" and agg == "count"):
                    self.err("E105", f"'{key}' needs '{needed}'", value.span)
            if column is None and agg == "count" and value.get("column") is None:
                column = ""
            if data is None or column is None:
                return None
            ref = SourceRef(data, column, agg, value.span, **self.source_extras(value, agg))
        else:
            self.err("E103", f"'{key}' must be NAME.column or a mapping with data and column, "
                     f"not {_kind(value)}", value.span)
            return None
        if ref.data not in self.tree.data and ref.data not in self.refused_data:
            known = list(self.tree.data)
            hint = suggest(ref.data, known) or (
                f": the file names {', '.join(known)}" if known else ": add a 'data' section")
            self.err("E301", f"unknown data '{ref.data}'{hint}", value.span)
        return ref

    def parse_best(self, value: YMap) -> BestOf | None:
        """`{best: COL}`: COL must be a segment column of some data block."""
        self.check_keys(value, ("best",), "'benchmark'")
        item = value.get("best")
        column = self.text(item, "best", numbers_ok=True)
        if column is None:
            return None
        declared = sorted({c for spec in self.tree.data.values() for c in spec.segments})
        if column not in declared:
            known = (f": declared segments are {', '.join(declared)}" if declared else
                     ": add segments: [COL] to a data block")
            self.err("E112", f"benchmark best: '{column}' is no segment column{known}",
                     item.span)
            return None
        return BestOf(column, item.span)

    def parse_node(self, value: YValue, guardrail: bool = False) -> Node | None:
        if not isinstance(value, YMap):
            self.err("E103", f"a node must be a mapping with an id, not {_kind(value)}",
                     value.span)
            return None
        self.check_keys(value, NODE_KEYS, "a node")
        id_value = value.get("id")
        node_id = self.text(id_value, "id", numbers_ok=True)
        if id_value is None:
            self.err("E105", "missing required key 'id'", value.span)
        if node_id is not None and not ID_PATTERN.match(node_id):
            self.err("E106", f"id '{node_id}' must start with a letter or _ and hold only "
                     "letters, digits and _ (it is used in formulas)", id_value.span)
            node_id = None
        elif node_id is not None and (why := reserved(node_id)):
            self.err("E106", f"id '{node_id}' is reserved: it is {why} in formulas; choose "
                     f"another id, e.g. {node_id}_value", id_value.span)
            node_id = None
        node = Node(id=node_id or f"<node at line {value.span.line}>", span=value.span,
                    name=node_id or "?", is_guardrail=guardrail)
        for key, item in value.items:
            node.keys[str(key.value)] = key.span
            node.values[str(key.value)] = item.span
        if node_id is not None:
            first = self.tree.nodes.get(node_id)
            if first is not None:
                self.err("E107", f"duplicate id '{node_id}' (first defined at line "
                         f"{first.span.line})", id_value.span)
            else:
                self.tree.nodes[node_id] = node
        self.node_fields(node, value)
        children = value.get("children")
        if children is not None:
            if not isinstance(children, YSeq):
                self.err("E103", f"'children' must be a list of nodes, not {_kind(children)}",
                         children.span)
            else:
                for item in children.items:
                    child = self.parse_child(item, guardrail)
                    if child is not None:
                        node.children.append(child)
        return node

    def node_fields(self, node: Node, value: YMap) -> None:
        """Every key of a node but its id and children."""
        name = value.get("name")
        node.name = self.text(name, "name", numbers_ok=True) or node.id
        node.unit = self.text(value.get("unit"), "unit", numbers_ok=True)
        formula = value.get("formula")
        if formula is not None:
            node.formula = self.text(formula, "formula", numbers_ok=True)
            if isinstance(formula, YScalar):
                node.formula_offset_span = formula.text_span
        if (source := value.get("source")) is not None:
            node.source = self.parse_source(source, "source")
        if (constant := value.get("value")) is not None:
            node.value = self.number(constant, "value")
        if (benchmark := value.get("benchmark")) is not None:
            if isinstance(benchmark, YScalar) and _numeric(benchmark.value):
                node.benchmark = self.number(benchmark, "benchmark")
            elif isinstance(benchmark, YMap) and benchmark.get("best") is not None:
                node.benchmark = self.parse_best(benchmark)
            else:
                node.benchmark = self.parse_source(benchmark, "benchmark")
        node.target = self.number(value.get("target"), "target")
        node.minimum = self.number(value.get("min"), "min")
        node.maximum = self.number(value.get("max"), "max")
        direction = value.get("direction")
        if direction is not None:
            text = self.text(direction, "direction")
            if text in DIRECTIONS:
                node.direction = text
            elif text is not None:
                self.err("E112", f"direction must be up or down, not '{text}'"
                         f"{suggest(text, DIRECTIONS)}", direction.span)
        node.owner = self.text(value.get("owner"), "owner", numbers_ok=True)
        node.actions = self.text_list(value.get("actions"), "actions")
        node.description = self.text(value.get("description"), "description", numbers_ok=True)
        node.tags = self.text_list(value.get("tags"), "tags")
        node.ignore = self.text_list(value.get("ignore"), "ignore")
        node.alert = self.mapping(value.get("alert"), "'alert'")
        node.domain = self.parse_domain(value.get("domain"))

    def parse_domain(self, value: YValue | None) -> tuple[float | None, float | None] | None:
        """`domain: [low, high]`: the values a leaf can take (either end may be null)."""
        if value is None:
            return None
        if not isinstance(value, YSeq) or len(value.items) != 2:
            self.err("E103", "'domain' must be a list [low, high] (use null for no bound)",
                     value.span)
            return None
        low, high = (None if isinstance(item, YScalar) and item.value is None
                     else self.number(item, "domain") for item in value.items)
        if low is not None and high is not None and low > high:
            self.err("E112", "'domain' must list the low end first", value.span)
            return None
        return low, high

    def parse_child(self, item: YValue, guardrail: bool) -> Child | None:
        if isinstance(item, YMap) and item.get("ref") is not None:
            extra = [k for k, _ in item.items if k.value != "ref"]
            for key in extra:
                self.err("E104", f"a ref item holds only 'ref', not '{key.value}': change the "
                         "node where it is defined", key.span)
            target = self.text(item.get("ref"), "ref", numbers_ok=True)
            if target is None:
                return None
            return Child(target, item.get("ref").span, is_ref=True)
        node = self.parse_node(item, guardrail)
        if node is None:
            return None
        return Child(node.id, node.span)

    def parse_scenarios(self, value: YValue | None) -> None:
        for name, key, entry in self.entries(value, "'scenarios'"):
            scenario = Scenario(name=name, span=key.span)
            self.tree.scenarios[name] = scenario
            body = self.mapping(entry, f"scenario '{name}'")
            if body is None:
                continue
            self.check_keys(body, SCENARIO_KEYS, f"scenario '{name}'")
            scenario.description = self.text(body.get("description"), "description")
            changes = self.mapping(body.get("set"), f"'set' of scenario '{name}'")
            if body.get("set") is None:
                self.err("E105", f"scenario '{name}' needs 'set: {{NODE_ID: CHANGE}}'",
                         body.span)
            if changes is None:
                continue
            for node_key, change in changes.items:
                raw = change.value if isinstance(change, YScalar) else None
                if isinstance(raw, int | float) and not isinstance(raw, bool) and \
                        not change.style:
                    raw = change.raw   # the text keeps the sign: `+200` adds
                try:
                    kind, amount = parse_change(raw)
                except ValueError as exc:
                    self.err("E111", f"scenario '{name}': {exc}", change.span)
                    continue
                text = change.raw if isinstance(change, YScalar) else ""
                scenario.changes.append(
                    Change(str(node_key.value), kind, amount, text, node_key.span))


def parse_tree(path: str, text: str | None = None) -> tuple[TreeFile, list[Diagnostic]]:
    """Parse a tree file; the diagnostics list every problem of shape found."""
    parser = _Parser(path)
    if text is None:
        text = read_text(path)
    top = load_yaml(path, text)
    tree = parser.parse(top)
    return tree, parser.diagnostics


def points_problem(change: Change, node: Node | None) -> str | None:
    """`+2pp` only makes sense on a node whose unit is %: say why otherwise."""
    if change.kind == POINTS and node is not None and not node.is_rate:
        return (f"'{change.text}' changes {node.id} by percentage points, but its unit is "
                f"{node.unit or 'not %'}: use a relative change like +2%")
    return None
