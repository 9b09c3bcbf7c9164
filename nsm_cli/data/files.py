"""What a data path must be before nsm reads a byte of it: a regular file, not too big, text.

A FIFO would block forever, a device or a 2 GiB sparse file would be read whole;
these checks look at the file's metadata and first block only.
"""

from __future__ import annotations

import os
import stat

from nsm_cli.diagnostics import NsmError, error
from nsm_cli.tree.model import DataSpec

MAX_DATA_BYTES = 4 << 30  # 4 GiB per data file; documented in README "Data files"
SNIFF_BYTES = 64 << 10
CHUNK_BYTES = 1 << 23  # what numbers_agree reads at a time when it must look at each `_`


def _fail(spec: DataSpec, message: str) -> NsmError:
    return NsmError([error("E303", f"data '{spec.name}': {message}", spec.span)])


def check_regular(spec: DataSpec, path: str) -> int:
    """The file's size; E303 when it is missing, not a regular file, or over the limit."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise _fail(spec, f"{path} does not exist") from None
    except PermissionError:
        raise _fail(spec, f"cannot open {path} (permission denied)") from None
    except OSError as exc:
        raise _fail(spec, f"cannot read {path} ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        what = "a CSV file" if spec.kind == "delimited" else "a data file"
        raise _fail(spec, f"{path} is a folder, not {what}")
    if not stat.S_ISREG(info.st_mode):
        raise _fail(spec, f"{path} is not a regular file (a FIFO or a device would block)")
    if info.st_size > MAX_DATA_BYTES:
        raise _fail(spec, f"{path} is {info.st_size / (1 << 30):.1f} GiB, over the "
                    f"{MAX_DATA_BYTES >> 30} GiB limit for one file: split it (a glob reads "
                    "several files as one table) or aggregate it first")
    return info.st_size


def sniff_binary(spec: DataSpec, path: str) -> None:
    """E303 when a delimited file's first block holds NUL bytes (it is binary, not text)."""
    if spec.kind != "delimited" or spec.encoding.lower().replace("_", "-").startswith(
            ("utf-16", "utf-32")):
        return
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise _fail(spec, f"cannot read {path} ({exc.strerror or exc})") from None
    if b"\x00" in head:
        raise _fail(spec, f"{path} looks like a binary file, not a CSV file (it contains "
                    "NUL bytes)")


def numbers_agree(path: str, skip: int) -> bool:
    """Whether DuckDB's number cast reads every cell of a UTF-8 file after its first `skip`
    lines as nsm's grammar does, or refuses it.

    The cast reads two forms the grammar refuses: an underscore between digits (`1_000`,
    `0_1`, `1e1_0`) and a leading sign pair (`+-3`); everything else it reads is read the
    same, to the bit, or refused (tests/test_typed_cells.py). Two memchr scans settle it for
    most files; only a file holding `_` or `+` looks closer.
    """
    import mmap

    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return True
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            start = 0
            for _ in range(skip):
                start = data.find(b"\n", start) + 1
                if start == 0:
                    return True  # nothing after the header
            if data.find(b"+", start) >= 0 and data.find(b"+-", start) >= 0:
                return False
            first = data.find(b"_", start)
        if first < 0:
            return True
        return not _underscore_between_digits(handle, first)


def _underscore_between_digits(handle, start: int) -> bool:
    """Whether a `_` with a digit on both sides follows byte `start` (numpy, by chunks)."""
    import numpy as np

    handle.seek(max(start - 1, 0))
    tail = b""
    while chunk := handle.read(CHUNK_BYTES):
        window = np.frombuffer(tail + chunk, dtype=np.uint8)
        inner = np.flatnonzero(window[1:-1] == ord("_")) + 1
        if inner.size:
            before, after = window[inner - 1], window[inner + 1]
            digit = (before >= 48) & (before <= 57) & (after >= 48) & (after <= 57)
            if digit.any():
                return True
        tail = bytes(window[-2:])
    return False
