"""Numbers for people: thousands separators, units, rates as percent, gaps in points.

Every renderer formats through here, so a value reads the same in a tree, a
table and a Markdown comment, and is right to the last digit shown.
"""

from __future__ import annotations

import math
import re

MINUS = "−"  # U+2212, as typeset; JSON output keeps plain numbers
MISSING = "—"
# currency symbols go before the number, as written in English and Chinese alike ($76,109,
# ¥4,200); units that are words or codes (元, 人, USD) follow it after a space
PREFIX_UNITS = frozenset("$¥￥€£")


def is_missing(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


def _digits(value: float) -> int:
    """How many decimals a value needs: none for whole or large numbers, a few for small."""
    size = abs(value)
    if size >= 1000 or abs(value - round(value)) < 1e-9 * max(1.0, size):
        return 0
    if size >= 100:
        return 1
    return 2


def plain(value: float, decimals: int | None = None, signed: bool = False) -> str:
    """`1,200`, `2.50`, `−0.70`; with signed, a `+` on positive numbers."""
    decimals = _digits(value) if decimals is None else decimals
    text = f"{abs(value):,.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        sign = ""
    else:
        sign = MINUS if value < 0 else ("+" if signed else "")
    return sign + text


def percent(fraction: float, signed: bool = False, decimals: int | None = None) -> str:
    """0.92 → `92%`, 0.720721 → `72.07%`: no trailing zeros unless decimals is given."""
    hundred = fraction * 100
    if decimals is None:
        text = f"{abs(hundred):,.2f}".rstrip("0").rstrip(".")
    else:
        text = f"{abs(hundred):,.{decimals}f}"
    zero = float(text.replace(",", "")) == 0
    sign = "" if zero else (MINUS if hundred < 0 else ("+" if signed else ""))
    return f"{sign}{text}%"


def value_text(value: float | None, unit: str | None, signed: bool = False) -> str:
    """A node's value with its unit: `4,200 元`, `92%`, `—` when missing."""
    if is_missing(value):
        return MISSING
    if unit == "%":
        return percent(value, signed=signed)
    text = plain(value, signed=signed)
    if unit in PREFIX_UNITS:
        sign = text[0] if text[0] in ("+", MINUS) else ""
        return f"{sign}{unit}{text[len(sign):]}"
    return f"{text} {unit}" if unit else text


def points(delta: float, signed: bool = True) -> str:
    """A change of a rate in percentage points: 0.15 → `+15.0 pp`."""
    text = f"{abs(delta) * 100:,.1f}"
    zero = float(text.replace(",", "")) == 0
    sign = "" if zero else (MINUS if delta < 0 else ("+" if signed else ""))
    return f"{sign}{text} pp"


def change_text(delta: float | None, unit: str | None) -> str:
    """A signed change in the node's own terms: points for rates, units otherwise."""
    if is_missing(delta):
        return MISSING
    if unit == "%":
        return points(delta)
    return value_text(delta, unit, signed=True)


def json_number(value: float | None, digits: int = 12) -> float | None:
    """A float for JSON: NaN and infinity become null, float noise beyond 12 digits is cut."""
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value):
        return None
    if value == 0:
        return 0.0
    return float(f"{value:.{digits}g}")


# --- reading numbers as people type them (CSV cells, YAML values, --target) -----------

MISSING_CELLS = frozenset({"", "na", "n/a", "#n/a", "nan", "null", "none", "-", "—"})
_NUMBER = re.compile(
    r"(?P<sign>[+-]?)\s*(?P<currency>[$¥￥€£]?)\s*(?P<sign2>[+-]?)"
    r"(?P<digits>[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?|[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?P<exponent>[eE][+-]?[0-9]+)?\s*(?P<percent>[%％]?)"
)
_MINUSES = str.maketrans({"−": "-", "－": "-", "＋": "+"})


def parse_cell(text: str) -> float | None:
    """A cell as people type it → float; NaN when it says "no value", None when it is no number."""
    cleaned = text.strip().translate(_MINUSES)
    if cleaned.lower() in MISSING_CELLS:
        return math.nan
    match = _NUMBER.fullmatch(cleaned)
    if match is None or (match["sign"] and match["sign2"]):
        return None
    value = float(match["digits"].replace(",", "") + (match["exponent"] or ""))
    if "-" in (match["sign"], match["sign2"]):
        value = -value
    if match["percent"]:
        value /= 100
    return value if math.isfinite(value) else None
