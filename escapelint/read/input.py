"""Opening compiler output for streaming: a file, or standard input."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

STDIN = "-"
#: Bytes a JSON document may start with before its "{": white space and a UTF-8 byte order mark.
_LEADING = b" \t\r\n\xef\xbb\xbf"


class InputError(Exception):
    """The input cannot be read (missing, a directory, not permitted, failing part-way)."""


class _InputFile(io.FileIO):
    """The input's file, read by the buffer above it a chunk at a time: a read that fails part-way
    (an I/O error, /proc/self/mem) is an InputError naming the input, not an OSError from deep in the
    reader. Only whole chunks pass through here, so the check costs nothing per line."""

    def __init__(self, file: str | int, name: str, *, closefd: bool = True) -> None:
        super().__init__(file, "r", closefd=closefd)
        self.display_name = name

    def readinto(self, buffer) -> int | None:  # type: ignore[override]
        try:
            return super().readinto(buffer)
        except OSError as exc:
            raise InputError(f"{self.display_name}: cannot read: {exc.strerror or exc}") from None


def _text(raw: _InputFile) -> TextIO:
    return io.TextIOWrapper(io.BufferedReader(raw), encoding="utf-8", errors="replace", newline="")


@contextmanager
def open_build_output(source: str) -> Iterator[TextIO]:
    """Open compiler output for streaming: a path, or "-" for standard input.

    Bytes that are not UTF-8 are replaced rather than fatal: a report on a build with one odd byte in a
    string literal is worth more than none. Line ends are kept so that CRLF input is counted exactly.
    Every failure, on opening or part-way through, is an InputError.
    """
    if source == STDIN:
        with _stdin() as handle:
            yield handle
        return
    if not source:
        raise InputError("the input is an empty path; give a file of `go build -gcflags=-m=2` output, or - for stdin")
    try:
        raw = _InputFile(source, source)
    except FileNotFoundError:
        raise InputError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{source}: is a directory, expected a file of `go build -gcflags=-m=2` output") from None
    except OSError as exc:
        raise InputError(f"{source}: cannot read: {exc.strerror}") from None
    except ValueError as exc:  # a NUL byte in the path
        raise InputError(f"{source!r}: not a file name: {exc}") from None
    with _text(raw) as handle:
        yield handle


def starts_like_json(handle: TextIO) -> bool:
    """Whether the text's first non-blank character is "{": a JSON document (escapelint's own report),
    never compiler output, whose lines start with a position, "#" or a word.

    Looks at the buffered bytes without consuming them, so `handle` (from open_build_output, before
    it is read) is then read from its start. The first buffer (8 KiB, or one read of a pipe) decides.
    """
    peek = getattr(getattr(handle, "buffer", None), "peek", None)
    if peek is None:
        return False
    try:
        head = peek(1 << 13)
    except OSError as exc:
        raise InputError(f"{getattr(handle, 'name', 'the input')}: cannot read: {exc.strerror or exc}") from None
    return head.lstrip(_LEADING)[:1] == b"{"


@contextmanager
def _stdin() -> Iterator[TextIO]:
    stream = sys.stdin
    if stream is None:  # started with standard input closed (`<&-`)
        raise InputError("standard input is closed; give a file instead of -")
    try:
        descriptor = stream.fileno()
    except (AttributeError, OSError, ValueError):  # a test runner's stand-in: read as it is
        buffer = stream.buffer if hasattr(stream.buffer, "peek") else io.BufferedReader(stream.buffer)
        yield io.TextIOWrapper(buffer, encoding="utf-8", errors="replace", newline="")
        return
    with _text(_InputFile(descriptor, "standard input", closefd=False)) as handle:  # the descriptor stays open
        yield handle
