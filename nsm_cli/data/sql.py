"""Pieces of the engine's queries: column expressions and `where` filters with bound parameters.

No text from a tree or a data file is ever put into the SQL: columns are named by
position (`c1`, `c2`, … chosen here), literals travel as parameters (`?`), and the
only constants written inline are nsm's own (the missing-cell markers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nsm_cli.numbers import GROUPED_DIGITS, SIMPLE_CELL
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


def _constant(text: str) -> str:
    """One of nsm's own constants as an SQL string (never user text)."""
    return "'" + text.replace("'", "''") + "'"


MARKERS = ", ".join(_constant(m) for m in ("",) + MISSING)
SIMPLE = _constant(SIMPLE_CELL)  # nsm's own patterns (numbers.py), never user text
GROUPED = _constant(GROUPED_DIGITS)  # 1,200 and 18,825.5: the commas go, the digits stay


def is_numeric(type_name: str) -> bool:
    return type_name.upper().split("(")[0] in NUMERIC_TYPES


@dataclass
class Column:
    """A column as the engine sees it: its position name and its type."""

    ref: str  # c1, c2, …
    type: str
    mapped: bool = False  # a cell map (formatted numbers like 1,200) is joined as m_<ref>
    one_pass: bool = False  # read straight from the file: the common cells by SQL, else NaN
    clean: bool = False  # the cell map found no cell left to read: nothing odd to count
    typed: bool = False  # read as DOUBLE by the CSV reader (a file nsm's grammar agrees on)
    agreed: bool = False  # its files hold no cell the cast reads otherwise: no guard needed

    @property
    def numeric(self) -> bool:
        return is_numeric(self.type)

    # -- the prepared rows: each cell read once, when the rows are loaded ---------------------
    def as_text(self) -> str:
        """The cell as text; a JSON value (JSON lines mixing numbers and text) unquoted."""
        if self.type.upper() == "JSON":
            return f"({self.ref} ->> '$')"
        return f"CAST({self.ref} AS VARCHAR)"

    def text_sql(self) -> str:
        """The cell as text: trimmed, NULL when empty or a missing marker (`NA`, `-`)."""
        if self.numeric:
            return self.ref  # ids stored as numbers count as they are
        cell = f"trim({self.as_text()})"
        return f"(CASE WHEN lower({cell}) IN ({MARKERS}) THEN NULL ELSE {cell} END)"

    def plain(self) -> str:
        """The cell as a number when it is a plain one (`12`, `-1.5e3`), else NULL."""
        if self.typed:  # the reader parsed it; odd() counts the NaN and infinities
            return self.ref
        if self.numeric:
            cast = f"CAST({self.ref} AS DOUBLE)"
            return f"(CASE WHEN isfinite({cast}) THEN {cast} END)"
        text = self.as_text()
        cast = f"TRY_CAST({text} AS DOUBLE)"
        if self.agreed:
            return f"(CASE WHEN isfinite({cast}) THEN {cast} END)"
        # DuckDB also reads 1_000 and +-3, which nsm's cell rules refuse
        return (f"(CASE WHEN isfinite({cast}) AND NOT contains({text}, '_') AND NOT "
                f"contains({text}, '+-') THEN {cast} END)")

    def read_sql(self) -> str:
        """A text cell by nsm's grammar where SQL can read it exactly: plain numbers, the
        SIMPLE_CELL forms (`1,200`, `92%`, `-¥1,200.5`), NULL for missing markers, and NaN
        for anything else (the caller then reads the rows again the exact way)."""
        c = self.ref
        if self.typed:
            return c
        cast = f"TRY_CAST({c} AS DOUBLE)"
        # DuckDB's cast also reads 1_000 and a leading sign pair (+-3), which the grammar
        # refuses; a sign pair can only lead, so cells starting with a digit skip that test
        plain = (f"isfinite({cast})" if self.agreed else
                 f"isfinite({cast}) AND NOT contains({c}, '_') AND ({c} >= '0' OR NOT "
                 f"regexp_matches({c}, '[+-][+-]'))")
        digits = f"CAST(regexp_replace({c}, '[^0-9.]', '', 'g') AS DOUBLE)"
        scaled = f"(CASE WHEN suffix({c}, '%') THEN {digits} / 100 ELSE {digits} END)"
        signed = f"(CASE WHEN starts_with({c}, '-') THEN -{scaled} ELSE {scaled} END)"
        # the commonest odd cell (1,200) first, by a cheaper pattern than SIMPLE's
        return (f"(CASE WHEN {c} IS NULL THEN NULL WHEN {plain} THEN {cast} "
                f"WHEN regexp_full_match({c}, {GROUPED}) THEN "
                f"CAST(replace({c}, ',', '') AS DOUBLE) "
                f"WHEN regexp_full_match({c}, {SIMPLE}) THEN {signed} "
                f"WHEN lower(trim({c})) IN ({MARKERS}) THEN NULL ELSE 'nan'::DOUBLE END)")

    def rest_sql(self) -> str:
        """The cell as text where it is no plain number (`1,200`, `92%`, `inf`), else NULL."""
        return f"(CASE WHEN {self.number()} IS NULL THEN {self.as_text()} END)"

    def prepared(self, as_number: bool, as_text: bool) -> list[str]:
        """The column's cells as the query reads them; the raw cells only when nothing else
        (the period and time columns)."""
        out = [] if as_number or as_text else [self.ref]
        if as_number and self.typed:  # a number already: nothing left to read by the grammar
            out.append(f"{self.ref} AS n_{self.ref}")
        elif as_number and self.one_pass:
            out.append(f"{self.read_sql()} AS n_{self.ref}")
        elif as_number:
            out += [f"{self.plain()} AS n_{self.ref}", f"{self.rest_sql()} AS r_{self.ref}"]
        if as_text:
            out.append(f"{self.text_sql()} AS {self.text()}")
        return out

    # -- the aggregate query over the prepared rows -------------------------------------------
    def number(self) -> str:
        """The cell as a number by nsm's rules (the map holds the cells read by parse_cells)."""
        return f"COALESCE(n_{self.ref}, m_{self.ref}.v)" if self.mapped else f"n_{self.ref}"

    def text(self) -> str:
        return f"t_{self.ref}"

    def distinct_key(self) -> str:
        """What count_distinct counts: the value itself for numbers, else the trimmed text."""
        return self.text()

    def rest(self) -> str:
        """Cells left to read by nsm's rules: neither plain numbers nor missing."""
        return (f"r_{self.ref} IS NOT NULL AND lower(trim(r_{self.ref})) NOT IN ({MARKERS})")

    def odd(self) -> str:
        """How many cells are still no number: the map's work, or bad cells after it."""
        if self.clean:  # a filtered count per column would cost most of the query
            return "0"
        if self.one_pass or self.typed:  # NaN (a cell SQL cannot read, or `nan` read by
            # the typed reader) or infinity (1e400, `inf`)
            return f"count(*) FILTER (WHERE NOT isfinite({self.number()}))"
        return f"count(*) FILTER (WHERE {self.number()} IS NULL AND {self.rest()})"

    def join(self) -> str:
        return f" LEFT JOIN m_{self.ref} ON r_{self.ref} = m_{self.ref}.s" if self.mapped else ""


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


def filter_numbers(found: Filter, kind: type = float) -> set[str]:
    """Columns a filter compares with numbers: they are read as numbers."""
    out: set[str] = set()
    stack = [found]
    while stack:
        item = stack.pop()
        if isinstance(item, Compare | InList):
            values = (item.value,) if isinstance(item, Compare) else item.values
            if any(isinstance(v, kind) for v in values):
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
    text = f"trim({column.as_text()})"
    formats = ", ".join(_constant(f) for f in TIME_FORMATS)
    return f"COALESCE(TRY_CAST({text} AS TIMESTAMP), TRY_STRPTIME({text}, [{formats}]))"


def filter_texts(found: Filter) -> set[str]:
    """Columns a filter compares with 'text': they are read as text."""
    return filter_numbers(found, str)
