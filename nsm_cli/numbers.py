"""Numbers for people, both ways: the one grammar every input is read with, and the formatting.

Reading. A CSV cell, a YAML value, a scenario change, `--set`, `--step`, `--target`,
an alert threshold and `tolerance` are all read by :func:`read_number`, then judged by
what the place accepts (:func:`read_value`, :func:`read_change`, :func:`read_step`).
The forms: `1200`, `1,200` (a comma only groups thousands, three digits at a time),
`1.2e3`, `92%`, `¥1,200`/`$90,000`/`€`/`£`, a sign `+`/`-`/`−` (U+2212), points
`+2pp`, a factor `x1.1`; full-width forms (`１２３`, `％`, `￥`) read as their ASCII
twins. Refused everywhere, with a message: a decimal comma (`0,55`: write `0.55`),
commas not in groups of three (`1,2,3`), NaN and infinity (`1e999`, `x1e400`).

Formatting. Every renderer formats through here, so a value reads the same in a tree, a
table and a Markdown comment, and is right to the last digit shown.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

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
    if abs(value) >= 1e15 and math.isfinite(value):   # where %f would print binary noise
        text = _significant(abs(value), decimals)
    if float(text.replace(",", "")) == 0:
        sign = ""
    else:
        sign = MINUS if value < 0 else ("+" if signed else "")
    return sign + text


def _significant(size: float, decimals: int) -> str:
    """`size` grouped with only the digits the float holds (its shortest repr), zeros after
    them: 1e38 reads 100,000,…,000, not 99,999,999,999,999,997,748,… (binary noise)."""
    from decimal import Decimal

    return f"{Decimal(repr(float(size))):,.{decimals}f}"


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


def json_numbers(values: list[float | None]) -> list[float | None]:
    """:func:`json_number` of each value (digits 12), in one pass over a column of figures."""
    isfinite = math.isfinite
    return [None if value is None or not isfinite(value) else
            0.0 if value == 0 else float(f"{float(value):.12g}") for value in values]


# ---------------------------------------------------------------- reading


class NumberError(ValueError):
    """Text that is not a number of the grammar; the message says how to write it.

    `shapeless` is True when the text is no number at all (a place may word that its
    own way); False when it is one written wrong (a decimal comma, infinity, a change
    where a value belongs), where the message itself is the advice.
    """

    def __init__(self, message: str, shapeless: bool = False):
        super().__init__(message)
        self.shapeless = shapeless


# after NFKC (full-width digits, ％, ￥, ＋, －, ，, ． become ASCII) and the minus signs
_FORM = re.compile(
    r"(?P<factor>[x×*]?)\s*(?P<sign>[+-]?)\s*(?P<currency>[$¥€£]?)\s*(?P<sign2>[+-]?)\s*"
    r"(?P<digits>[0-9][0-9,]*(?:\.[0-9]*)?|\.[0-9]+)(?P<exponent>[eE][+-]?[0-9]+)?"
    r"\s*(?P<unit>%|pp|pts?|)",
    re.IGNORECASE,
)
GROUPED_DIGITS = r"[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]*)?"
_GROUPED = re.compile(GROUPED_DIGITS)
# The cells most files hold beyond plain numbers, as one pattern the engine's SQL can match
# (RE2 and Python alike): a sign, a currency, digits (grouped by three or not), a percent.
# It is a strict subset of _FORM, read the same way (digits as a float, % over 100, then the
# sign); every other form goes to read_number (nsm_cli/data/sql.py).
SIMPLE_CELL = r"[+-]?[$¥€£]?(?:" + GROUPED_DIGITS + r"|[0-9]+(?:\.[0-9]*)?|\.[0-9]+)%?"
_MINUSES = str.maketrans({"−": "-", "‒": "-", "–": "-"})
EXAMPLES = "1200, 1,200, 1.5, 92%, ¥1,200"


@dataclass(frozen=True)
class Written:
    """A number as written: its value (% and pp already over 100) and the marks around it."""

    value: float
    sign: str = ""        # "+", "-" or "" when unsigned
    unit: str = ""        # "", "%", "pp" (points) or "x" (a factor)
    currency: str = ""
    whole: bool = False   # digits only: no point, exponent or unit (YAML keeps it an int)


def normalise(text: str) -> str:
    """Full-width forms as ASCII, every minus sign as `-`, no surrounding space."""
    return unicodedata.normalize("NFKC", text).translate(_MINUSES).strip()


def _comma_problem(text: str, digits: str) -> str:
    integer, _, decimals = digits.partition(".")
    head, _, tail = integer.rpartition(",")
    if not decimals and head and "," not in head and (len(tail) != 3 or head.startswith("0")):
        return (f"'{text}': decimal commas are not read (a comma only groups thousands, "
                f"like 1,200): write {head}.{tail}")
    return f"'{text}': commas must group digits by three, like 1,200,000"


def read_number(text: str) -> Written:
    """Any number of the grammar → :class:`Written`; :class:`NumberError` when it is none."""
    cleaned = normalise(text)
    match = _FORM.fullmatch(cleaned)
    if match is None:
        raise NumberError(f"'{text}' is not a number (expected a number like {EXAMPLES})",
                          shapeless=True)
    factor, sign, currency, sign2, digits, exponent, unit = match.group(
        "factor", "sign", "currency", "sign2", "digits", "exponent", "unit")
    if sign and sign2 or factor and (sign or sign2 or currency or unit):
        raise NumberError(f"'{text}' is not a number (expected a number like {EXAMPLES})",
                          shapeless=True)
    if "," in digits and not _GROUPED.fullmatch(digits):
        raise NumberError(_comma_problem(text, digits))
    value = float(digits.replace(",", "") + (exponent or ""))
    unit = "x" if factor else {"": "", "%": "%"}.get(unit.lower(), "pp")
    if unit in ("%", "pp"):
        value /= 100
    sign = sign or sign2
    if sign == "-":
        value = -value
    if not math.isfinite(value):
        raise NumberError(f"'{text}' must be a finite number")
    whole = unit == "" and exponent is None and "." not in digits
    return Written(value, sign, unit, currency, whole)


def read_value(value: object) -> float:
    """A value: a YAML number, or text like `1,200`, `92%`, `¥1,200`, `-5`; NumberError else."""
    if isinstance(value, bool) or value is None:
        raise NumberError(f"expected a number like {EXAMPLES}", shapeless=True)
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise NumberError(f"'{value}' must be a finite number")
        return float(value)
    if not isinstance(value, str):
        raise NumberError(f"expected a number like {EXAMPLES}", shapeless=True)
    written = read_number(value)
    if written.unit in ("pp", "x"):
        raise NumberError(f"'{value}' is a change, not a value (expected a number like "
                          f"{EXAMPLES})")
    return written.value


VALUE, ADD, RELATIVE, POINTS, FACTOR = "value", "add", "relative", "points", "factor"
CHANGE_HELP = (
    "a new value (0.5, 50%), an amount to add (+200, -5), a relative change (+10%, -5%), "
    "percentage points for % nodes (+2pp), or a factor (x1.1)"
)


def read_change(value: object) -> tuple[str, float]:
    """A change → (kind, amount). A plain number sets the value; a signed one is a change.

    `0.8`, `80%`, `¥1,200` set the value; `+200`/`-5` add; `+10%` is relative; `+2pp`
    adds points; `x1.1` multiplies. A YAML number is a value (pass the scalar's text
    to keep its sign).
    """
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return VALUE, read_value(value)
        if not isinstance(value, str):
            raise NumberError(f"expected {CHANGE_HELP}", shapeless=True)
        written = read_number(value)
    except NumberError as exc:
        if exc.shapeless and isinstance(value, str):
            raise NumberError(f"cannot read change {value[:40]!r}: expected {CHANGE_HELP}",
                              shapeless=True) from None
        if "finite" in str(exc):
            raise NumberError("a change must be a finite number") from None
        raise
    if written.unit == "x":
        return FACTOR, written.value
    if written.unit == "pp":
        if not written.sign:
            raise NumberError(f"'{value}': points are a change, write +{value.strip()} or "
                              f"-{value.strip()}")
        return POINTS, written.value
    if not written.sign:
        return VALUE, written.value
    return (RELATIVE if written.unit == "%" else ADD), written.value


def read_step(text: str) -> tuple[float, bool]:
    """A step size → (fraction, whether it is in points). `1`, `1%`, `+1%` are 0.01; `1pp` points.

    A step is a size, never a direction: a negative step is refused.
    """
    written = read_number(text)
    if written.unit == "x" or written.currency:
        raise NumberError(f"'{text}' is not a step", shapeless=True)
    if written.sign == "-" and written.value != 0:
        raise NumberError("the step must not be negative: every leaf already moves in its "
                          "improving direction (down for direction: down)")
    amount = abs(written.value) if written.unit else abs(written.value) / 100
    return amount, written.unit == "pp"


# Cells that mean "no value" in a data file (compared lower-cased, after stripping).
MISSING_CELLS = frozenset({"", "na", "n/a", "#n/a", "nan", "null", "none", "-", "—"})


def parse_cell(text: str) -> float | None:
    """A cell as people type it → float; NaN when it says "no value", None when it is no number.

    The grammar is :func:`read_value`'s: `1,200`, `92%`, `¥1,200`, `-5`.
    """
    if text.strip().lower() in MISSING_CELLS:
        return math.nan
    try:
        return read_value(text)
    except NumberError:
        return None
