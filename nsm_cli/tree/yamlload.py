"""Load a tree file into located YAML values: every mapping, key and scalar keeps its span.

Tree files come from pull requests, so loading is bounded: a size limit, no
tags beyond plain YAML types, a budget on expanded nodes (alias bombs) and on
nesting depth. With libyaml, an ordinary file is read straight from its events
(:class:`_EventReader`); anything unusual, and every file without libyaml, goes
through the composer and :class:`_Converter`, which report each problem.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from nsm_cli.diagnostics import Diagnostic, NsmError, Span, error
from nsm_cli.numbers import NumberError, normalise, read_number

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_NODES = 1_000_000      # values in a file (a 100,000-node tree has about 500,000)
MAX_ALIAS_REUSE = 10_000   # times a YAML alias may repeat a mapping or list (alias bombs)
MAX_DEPTH = 200
_COLUMN_BITS = 24   # a scalar's place packed as line << 24 | column (0-based)
_COLUMN_MASK = (1 << _COLUMN_BITS) - 1
assert MAX_FILE_BYTES <= _COLUMN_MASK   # no column of an accepted file overflows

_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_MAP_TAG = "tag:yaml.org,2002:map"
_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TOO_DEEP = f"YAML nested too deeply (more than {MAX_DEPTH} levels)"


def yaml11_problem(text: str) -> str | None:
    """Why a YAML 1.1 number form is refused (it would not read as written), or None.

    `0x1F`/`0o17`/`0b101` are other bases, `1_000` hides a separator. Leading zeros are
    fine: `010` reads as 10, not octal 8. (`1:30` never gets here: it stays text.)
    """
    bare = text.lower().lstrip("+-")
    if bare.startswith(("0x", "0o", "0b")):
        return f"'{text}' is in another base: write the number in decimal"
    if "_" in bare:
        return f"'{text}': underscores are not read in numbers: write {bare.replace('_', '')}"
    return None


class YScalar:
    """A scalar with its Python value, its source text and where it stands.

    A big tree holds hundreds of thousands of scalars and few are ever pointed at, so the
    event reader gives the file and the place packed in one number (line << 24 | column,
    0-based), and the span is made when first asked.
    """

    __slots__ = ("value", "raw", "style", "_span", "_file")

    def __init__(self, value: object, span: Span | int, raw: str = "",
                 style: str | None = None, file: str | None = None):
        self.value = value
        self._span = span   # a Span, or a packed place in `file`
        self.raw = raw
        self.style = style
        self._file = file

    @property
    def span(self) -> Span:
        span = self._span
        if self._file is not None:
            span = self._span = Span(self._file, (span >> _COLUMN_BITS) + 1,
                                     (span & _COLUMN_MASK) + 1)
            self._file = None
        return span

    def __eq__(self, other: object) -> bool:
        if type(other) is not YScalar:
            return NotImplemented
        return (self.value, self.span, self.raw, self.style) == (
            other.value, other.span, other.raw, other.style)

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it was

    def __repr__(self) -> str:
        return (f"YScalar(value={self.value!r}, span={self.span!r}, raw={self.raw!r}, "
                f"style={self.style!r})")

    def text_span(self, offset: int) -> Span:
        """Span of character `offset` inside a single-line scalar (for formula errors)."""
        quote = 1 if self.style in ("'", '"') else 0
        if "\n" in self.raw[:offset] or self.style in ("|", ">"):
            return self.span
        return self.span.shifted(quote + offset)


@dataclass(slots=True)
class YMap:
    """A mapping: keys in file order, each key located."""

    items: list[tuple[YScalar, YValue]] = field(default_factory=list)
    span: Span = field(default_factory=lambda: Span("<unknown>"))
    _index: dict[str, YValue] | None = field(default=None, repr=False, compare=False)
    _indexed: int = field(default=0, repr=False, compare=False)

    def get(self, key: str) -> YValue | None:
        """The value of `key` (the parser asks a node for ~20 keys: one dict, built once)."""
        if type(key) is not str:
            return next((v for k, v in self.items if k.value == key), None)
        return self.index().get(key)

    def index(self) -> dict[object, YValue]:
        """Each text key's value, the first of equal keys (the reader builds it as it goes)."""
        index = self._index
        if index is None or self._indexed != len(self.items):
            index = {}
            for k, v in self.items:
                if type(k.value) is str:
                    index.setdefault(k.value, v)
            self._index, self._indexed = index, len(self.items)
        return index


@dataclass(slots=True)
class YSeq:
    items: list[YValue] = field(default_factory=list)
    span: Span = field(default_factory=lambda: Span("<unknown>"))


YValue = YScalar | YMap | YSeq



def _short(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


def _span(path: str, mark: yaml.Mark | None) -> Span:
    if mark is None:
        return Span(path, 1, 1)
    return Span(path, mark.line + 1, mark.column + 1)


def read_text(path: str) -> str:
    """Read a tree file as text, refusing what cannot be a tree file."""
    data = read_regular(path, MAX_FILE_BYTES, "tree files")
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        msg = "binary data (a NUL byte): a tree file is UTF-8 text"
        raise NsmError([error("E100", msg, Span(path, line, 1))])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        msg = "not UTF-8 text: save the tree file as UTF-8"
        raise NsmError([error("E100", msg, Span(path, line, 1))]) from None


def read_regular(path: str, limit: int, what: str, kind: str = "a tree file",
                 cut: bool = False) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; NsmError (E100) for anything else.

    The file is opened without blocking and checked on the open handle, so a FIFO, a device
    or a socket named like a tree file is refused at once instead of waiting for a writer.
    `what` names such files in plural for the size limit, `kind` one of them; with `cut`, a
    bigger file gives its first `limit` bytes instead of an error.
    """
    where = Span(path, 1, 1)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise NsmError([error("E100", f"no such file: {path}", where)]) from None
    except IsADirectoryError:
        raise NsmError([error("E100", f"{path} is a folder, not {kind}", where)]) from None
    except OSError as exc:
        raise NsmError([error("E100", f"cannot read {path}: {exc.strerror}", where)]) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):   # checked before fdopen, which refuses a folder
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise NsmError([error("E100", f"{path} is a folder, not {kind}", where)])
        raise NsmError([error("E100", f"{path} is not a regular file (a FIFO or a device "
                              "would block)", where)])
    with os.fdopen(fd, "rb") as handle:
        if info.st_size > limit and not cut:
            mb = info.st_size / 1024 / 1024
            raise NsmError([error("E100", f"file is {mb:,.1f} MB: {what} are limited to "
                                  f"{limit // 2**20} MB", where)])
        try:
            if hasattr(os, "set_blocking"):
                os.set_blocking(fd, True)
            return handle.read(limit + 1)
        except OSError as exc:
            raise NsmError([error("E100", f"cannot read {path}: {exc.strerror}",
                                  where)]) from None


def load_yaml(path: str, text: str | None = None) -> YValue | None:
    """The file as located values; None for an empty document."""
    if text is None:
        text = read_text(path)
    if _CParser is not None:
        fast = _EventReader(path, text).read()
        if fast is not _COMPOSE:
            return fast
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if "nesting depth" in problem:  # libyaml (PyYAML >= 6.0.3) has its own depth limit
            raise NsmError([error("E102", _TOO_DEEP, _span(path, mark))]) from None
        if exc.context and exc.context not in problem:
            problem = f"{problem} ({exc.context})"
        diagnostic = error("E101", f"YAML syntax error: {problem}", _span(path, mark))
        raise NsmError([diagnostic]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML refuses: no mark, a position
        before = text[: exc.position]
        where = Span(path, before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1)
        problem = str(exc).splitlines()[0]
        raise NsmError([error("E101", f"YAML syntax error: {problem}", where)]) from None
    except yaml.YAMLError as exc:
        raise NsmError([error("E101", f"YAML syntax error: {exc}", Span(path))]) from None
    except RecursionError:
        raise NsmError([error("E102", _TOO_DEEP, Span(path))]) from None
    if root is None:
        return None
    return _Converter(path).convert(root)


class _Converter:
    """Walks composed nodes once, with a budget, turning them into located values."""

    def __init__(self, path: str):
        self.path = path
        self.count = 0
        self.reused = 0
        self.visited: set[int] = set()
        self.constructor = SafeConstructor()
        self.problems: list[Diagnostic] = []

    def convert(self, node: yaml.Node) -> YValue:
        value = self._walk(node, 0)
        if self.problems:
            raise NsmError(self.problems)
        return value

    def _fail(self, code: str, message: str, node: yaml.Node) -> NsmError:
        return NsmError([error(code, message, _span(self.path, node.start_mark))])

    def _tag_error(self, node: yaml.Node) -> NsmError:
        msg = f"YAML tag '{_short(node.tag)}' is not allowed: tree files hold plain values only"
        return self._fail("E102", msg, node)

    def _walk(self, node: yaml.Node, depth: int) -> YValue:
        if type(node) is yaml.ScalarNode and self.count < MAX_NODES and depth <= MAX_DEPTH:
            self.count += 1   # the common case first: a plain scalar within the budgets
            tag, mark = node.tag, node.start_mark
            if tag not in _PLAIN_TAGS:
                raise self._tag_error(node)
            value = node.value if tag == _STR_TAG else self._scalar(node)
            return YScalar(value, Span(self.path, mark.line + 1, mark.column + 1), node.value,
                           node.style)
        self.count += 1
        if isinstance(node, yaml.CollectionNode):
            if id(node) in self.visited:
                self.reused += 1
                if self.reused > MAX_ALIAS_REUSE:
                    msg = (f"YAML aliases repeat a mapping or list more than "
                           f"{MAX_ALIAS_REUSE:,} times (an alias bomb?): write shared drivers "
                           "with ref instead of YAML aliases")
                    raise self._fail("E102", msg, node)
            self.visited.add(id(node))
        if self.count > MAX_NODES:
            msg = (f"more than {MAX_NODES:,} YAML values: split the tree into several files "
                   "(or, if YAML aliases repeat parts of it, write shared drivers with ref)")
            raise self._fail("E102", msg, node)
        if depth > MAX_DEPTH:
            raise self._fail("E102", _TOO_DEEP, node)
        span = _span(self.path, node.start_mark)
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP_TAG:
                raise self._tag_error(node)
            result = YMap(span=span)
            seen: dict[object, Span] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # before _walk refuses the tag
                    raise self._fail("E102", "YAML merge keys (<<) are not allowed", key_node)
                key = self._walk(key_node, depth + 1)
                if not isinstance(key, YScalar) or isinstance(key.value, (list, dict)):
                    raise self._fail("E103", "a mapping key must be a plain word", key_node)
                if key.value is None or isinstance(key.value, bool):  # null:, yes:, on: as text
                    key = YScalar(key.raw, key.span, key.raw, key.style)
                if key.value in seen:
                    first = seen[key.value]
                    msg = f"duplicate key '{key.value}' (first at line {first.line})"
                    self.problems.append(error("E113", msg, key.span))
                    continue
                seen[key.value] = key.span
                result.items.append((key, self._walk(value_node, depth + 1)))
            return result
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                raise self._tag_error(node)
            return YSeq([self._walk(item, depth + 1) for item in node.value], span)
        if node.tag not in _PLAIN_TAGS:
            raise self._tag_error(node)
        return YScalar(self._scalar(node), span, node.value, node.style)

    def _scalar(self, node: yaml.ScalarNode) -> object:
        tag = node.tag
        if tag == "tag:yaml.org,2002:str" or tag == "tag:yaml.org,2002:timestamp":
            return node.value
        if ":" in node.value:  # YAML 1.1 base 60 (1:30 is 90): text, as YAML 1.2 reads it
            return node.value
        if tag == "tag:yaml.org,2002:int" and len(node.value) > 300:
            raise self._fail("E112", "number too large", node)
        if tag in _NUMBER_TAGS and (problem := yaml11_problem(node.value)):
            raise self._fail("E112", problem, node)
        if tag in _NUMBER_TAGS and node.value.lower().lstrip("+-") not in (".inf", ".nan"):
            try:   # the one grammar, not YAML 1.1's: 010 is ten
                written = read_number(node.value)
                whole = int(normalise(node.value).replace(",", "")) if written.whole else None
                return written.value if whole is None else whole
            except NumberError:
                pass   # infinity: the parser says which key must be finite
        try:
            return SafeConstructor.yaml_constructors[tag](self.constructor, node)
        except (ValueError, ConstructorError, OverflowError):
            raise self._fail("E112", f"cannot read {node.value!r} as a number", node) from None


_CParser = getattr(getattr(yaml, "_yaml", None), "CParser", None) if yaml.__with_libyaml__ else None
_COMPOSE = object()   # the event reader leaves the file to the composer and the converter
_RESOLVERS = yaml.resolver.Resolver.yaml_implicit_resolvers
_WILDCARD = list(_RESOLVERS.get(None, []))
_IMPLICIT = {first: list(found) + _WILDCARD for first, found in _RESOLVERS.items()
             if first is not None}


class _Unusual(Exception):
    """Something the event reader does not handle: an alias, a tag, a duplicate key, a limit."""


class _EventReader:
    """Builds located values straight from libyaml's events, without a composed node tree.

    This is the path of every ordinary tree file: about 0.6 of the time of composing nodes
    and converting them, and no node tree in memory. Whatever is unusual (an anchor or
    alias, a tag, a duplicate key, a number as key, a refused number, a limit reached, a
    syntax error) sends the whole file back to the composer and :class:`_Converter`, so
    each problem is reported exactly as there: the composer's errors first, then the
    converter's, at the same places.
    """

    def __init__(self, path: str, text: str):
        self.path = path
        self.text = text
        self.converter = _Converter(path)

    def read(self) -> YValue | None | object:
        """The file's located values, None for no document, or _COMPOSE."""
        try:
            return self._read()
        except (_Unusual, NsmError, yaml.YAMLError):
            return _COMPOSE

    def _read(self) -> YValue | None:
        get = _CParser(self.text).get_event
        get()   # the stream's start
        start = get()
        if type(start) is not yaml.DocumentStartEvent:
            return None   # an empty stream: no document
        root = self._document(get)
        if type(get()) is not yaml.DocumentEndEvent or type(get()) is not yaml.StreamEndEvent:
            raise _Unusual   # a second document: the composer says so
        return root

    def _document(self, get) -> YValue:
        """The document's one value, its collections built with an explicit stack."""
        stack: list[YMap | YSeq] = []
        pending: list[YScalar | None] = []   # per open mapping: its key awaiting a value
        count = 0
        scalar, collection, key_of = self._scalar, self._collection, self._key
        scalar_event, map_end, seq_end = yaml.ScalarEvent, yaml.MappingEndEvent, \
            yaml.SequenceEndEvent
        while True:
            event = get()
            kind = type(event)
            if kind is scalar_event:
                if (count := count + 1) > MAX_NODES:
                    raise _Unusual
                value = scalar(event, len(stack))
            elif kind is map_end or kind is seq_end:
                value = stack.pop()
                if kind is map_end:
                    pending.pop()
                    value._indexed = len(value.items)
            elif (count := count + 1) > MAX_NODES:
                raise _Unusual
            else:
                stack.append(collection(event, kind, len(stack)))
                if kind is yaml.MappingStartEvent:
                    pending.append(None)
                continue
            if not stack:
                return value
            top = stack[-1]
            if type(top) is YSeq:
                top.items.append(value)
            elif (key := pending[-1]) is None:
                pending[-1] = key_of(value, top)
            else:
                top.items.append((key, value))
                top._index[key.value] = value
                pending[-1] = None

    def _collection(self, event: yaml.Event, kind: type, depth: int) -> YMap | YSeq:
        """A new mapping or list for a start event (plain ones only)."""
        if depth > MAX_DEPTH or event.anchor is not None:
            raise _Unusual
        tag = event.tag
        mark = event.start_mark
        span = Span(self.path, mark.line + 1, mark.column + 1)
        if kind is yaml.MappingStartEvent:
            if tag is not None and tag != "!" and tag != _MAP_TAG:
                raise _Unusual
            return YMap([], span, {}, 0)
        if kind is not yaml.SequenceStartEvent or (tag is not None and tag != "!"
                                                    and tag != _SEQ_TAG):
            raise _Unusual   # an alias
        return YSeq([], span)

    def _scalar(self, event: yaml.ScalarEvent, depth: int) -> YScalar:
        """A scalar resolved as the composer resolves it, converted as the converter does."""
        if depth > MAX_DEPTH or event.anchor is not None:
            raise _Unusual
        text, tag, mark = event.value, event.tag, event.start_mark
        if tag is None or tag == "!":
            tag = _STR_TAG
            if event.implicit[0] and (candidates := _IMPLICIT.get(text[:1], _WILDCARD)):
                for candidate, pattern in candidates:
                    if pattern.match(text):
                        tag = candidate
                        break
        if tag is _STR_TAG or tag == _STR_TAG:
            value: object = text
        elif tag in _PLAIN_TAGS:
            value = self.converter._scalar(yaml.ScalarNode(tag, text, mark, mark))
        else:
            raise _Unusual
        return YScalar(value, mark.line << _COLUMN_BITS | mark.column, text, event.style,
                       self.path)

    @staticmethod
    def _key(key: YValue, mapping: YMap) -> YScalar:
        """A mapping's key: a scalar, `null:` and `yes:` as text, not seen before."""
        if type(key) is not YScalar:
            raise _Unusual
        value = key.value
        if value is None or type(value) is bool:
            key = YScalar(key.raw, key.span, key.raw, key.style)
            value = key.raw
        elif type(value) is not str:
            raise _Unusual   # a number as key: the converter says how it reads
        if value in mapping._index:
            raise _Unusual
        return key
