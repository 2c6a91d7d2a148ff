"""The library entry points the CLI calls: read build output, write a report. Equally usable from Python."""

from __future__ import annotations

import contextlib
import gc
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from .assemble import BuildReader, BuildStats
from .findings import PackageFindings, SourceLocator, analyze
from .json_report import JsonReportWriter

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


def report(
    source: str,
    targets: list[tuple[str, Path]],
    *,
    overwrite: bool = False,
    source_root: Path | None = None,
) -> BuildStats:
    """Read `go build -gcflags=-m=2` output from `source` and write every (format, path) target in one pass.

    Each package is read, analysed (findings.py) and handed to every writer while the rest of the
    input is still unread. `json` is written here (json_report.py); the other formats by formats.py.
    Every target is checked before the input is read: nothing a user wrote is replaced unless
    `overwrite`.
    """
    from .formats import STDOUT, write_reports
    from .report_model import BuildFacts

    json_targets = [path for name, path in targets if name == "json"]
    others = [(name, path) for name, path in targets if name != "json"]
    name = "<stdin>" if source == STDIN else source
    sources = SourceLocator(source_root if source_root is not None else Path.cwd())
    reader = BuildReader()
    with contextlib.ExitStack() as stack:
        stack.enter_context(_garbage_collector_paused())
        json_writers = []
        for path in json_targets:
            out = stack.enter_context(
                open_report_output(None if path == STDOUT else str(path), overwrite=overwrite)
            )
            json_writers.append(JsonReportWriter(out, name))
        lines = stack.enter_context(open_build_output(source))

        def analysed() -> Iterator[PackageFindings]:
            for output in reader.packages(lines):
                package = analyze(output, sources)
                for writer in json_writers:
                    writer.package(package)
                yield package

        for writer in json_writers:
            writer.begin()
        try:
            if others:
                facts = BuildFacts.for_input(name)
                write_reports(analysed(), facts, lambda: reader.stats, others, overwrite=overwrite, sources=sources)
            else:
                for _ in analysed():
                    pass
        except UnicodeDecodeError as exc:  # only possible for a non-UTF-8 locale on stdin
            raise InputError(f"{name}: cannot decode input: {exc}") from None
        for writer in json_writers:
            writer.end(reader.stats)
    return reader.stats


@contextmanager
def _garbage_collector_paused() -> Iterator[None]:
    """Reading and writing make millions of objects and no reference cycles: the cyclic collector
    would only walk them again and again, so it waits until the report is written."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def report_json(source: str, target: str | None = None, *, overwrite: bool = False, source_root: Path | None = None) -> BuildStats:
    """Read `go build -gcflags=-m=2` output from `source` and write the JSON report to `target` (stdout if None)."""
    from .formats import STDOUT

    path = STDOUT if target in (None, STDIN) else Path(target)
    return report(source, [("json", path)], overwrite=overwrite, source_root=source_root)
