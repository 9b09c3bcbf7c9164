"""The tree file as data: nodes, data sources, scenarios, each key with its span."""

from __future__ import annotations

import codecs
import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from nsm_cli.diagnostics import Span
from nsm_cli.tree.changes import Change
from nsm_cli.tree.keys import choices_of
from nsm_cli.tree.yamlload import YMap

AGGS = choices_of("source", "agg")
TEXT_AGGS = ("count", "count_distinct")  # these read any text (customer ids), not numbers
FORMATS = choices_of("data", "format")
GRAINS = choices_of("data", "grain")


@dataclass(frozen=True)
class DataSpec:
    """One entry of the tree's `data:` section, with its path already resolved."""

    name: str
    path: str
    span: Span
    period_column: str = "period"
    period_column_set: bool = False
    format: str = "wide"
    encoding: str = "utf-8"
    time: str | None = None  # a date/timestamp column whose rows roll up to `grain`
    grain: str | None = None
    segments: tuple[str, ...] = ()
    database: DatabaseSource | None = None  # set when the rows live in a database

    @property
    def kind(self) -> str:
        """How the file reads: delimited text, parquet or json lines (by its extension)."""
        lower = self.path.lower()
        if lower.endswith(".parquet"):
            return "parquet"
        if lower.endswith((".jsonl", ".ndjson")):
            return "jsonl"
        return "delimited"

    @property
    def is_glob(self) -> bool:
        return any(c in self.path for c in "*?[")


@dataclass(frozen=True)
class DatabaseSource:
    """Where a data block's rows live in a database: a `table` or a `sql` query on a
    connection. The query is only checked (by the data layer) before anything is sent."""

    connection: str
    span: Span
    table: str | None = None
    sql: str | None = None
    sql_span: Span | None = None


@dataclass(frozen=True)
class Connection:
    """One entry of the top-level `connections`: a URL, usually `${VAR}` from the
    environment, expanded only when the connection is used (`check --offline` never does)."""

    name: str
    url: str
    span: Span
    timeout: float | None = None  # seconds a query may run; None: the default


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A value bound to a data column: `NAME.column` or `{data, column, agg, where, weight}`."""

    data: str
    column: str  # "" for `agg: count` without a column (rows)
    agg: str | None
    span: Span
    where: object = None  # a parsed filter (nsm_cli.tree.where), or None
    where_text: str | None = None
    weight: str | None = None

    def __str__(self) -> str:
        return f"{self.data}.{self.column}"

    @property
    def key(self) -> tuple:
        """What the data layer computes for this source; equal keys are computed once."""
        if self.where_text is None and self.weight is None:
            return (self.column, self.agg)
        return (self.column, self.agg, self.where_text, self.weight)


@dataclass(frozen=True)
class BestOf:
    """`benchmark: {best: COL}`: the best segment's value of the node, an internal benchmark."""

    column: str
    span: Span

    def __str__(self) -> str:
        return f"best {self.column}"


@dataclass(frozen=True, slots=True)
class Child:
    """One item of a node's `children`: the node defined there, or a `ref` to one elsewhere."""

    id: str
    span: Span
    is_ref: bool = False


@dataclass(frozen=True)
class Rule:
    """One rule of a node: its kind, its threshold and how it was written."""

    kind: str               # one of alert_rules.RULE_KEYS
    threshold: float        # a value, a count (falls_for) or a change (fraction or points)
    text: str               # as written, for messages: `2`, `-5%`, `92%`
    span: Span
    points: bool = False    # change rules: threshold in percentage points, not relative
    source: str = "alert"   # `alert` (the alert: block) or `bound` (the node's min/max)
    horizon: int = 0        # forecast_below_target: how many periods ahead (1 = the next)

    @property
    def label(self) -> str:
        if self.horizon:
            return f"{self.kind} {self.text} at +{self.horizon}"
        return f"{self.kind} {self.text}"


class KeySpans(Mapping[str, Span]):
    """Where each key of a node stands (or its value), read from its mapping when first asked:
    a big tree has 400,000 keys and only a reported problem points at one."""

    __slots__ = ("_mapping", "_of_value", "_spans")

    def __init__(self, mapping: YMap, of_value: bool = False):
        self._mapping = mapping
        self._of_value = of_value
        self._spans: dict[str, Span] | None = None

    def _all(self) -> dict[str, Span]:
        if self._spans is None:
            self._spans = {str(key.value): (value if self._of_value else key).span
                           for key, value in self._mapping.items}
        return self._spans

    def __contains__(self, key: object) -> bool:
        index = self._mapping.index()
        if len(index) == len(self._mapping.items):   # every key is text
            return key in index
        return key in self._all()

    def __getitem__(self, key: str) -> Span:
        return self._all()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


@dataclass(slots=True)   # slots: a big tree holds 100,000 of them
class Node:
    """A metric: the root, a driver, a leaf or a guardrail."""

    id: str
    span: Span
    name: str
    keys: Mapping[str, Span] = field(default_factory=dict)     # where each key stands
    values: Mapping[str, Span] = field(default_factory=dict)   # where each key's value does
    unit: str | None = None
    formula: str | None = None
    formula_offset_span: object = None  # callable(offset) -> Span, set by the parser
    children: list[Child] = field(default_factory=list)
    source: SourceRef | None = None
    value: float | None = None
    benchmark: float | SourceRef | BestOf | None = None
    target: float | None = None
    direction: str = "up"
    owner: str | None = None
    actions: list[str] = field(default_factory=list)
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    minimum: float | None = None
    maximum: float | None = None
    alert: YMap | None = None
    alert_rules: tuple[Rule, ...] | None = None  # typed `alert:` rules, parsed once on load
    domain: tuple[float | None, float | None] | None = None  # values the metric can take
    is_guardrail: bool = False

    def value_domain(self) -> tuple[float, float]:
        """The values this metric can take: its `domain`, else 0–100% for rates, else ≥ 0."""
        default_high = 1.0 if self.is_rate else float("inf")
        if self.domain is None:
            return 0.0, default_high
        low, high = self.domain
        return (float("-inf") if low is None else low,
                float("inf") if high is None else high)

    @property
    def is_rate(self) -> bool:
        return self.unit == "%"

    def span_of(self, key: str) -> Span:
        """Where a key's value stands (or the key, or the node) for pointing at it."""
        return self.values.get(key) or self.keys.get(key) or self.span

    def formula_span(self, offset: int = 0) -> Span:
        if callable(self.formula_offset_span):
            return self.formula_offset_span(offset)
        return self.span_of("formula")


@dataclass
class Scenario:
    name: str
    span: Span
    description: str | None = None
    changes: list[Change] = field(default_factory=list)


@dataclass
class TreeFile:
    """Everything a tree file says, checked for shape but not yet for structure."""

    path: str
    name: str = ""
    version: int = 1
    description: str | None = None
    data: dict[str, DataSpec] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)
    period: str | None = None
    period_span: Span | None = None
    root: Node | None = None
    guardrails: list[Node] = field(default_factory=list)
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    span: Span = field(default_factory=lambda: Span("<unknown>"))


def text_codec(encoding: str) -> str:
    """The canonical name of a text encoding; LookupError for unknown ones and for codecs
    that are not text encodings (rot13, hex, base64), which bytes.decode refuses."""
    name = codecs.lookup(encoding).name
    with contextlib.suppress(UnicodeError):  # a text encoding that cannot decode one byte
        b"a".decode(name)  # not b"": decoding empty bytes skips the check
    return name
