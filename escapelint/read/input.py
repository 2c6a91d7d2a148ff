"""Opening compiler output for streaming: a file, or standard input."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

STDIN = "-"


class InputError(Exception):
    """The input cannot be read (missing, a directory, not permitted)."""


@contextmanager
def open_build_output(source: str) -> Iterator[TextIO]:
    """Open compiler output for streaming: a path, or "-" for standard input.

    Bytes that are not UTF-8 are replaced rather than fatal: a report on a build with one odd byte in a
    string literal is worth more than none. Line ends are kept so that CRLF input is counted exactly.
    """
    if source == STDIN:
        yield io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace", newline="")
        return
    path = Path(source)
    try:
        handle = path.open(encoding="utf-8", errors="replace", newline="")
    except FileNotFoundError:
        raise InputError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{source}: is a directory, expected a file of `go build -gcflags=-m=2` output") from None
    except OSError as exc:
        raise InputError(f"{source}: cannot read: {exc.strerror}") from None
    with handle:
        yield handle
