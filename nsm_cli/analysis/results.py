"""Typed results of every analysis: frozen dataclasses that renderers take and serialise.

One serialiser, :func:`to_json`, turns a result into the contract's JSON (keys in field
order, nested results and diagnostics included). A field whose value is :data:`ABSENT`
is left out of the JSON: a key the contract only shows in some cases (a node's
`base` under changes, its `alerts` when it has an `alert:` block, `trend`/`compare`
when asked). Results read like their JSON too (`result["levers"][0]["delta"]`), so a
script written against the JSON reads a notebook result the same way; nsm's own renderers
and commands read attributes (tests/test_typed_results.py runs them with that switched off).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from functools import cache
from typing import Any, TypeVar

from nsm_cli.diagnostics import Diagnostic


class _Absent:
    """Marks a field the JSON leaves out (distinct from None, which the JSON shows as null)."""

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT: Any = _Absent()


def present(value: Any) -> Any:
    """A field's value, None when the result leaves it out (for code that reads fields)."""
    return None if value is ABSENT else value
OPTIONAL = {"default": ABSENT}
# a field a base class declares that the JSON shows after the subclass's own fields
LAST = {"default": ABSENT, "metadata": {"last": True}}
# Python keywords cannot be field names: the JSON key is given in the field's metadata
JSON_KEY = "json"
# a field the renderers read that the JSON leaves out (names by id, which row is the root)
INTERNAL = {"metadata": {"internal": True}}


@cache
def _keys(cls: type) -> tuple[tuple[str, str], ...]:
    ordered = sorted((f for f in fields(cls) if not f.metadata.get("internal")),
                     key=lambda f: f.metadata.get("last", False))
    return tuple((f.name, f.metadata.get(JSON_KEY, f.name)) for f in ordered)


@cache
def _names(cls: type) -> dict[str, str]:
    """JSON key → field name (the first field of a key, as a scan of `_keys` finds it)."""
    names: dict[str, str] = {}
    for name, key in _keys(cls):
        names.setdefault(key, name)
    return names


_PLAIN = (str, float, int, bool, type(None))
R = TypeVar("R")


def to_json(value: Any) -> Any:
    """A result (or any part of one) as plain JSON data: dicts, lists, str, numbers, None."""
    if type(value) in _PLAIN:   # most of a result: checked first, it is the hot path
        return value
    if isinstance(value, Record):
        return {key: to_json(item) for name, key in _keys(type(value))
                if (item := getattr(value, name)) is not ABSENT}
    if isinstance(value, Diagnostic):
        return value.to_dict()
    if isinstance(value, list | tuple | Rows):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if callable(getattr(value, "to_json", None)):   # a result with its own JSON (forecast)
        return value.to_json()
    if is_dataclass(value):
        raise TypeError(f"{type(value).__name__} is not a result type")
    return value


@cache
def _layout(cls: type) -> tuple[dict[str, Any], frozenset[str], frozenset[str]] | None:
    """A result type's defaults, required fields and all fields; None if a default is made
    by a factory (then only its own __init__ builds it right)."""
    defaults: dict[str, Any] = {}
    required = set()
    for f in fields(cls):
        if f.default_factory is not MISSING or not f.init:
            return None
        if f.default is MISSING:
            required.add(f.name)
        else:
            defaults[f.name] = f.default
    return defaults, frozenset(required), frozenset(defaults) | frozenset(required)


def build(cls: type[R], values: dict[str, Any]) -> R:
    """`cls(**values)` for a frozen result type, without its field-by-field frozen __init__
    (an eval of 100,000 nodes makes 100,000 rows of 27 fields). Wrong or missing fields
    still raise __init__'s TypeError."""
    layout = _layout(cls)
    if layout is None or hasattr(cls, "__post_init__") or hasattr(cls, "__slots__"):
        return cls(**values)
    defaults, required, names = layout
    if not values.keys() <= names or not required <= values.keys():
        return cls(**values)
    record = object.__new__(cls)
    record.__dict__.update(defaults)
    record.__dict__.update(values)
    return record


def build_rows(cls: type[R], columns: dict[str, list[Any]]) -> list[R]:
    """`[cls(**row) for row in rows]` for rows given field by field (every list as long),
    each record made as :func:`build` makes one."""
    layout = _layout(cls)
    names = tuple(columns)
    rows = zip(*columns.values(), strict=True)
    if (layout is None or hasattr(cls, "__post_init__") or hasattr(cls, "__slots__")
            or not set(names) <= layout[2] or not layout[1] <= set(names)):
        return [cls(**dict(zip(names, row, strict=True))) for row in rows]
    defaults = layout[0]
    made = []
    for row in rows:
        record = object.__new__(cls)
        state = record.__dict__
        state.update(defaults)
        state.update(zip(names, row, strict=True))
        made.append(record)
    return made


class Rows(Sequence[R]):
    """Results of one type kept field by field (the 100,000 rows of a big eval): reads as a
    list of records, made on first use; the JSON writer takes the fields as they are and
    never makes them (see render/fastjson.py)."""

    def __init__(self, kind: type[R], columns: dict[str, list[Any]]):
        self.kind = kind
        self.columns = columns
        self._records: list[R] | None = None
        layout = _layout(kind)
        if layout is None or not set(columns) <= layout[2] or not layout[1] <= set(columns):
            self.records()   # fields the type does not take: its __init__ says which, now

    def records(self) -> list[R]:
        if self._records is None:
            self._records = build_rows(self.kind, self.columns)
        return self._records

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()), ()))

    def __getitem__(self, index):   # type: ignore[override]
        return self.records()[index]

    def __iter__(self) -> Iterator[R]:
        return iter(self.records())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Rows):
            other = other.records()
        return self.records() == other if isinstance(other, list) else NotImplemented

    __hash__ = None   # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self.records())


def json_fields(cls: type) -> tuple[tuple[str, str], ...]:
    """A result type's (field name, JSON key) pairs in the JSON's order."""
    return _keys(cls)


def json_items(record: Record) -> list[tuple[str, Any]]:
    """A result's (JSON key, value) pairs in the JSON's order, left-out fields skipped: what
    :func:`to_json` makes a dict of, for a writer that streams the values instead."""
    return [(key, item) for name, key in _keys(type(record))
            if (item := getattr(record, name)) is not ABSENT]


class Record:
    """Base of every result type: `to_json()` and read access by the JSON's key names."""

    def to_json(self) -> dict[str, Any]:
        return to_json(self)

    def _name(self, key: str) -> str:
        try:
            return _names(type(self))[key]
        except KeyError:
            raise KeyError(key) from None

    def __getitem__(self, key: str) -> Any:   # for scripts; nsm itself reads attributes
        try:
            value = getattr(self, _names(type(self))[key])
        except KeyError:
            raise KeyError(key) from None
        if value is ABSENT:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, ABSENT) is not ABSENT

    def keys(self) -> list[str]:
        return [key for name, key in _keys(type(self)) if getattr(self, name) is not ABSENT]


frozen = dataclass(frozen=True, kw_only=True)


# ---------------------------------------------------------------- shared parts


@frozen
class ChangeApplied(Record):
    """One scenario or `--set` change as applied: `+10%` on `visitors`."""

    id: str
    change: str
    kind: str
    amount: float | None


@frozen
class TreeHeader(Record):
    """What a command's result says first about the tree it ran on."""

    tree: str
    file: str
    root: str
    root_name: str
    root_unit: str | None


# ---------------------------------------------------------------- alerts


@frozen
class Alert(Record):
    """One firing rule or breached bound."""

    id: str
    name: str
    guardrail: bool
    rule: str
    threshold: float | None
    rule_text: str
    source: str
    message: str
    value: float | None
    unit: str | None
    direction: str
    owner: str | None
    periods: list[str]
    values: list[float | None]
    change: float | None
    change_pct: float | None
    line: int
    column: int
    segment: str | None = field(**OPTIONAL)   # with --by: the segment it fired in (None: total)
    probability: float | None = field(**OPTIONAL)   # forecast_below_target: the chance


@frozen
class Skipped(Record):
    """A rule that could not be judged, and why (too few periods, a missing value)."""

    id: str
    rule: str
    rule_text: str
    reason: str


@frozen
class AlertsReport(Record):
    """Every rule judged in one period."""

    fired: list[Alert]
    checked: int
    skipped: list[Skipped]


@frozen
class AlertsResult(Record):
    """`nsm alerts` (with --by, every segment's alerts follow the total's)."""

    tree: str
    file: str
    period: str
    scenario: str | None
    root: str
    fired: list[Alert]
    checked: int
    skipped: list[Skipped]
    warnings: list[Diagnostic]
    where: dict[str, str] = field(**OPTIONAL)   # with --where: the rows kept (COL: VALUE)


# ---------------------------------------------------------------- eval


@frozen
class FiringRule(Record):
    """An `alert:` rule that fires on a node, as its eval row lists it."""

    rule: str
    rule_text: str
    message: str


@frozen
class Trend(Record):
    """A node over its last periods and its latest period-on-period move."""

    periods: list[str]
    values: list[float | None]
    sparkline: str
    previous_period: str | None
    previous: float | None
    change: float | None
    change_pct: float | None
    verdict: str | None


@frozen
class Compare(Record):
    """A node in another period beside the selected one."""

    period: str
    value: float | None
    change: float | None
    change_pct: float | None
    verdict: str | None


@frozen
class RowExtras(Record):
    """What a row of `nsm eval` adds when there is some: firing rules, trend, comparison."""

    alerts: list[FiringRule] = field(**LAST)
    trend: Trend = field(**LAST)
    compare: Compare = field(**LAST)


@frozen
class EvalNode(RowExtras):
    """One node's row in `nsm eval`."""

    id: str
    name: str
    parent: str | None
    depth: int
    unit: str | None
    value: float | None
    observed: float | None
    observed_gap: float | None
    observed_gap_pct: float | None
    benchmark: float | None
    gap: float | None
    gap_pct: float | None
    target: float | None
    target_gap: float | None
    status: str | None
    direction: str
    owner: str | None
    actions: list[str]
    children: list[str]
    shared: list[str]
    formula: str | None
    min: float | None
    max: float | None
    breached: str | None
    base: float | None = field(**OPTIONAL)
    change: float | None = field(**OPTIONAL)


@frozen
class GuardrailRow(RowExtras):
    """One guardrail's row in `nsm eval`."""

    id: str
    name: str
    unit: str | None
    value: float | None
    min: float | None
    max: float | None
    breached: bool
    direction: str
    owner: str | None


@frozen
class TrendWindow(Record):
    """Which periods `--trend` shows."""

    last: int
    periods: list[str]


@frozen
class EvalResult(TreeHeader):
    """`nsm eval` for one period."""

    period: str
    periods: list[str]
    scenario: str | None
    scenario_description: str | None
    changes: list[ChangeApplied]
    nodes: Sequence[EvalNode]   # a list, or Rows (what eval_result makes)
    guardrails: list[GuardrailRow]
    trend: TrendWindow | None
    compare: str | None
    alerts: AlertsReport
    warnings: list[Diagnostic]
    where: dict[str, str] = field(**OPTIONAL)   # with --where: the rows kept (COL: VALUE)


# ---------------------------------------------------------------- rank-levers


@frozen
class Lever(Record):
    """One leaf stepped alone."""

    rank: int | None
    id: str
    name: str
    owner: str | None
    unit: str | None
    direction: str
    shared: bool
    step_kind: str
    value: float | None
    new_value: float | None
    delta: float | None
    delta_pct: float | None
    elasticity: float | None
    benchmark: float | None
    potential: float | None
    clipped: bool
    reason: str | None


@frozen
class LeversResult(TreeHeader):
    """`nsm rank-levers`."""

    root_value: float | None
    period: str
    scenario: str | None
    scenario_description: str | None
    changes: list[ChangeApplied]
    step: float | None
    mode: str
    sort: str
    top: int | None
    total: int
    hidden: int
    levers: list[Lever]
    warnings: list[Diagnostic]
    where: dict[str, str] = field(**OPTIONAL)   # with --where: the rows kept (COL: VALUE)


# ---------------------------------------------------------------- explain


@frozen
class Contribution(Record):
    """One leaf's share of the root's change."""

    id: str
    name: str
    unit: str | None
    owner: str | None
    from_value: float | None
    to_value: float | None
    leaf_change: float | None
    contribution: float | None
    share: float | None
    error: float | None = field(**OPTIONAL)


@frozen
class ExplainNode(Record):
    """One node with its two values and the sum of its leaves' contributions."""

    id: str
    name: str
    unit: str | None
    parent: str | None
    depth: int
    children: list[str]
    shared: list[str]
    from_value: float | None
    to_value: float | None
    change: float | None
    contribution: float | None
    share: float | None
    leaf: bool


@frozen
class ExplainResult(TreeHeader):
    """`nsm explain`."""

    from_: str = field(metadata={JSON_KEY: "from"})
    to: str
    from_value: float | None
    to_value: float | None
    change: float | None
    change_pct: float | None
    method: str
    exact: bool
    changed: int
    samples: int | None
    seed: int | None
    residual: float | None
    contributions: list[Contribution]
    nodes: list[ExplainNode]
    warnings: list[Diagnostic]
    where: dict[str, str] = field(**OPTIONAL)   # with --where: the rows kept (COL: VALUE)


# ---------------------------------------------------------------- goal-seek


@frozen
class GoalLever(Record):
    """The value one lever alone must reach, or why it cannot."""

    id: str
    name: str
    unit: str | None
    owner: str | None
    leaf: bool
    value: float | None
    required: float | None
    change: float | None
    change_pct: float | None
    feasible: bool
    reason: str | None
    would_need: float | None
    solutions: int
    domain: list[float | None]


@frozen
class GoalSeekResult(TreeHeader):
    """`nsm goal-seek`."""

    root_value: float | None
    target: float | None
    target_source: str
    gap: float | None
    gap_pct: float | None
    period: str
    scenario: str | None
    scenario_description: str | None
    changes: list[ChangeApplied]
    levers: list[GoalLever]
    warnings: list[Diagnostic]


# ---------------------------------------------------------------- by segment


@frozen
class SegmentNode(Record):
    """One node in one segment (`eval --by`): its value and how it stands, as in `eval`."""

    id: str
    name: str
    parent: str | None
    depth: int
    unit: str | None
    value: float | None
    benchmark: float | None
    gap: float | None
    gap_pct: float | None
    target: float | None
    target_gap: float | None
    status: str | None


@frozen
class SegmentColumn(Record):
    """Every node of one segment."""

    segment: str
    nodes: list[SegmentNode]


@frozen
class SegmentRest(Record):
    """The segments after the top ones: how many, and each node's lowest and highest value."""

    count: int
    range: dict[str, list[float | None]]


@frozen
class SegmentEvalResult(EvalResult):
    """`nsm eval --by`: the total as `eval` has it, then every segment, best root first."""

    by: str
    where: dict[str, str] = field(**LAST)
    top: int | None = field(**LAST)
    best: dict[str, str | None] = field(**LAST)   # node id → the segment best at it
    # list[SegmentColumn]; for the JSON writer a SegmentRows (analysis.segments): the same
    # JSON, written from its columns without a record per (segment, node)
    segments: Any = field(**LAST)
    rest: SegmentRest = field(**LAST)


@frozen
class SegmentLever(Record):
    """One (segment, leaf) pair of `rank-levers --by`: the leaf one step better in that
    segment alone, and the change of the total root (None with the reason when it has none)."""

    rank: int | None
    id: str
    name: str
    unit: str | None
    owner: str | None
    direction: str
    step_kind: str
    segment: str | None   # None: the leaf's block has no segment column (ranked once)
    value: float | None
    new_value: float | None
    total_new_value: float | None
    delta: float | None
    delta_pct: float | None
    reason: str | None


@frozen
class SegmentLeversResult(TreeHeader):
    """`nsm rank-levers --by`."""

    root_value: float | None
    period: str
    by: str
    where: dict[str, str]
    scenario: str | None = field(**OPTIONAL)   # the what-if trio, only when changes apply
    scenario_description: str | None = field(**OPTIONAL)
    changes: list[ChangeApplied] = field(**OPTIONAL)
    step: float | None
    mode: str
    top: int | None
    total: int
    hidden: int
    unranked: int
    levers: list[SegmentLever]
    warnings: list[Diagnostic]


@frozen
class SegmentLeaf(Record):
    """A leaf's contribution to one segment's own change."""

    id: str
    name: str
    unit: str | None
    from_value: float | None
    to_value: float | None
    contribution: float | None
    share: float | None


@frozen
class SegmentShare(Record):
    """One segment's part of the total root's change (`explain --by`)."""

    segment: str
    from_value: float | None
    to_value: float | None
    contribution: float | None
    share: float | None
    volume: float | None = field(**OPTIONAL)   # the mix / rate split of an additive root
    mix: float | None = field(**OPTIONAL)
    rate: float | None = field(**OPTIONAL)
    leaves: list[SegmentLeaf] | None = field(**OPTIONAL)   # the top segments; None: no split


@frozen
class SegmentExplainResult(TreeHeader):
    """`nsm explain --by`."""

    by: str
    where: dict[str, str]
    from_: str = field(metadata={JSON_KEY: "from"})
    to: str
    from_value: float | None
    to_value: float | None
    change: float | None
    additive: bool
    method: str
    volume: str | None
    volume_name: str | None
    interaction: float | None
    segments: list[SegmentShare]
    warnings: list[Diagnostic]


# ---------------------------------------------------------------- diff


@frozen
class NodeFields(Record):
    """A node's fields in `nsm diff`: changed ones as [old, new] (the file's own under the id
    `(tree)`), or an added node's as set."""

    id: str
    fields: dict[str, Any]


@frozen
class ValueChange(Record):
    """A node whose value in the period differs (the root always listed)."""

    id: str
    old: float | None
    new: float | None
    change: float | None
    name: str
    unit: str | None
    root: bool = field(default=False, **INTERNAL)


@frozen
class DiffFiles(Record):
    """How the two sides were named on the command line (`HEAD~1:trees/mau.yaml`)."""

    old: str
    new: str


@frozen
class DiffResult(Record):
    """`nsm diff`: the contract's four lists, then what the other formats also show."""

    added: list[str]
    removed: list[str]
    changed: list[NodeFields]
    values: list[ValueChange]
    added_nodes: list[NodeFields]
    files: DiffFiles
    period: str
    old_period: str | None
    root: str
    tree: str | None
    changed_anything: bool
    names: dict[str, str] = field(**INTERNAL)             # every id of either side → its name
    units: dict[str, str | None] = field(**INTERNAL)


# ---------------------------------------------------------------- report


@frozen
class SegmentReport(Record):
    """`report --by`: the segment matrix (as `eval --by`) and the strongest (segment, leaf)
    levers (as `rank-levers --by`)."""

    eval: SegmentEvalResult
    levers: SegmentLeversResult


@frozen
class ReportResult(Record):
    """`nsm report`: every analysis a weekly review reads, each in its command's result."""

    eval: EvalResult
    levers: LeversResult
    explain: ExplainResult | None     # None: `explain_note` says why (the first period…)
    explain_note: str | None
    alerts: AlertsResult
    segments: list[SegmentReport]     # with --by: one
    forecast: Any                     # the ForecastResult of analysis.forecast
    forecast_note: str
