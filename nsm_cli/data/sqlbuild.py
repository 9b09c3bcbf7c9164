"""The one query a data block needs, rendered per SQL dialect.

`build_query` turns (relation, periods, measures, filters, segments) into one SELECT that
groups the rows by period (and segment) so that only aggregates leave the database. The
query is plain data (data/sqltext.py); PostgreSQL and DuckDB get its text from sqltext
without importing sqlglot (0.1 s), every other dialect from a sqlglot syntax tree built
here, on which `render` applies the few rewrites a dialect needs (an exact median, the
latest row's value) before printing it in that dialect. Every name is a quoted identifier
and every literal a literal node: user text is never pasted into SQL.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from nsm_cli.data.sqltext import (
    PERIOD,
    ROWS,
    SEGMENT_FLAG,
    Measure,
    Periods,
    Probe,
    Query,
    SegmentIs,
    TableName,
    build_query,
    fast,
    table_name,
    text,
)
from nsm_cli.tree.where import Both, Compare, InList, Not

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = ["PERIOD", "ROWS", "SEGMENT_FLAG", "Both", "Compare", "InList", "Not", "Measure",
           "Periods", "Probe", "Query", "SegmentIs", "TableName", "build_query", "render"]

DIALECTS = ("postgres", "duckdb", "bigquery", "snowflake", "trino", "spark", "clickhouse")
GRAINS = ("day", "week", "month", "quarter", "year")


def table_relation(name: str) -> TableName:
    """`table: schema.table` as a quoted, dotted table name (catalog.schema.table at most)."""
    return table_name(name)


# -- the sqlglot syntax tree (every dialect but the fast ones, pretty printing, `sql:`) ----
# sqlglot is imported inside each function: PostgreSQL and DuckDB over a table never need it.

def quoted(name: str) -> exp.Identifier:
    from sqlglot import exp

    return exp.to_identifier(name, quoted=True)


def column(name: str) -> exp.Column:
    from sqlglot import exp

    return exp.Column(this=quoted(name))


def relation_tree(relation: object) -> exp.Expression:
    """A TableName as a sqlglot table; a subquery (a block's `sql:`) as it is."""
    from sqlglot import exp

    if not isinstance(relation, TableName):
        return relation
    parts = relation.parts
    table = exp.Table(this=quoted(parts[-1]))
    if len(parts) > 1:
        table.set("db", quoted(parts[-2]))
    if len(parts) > 2:
        table.set("catalog", quoted(parts[-3]))
    return table


def sql_relation(query: exp.Expression) -> exp.Subquery:
    """A checked `sql:` query as the block's rows."""
    from sqlglot import exp

    return exp.Subquery(this=query, alias=exp.TableAlias(this=quoted("nsm_rows")))


def literal(value: str | float | int | bool | None) -> exp.Expression:
    from sqlglot import exp

    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, float)):
        return exp.Literal.number(repr(value) if isinstance(value, float) else str(value))
    return exp.Literal.string(str(value))


_COMPARE = {"=": "EQ", "!=": "NEQ", "<": "LT", "<=": "LTE", ">": "GT", ">=": "GTE"}


def condition(node: object) -> exp.Expression:
    """A `where` filter tree (nsm_cli.tree.where) → a boolean expression: names quoted,
    values literals of the tree."""
    from sqlglot import exp

    if isinstance(node, Compare):
        op = "!=" if node.op == "<>" else node.op
        return getattr(exp, _COMPARE[op])(this=column(node.column),
                                          expression=literal(node.value))
    if isinstance(node, InList):
        test = exp.In(this=column(node.column), expressions=[literal(v) for v in node.values])
        return exp.Not(this=exp.Paren(this=test)) if node.negated else test
    if isinstance(node, SegmentIs):
        text = exp.Trim(this=exp.Cast(this=column(node.column), to=exp.DataType.build("text")))
        return exp.EQ(this=text, expression=exp.Literal.string(node.value))
    if isinstance(node, Not):
        return exp.Not(this=exp.Paren(this=condition(node.item)))
    if isinstance(node, Both):
        parts = [exp.Paren(this=condition(item)) for item in node.items]
        joined = parts[0]
        for part in parts[1:]:
            joined = (exp.And if node.op == "and" else exp.Or)(this=joined, expression=part)
        return joined
    raise TypeError(f"not a filter: {node!r}")


def _gate(value: exp.Expression, test: exp.Expression | None) -> exp.Expression:
    """`value` on the rows the test keeps, NULL elsewhere (aggregates skip NULLs)."""
    from sqlglot import exp

    if test is None:
        return value
    return exp.Case(ifs=[exp.If(this=test.copy(), true=value)])


def _both(one: exp.Expression | None, other: exp.Expression) -> exp.Expression:
    from sqlglot import exp

    return other if one is None else exp.And(this=exp.Paren(this=one.copy()), expression=other)


def _double(value: exp.Expression) -> exp.Expression:
    from sqlglot import exp

    return exp.Cast(this=value, to=exp.DataType.build("double"))


def aggregate(measure: Measure, periods: Periods) -> exp.Expression:
    """The aggregate of one measure; filters become CASE WHEN gates inside it."""
    from sqlglot import exp

    test = condition(measure.where) if measure.where is not None else None
    value = column(measure.column) if measure.column else None
    agg = measure.agg
    if agg == "count":
        if value is None:
            return exp.Count(this=exp.Star()) if test is None else exp.Count(
                this=_gate(exp.Literal.number(1), test))
        return exp.Count(this=_gate(value, test))
    if agg == "count_distinct":
        return exp.Count(this=exp.Distinct(expressions=[_gate(value, test)]))
    if agg == "mean" and measure.weight:
        weight = column(measure.weight)
        top = exp.Sum(this=_gate(exp.Mul(this=value, expression=weight), test))
        present = _both(test, exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null())))
        bottom = exp.Sum(this=_gate(weight.copy(), present))
        return exp.Div(this=_double(top), expression=exp.Nullif(
            this=_double(bottom), expression=exp.Literal.number(0)))
    if agg == "last":
        present = _both(test, exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null())))
        return exp.ArgMax(this=value, expression=_gate(column(periods.time), present))
    kinds = {"sum": exp.Sum, "mean": exp.Avg, "min": exp.Min, "max": exp.Max,
             "median": exp.Median, None: exp.Max}
    return kinds[agg](this=_gate(value, test))


def period_expression(periods: Periods) -> exp.Expression:
    """The period of a row: its label, or its time truncated to the grain's first day."""
    from sqlglot import exp

    if periods.time is None:
        return column(periods.column or "period")
    return exp.TimestampTrunc(this=column(periods.time), unit=exp.var(periods.grain.upper()))


def tree(query: Query | Probe | exp.Expression) -> exp.Expression:
    """The query as a sqlglot syntax tree (the same for every dialect)."""
    from sqlglot import exp

    if isinstance(query, Probe):
        inner = query.relation
        named = isinstance(inner, (TableName, exp.Table, exp.Subquery))
        source = relation_tree(inner) if named else exp.Subquery(
            this=tree(inner), alias=exp.TableAlias(this=quoted("nsm_check")))
        return exp.select(exp.Star()).from_(source).limit(0)
    if not isinstance(query, Query):
        return relation_tree(query)
    keys: list[exp.Expression] = []
    outputs: list[exp.Expression] = []
    if query.periods is not None:
        keys.append(period_expression(query.periods))
        outputs.append(exp.alias_(keys[0].copy(), PERIOD, quoted=True))
    for i, name in enumerate(query.segments):
        outputs.append(exp.alias_(column(name), f"nsm_segment_{i}", quoted=True))
        outputs.append(exp.alias_(exp.Grouping(expressions=[column(name)]),
                                  f"{SEGMENT_FLAG}{i}", quoted=True))
    outputs.append(exp.alias_(exp.Count(this=exp.Star()), ROWS, quoted=True))
    for i, measure in enumerate(query.measures):
        outputs.append(exp.alias_(aggregate(measure, query.periods or Periods()), f"nsm_m{i}",
                                  quoted=True))
    select = exp.select(*outputs).from_(relation_tree(query.relation).copy())
    if query.filters is not None:
        select = select.where(condition(query.filters))
    if query.segments:
        sets = [exp.Tuple(expressions=[k.copy() for k in keys])]
        sets += [exp.Tuple(expressions=[*(k.copy() for k in keys), column(name)])
                 for name in query.segments]
        select = select.group_by(exp.GroupingSets(expressions=sets))
    elif keys:
        select = select.group_by(*(k.copy() for k in keys))
    return select


# -- one tree, many dialects -------------------------------------------------------------
# The few aggregates not every engine has are rewritten from templates whose placeholders
# (nsm_x, nsm_t) are replaced by syntax trees, never by text.
_MEDIAN = {
    "bigquery": "CASE WHEN COUNT(nsm_x) > 0 THEN (ARRAY_AGG(nsm_x IGNORE NULLS ORDER BY nsm_x)"
                "[OFFSET(DIV(COUNT(nsm_x) - 1, 2))] + ARRAY_AGG(nsm_x IGNORE NULLS ORDER BY "
                "nsm_x)[OFFSET(DIV(COUNT(nsm_x), 2))]) / 2 END",
    "trino": "CASE WHEN COUNT(nsm_x) > 0 THEN (element_at(array_sort(array_agg(nsm_x) FILTER "
             "(WHERE nsm_x IS NOT NULL)), (COUNT(nsm_x) + 1) / 2) + element_at(array_sort("
             "array_agg(nsm_x) FILTER (WHERE nsm_x IS NOT NULL)), (COUNT(nsm_x) + 2) / 2)) / "
             "2e0 END",
    "clickhouse": "CASE WHEN COUNT(nsm_x) > 0 THEN (quantileExactLow(0.5)(nsm_x) + "
                  "quantileExactHigh(0.5)(nsm_x)) / 2 END",
}
_LAST = {
    "postgres": "(ARRAY_AGG(nsm_x ORDER BY nsm_t DESC) FILTER (WHERE nsm_t IS NOT NULL))[1]",
}


def _from_template(template: str, dialect: str, **parts: exp.Expression) -> exp.Expression:
    import sqlglot
    from sqlglot import exp

    parsed = sqlglot.parse_one(template, read=dialect)

    def fill(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table and node.name in parts:
            return parts[node.name].copy()
        return node

    return parsed.transform(fill)


# Snowflake folds unquoted names to upper case and keeps quoted ones as written: a plain
# name (`amount`) is left unquoted there so it finds AMOUNT, as people expect.
UNQUOTED = ("snowflake",)
PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _in_user_sql(node: exp.Expression) -> bool:
    """Whether a node belongs to the block's own `sql:` (left as its author wrote it)."""
    from sqlglot import exp

    parent = node.find_ancestor(exp.Subquery)
    while parent is not None:
        if parent.alias == "nsm_rows":
            return True
        parent = parent.find_ancestor(exp.Subquery)
    return False


def for_dialect(query: exp.Expression, dialect: str) -> exp.Expression:
    """The query with the rewrites `dialect` needs (a copy; the input is left alone)."""
    from sqlglot import exp

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Median) and dialect in _MEDIAN:
            return exp.Paren(this=_from_template(_MEDIAN[dialect], dialect, nsm_x=node.this))
        if isinstance(node, exp.ArgMax) and dialect in _LAST:
            return _from_template(_LAST[dialect], dialect, nsm_x=node.this,
                                  nsm_t=node.expression)
        if isinstance(node, exp.Identifier) and dialect in UNQUOTED and node.quoted and \
                PLAIN_NAME.match(node.name) and not _in_user_sql(node):
            return exp.Identifier(this=node.name, quoted=False)
        if (isinstance(node, exp.TimestampTrunc) and dialect == "bigquery"):
            unit = node.unit.name.upper()
            return exp.DateTrunc(this=exp.Cast(this=node.this, to=exp.DataType.build("date")),
                                 unit=exp.var("ISOWEEK" if unit == "WEEK" else unit))
        return node

    return query.copy().transform(rewrite)


def render(query: Query | Probe | exp.Expression, dialect: str, pretty: bool = False) -> str:
    """The query as text in one dialect (comments left out: a `sql:` comment is never sent).
    PostgreSQL and DuckDB over a named table: sqltext's text, identical to sqlglot's."""
    if not pretty and fast(query, dialect):
        return text(query, dialect)
    return for_dialect(tree(query), dialect).sql(dialect=dialect, pretty=pretty, comments=False)


def limit_zero(query: Query | exp.Expression) -> Probe:
    """`SELECT * FROM (query) LIMIT 0`: planned (names and types checked), no row scanned."""
    return Probe(query)
