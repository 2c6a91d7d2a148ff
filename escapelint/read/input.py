"""Opening compiler output for streaming: a file, or standard input."""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
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
            raise cannot_read(self.display_name, exc) from None


def _text(raw: _InputFile) -> TextIO:
    # A large buffer: the file's readinto is Python (above), 34,000 calls for go/types at the default 8 KiB.
    return io.TextIOWrapper(io.BufferedReader(raw, 1 << 20), encoding="utf-8", errors="replace", newline="")


def ready_for_lines(handle: TextIO) -> TextIO:
    """`handle` (from open_build_output, its text not read yet) set to split its lines the faster way
    when it is a regular file without a CR (`_newline`); the lines are the same either way.

    Not done on opening: every input is opened to see whether it is a JSON report, and a large one
    is then read by worker processes, a window each (WindowLines). Only the file's size at this
    moment is searched, so the output of a build still being written is read as it is then. (A
    subclass of the text wrapper could decide on its first line, but the C iterator reads a
    subclass's lines through its Python `readline`: 0.29 s for go/types against 0.17 s.)
    """
    try:
        descriptor = handle.buffer.fileno()
        info = os.fstat(descriptor)
        if stat.S_ISREG(info.st_mode) and not carriage_return_in(descriptor, 0, info.st_size):
            handle.reconfigure(newline=_newline(False))
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):  # cannot look, or text was read already
        pass
    return handle


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
        raise cannot_read(getattr(handle, "name", "the input"), exc) from None
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


# --- a window of a file: a run of whole lines, read by a worker process or as one cached block -----


def file_snapshot(path: Path) -> tuple[int, int, int, int, int]:
    """What tells that a file was written: its device, inode, size, modification and change time (ns).
    Taken from the file opened (on NFS, opening is what fetches a file's attributes afresh)."""
    with open(path, "rb", buffering=0) as handle:
        return _snapshot(os.fstat(handle.fileno()))


def _snapshot(info: os.stat_result) -> tuple[int, int, int, int, int]:
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


def cannot_read(name: str, exc: OSError) -> InputError:
    """The error for a read of the input that failed (EIO, a file gone from a network mount)."""
    return InputError(f"{name}: cannot read: {exc.strerror or exc}")


def changed_while_read(name: str) -> InputError:
    """The error for a file that was written again while escapelint read it (`go build ... > out.txt`)."""
    return InputError(f"{name}: the file changed while it was read; read it again once it is written")


class FileWindow(io.RawIOBase):
    """Bytes [start, end) of a file as a readable raw stream; a failed read is an InputError.

    With `snapshot` (file_snapshot, taken before the file was planned and hashed), the file must
    still be that file when the window's last byte is read, and hold every byte of it: a window
    read from a file rewritten meanwhile (`go build ... > out.txt` again) is an InputError, never
    results filed under the digest of bytes that are gone (escapelint.workflows.cached_read).
    """

    def __init__(self, path: Path, start: int, end: int, snapshot: tuple[int, ...] | None = None) -> None:
        self._file = path.open("rb", buffering=0)
        self._file.seek(start)
        self._left = end - start
        self._name = str(path)
        self._snapshot = snapshot

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._file.fileno()

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self._left <= 0:
            return 0
        with memoryview(buffer) as view:
            try:
                read = self._file.readinto(view[: self._left]) or 0
            except OSError as exc:
                raise cannot_read(self._name, exc) from None
        self._left -= read
        if self._snapshot is not None and (not read or not self._left):
            self._check_unchanged()
        return read

    def _check_unchanged(self) -> None:
        if self._left or _snapshot(os.fstat(self._file.fileno())) != self._snapshot:
            raise changed_while_read(self._name)

    def close(self) -> None:
        self._file.close()
        super().close()


class WindowLines:
    """The text lines of a window of a file, as open_build_output gives them (UTF-8, bad bytes
    replaced, line ends kept, universal newlines); closed by `close` or `with`. `snapshot`: see FileWindow."""

    def __init__(self, path: Path, start: int, end: int, snapshot: tuple[int, ...] | None = None) -> None:
        window = FileWindow(path, start, end, snapshot)
        carriage_returns = carriage_return_in(window.fileno(), start, end)  # through the window's own descriptor
        self._text = io.TextIOWrapper(
            io.BufferedReader(window, buffer_size=1 << 20), encoding="utf-8", errors="replace", newline=_newline(carriage_returns)
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._text)

    def close(self) -> None:
        self._text.close()

    def __enter__(self) -> WindowLines:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _newline(carriage_returns: bool) -> str | None:
    """The text wrapper's `newline` that splits the lines as the universal newlines of `newline=""` do
    and keeps their ends. Without a CR in the text, that is also the translating mode (None), which
    finds each "\n" with one search where `newline=""` looks at every character for a CR too:
    go/types' 1.8 million lines read 11 % faster (1.42 s against 1.60 s, best of six)."""
    return "" if carriage_returns else None


#: carriage_return_in reads this much of a file at a time. Read, not mapped: a
#: mapped page that the file no longer holds (a build writing the file again truncates it first) kills
#: the process with SIGBUS; and a read is no slower (Go 1.22's std: 0.039 s against 0.050 s).
_CR_SEARCH_PIECE = 1 << 20


def carriage_return_in(descriptor: int, start: int, end: int) -> bool:
    """Whether bytes [start, end) of an open regular file hold a CR (True when that cannot be told)."""
    try:
        at = start
        while at < end:
            piece = os.pread(descriptor, min(_CR_SEARCH_PIECE, end - at), at)
            if not piece:
                break  # the file ends before `end`: the window's reader says so
            if b"\r" in piece:
                return True
            at += len(piece)
    except OSError:
        return True  # cannot look: the text wrapper reads it, and says what fails
    return False
