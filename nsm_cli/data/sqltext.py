"""A block's query as plain data, and its text for PostgreSQL and DuckDB without sqlglot.

sqlglot costs about 0.1 s to import: more than a cheap query takes. The two engines nsm
reaches most (the tests' PostgreSQL, DuckDB files) get their SQL from the few functions
below, which write exactly what sqlglot writes for them (tests/test_warehouse.py compares
the two on generated queries); every other dialect, pretty printing and a block's own
`sql:` go through sqlglot (data/sqlbuild.py). Names are always quoted identifiers and
literals are written by `literal` alone (a string's quotes doubled, numbers from Python's
own repr): user text never becomes SQL syntax.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from nsm_cli.tree.where import Both, Compare, InList, Not

FAST_DIALECTS = ("postgres", "duckdb")
PERIOD = "nsm_period"  # output column names: nsm_period, nsm_segment_0…, nsm_rows, nsm_m0…
ROWS = "nsm_rows"
SEGMENT_FLAG = "nsm_all_"  # GROUPING() of segment i: 1 on the rows that total over it


@dataclass(frozen=True)
class Measure:
    """One aggregate a leaf asks of the block: agg over column, on the rows `where` keeps."""

    agg: str | None  # None: the block has one row per period (checked with nsm_rows)
    column: str | None
    where: object | None = None  # a filter tree of nsm_cli.tree.where
    weight: str | None = None


@dataclass(frozen=True)
class SegmentIs:
    """`--where COL=VALUE`: the column's text, trimmed, equals the value (as segments are named:
    the value is a literal of the query, never pasted into SQL)."""

    column: str
    value: str


@dataclass(frozen=True)
class Periods:
    """How rows become periods: a label column, or a time column rolled up to a grain."""

    column: str | None = None
    time: str | None = None
    grain: str | None = None


@dataclass(frozen=True)
class TableName:
    """`table: schema.table`: the last three dotted parts (catalog.schema.table at most)."""

    parts: tuple[str, ...]


@dataclass(frozen=True)
class Query:
    """The one SELECT of a block: a row per period (and per segment value, besides the
    total). `relation` is a TableName or a sqlglot subquery (a block's own `sql:`)."""

    relation: object
    periods: Periods | None
    measures: tuple[Measure, ...]
    filters: object | None = None
    segments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Probe:
    """`SELECT * FROM relation LIMIT 0`: the relation's columns, planned, no row scanned
    (a Query as the relation becomes a subquery named nsm_check)."""

    relation: object


def table_name(name: str) -> TableName:
    return TableName(tuple(name.split(".")[-3:]))


def build_query(relation: object, periods: Periods | None, measures: Sequence[Measure],
                filters: object | None = None, segments: Sequence[str] = ()) -> Query:
    return Query(relation, periods, tuple(measures), filters, tuple(segments))


def fast(query: object, dialect: str) -> bool:
    """Whether `text` can write the query: a fast dialect over a named table."""
    while isinstance(query, Probe):
        query = query.relation
    return dialect in FAST_DIALECTS and (
        isinstance(query, TableName) or isinstance(query, Query) and
        isinstance(query.relation, TableName))


# -- the text, as sqlglot writes it for postgres and duckdb ------------------------------

def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str | float | int | bool | None) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return _number(repr(value) if isinstance(value, float) else str(value))
    return "'" + str(value).replace("'", "''") + "'"


def _number(digits: str) -> str:
    """A number as sqlglot writes it: a negative one as minus its absolute value, which it
    reads as an int or a Decimal (so -1e+16 becomes -1E+16)."""
    try:
        exact = int(digits)
    except ValueError:
        exact = Decimal(digits)
    try:
        return f"-{abs(exact)}" if exact < 0 else digits
    except InvalidOperation:  # NaN
        return digits


_OPERATOR = {"=": "=", "!=": "<>", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def condition(node: object) -> str:
    """A `where` filter tree (nsm_cli.tree.where) → a boolean expression."""
    if isinstance(node, Compare):
        return f"{quoted(node.column)} {_OPERATOR[node.op]} {literal(node.value)}"
    if isinstance(node, InList):
        test = f"{quoted(node.column)} IN ({', '.join(literal(v) for v in node.values)})"
        return f"NOT ({test})" if node.negated else test
    if isinstance(node, SegmentIs):
        return f"TRIM(CAST({quoted(node.column)} AS TEXT)) = {literal(node.value)}"
    if isinstance(node, Not):
        return f"NOT ({condition(node.item)})"
    if isinstance(node, Both):
        joiner = " AND " if node.op == "and" else " OR "
        return joiner.join(f"({condition(item)})" for item in node.items)
    raise TypeError(f"not a filter: {node!r}")


def _gate(value: str, test: str | None) -> str:
    """`value` on the rows the test keeps, NULL elsewhere (aggregates skip NULLs)."""
    return value if test is None else f"CASE WHEN {test} THEN {value} END"


def _both(one: str | None, other: str) -> str:
    return other if one is None else f"({one}) AND {other}"


def aggregate(measure: Measure, periods: Periods, dialect: str) -> str:
    """The aggregate of one measure; filters become CASE WHEN gates inside it."""
    test = condition(measure.where) if measure.where is not None else None
    value = quoted(measure.column) if measure.column else None
    agg = measure.agg
    if agg == "count":
        if value is None:
            return "COUNT(*)" if test is None else f"COUNT({_gate('1', test)})"
        return f"COUNT({_gate(value, test)})"
    if agg == "count_distinct":
        return f"COUNT(DISTINCT {_gate(value, test)})"
    if agg == "mean" and measure.weight:
        double = "DOUBLE" if dialect == "duckdb" else "DOUBLE PRECISION"
        weight = quoted(measure.weight)
        top = f"SUM({_gate(f'{value} * {weight}', test)})"
        bottom = f"SUM({_gate(weight, _both(test, f'NOT {value} IS NULL'))})"
        return f"CAST({top} AS {double}) / NULLIF(CAST({bottom} AS {double}), 0)"
    if agg == "last":
        at = _gate(quoted(periods.time), _both(test, f"NOT {value} IS NULL"))
        if dialect == "duckdb":
            return f"ARG_MAX({value}, {at})"
        return f"(ARRAY_AGG({value} ORDER BY {at} DESC) FILTER(WHERE {at} IS NOT NULL))[1]"
    inner = _gate(value, test)
    if agg == "median":
        return f"MEDIAN({inner})" if dialect == "duckdb" else \
            f"PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY {inner})"
    kinds = {"sum": "SUM", "mean": "AVG", "min": "MIN", "max": "MAX", None: "MAX"}
    return f"{kinds[agg]}({inner})"


def period_expression(periods: Periods) -> str:
    """The period of a row: its label, or its time truncated to the grain's first day."""
    if periods.time is None:
        return quoted(periods.column or "period")
    return f"DATE_TRUNC('{periods.grain.upper()}', {quoted(periods.time)})"


def text(query: object, dialect: str) -> str:
    """The query as sqlglot would write it in `dialect` (one of FAST_DIALECTS)."""
    if isinstance(query, TableName):
        return ".".join(quoted(part) for part in query.parts)
    if isinstance(query, Probe):
        inner = query.relation
        source = f"({text(inner, dialect)}) AS \"nsm_check\"" if isinstance(inner, Query) \
            else text(inner, dialect)
        return f"SELECT * FROM {source} LIMIT 0"
    keys = [period_expression(query.periods)] if query.periods is not None else []
    outputs = [f"{keys[0]} AS {quoted(PERIOD)}"] if keys else []
    for i, name in enumerate(query.segments):
        outputs += [f"{quoted(name)} AS {quoted(f'nsm_segment_{i}')}",
                    f"GROUPING({quoted(name)}) AS {quoted(f'{SEGMENT_FLAG}{i}')}"]
    outputs.append(f"COUNT(*) AS {quoted(ROWS)}")
    outputs += [f"{aggregate(m, query.periods or Periods(), dialect)} AS {quoted(f'nsm_m{i}')}"
                for i, m in enumerate(query.measures)]
    sql = f"SELECT {', '.join(outputs)} FROM {text(query.relation, dialect)}"
    if query.filters is not None:
        sql += f" WHERE {condition(query.filters)}"
    if query.segments:
        sets = [f"({', '.join(keys)})"]
        sets += [f"({', '.join([*keys, quoted(name)])})" for name in query.segments]
        sql += f" GROUP BY GROUPING SETS ({', '.join(sets)})"
    elif keys:
        sql += f" GROUP BY {', '.join(keys)}"
    return sql
