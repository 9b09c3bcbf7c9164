"""The one diagnostic type every stage reports with, and the exceptions that carry it.

Every problem the user can fix points at a place in a file (`file:line:column`),
so it is a :class:`Diagnostic`; a stage that cannot go on raises
:class:`NsmError` with all the diagnostics it collected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# C0 and C1 controls, DEL, line/paragraph separators and the bidi overrides ("Trojan source")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def escape_control(text: str) -> str:
    """Text safe to print on one terminal line: control characters shown as `\\x1b`, `\\n`.

    Names, units, ids, periods and paths come from files other people wrote; raw, an
    escape sequence could clear the screen or rewrite a line, and a newline would split
    a one-line `file:line:column: message` diagnostic.
    """
    if text.isprintable():
        return text
    return _CONTROL.sub(_escaped, text)


ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)


@dataclass(frozen=True, order=True, slots=True)   # one per YAML value: 500,000 in a big tree
class Span:
    """A place in a file: 1-based line and column."""

    file: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def shifted(self, columns: int) -> Span:
        """The same place moved right by `columns` (a position inside a scalar)."""
        return Span(self.file, self.line, self.column + columns)


@dataclass(frozen=True)
class Diagnostic:
    """One finding: a stable code, a severity, a message that says what to do, a place."""

    code: str
    severity: str
    message: str
    span: Span

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.span.file,
            "line": self.span.line,
            "column": self.span.column,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
        }

    def __str__(self) -> str:
        label = "" if self.severity == ERROR else f"{self.severity}: "
        return escape_control(f"{self.span}: {label}{self.message} [{self.code}]")

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.span.file, self.span.line, self.span.column, self.code)


def error(code: str, message: str, span: Span) -> Diagnostic:
    return Diagnostic(code, ERROR, message, span)


def warning(code: str, message: str, span: Span) -> Diagnostic:
    return Diagnostic(code, WARNING, message, span)


class NsmError(Exception):
    """Invalid input: the tree, its data or a change cannot be used. Exit code 1."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class UsageError(Exception):
    """The command line asks for something that does not exist. Exit code 2."""


class _Names(dict):
    """Parameter names for advice: the caller's name, else the parameter's own."""

    def __missing__(self, key: str) -> str:
        return key


class RequestError(Exception):
    """An analysis was asked for something the tree, its data or the method cannot give.

    The library knows parameters, not command-line options: `parameter` is the
    keyword of the input that is wrong (`period`, `sets`, `step`...), `value` the
    value given (None when it goes without saying). `advice` may name inputs as
    `{parameter}` fields; :meth:`describe` fills them and the head with the
    caller's names (the CLI's `--period`), `str()` with the parameter names.
    """

    def __init__(self, parameter: str | None, value: object, reason: str, advice: str = ""):
        self.parameter, self.value, self.reason, self.advice = parameter, value, reason, advice
        super().__init__(self.describe())

    def describe(self, names: dict[str, str] | None = None) -> str:
        """The message with each parameter called by `names` (a parameter's own name if absent)."""
        names = names or {}
        advice = self.advice.format_map(_Names(names))
        if self.parameter is None:
            return f"{self.reason}{advice}"
        head = names.get(self.parameter, self.parameter)
        if self.value is not None:
            head = f"{head} {self.value}"
        return f"{head}: {self.reason}{advice}"


class InputError(RequestError):
    """A request the data cannot answer (an undeclared segment column, a filter that matches
    no rows): named by parameter as a RequestError is, but invalid input (exit code 1)."""


def require_choice(parameter: str, value: str, choices) -> str:
    """A value that must be one of a few names; a :class:`RequestError` otherwise."""
    names = list(choices)
    if value not in names:
        raise RequestError(parameter, value, f"choose one of {', '.join(names)}")
    return value
