"""Data blocks whose rows live in a database: one aggregate query per block per run.

The query groups the rows by period (and segment) where they live, so only aggregates
leave the database. A block's `sql:` is parsed and must be one read-only SELECT before
anything is sent (E323). `nsm check` plans the query without scanning rows (LIMIT 0);
`nsm check --offline` opens no connection at all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import importlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from nsm_cli.data import sqlbuild
from nsm_cli.data.connections import (
    SCHEMES,
    SENT,
    Sent,
    Session,
    Target,
    claim_sent,
    open_session,
    query_failed,
    target,
)
from nsm_cli.data.periods import day_period, month_period, order_labels, quarter_period, week_period
from nsm_cli.diagnostics import Diagnostic, NsmError, error
from nsm_cli.tree.model import AGGS, DataSpec, TreeFile

if TYPE_CHECKING:
    from sqlglot import exp

    from nsm_cli.data.tables import ColumnUse, Table

RUN, VALIDATE, OFFLINE = "run", "validate", "offline"  # what load_data does with databases
_WRITES = ("Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "Command",
           "Copy", "Pragma", "Set", "Attach", "Detach", "Install", "Use", "Transaction",
           "Commit", "Rollback", "Into", "Lock", "TruncateTable", "Grant", "Revoke",
           "LoadData", "Describe", "Show", "Cache", "Uncache", "Refresh", "Analyze", "Kill")


def dialect_of(spec: DataSpec, tree: TreeFile) -> str | None:
    """The SQL dialect of the block's connection, from its URL's scheme when it is written
    in the tree; None for a URL from the environment (read only when the block is used)."""
    url = tree.connections[spec.database.connection].url
    scheme = SCHEMES.get(url.split("://", 1)[0].lower().split("+", 1)[0]) if "://" in url \
        else None
    return scheme.dialect if scheme else None


def screened(spec: DataSpec, dialect: str | None) -> None:
    """E323 before any connection. Without a known dialect the query must be one read-only
    SELECT in the first dialect that parses it (its own is checked again once known)."""
    if spec.database.sql is None:
        return
    if dialect is not None:
        checked_sql(spec, dialect)
        return
    failure: Unparsable | None = None
    for name in sqlbuild.DIALECTS:
        try:
            checked_sql(spec, name)
            return
        except Unparsable as exc:
            failure = failure or exc
    raise failure


class Unparsable(NsmError):
    """E323 for a `sql:` the dialect's parser cannot read (another dialect may)."""


def checked_sql(spec: DataSpec, dialect: str) -> exp.Query:
    """The block's `sql:` as a syntax tree, or E323: one SELECT/WITH, nothing that writes."""
    import logging  # here, not at start-up: only sqlglot needs it

    import sqlglot
    from sqlglot import exp

    logging.getLogger("sqlglot").setLevel(logging.CRITICAL)  # its warnings go to stderr
    span = spec.database.sql_span or spec.span
    where = f"data '{spec.name}': sql"
    try:
        statements = [s for s in sqlglot.parse(spec.database.sql, read=dialect) if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        detail = " ".join(str(exc).split())[:160]
        raise Unparsable([error("E323", f"{where} cannot be parsed: {detail}", span)]) from None
    if len(statements) != 1:
        raise NsmError([error("E323", f"{where} must be one query, not {len(statements)} "
                              "statements", span)])
    query = statements[0]
    forbidden = tuple(getattr(exp, name) for name in _WRITES if hasattr(exp, name))
    found = next((node for node in query.walk() if isinstance(node, forbidden)), None)
    if not isinstance(query, exp.Query) or isinstance(query, exp.Values) or found is not None:
        what = type(found or query).__name__.upper()
        raise NsmError([error("E323", f"{where} must be one read-only SELECT (or WITH … "
                              f"SELECT) query; {what} is refused: nsm never writes to a "
                              "database", span)])
    return query


@dataclass
class Plan:
    """What a block's query asks: the measures per use, periods, segments."""

    uses: list[ColumnUse]
    measures: list[sqlbuild.Measure]
    periods: sqlbuild.Periods | None
    segments: list[str]
    filtered: list[tuple[tuple[tuple[str, str], ...], int]] = field(default_factory=list)


def plan(spec: DataSpec, uses: Sequence[ColumnUse], columns: list[str] | None,
         fold_case: bool = False, wheres: Sequence[tuple[tuple[str, str], ...]] = ()) -> Plan:
    """Measures for the uses, checked against the relation's columns (E302; None: not
    known, not checked); with `fold_case` (Snowflake) plain names match whatever their case."""
    time, grain = getattr(spec, "time", None), getattr(spec, "grain", None)
    if time:
        periods = sqlbuild.Periods(time=time, grain=grain or "month")
    elif spec.period_column_set or spec.period_column in (columns or ()):
        periods = sqlbuild.Periods(column=spec.period_column)
    else:
        periods = None
    segments = list(getattr(spec, "segments", None) or [])
    problems: list[Diagnostic] = []
    needed = [(name, spec.span) for name in (time, periods and periods.column, *segments)
              if name]
    unique: dict[tuple, ColumnUse] = {}
    for use in uses:
        unique.setdefault(use.key, use)
    for use in unique.values():
        named = [use.column, use.weight, *filter_columns(use.where)]
        needed += [(name, use.span) for name in named if name]
        if use.agg == "last" and not time:
            problems.append(error("E305", f"data '{spec.name}': agg last needs the block's "
                                  "time column (database rows have no file order)", use.span))
    folded = {c.lower() for c in columns} if fold_case else set()
    for name, span in needed if columns is not None else ():
        if name not in columns and name.lower() not in folded:
            close = difflib.get_close_matches(name, columns, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else \
                f": it has {', '.join(columns[:12])}" + (" …" if len(columns) > 12 else "")
            problems.append(error("E302", f"data '{spec.name}' has no column '{name}'{hint}",
                                  span))
    if problems:
        raise NsmError(problems)
    measures = [sqlbuild.Measure(use.agg, use.column or None, use.where, use.weight)
                for use in unique.values()]
    found = Plan(list(unique.values()), measures, periods, segments)
    for where in dict.fromkeys(wheres):
        found.filtered.append((where, len(found.measures)))
        found.measures += gated(found.measures[:len(found.uses)], where)
    return found


def gated(measures: Sequence[sqlbuild.Measure], where: tuple[tuple[str, str], ...]
          ) -> list[sqlbuild.Measure]:
    """`--where` pushed into the block's one query: each measure again on the matching rows
    only (its own filter and the equalities), then the count of those rows. The totals over
    all rows stay beside them (`benchmark: {best: COL}` looks at all rows)."""
    tests = tuple(sqlbuild.SegmentIs(column, value) for column, value in where)
    out = []
    for measure in measures:
        both = tests if measure.where is None else (measure.where, *tests)
        test = both[0] if len(both) == 1 else sqlbuild.Both("and", both)
        out.append(sqlbuild.Measure(measure.agg, measure.column, test, measure.weight))
    rows = tests[0] if len(tests) == 1 else sqlbuild.Both("and", tests)
    return [*out, sqlbuild.Measure("count", None, rows)]


def filter_columns(node: object) -> list[str]:
    """Every column a `where` filter names (nsm_cli.tree.where's tree, read by shape)."""
    if node is None:
        return []
    if hasattr(node, "column"):
        return [node.column]
    if hasattr(node, "item"):
        return filter_columns(node.item)
    return [name for item in getattr(node, "items", ()) for name in filter_columns(item)]


def relation(spec: DataSpec, dialect: str) -> sqlbuild.TableName | exp.Subquery:
    """The block's rows: its table, or its checked `sql:` as a subquery."""
    if spec.database.sql is not None:
        return sqlbuild.sql_relation(checked_sql(spec, dialect))
    return sqlbuild.table_relation(spec.database.table)


def read_database(spec: DataSpec, uses: Sequence[ColumnUse], tree: TreeFile,
                  mode: str = RUN, wheres: Sequence[tuple[tuple[str, str], ...]] = ()) -> Table:
    """The block's table: aggregated in the database (RUN), or only planned there
    (VALIDATE: no row is scanned), or not asked at all (OFFLINE: an empty table).
    `wheres`: the `--where` filters asked of the block, answered in the same query."""
    screened(spec, dialect_of(spec, tree))  # E323 before any connection, in every mode
    if mode == OFFLINE:
        return _empty(spec, uses)
    where = target(tree.connections[spec.database.connection], tree.path)
    source = relation(spec, where.scheme.dialect)
    if mode == RUN and (spec.time or spec.period_column_set):
        return _aggregate(where, spec, uses, source, wheres, tree.path)
    session = open_session(where)
    try:
        columns = _columns(session, source, spec)
        found = plan(spec, uses, columns, where.scheme.dialect in sqlbuild.UNQUOTED, wheres)
        query = sqlbuild.build_query(source, found.periods, found.measures,
                                     segments=found.segments)
        if mode == VALIDATE:
            _run(session, sqlbuild.limit_zero(query), spec, plan_only=True)
            return _empty(spec, uses)
        names, rows = _run(session, query, spec)
        return _table(spec, found, names, rows)
    finally:
        session.close()


def _aggregate(where: Target, spec: DataSpec, uses: Sequence[ColumnUse], source: object,
               wheres: Sequence[tuple[tuple[str, str], ...]], tree_path: str) -> Table:
    """The block's periods are known: one query (perhaps sent ahead: data/ahead.py),
    and the schema only to explain a failure (a missing column as E302 with a suggestion,
    rather than the engine's words)."""
    found = plan(spec, uses, None, wheres=wheres)
    query = sqlbuild.build_query(source, found.periods, found.measures, segments=found.segments)
    sql = sqlbuild.render(query, where.scheme.dialect)
    sent = claim_sent(tree_path, spec.name, where, sql)
    sent = sent.wait() if sent is not None else Sent(where, sql).run()
    if sent.session is None:  # the connection failed: open_session's E324/E326
        raise sent.failure
    try:
        if sent.failure is not None:
            failure = query_failed(where, sent.failure, spec.span)
            try:
                columns = _columns(sent.session, source, spec)
            except NsmError:
                raise failure from None
            plan(spec, uses, columns, where.scheme.dialect in sqlbuild.UNQUOTED)
            raise failure from None
        names, rows = sent.answer
        return _table(spec, found, names, rows)
    finally:
        sent.session.close()


def send_ahead(path: str) -> None:
    """Each table block's query, as read_database will build it for a plain `nsm eval`, sent
    on a thread (data/ahead.py). A tree that does not parse or asks a best segment (more in
    the query) sends nothing, nor a block whose database another block also reads (a DuckDB
    file takes one connection at a time in a process): those blocks ask in their turn."""
    from nsm_cli.tree.model import BestOf, SourceRef
    from nsm_cli.tree.parser import parse_tree

    try:
        tree, diagnostics = parse_tree(path)
    except NsmError:
        return
    if any(d.is_error for d in diagnostics) or any(
            isinstance(node.benchmark, BestOf) for node in tree.nodes.values()):
        return
    refs = [ref for node in tree.nodes.values() for ref in (node.source, node.benchmark)
            if isinstance(ref, SourceRef)]
    for name, spec, where in _alone_on_their_database(tree):
        if spec.database.sql is not None or not (spec.time or spec.period_column_set):
            continue
        try:
            found = plan(spec, [ref for ref in refs if ref.data == name], None)
        except NsmError:
            continue
        query = sqlbuild.build_query(relation(spec, where.scheme.dialect), found.periods,
                                     found.measures, segments=found.segments)
        sql = sqlbuild.render(query, where.scheme.dialect)
        with contextlib.suppress(ImportError):  # the thread's import would share the GIL with
            importlib.import_module(where.scheme.module)  # nsm's: the query would go later
        SENT[(os.path.abspath(path), name)] = Sent(where, sql).start()


def _alone_on_their_database(tree: TreeFile) -> list[tuple[str, DataSpec, Target]]:
    """The database blocks, with their connection, that no other block of the tree reads
    from the same database (the same URL, or the same DuckDB file by another name)."""
    found: list[tuple[str, DataSpec, Target]] = []
    readers: dict[str, int] = {}
    for name, spec in tree.data.items():
        if spec.database is None:
            continue
        try:
            where = target(tree.connections[spec.database.connection], tree.path)
        except (NsmError, KeyError):
            return []  # a block that fails to connect fails in its turn; send nothing
        database = os.path.realpath(where.path) if where.path else where.url
        readers[database] = readers.get(database, 0) + 1
        found.append((name, spec, where))
    return [(name, spec, where) for name, spec, where in found
            if readers[os.path.realpath(where.path) if where.path else where.url] == 1]


def drop_unclaimed() -> None:
    """Drop every query sent ahead that no block took (the command ended before)."""
    while SENT:
        SENT.popitem()[1].drop()


def _run(session: Session, query: object, spec: DataSpec,
         plan_only: bool = False) -> tuple[list[str], list[tuple]]:
    """Send one query (or only plan it); a refusal becomes E325 or E324, secrets scrubbed."""
    sql = sqlbuild.render(query, session.target.scheme.dialect)
    try:
        return (session.plan(sql), []) if plan_only else session.rows(sql)
    except Exception as exc:  # noqa: BLE001 — each driver has its own errors
        raise query_failed(session.target, exc, spec.span) from None


def _columns(session: Session, source: object, spec: DataSpec) -> list[str]:
    """The relation's column names from a LIMIT 0 query: planned, nothing scanned."""
    return _run(session, sqlbuild.Probe(source), spec, plan_only=True)[0]


def _empty(spec: DataSpec, uses: Sequence[ColumnUse]) -> Table:
    """A block with no rows read: one period `all`, every value missing. A database table's
    columns are not listed: nsm check's unused-column rule is for exported files."""
    import numpy as np

    from nsm_cli.data.tables import ALL, Table

    series = {u.key: np.full(1, np.nan) for u in uses}
    return Table(spec, [ALL], series, [])


def period_label(value: object, grain: str | None) -> str | None:
    """A period value from the database → nsm's label (`2025-06`, `2025-W05`, …)."""
    if value is None:
        return None
    if grain is None:
        if isinstance(value, dt.datetime):
            return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value).strip()
    day = value.date() if isinstance(value, dt.datetime) else value
    if not isinstance(day, dt.date):
        day = dt.date.fromisoformat(str(value)[:10])
    if grain == "day":
        return day_period(day).label
    if grain == "week":
        return week_period(day).label
    if grain == "month":
        return month_period(day.year, day.month).label
    if grain == "quarter":
        return quarter_period(day.year, (day.month - 1) // 3 + 1).label
    return f"{day.year:04d}"


def _number(value: object) -> float:
    import numpy as np

    if value is None:
        return math.nan
    if isinstance(value, (Decimal, int, float, np.number)):
        return float(value)
    raise TypeError(type(value).__name__)


def _table(spec: DataSpec, found: Plan, names: list[str], rows: list[tuple]) -> Table:
    """Rows of (period, [segment, flag]…, count, measures…) → the block's Table."""
    import numpy as np

    from nsm_cli.data.tables import ALL, Table

    at = {name.lower(): i for i, name in enumerate(names)}  # Snowflake answers in upper case
    grain = found.periods.grain if found.periods else None
    totals = [r for r in rows if all(r[at[f"{sqlbuild.SEGMENT_FLAG}{i}"]]
                                     for i in range(len(found.segments)))]
    labels = [period_label(r[at[sqlbuild.PERIOD]], grain) if found.periods else ALL
              for r in totals]
    kept = [(label, r) for label, r in zip(labels, totals, strict=True) if label is not None]
    ordered = order_labels(list(dict.fromkeys(label for label, _ in kept)))
    periods = ordered.periods or ([ALL] if not found.periods else [])
    problems: list[Diagnostic] = []
    series: dict[tuple, np.ndarray] = {}
    for i, use in enumerate(found.uses):
        values = np.full(len(periods), np.nan)
        for label, row in kept:
            try:
                values[ordered.index.get(label, 0)] = _number(row[at[f"nsm_m{i}"]])
            except TypeError as kind:
                problems.append(error("E304", f"data '{spec.name}': column '{use.column}' "
                                      f"holds {kind} values, not numbers", use.span))
                break
        if use.agg is None and any(row[at[sqlbuild.ROWS]] > 1 for _, row in kept):
            crowded = next(label for label, row in kept if row[at[sqlbuild.ROWS]] > 1)
            problems.append(error("E305", f"data '{spec.name}' has several rows for period "
                                  f"{crowded}: add agg: {'|'.join(AGGS)} to the source",
                                  use.span))
        series[use.key] = values
    if problems:
        raise NsmError(problems)
    table_grain = ordered.grain if grain is None else grain
    table = Table(spec, periods, series, [], table_grain)
    if found.segments:   # the per-segment rows: what --by and --where read (data.segments)
        from nsm_cli.data.segments import database_slices

        def period_of(row: tuple) -> int | None:
            label = period_label(row[at[sqlbuild.PERIOD]], grain) if found.periods else ALL
            return None if label is None else ordered.index.get(label, 0 if not found.periods
                                                                  else None)
        table.sliced = database_slices(found, names, rows, periods, period_of)
    return table
