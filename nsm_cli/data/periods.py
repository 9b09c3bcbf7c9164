"""Period labels as calendar periods: parsed from the usual spellings, sorted by time.

`2025-6`, `2025/06`, `202506`, `2025年6月` and `Jun 2025` are one month, shown as
`2025-06`. Labels that are no calendar period (`pilot`, `A`) stay labels and keep
the order in which they first appear.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

GRAINS = ("day", "week", "month", "quarter", "year")

_MONTHS = {name: i for i, names in enumerate(
    (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
     ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
     ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
     ("dec", "december")), start=1) for name in names}
_MONTH_NAME = "|".join(sorted(_MONTHS, key=len, reverse=True))

_Y = r"(?P<y>[12][0-9]{3})"
_SPELLINGS: tuple[tuple[str, str], ...] = (
    ("day", _Y + r"(?P<s>[-/.])(?P<m>[0-9]{1,2})(?P=s)(?P<d>[0-9]{1,2})"),
    ("day", _Y + r"(?P<m>[0-9]{2})(?P<d>[0-9]{2})"),
    ("day", _Y + r"\s*年\s*(?P<m>[0-9]{1,2})\s*月\s*(?P<d>[0-9]{1,2})\s*[日号]"),
    ("week", _Y + r"[- ]?W(?P<w>[0-9]{1,2})"),
    ("quarter", _Y + r"[- ]?Q(?P<q>[1-4])"),
    ("quarter", r"Q(?P<q>[1-4])[- ]?" + _Y),
    ("quarter", _Y + r"\s*年\s*(?:第\s*(?P<q2>[1-4一二三四])\s*季度?|Q(?P<q>[1-4]))"),
    ("month", _Y + r"[-/.](?P<m>[0-9]{1,2})"),
    ("month", _Y + r"(?P<m>[0-9]{2})"),
    ("month", _Y + r"\s*年\s*(?P<m>[0-9]{1,2})\s*月"),
    ("month", rf"(?P<name>{_MONTH_NAME})\.?[ \-]?" + _Y),
    ("month", _Y + rf"[ \-]?(?P<name>{_MONTH_NAME})"),
    ("year", _Y + r"\s*年?"),
)
_PATTERNS: list[tuple[str, re.Pattern[str]]] = []  # compiled on first use (start-up time)
_CHINESE_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4}


@dataclass(frozen=True, order=True)
class Period:
    """A calendar period: its grain, a number that orders periods of that grain, its label."""

    grain: str
    ordinal: int
    label: str


def parse_period(text: str) -> Period | None:
    """The calendar period a label spells, or None when it spells none."""
    cleaned = str(text).strip()
    if not cleaned or len(cleaned) > 40:
        return None
    if not _PATTERNS:
        _PATTERNS.extend((grain, re.compile(pattern, re.IGNORECASE))
                         for grain, pattern in _SPELLINGS)
    for grain, pattern in _PATTERNS:
        match = pattern.fullmatch(cleaned)
        if match is not None:
            found = _build(grain, match.groupdict())
            if found is not None:
                return found
    return None


def _build(grain: str, parts: dict[str, str | None]) -> Period | None:
    year = int(parts["y"] or 0)
    try:
        if grain == "day":
            return day_period(dt.date(year, int(parts["m"] or 0), int(parts["d"] or 0)))
        if grain == "week":
            return week_period(dt.date.fromisocalendar(year, int(parts["w"] or 0), 1))
        if grain == "quarter":
            q2 = parts.get("q2")
            quarter = _CHINESE_DIGITS.get(q2, 0) or int(q2 or parts["q"] or 0)
            return quarter_period(year, quarter)
        if grain == "month":
            name = parts.get("name")
            month = _MONTHS[name.lower()] if name else int(parts["m"] or 0)
            return month_period(year, month)
    except ValueError:
        return None
    return Period("year", year, f"{year:04d}")


def day_period(day: dt.date) -> Period:
    return Period("day", day.toordinal(), day.isoformat())


def week_period(day: dt.date) -> Period:
    """The ISO week holding `day`, numbered by its Monday."""
    year, week, weekday = day.isocalendar()
    monday = day - dt.timedelta(days=weekday - 1)
    return Period("week", monday.toordinal(), f"{year:04d}-W{week:02d}")


def month_period(year: int, month: int) -> Period:
    if not 1 <= month <= 12:
        raise ValueError(month)
    return Period("month", year * 12 + month - 1, f"{year:04d}-{month:02d}")


def quarter_period(year: int, quarter: int) -> Period:
    if not 1 <= quarter <= 4:
        raise ValueError(quarter)
    return Period("quarter", year * 4 + quarter - 1, f"{year:04d}-Q{quarter}")


def canonical(text: str) -> str:
    """The label as nsm shows it: the canonical calendar form, else the text stripped."""
    found = parse_period(text)
    return found.label if found is not None else str(text).strip()


@dataclass(frozen=True)
class Labels:
    """A block's period labels made canonical: the ordered periods, and each label's index."""

    periods: list[str]
    index: dict[str, int]  # raw label -> position in periods
    grain: str | None  # the calendar grain, or None for labels that are not dates
    mixed: tuple[str, str] | None = None  # two labels of different grains, when they clash


def order_labels(labels: list[str]) -> Labels:
    """Canonical periods in time order (calendar labels) or first-seen order (others).

    `labels` are distinct raw labels in the order they first appear. When every label is
    a calendar period of one grain they merge (`2025-6` = `2025-06`) and sort by time;
    when all are calendar periods but of two grains, `mixed` names one of each.
    """
    parsed = [parse_period(label) for label in labels]
    if not labels or any(p is None for p in parsed):
        periods = list(dict.fromkeys(label.strip() for label in labels))
        position = {label: i for i, label in enumerate(periods)}
        return Labels(periods, {raw: position[raw.strip()] for raw in labels}, None)
    grains = {p.grain: raw for p, raw in zip(parsed, labels, strict=True) if p is not None}
    if len(grains) > 1:
        first, second = list(grains.values())[:2]
        return Labels([], {}, None, (first, second))
    ordered = sorted({p for p in parsed if p is not None})
    position = {p.label: i for i, p in enumerate(ordered)}
    index = {raw: position[p.label] for raw, p in zip(labels, parsed, strict=True) if p}
    return Labels([p.label for p in ordered], index, ordered[0].grain)


def sort_key(label: str) -> tuple[int, int, str]:
    """A key that orders canonical labels: calendar periods by time, before other labels."""
    found = parse_period(label)
    if found is None:
        return (1, 0, label)
    return (0, found.ordinal, found.grain)
