"""The library entry points the CLI calls: read build output, write a report. Equally usable from Python."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from escapelint.analyze.findings import PackageFindings, analyze
from escapelint.analyze.source import SourceLocator
from escapelint.events import BuildStats
from escapelint.gc_pause import paused
from escapelint.read.assembler import BuildReader
from escapelint.read.input import STDIN, InputError, open_build_output
from escapelint.report.json import JsonReportWriter
from escapelint.report.output import open_report_output
from escapelint.workflows.parallel import (
    Window,
    WindowResult,
    default_jobs,
    fragment_directory,
    parallel_windows,
    read_windows,
)


def report(
    source: str,
    targets: list[tuple[str, Path]],
    *,
    overwrite: bool = False,
    source_root: Path | None = None,
    jobs: int | None = None,
) -> BuildStats:
    """Read `go build -gcflags=-m=2` output from `source` and write every (format, path) target in one pass.

    Each package is read, analysed (escapelint.analyze.findings) and handed to every writer while the rest of the
    input is still unread. `json` is written here (escapelint.report.json); the other formats by escapelint.report.formats.
    A large input file is read by `jobs` processes (default: one per CPU, at most 4), with the same
    result as one (parallel.py beside this). Every target is checked before the input is read: nothing a user
    wrote is replaced unless `overwrite`.
    """
    from escapelint.report.facts import BuildFacts
    from escapelint.report.formats import write_reports
    from escapelint.report.output import STDOUT

    json_targets = [path for name, path in targets if name == "json"]
    others = [(name, path) for name, path in targets if name != "json"]
    name = "<stdin>" if source == STDIN else source
    sources = SourceLocator(source_root if source_root is not None else Path.cwd())
    with contextlib.ExitStack() as stack:
        stack.enter_context(paused())  # until the report is written (escapelint.gc_pause says why)
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


def report_json(
    source: str,
    target: str | None = None,
    *,
    overwrite: bool = False,
    source_root: Path | None = None,
    jobs: int | None = None,
) -> BuildStats:
    """Read `go build -gcflags=-m=2` output from `source` and write the JSON report to `target` (stdout if None)."""
    from escapelint.report.output import STDOUT

    path = STDOUT if target in (None, STDIN) else Path(target)
    return report(source, [("json", path)], overwrite=overwrite, source_root=source_root, jobs=jobs)
