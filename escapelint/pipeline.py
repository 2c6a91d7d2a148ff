"""The library entry points the CLI calls: read build output, write a report. Equally usable from Python."""

from __future__ import annotations

import contextlib
import gc
import io
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from .assemble import BuildReader, BuildStats
from .findings import PackageFindings, SourceLocator, analyze
from .json_report import JsonReportWriter
from .parallel import Window, WindowResult, default_jobs, fragment_directory, parallel_windows, read_windows

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
    """Standard output for None or "-", else a file (one that exists only with `overwrite`).

    A regular file is written under a temporary name beside it and moved into place once complete:
    a failed or interrupted run leaves the previous report as it was, and never half a new one.
    Anything else that exists (a symlink, a device, a pipe) is written through as it is.
    """
    if target is None or target == STDIN:
        yield sys.stdout
        return
    path = Path(target)
    exists = path.exists() or path.is_symlink()
    if exists and not overwrite:
        raise OutputExistsError(f"{target} exists; pass --force to replace it")
    if exists and (path.is_symlink() or not path.is_file()):
        try:
            handle = path.open("w", encoding="utf-8", newline="\n")
        except OSError as exc:
            raise InputError(f"{target}: cannot write: {exc.strerror}") from None
        with handle:
            yield handle
        return
    partial, descriptor = _create_partial(path, target)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            yield handle
        _move_into_place(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _create_partial(path: Path, target: str) -> tuple[Path, int]:
    """A new hidden file beside `path` (mode 0666 less the umask, as a plain open would give)."""
    for attempt in range(100):
        partial = path.with_name(f".{path.name}.{os.getpid()}-{attempt}.partial")
        try:
            return partial, os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue  # left by a killed run that had the same process id
        except OSError as exc:
            raise InputError(f"{target}: cannot write: {exc.strerror}") from None
    raise InputError(f"{target}: cannot write: too many leftover {path.name}.*.partial files beside it")


def _move_into_place(partial: Path, path: Path) -> None:
    """Put the finished `partial` file where `path` is, keeping the old file's permissions."""
    try:
        old = path.stat()
    except FileNotFoundError:
        old = None
    if old is not None:
        os.chmod(partial, stat.S_IMODE(old.st_mode))
        # Removed first rather than renamed over: ext4 writes a file renamed over another (or truncated)
        # to disk at once (auto_da_alloc), a tenth of a second per hundred megabytes of report.
        path.unlink()
    os.rename(partial, path)


def report(
    source: str,
    targets: list[tuple[str, Path]],
    *,
    overwrite: bool = False,
    source_root: Path | None = None,
    jobs: int | None = None,
) -> BuildStats:
    """Read `go build -gcflags=-m=2` output from `source` and write every (format, path) target in one pass.

    Each package is read, analysed (findings.py) and handed to every writer while the rest of the
    input is still unread. `json` is written here (json_report.py); the other formats by formats.py.
    A large input file is read by `jobs` processes (default: one per CPU, at most 4), with the same
    result as one (parallel.py). Every target is checked before the input is read: nothing a user
    wrote is replaced unless `overwrite`.
    """
    from .formats import STDOUT, write_reports
    from .report_model import BuildFacts

    json_targets = [path for name, path in targets if name == "json"]
    others = [(name, path) for name, path in targets if name != "json"]
    name = "<stdin>" if source == STDIN else source
    sources = SourceLocator(source_root if source_root is not None else Path.cwd())
    with contextlib.ExitStack() as stack:
        stack.enter_context(_garbage_collector_paused())
        json_writers = []
        for path in json_targets:
            out = stack.enter_context(
                open_report_output(None if path == STDOUT else str(path), overwrite=overwrite)
            )
            json_writers.append(JsonReportWriter(out, name))
        windows = parallel_windows(source, jobs)  # reads the input: only once the outputs are known writable
        if windows is None:
            reader = BuildReader()
            stats = reader.stats
            analysed = _read_here(reader, stack.enter_context(open_build_output(source)), sources, json_writers)
        else:
            stats = BuildStats()
            fragments = Path(stack.enter_context(fragment_directory())) if json_writers else None
            analysed = _read_in_workers(
                Path(source), windows, jobs or default_jobs(), name, sources, fragments, json_writers, stats,
                keep_findings=bool(others),
            )
        # Closed before the fragments' directory is removed, also when a writer fails.
        stack.enter_context(contextlib.closing(analysed))
        for writer in json_writers:
            writer.begin()
        try:
            if others:
                facts = BuildFacts.for_input(name)
                write_reports(analysed, facts, lambda: stats, others, overwrite=overwrite, sources=sources)
            else:
                for _ in analysed:
                    pass
        except UnicodeDecodeError as exc:  # only possible for a non-UTF-8 locale on stdin
            raise InputError(f"{name}: cannot decode input: {exc}") from None
        for writer in json_writers:
            writer.end(stats)
    return stats


def _read_here(
    reader: BuildReader, lines: TextIO, sources: SourceLocator, json_writers: list[JsonReportWriter]
) -> Iterator[PackageFindings]:
    """Read, analyse and write in this process, a package at a time."""
    for output in reader.packages(lines):
        package = analyze(output, sources)
        for writer in json_writers:
            writer.package(package)
        yield package


def _read_in_workers(
    source: Path,
    windows: list[Window],
    jobs: int,
    name: str,
    sources: SourceLocator,
    fragments: Path | None,
    json_writers: list[JsonReportWriter],
    stats: BuildStats,
    *,
    keep_findings: bool,
) -> Iterator[PackageFindings]:
    """Read in worker processes (parallel.py); put their JSON and findings in input order."""
    results = read_windows(
        source, windows, jobs, input_name=name, sources=sources, fragments=fragments, keep_findings=keep_findings
    )
    # Closed on the way out, also on an error: the workers stop before their fragments are removed.
    with contextlib.closing(results):
        yield from _in_order_checked(results, source, json_writers, stats)


def _in_order_checked(
    results: Iterator[WindowResult], source: Path, json_writers: list[JsonReportWriter], stats: BuildStats
) -> Iterator[PackageFindings]:
    for result in results:
        if result.first_line != stats.lines:  # the line counter and the reader disagree on line ends: a bug
            raise RuntimeError(
                f"internal error: window {result.index} of {source} starts at line {result.first_line + 1}, "
                f"the windows before it end at line {stats.lines}; rerun with --jobs 1"
            )
        stats.add(result.stats)
        if result.fragment is not None:
            for writer in json_writers:
                writer.splice(result.fragment, result.packages_written, result.unrecognized)
            result.fragment.unlink()
        yield from result.findings or ()


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


def report_json(
    source: str,
    target: str | None = None,
    *,
    overwrite: bool = False,
    source_root: Path | None = None,
    jobs: int | None = None,
) -> BuildStats:
    """Read `go build -gcflags=-m=2` output from `source` and write the JSON report to `target` (stdout if None)."""
    from .formats import STDOUT

    path = STDOUT if target in (None, STDIN) else Path(target)
    return report(source, [("json", path)], overwrite=overwrite, source_root=source_root, jobs=jobs)
