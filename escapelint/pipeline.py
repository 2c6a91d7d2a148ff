"""The library entry points the CLI calls: read build output, write a report. Equally usable from Python."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from .assemble import BuildReader, BuildStats
from .json_report import write_json_report

STDIN = "-"


class InputError(Exception):
    """The input cannot be read (missing, a directory, not permitted)."""


class OutputExistsError(Exception):
    """The output file exists and the caller did not allow replacing it."""


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


@contextmanager
def open_report_output(target: str | None, *, overwrite: bool) -> Iterator[TextIO]:
    """Standard output for None or "-", else a new file (an existing one only with `overwrite`)."""
    if target is None or target == STDIN:
        yield sys.stdout
        return
    path = Path(target)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{target} exists; pass --force to replace it")
    try:
        handle = path.open("w", encoding="utf-8", newline="\n")
    except OSError as exc:
        raise InputError(f"{target}: cannot write: {exc.strerror}") from None
    with handle:
        yield handle


def report_json(source: str, target: str | None = None, *, overwrite: bool = False) -> BuildStats:
    """Read `go build -gcflags=-m=2` output from `source` and write the JSON report to `target`."""
    reader = BuildReader()
    with open_build_output(source) as lines, open_report_output(target, overwrite=overwrite) as out:
        name = "<stdin>" if source == STDIN else source
        try:
            write_json_report(reader.packages(lines), reader.stats, out, name)
        except UnicodeDecodeError as exc:  # only possible for a non-UTF-8 locale on stdin
            raise InputError(f"{name}: cannot decode input: {exc}") from None
    return reader.stats
