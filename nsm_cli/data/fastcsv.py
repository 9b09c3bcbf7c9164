"""The fast path for big wide CSV files: numpy over the file's bytes, no Python per cell.

The light path (`csv` module, one `float()` per cell) costs about a microsecond per cell,
which is seconds on a million-row detail export. Here the file is read once as bytes and cut
into chunks of whole lines; in each chunk the field separators are found with vectorised
compares, and only the wanted columns are converted. A number cell (`1200`, `-3.5`, `"1,200"`,
`92%`) is right-aligned into a small byte matrix and turned into its digits' integer with one
matrix product per format; the value is that integer divided by a power of ten, which is the
same correctly rounded float that `float()` gives. Any other cell (`¥1,200`, `n/a`, a typo)
goes through the light path's own cell parser, so the cell rules and E304 messages are the
same. A file whose structure this reader does not handle (quotes around a line break, escaped
quotes, ragged rows, a non-UTF-8 encoding, the long format) raises :class:`Unsupported` and the
caller reads it with the light path instead.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

CHUNK = 1 << 20  # bytes per chunk: its working arrays stay small (page faults are costly)
MAX_NUMBER = 15  # characters of a number handled in numpy: its digits' integer stays below 2**53
MAX_LABEL = 32  # characters of a period label compared in numpy

COMMA, NEWLINE, QUOTE, RETURN, DOT, MINUS, PLUS, PERCENT, ZERO = b',\n"\r.-+%0'


class Unsupported(Exception):
    """The file needs the light path (the message says why, for debugging)."""


@dataclass
class FastRows:
    """What the fast reader found: per kept data row its period label, line and the values."""

    labels: list[str] | None  # one per distinct period label, in first-seen order
    codes: np.ndarray | None  # index into labels per kept row
    lines: np.ndarray  # 1-based physical line per kept row
    values: dict[str, np.ndarray]  # column → float64 per kept row (NaN = missing or bad)
    bad: dict[str, list[tuple[int, str]]]  # column → (kept row, cell text) that are no number
    bad_labels: list[int]  # lines whose period cell is empty


def decode_check(data: bytes, encoding: str) -> None:
    """Raise UnicodeDecodeError as `bytes.decode` would, without building the whole text."""
    if data.isascii():
        return
    decoder = codecs.getincrementaldecoder(encoding)()
    step = 1 << 22
    for start in range(0, len(data), step):
        try:
            decoder.decode(data[start:start + step], final=start + step >= len(data))
        except UnicodeDecodeError as exc:
            raise UnicodeDecodeError(exc.encoding, data, start + exc.start, start + exc.end,
                                     exc.reason) from None


def _separators(c: np.ndarray) -> np.ndarray:
    """Positions of the commas and line ends that separate fields (not those inside quotes)."""
    seps = np.flatnonzero((c == COMMA) | (c == NEWLINE))
    quotes = np.flatnonzero(c == QUOTE)
    if quotes.size == 0:
        return seps
    if quotes.size % 2:
        raise Unsupported("a quoted cell spans lines")
    opens, closes = quotes[0::2], quotes[1::2]
    # A quoted field must be the whole field: "…" between separators, no "" escapes.
    before = np.where(opens > 0, c[np.maximum(opens - 1, 0)], NEWLINE)
    after = c[np.minimum(closes + 1, c.size - 1)]
    if not (np.isin(before, (COMMA, NEWLINE)).all() and np.isin(after, (COMMA, NEWLINE, RETURN))
            .all()):
        raise Unsupported("quotes inside a cell")
    lo, hi = np.searchsorted(seps, opens), np.searchsorted(seps, closes)
    inside = hi - lo
    total = int(inside.sum())
    if total == 0:
        return seps
    first = np.repeat(lo, inside)
    offset = np.arange(total) - np.repeat(np.cumsum(inside) - inside, inside)
    drop = first + offset
    if (c[seps[drop]] == NEWLINE).any():
        raise Unsupported("a quoted cell spans lines")
    keep = np.ones(seps.size, dtype=bool)
    keep[drop] = False
    return seps[keep]


def _rows(c: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start and end (exclusive) of every field, shape (rows, width), and each row's index
    among all lines of the chunk; blank lines are dropped, any other odd row is Unsupported."""
    seps = _separators(c)
    line_ends = np.flatnonzero(c[seps] == NEWLINE)
    fields = np.diff(line_ends, prepend=-1)
    line_index = np.arange(line_ends.size)
    if (fields != width).any():
        blank_ends = seps[line_ends[fields == 1]]
        starts = np.concatenate(([0], seps[line_ends[:-1]] + 1))[fields == 1]
        blank = (blank_ends - starts == 0) | ((blank_ends - starts == 1) & (c[starts] == RETURN))
        if not blank.all() or ((fields != width) & (fields != 1)).any():
            raise Unsupported("rows with a different number of cells")
        keep = np.repeat(fields != 1, fields)
        seps = seps[keep]
        line_index = line_index[fields != 1]
    ends = seps.reshape(-1, width)
    starts = np.empty_like(ends)
    starts.flat[0] = 0
    starts.flat[1:] = ends.flat[:-1] + 1
    last = ends[:, -1]
    ends[:, -1] = last - (c[np.maximum(last - 1, 0)] == RETURN)
    return starts, ends, line_index


WIDTH = 16  # bytes of the right-aligned window a number cell is parsed in: two uint64 words
ONES = np.uint64(0x0101010101010101)
HIGH = np.uint64(0x8080808080808080)
LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
# KEEP[n]: a window mask keeping the last n bytes; FILL[n]: '0' in the other bytes
KEEP = np.array([[0] * (WIDTH - n) + [0xFF] * n for n in range(WIDTH + 1)],
                dtype=np.uint8).view(np.uint64)
# BELOW[j] / ABOVE[j]: the bytes before / after byte j; j = WIDTH removes nothing
BELOW = np.array([[0xFF] * n + [0] * (WIDTH - n) for n in range(WIDTH)] + [[0] * WIDTH],
                 dtype=np.uint8).view(np.uint64)
ABOVE = np.array([[0] * (n + 1) + [0xFF] * (WIDTH - n - 1) for n in range(WIDTH)]
                 + [[0xFF] * WIDTH], dtype=np.uint8).view(np.uint64)
FILL = np.array([[ZERO] * (WIDTH - n) + [0] * n for n in range(WIDTH + 1)],
                dtype=np.uint8).view(np.uint64)


def _padded(c: np.ndarray, width: int) -> np.ndarray:
    """Sliding windows over the chunk with `width` zero bytes before it."""
    padded = np.concatenate((np.zeros(width, dtype=np.uint8), c))
    return np.lib.stride_tricks.sliding_window_view(padded, width)


def _zero_bytes(words: np.ndarray) -> np.ndarray:
    """The high bit of every zero byte set (exact: no carries between bytes)."""
    return ~(((words & LOW7) + LOW7) | words | LOW7)


def _bytes_in_words(flags: np.ndarray) -> np.ndarray:
    """How many bytes have their high bit set, per row of two words."""
    counts = (((flags >> np.uint64(7)) & ONES) * ONES) >> np.uint64(56)
    return (counts[:, 0] + counts[:, 1]).astype(np.intp)


def _numbers(c: np.ndarray, windows: np.ndarray, starts: np.ndarray, ends: np.ndarray,
             ) -> tuple[np.ndarray, np.ndarray]:
    """Fields → float64, and a mask of the fields left for the full cell parser."""
    quoted = (ends - starts >= 2) & (c[starts] == QUOTE)
    ends = ends - quoted
    lengths = ends - starts - quoted
    out = np.full(starts.size, np.nan)
    slow = lengths > WIDTH
    todo = np.flatnonzero((lengths > 0) & ~slow)
    if todo.size == 0:
        return out, slow
    length = lengths[todo]
    m = windows[ends[todo]]  # (n, 16) bytes, the cell right-aligned; a copy
    words = m.view(np.uint64)
    words &= KEEP[length]
    words |= FILL[length]
    percent = m[:, -1] == PERCENT
    if percent.any():
        m[percent, 1:] = m[percent, :-1].copy()
        m[percent, 0] = ZERO
        length = length - percent
    lead = m[np.arange(todo.size), (WIDTH - length).clip(0, WIDTH - 1)]
    signed = ((lead == MINUS) | (lead == PLUS)) & (length > 0)
    negative = signed & (lead == MINUS)
    if signed.any():
        m[np.flatnonzero(signed), WIDTH - length[signed]] = ZERO
        length = length - signed
    digits = words ^ np.uint64(0x3030303030303030)  # a digit byte becomes 0..9
    dots = _zero_bytes(words ^ np.uint64(0x2E2E2E2E2E2E2E2E))
    commas = _zero_bytes(words ^ np.uint64(0x2C2C2C2C2C2C2C2C))
    # bytes above 9 (not digits) that are neither dots nor commas make a cell slow
    others = (((digits & LOW7) + np.uint64(0x7676767676767676)) | digits) & HIGH & ~dots & ~commas
    ok = ((others[:, 0] | others[:, 1]) == 0) & (length > 0) & (length <= MAX_NUMBER)
    dot_count = _bytes_in_words(dots)
    ok &= dot_count <= 1
    has_comma = (commas[:, 0] | commas[:, 1]) != 0
    special = _bytes_in_words(dots | commas)
    ok &= length - special >= 1  # at least one digit
    # Grouped cells ("1,200") must have their commas where thousands go; check those rows only.
    grouped = np.flatnonzero(ok & has_comma)
    if grouped.size:
        ok[grouped[~_grouping_ok(m[grouped], length[grouped])]] = False
    # Take the dots and commas out (shift the bytes left of each one place right), then
    # read the 16 digit bytes as two 8-digit integers.
    fraction = np.zeros(todo.size, dtype=np.int64)
    okmask = ok[:, None].astype(np.uint64) * HIGH
    for _ in range(int(special[ok].max(initial=0))):
        marks = (dots | commas) & okmask
        right = marks[:, 1] != 0  # the right-hand word holds bytes 8..15: the last mark
        word = np.where(right, marks[:, 1], marks[:, 0])
        byte = (np.frexp(word.astype(np.float64))[1] - 8) // 8 + np.where(right, 8, 0)
        byte[word == 0] = WIDTH  # nothing left to take out: the masks keep the row as it is
        dot_word = np.where(right, dots[:, 1], dots[:, 0])
        is_dot = ((dot_word >> (8 * (byte % 8) + 7).astype(np.uint64)) & np.uint64(1)) == 1
        fraction = np.where(is_dot & (word != 0), WIDTH - 1 - byte, fraction)
        digits = _remove_byte(digits, byte)
        dots, commas = _remove_byte(dots, byte), _remove_byte(commas, byte)
    halves = _eight_digits(digits)
    mantissa = (halves[:, 0] * 100_000_000 + halves[:, 1]).astype(np.float64)
    values = mantissa / (10.0 ** fraction)
    values = np.where(negative, -values, values)
    values = np.where(percent, values / 100, values)
    values[~ok] = np.nan
    out[todo] = values
    slow[todo[~ok]] = True
    return out, slow


def _remove_byte(words: np.ndarray, byte: np.ndarray) -> np.ndarray:
    """Drop byte `byte` of each 16-byte row (two little-endian words): the bytes before it
    move one place up and byte 0 becomes 0."""
    below = BELOW[byte]  # masks of the bytes before `byte`
    above = ABOVE[byte]
    low = words & below
    shifted = np.empty_like(words)
    shifted[:, 0] = low[:, 0] << np.uint64(8)
    shifted[:, 1] = (low[:, 1] << np.uint64(8)) | (low[:, 0] >> np.uint64(56))
    return shifted | (words & above)


def _eight_digits(words: np.ndarray) -> np.ndarray:
    """Each word of 8 digit bytes (0..9, the first digit in the lowest byte) → its integer."""
    v = words
    v = (v * np.uint64(10)) + (v >> np.uint64(8))
    v = ((v & np.uint64(0x00FF00FF00FF00FF)) * np.uint64(100)
         + ((v >> np.uint64(16)) & np.uint64(0x00FF00FF00FF00FF)))
    v = ((v & np.uint64(0x0000FFFF0000FFFF)) * np.uint64(10000)
         + ((v >> np.uint64(32)) & np.uint64(0x0000FFFF0000FFFF)))
    return (v & np.uint64(0xFFFFFFFF)).astype(np.int64)


def _grouping_ok(m: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Commas every three digits left of the dot (or of the end), and a digit other than 0
    first (`0,550` is a decimal comma: the exact reader refuses it with a hint)."""
    is_dot = m == DOT
    has_dot = is_dot.any(axis=1)
    dot_at = np.where(has_dot, np.argmax(is_dot, axis=1), WIDTH)  # index of the dot
    index = np.arange(WIDTH)
    distance = dot_at[:, None] - index  # 1 for the last integer digit
    inside = index >= (WIDTH - length)[:, None]
    expected = (distance > 0) & (distance % 4 == 0) & inside
    good = ((m == COMMA) == expected).all(axis=1)
    first = m[np.arange(m.shape[0]), WIDTH - length]
    good &= ((first - ZERO) < 10) & (first != ZERO)
    return good


def _labels(c: np.ndarray, starts: np.ndarray, ends: np.ndarray, encoding: str,
            ) -> tuple[list[str], np.ndarray]:
    """The period label of each row as runs: distinct run labels and a run index per row."""
    if starts.size == 0:
        return [], np.zeros(0, dtype=np.intp)
    lengths = ends - starts
    width = int(lengths.max())
    if width <= MAX_LABEL:
        m = _padded(c, max(width, 1))[ends]
        m[np.arange(m.shape[1]) < (m.shape[1] - lengths)[:, None]] = 0
        change = np.flatnonzero((m[1:] != m[:-1]).any(axis=1)) + 1
    else:  # unusually long labels: compare them as bytes
        cells = [c[s:e].tobytes() for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
        change = np.flatnonzero([a != b for a, b in zip(cells, cells[1:], strict=False)]) + 1
    heads = np.concatenate(([0], change))
    texts = [_text(c, int(starts[h]), int(ends[h]), encoding) for h in heads.tolist()]
    runs = np.repeat(np.arange(heads.size), np.diff(np.append(heads, starts.size)))
    return texts, runs


def _text(c: np.ndarray, start: int, end: int, encoding: str) -> str:
    """One cell as the csv module would give it: decoded, the quotes taken off."""
    text = c[start:end].tobytes().decode(encoding)
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1]
    return text


def read_fast(
    data: bytes, header_end: int, header_line: int, width: int, period_at: int | None,
    wanted: dict[str, int], encoding: str, advance: Callable[[int], None] | None = None,
) -> FastRows:
    """Read the body of a wide CSV (everything after the header line) in chunks."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    size = len(data)
    labels: dict[str, int] = {}
    codes: list[np.ndarray] = []
    lines: list[np.ndarray] = []
    columns: dict[str, list[np.ndarray]] = {name: [] for name in wanted}
    bad: dict[str, list[tuple[int, str]]] = {name: [] for name in wanted}
    bad_labels: list[int] = []
    kept_rows = 0
    line_offset = header_line  # lines before the chunk
    start = header_end
    while start < size:
        stop = data.rfind(b"\n", start, min(start + CHUNK, size))
        if stop < 0 or start + CHUNK >= size:
            stop = size - 1 if data.endswith(b"\n") else -1
            if stop < 0:  # no final line end: work on a copy that has one
                chunk = np.concatenate((buffer[start:], np.array([NEWLINE], dtype=np.uint8)))
                stop = size - 1
            else:
                chunk = buffer[start:stop + 1]
        else:
            chunk = buffer[start:stop + 1]
        starts, ends, line_index = _rows(chunk, width)
        row_lines = line_offset + 1 + line_index
        keep = slice(None)
        if period_at is not None:
            texts, runs = _labels(chunk, starts[:, period_at], ends[:, period_at], encoding)
            stripped = [text.strip() for text in texts]
            run_codes = np.array([labels.setdefault(t, len(labels)) if t else -1
                                  for t in stripped], dtype=np.intp)
            row_codes = run_codes[runs] if runs.size else runs
            if (row_codes < 0).any():
                empty = row_codes < 0
                for row in np.flatnonzero(empty).tolist():
                    cells = [_text(chunk, int(s), int(e), encoding)
                             for s, e in zip(starts[row], ends[row], strict=True)]
                    if "".join(cells).strip():  # a row of blank cells is a blank line
                        bad_labels.append(int(row_lines[row]))
                keep = ~empty
                row_codes = row_codes[keep]
            codes.append(row_codes)
        row_lines = row_lines[keep]
        lines.append(row_lines)
        windows = _padded(chunk, WIDTH)
        names, where = list(wanted), list(wanted.values())
        # every wanted column of the chunk in one call: Python overhead per chunk, not per cell
        values, slow = _numbers(chunk, windows, starts[keep][:, where].ravel(),
                                ends[keep][:, where].ravel())
        shape = (row_lines.size, len(names))  # not -1: no wanted column is 0 columns, not an error
        values, slow = values.reshape(shape), slow.reshape(shape)
        for row, col in zip(*np.nonzero(slow), strict=True):
            at = where[col]
            cell = _text(chunk, int(starts[keep][row, at]), int(ends[keep][row, at]), encoding)
            bad[names[col]].append((kept_rows + int(row), cell))
        for col, name in enumerate(names):
            columns[name].append(values[:, col])
        kept_rows += row_lines.size
        line_offset += int(np.count_nonzero(chunk == NEWLINE))
        if advance is not None:
            advance(stop + 1 - start)
        start = stop + 1

    def joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

    return FastRows(
        labels=None if period_at is None else list(labels),
        codes=None if period_at is None else joined(codes, np.intp),
        lines=joined(lines, np.int64),
        values={name: joined(parts, np.float64) for name, parts in columns.items()},
        bad=bad,
        bad_labels=bad_labels,
    )
