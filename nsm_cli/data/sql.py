"""Pieces of the engine's queries: column expressions and `where` filters with bound parameters.

No text from a tree or a data file is ever put into the SQL: columns are named by
position (`c1`, `c2`, … chosen here), literals travel as parameters (`?`), and the
only constants written inline are nsm's own (the missing-cell markers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nsm_cli.tree.where import Both, Compare, Filter, InList, Not

# cells that mean "no value" (the csv reader's MISSING_CELLS), compared lower-cased
MISSING = ("na", "n/a", "#n/a", "nan", "null", "none", "-", "—")
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                 "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")
TIME_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS",
              "TIMESTAMP_NS")
# how people write dates that DuckDB's cast does not read (CDNOW writes 19970101)
TIME_FORMATS = ("%Y%m%d", "%Y/%m/%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y.%m.%d",
                "%Y年%m月%d日", "%d.%m.%Y")


# a plain number: what both DuckDB's cast and Python's float read the same way
PLAIN = r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*"


def _constant(text: str) -> str:
    """One of nsm's own constants as an SQL string (never user text)."""
    return "'" + text.replace("'", "''") + "'"


def is_numeric(type_name: str) -> bool:
    return type_name.upper().split("(")[0] in NUMERIC_TYPES


@dataclass
class Column:
    """A column as the engine sees it: its position name and its type."""

    ref: str  # c1, c2, …
    type: str
    mapped: bool = False  # a cell map (formatted numbers like 1,200) is joined as m_<ref>

    @property
    def numeric(self) -> bool:
        return is_numeric(self.type)

    def text(self) -> str:
        """The cell as text: trimmed, NULL when empty or a missing marker (`NA`, `-`)."""
        if self.numeric:
            return f"CAST({self.ref} AS VARCHAR)"
        cell = f"trim(CAST({self.ref} AS VARCHAR))"
        markers = ", ".join(_constant(m) for m in ("",) + MISSING)
        return f"(CASE WHEN lower({cell}) IN ({markers}) THEN NULL ELSE {cell} END)"

    def distinct_key(self) -> str:
        """What count_distinct counts: the value itself for numbers, else the trimmed text."""
        return self.ref if self.numeric else self.text()

    def plain(self) -> str:
        """The cell as a number when it is a plain one (`12`, `-1.5e3`), else NULL."""
        if self.numeric:
            cast = f"CAST({self.ref} AS DOUBLE)"
            return f"(CASE WHEN isfinite({cast}) THEN {cast} END)"
        text = f"CAST({self.ref} AS VARCHAR)"
        cast = f"TRY_CAST({text} AS DOUBLE)"
        return (f"(CASE WHEN regexp_full_match({text}, {_constant(PLAIN)}) AND isfinite({cast})"
                f" THEN {cast} END)")

    def number(self) -> str:
        """The cell as a number by nsm's cell rules (the map holds the formatted ones)."""
        if self.mapped:
            return f"COALESCE({self.plain()}, m_{self.ref}.v)"
        return self.plain()

    def odd(self) -> str:
        """How many cells are neither plain numbers nor missing (to be read by nsm's rules)."""
        if self.numeric:
            return f"count(*) FILTER (WHERE isinf(CAST({self.ref} AS DOUBLE)))"
        return f"count(*) FILTER (WHERE {self.number()} IS NULL AND {self.text()} IS NOT NULL)"


@dataclass
class Params:
    """The bound parameters of one query, in order."""

    values: list[object] = field(default_factory=list)

    def add(self, value: object) -> str:
        self.values.append(value)
        return "?"


def compile_filter(found: Filter, columns: dict[str, Column], params: Params) -> str:
    """A parsed `where` as an SQL condition; literals become parameters."""
    if isinstance(found, Compare):
        column = columns[found.column]
        if isinstance(found.value, float):
            return f"({column.number()} {found.op} {params.add(found.value)})"
        return f"({column.text()} {found.op} {params.add(found.value)})"
    if isinstance(found, InList):
        column = columns[found.column]
        numbers = [v for v in found.values if isinstance(v, float)]
        texts = [v for v in found.values if isinstance(v, str)]
        tests = []
        if numbers:
            tests.append(f"{column.number()} IN ({', '.join(params.add(v) for v in numbers)})")
        if texts:
            tests.append(f"{column.text()} IN ({', '.join(params.add(v) for v in texts)})")
        either = "(" + " OR ".join(tests) + ")"
        return f"(NOT {either})" if found.negated else either
    if isinstance(found, Not):
        return f"(NOT {compile_filter(found.item, columns, params)})"
    assert isinstance(found, Both)
    joiner = " AND " if found.op == "and" else " OR "
    return "(" + joiner.join(compile_filter(item, columns, params) for item in found.items) + ")"


def filter_numbers(found: Filter) -> set[str]:
    """Columns a filter compares with numbers: they are read as numbers."""
    out: set[str] = set()
    stack = [found]
    while stack:
        item = stack.pop()
        if isinstance(item, Compare | InList):
            values = (item.value,) if isinstance(item, Compare) else item.values
            if any(isinstance(v, float) for v in values):
                out.add(item.column)
        elif isinstance(item, Not):
            stack.append(item.item)
        elif isinstance(item, Both):
            stack.extend(item.items)
    return out


def time_expression(column: Column) -> str:
    """A timestamp from a date column, whatever its type or spelling; NULL when unreadable."""
    if column.type.upper() in TIME_TYPES:
        return f"CAST({column.ref} AS TIMESTAMP)"
    text = f"trim(CAST({column.ref} AS VARCHAR))"
    formats = ", ".join(_constant(f) for f in TIME_FORMATS)
    return f"COALESCE(TRY_CAST({text} AS TIMESTAMP), TRY_STRPTIME({text}, [{formats}]))"
