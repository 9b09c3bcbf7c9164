"""The `where:` filter of a source: a small language nsm parses itself.

    status = 'paid' and amount >= 100
    channel in ('app', 'web') or not (country != 'CN')

Columns are names (letters, digits, _, any script; "double quotes" for others),
literals are numbers or 'single-quoted strings' ('' is a quote). The result is a
tree of plain objects; the data layer compiles it into the engine's query with
bound parameters, so the text itself never reaches SQL.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

OPERATORS = ("=", "!=", "<", "<=", ">", ">=")
MAX_LENGTH = 2_000  # characters of one filter
MAX_DEPTH = 50  # nested parentheses / not


@dataclass(frozen=True)
class Compare:
    column: str
    op: str
    value: float | str


@dataclass(frozen=True)
class InList:
    column: str
    values: tuple[float | str, ...]
    negated: bool = False


@dataclass(frozen=True)
class Not:
    item: Filter


@dataclass(frozen=True)
class Both:
    """`and` (all) or `or` (any) over two or more filters."""

    op: str
    items: tuple[Filter, ...]


Filter = Compare | InList | Not | Both


class WhereError(ValueError):
    """A filter that does not parse; `offset` is where in the text it went wrong."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.message = message
        self.offset = offset


_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<string>'(?:[^']|'')*')
  | (?P<quoted>"(?:[^"]|"")+")
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
  | (?P<word>[^\W\d][\w.]*)
""", re.VERBOSE)
KEYWORDS = ("and", "or", "not", "in")


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    offset: int


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            if text[at] == "'":
                raise WhereError("a string is not closed: end it with '", at)
            raise WhereError(f"unexpected '{text[at]}'", at)
        kind = match.lastgroup or ""
        if kind != "space":
            word = match.group()
            if kind == "word" and word.lower() in KEYWORDS:
                kind = word.lower()
            out.append(_Token(kind, word, at))
        at = match.end()
    out.append(_Token("end", "", len(text)))
    return out


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.at = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self, kind: str, what: str) -> _Token:
        token = self.peek()
        if token.kind != kind:
            found = f"'{token.text}'" if token.text else "the end"
            raise WhereError(f"expected {what}, found {found}", token.offset)
        self.at += 1
        return token

    def either(self, op: str, lower) -> Filter:
        items = [lower()]
        while self.peek().kind == op:
            self.at += 1
            items.append(lower())
        return items[0] if len(items) == 1 else Both(op, tuple(items))

    def any_of(self) -> Filter:
        return self.either("or", self.all_of)

    def all_of(self) -> Filter:
        return self.either("and", self.negation)

    def negation(self) -> Filter:
        token = self.peek()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise WhereError("the filter is nested too deeply", token.offset)
        try:
            if token.kind == "not":
                self.at += 1
                return Not(self.negation())
            if token.kind == "punct" and token.text == "(":
                self.at += 1
                inner = self.any_of()
                self.close()
                return inner
            return self.test()
        finally:
            self.depth -= 1

    def close(self) -> None:
        token = self.peek()
        if token.text != ")":
            found = f"'{token.text}'" if token.text else "the end"
            raise WhereError(f"expected ')', found {found}", token.offset)
        self.at += 1

    def test(self) -> Filter:
        token = self.peek()
        if token.kind == "quoted":
            column = token.text[1:-1].replace('""', '"')
        elif token.kind == "word":
            column = token.text
        else:
            found = f"'{token.text}'" if token.text else "the end"
            raise WhereError(f"expected a column name, found {found}", token.offset)
        self.at += 1
        nxt = self.peek()
        if nxt.kind in ("in", "not"):
            negated = nxt.kind == "not"
            self.at += 1
            if negated:
                self.take("in", "'in' after 'not'")
            opening = self.peek()
            if opening.text != "(":
                raise WhereError("expected '(' after in", opening.offset)
            self.at += 1
            values = [self.literal()]
            while self.peek().text == ",":
                self.at += 1
                values.append(self.literal())
            self.close()
            return InList(column, tuple(values), negated)
        op = self.take("op", f"an operator ({' '.join(OPERATORS)}) or in after '{column}'")
        return Compare(column, "!=" if op.text == "<>" else op.text, self.literal())

    def literal(self) -> float | str:
        token = self.peek()
        if token.kind == "number":
            value = float(token.text)
            if not math.isfinite(value):
                raise WhereError(f"the number {token.text} is too large", token.offset)
            self.at += 1
            return value
        if token.kind == "string":
            self.at += 1
            return token.text[1:-1].replace("''", "'")
        found = f"'{token.text}'" if token.text else "the end"
        hint = " (quote text like 'paid')" if token.kind == "word" else ""
        raise WhereError(f"expected a number or a 'quoted string', found {found}{hint}",
                         token.offset)


def parse_where(text: str) -> Filter:
    """The filter a `where:` text spells; WhereError says where it does not parse."""
    if len(text) > MAX_LENGTH:
        raise WhereError(f"the filter is longer than {MAX_LENGTH:,} characters", 0)
    if not text.strip():
        raise WhereError("the filter is empty", 0)
    parser = _Parser(text)
    found = parser.any_of()
    rest = parser.peek()
    if rest.kind != "end":
        raise WhereError(f"unexpected '{rest.text}' (join tests with and / or)", rest.offset)
    return found


def columns_of(found: Filter) -> list[str]:
    """Every column a filter reads, in order, once."""
    out: dict[str, None] = {}
    stack: list[Filter] = [found]
    while stack:
        item = stack.pop()
        if isinstance(item, (Compare, InList)):
            out[item.column] = None
        elif isinstance(item, Not):
            stack.append(item.item)
        else:
            stack.extend(reversed(item.items))
    return list(out)
