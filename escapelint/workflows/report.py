"""Reports from a file of build output (`report`, with worker processes for a large one), and every format from a build escapelint ran (`write_build_reports`)."""

from __future__ import annotations

from collections import Counter

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from escapelint.analyze.findings import PackageFindings, analyze
from escapelint.analyze.leaks import LeakSummaries
from escapelint.analyze.source import SourceLocator
from escapelint.events import BuildStats
from escapelint.gc_pause import paused
from escapelint.read.assembler import BuildReader
from escapelint.read.input import STDIN, InputError, open_build_output
from escapelint.report.facts import BuildFacts
from escapelint.report.json import JsonReportWriter
from escapelint.report.output import open_report_output
from escapelint.report.warnings import InputWarning, SourceFileCheck, input_warnings
from escapelint.workflows.parallel import (
    Window,
    WindowResult,
    default_jobs,
    fragment_directory,
    parallel_windows,
    read_windows,
    remove_stale_fragments,
)
from escapelint.workflows.signals import terminated_like_interrupted

#: The exit status of a run stopped by SIGTERM: 128 + 15, as a shell reports a process SIGTERM ended.


def report(
    source: str,
    targets: list[tuple[str, Path]],
    *,
    overwrite: bool = False,
    source_root: Path | None = None,
    jobs: int | None = None,
) -> ReportResult:
    """Read `go build -gcflags=-m=2` output from `source` and write every (format, path) target in one pass.

    Each package is read, analysed (escapelint.analyze.findings) and handed to every writer while the rest of the
    input is still unread. `json` is written here (escapelint.report.json); the other formats by escapelint.report.formats.
    A large input file is read by `jobs` processes (default: one per CPU, at most 4), with the same
    result as one (parallel.py beside this). Every target is checked before the input is read
    (escapelint.report.formats.check_format_targets; an OutputError): a file named as a target is
    replaced whole, a report directory escapelint did not write is refused unless `overwrite`, and no
    target may be the input or share a file with another.

    SIGTERM (in the main thread, unless the caller handles it) stops the run as Ctrl-C does: every
    output is left as it was, the workers are stopped and the temporary files removed; then
    `Terminated` (a SystemExit, status 143) is raised.
    The result holds the line accounting and the warnings (escapelint.report.warnings) the JSON
    document lists too: an input that is not compiler output, without escape diagnostics, or whose
    Go files are not under `source_root` (the workers say which files their packages name).
    """
    with terminated_like_interrupted():
        return _report(source, targets, overwrite=overwrite, source_root=source_root, jobs=jobs)


def _report(
    source: str,
    targets: list[tuple[str, Path]],
    *,
    overwrite: bool,
    source_root: Path | None,
    jobs: int | None,
) -> BuildStats:
    from escapelint.report.facts import BuildFacts
    from escapelint.report.formats import check_format_targets, write_reports

    check_format_targets(targets, overwrite=overwrite, input=source)
    json_targets = [path for name, path in targets if name == "json"]
    others = [(name, path) for name, path in targets if name != "json"]
    name = "<stdin>" if source == STDIN else source
    sources = SourceLocator(source_root if source_root is not None else Path.cwd())
    source_check = SourceFileCheck(sources)
    with contextlib.ExitStack() as stack:
        stack.enter_context(paused())  # until the report is written (escapelint.gc_pause says why)
        json_writers = []
        for path in json_targets:
            out = stack.enter_context(open_report_output(path))
            json_writers.append(JsonReportWriter(out, name))
        windows = parallel_windows(source, jobs)  # reads the input: only once the outputs are known writable
        if windows is None:
            reader = BuildReader()
            stats = reader.stats
            analysed = _read_here(reader, stack.enter_context(open_build_output(source)), sources, json_writers)
        else:
            remove_stale_fragments()
            stats = BuildStats()
            fragments = Path(stack.enter_context(fragment_directory())) if json_writers else None
            analysed = _read_in_workers(
                Path(source), windows, jobs or default_jobs(), name, sources, fragments, json_writers, stats,
                keep_findings=bool(others), source_check=source_check,
            )
        # Closed before the fragments' directory is removed, also when a writer fails.
        stack.enter_context(contextlib.closing(analysed))
        analysed = _noting_source_files(analysed, source_check)
        computed: list[list[InputWarning]] = []

        def warnings_once() -> list[InputWarning]:  # once the input is read: for the index and the JSON
            if not computed:
                computed.append(input_warnings(stats, name, source_check))
            return computed[0]

        for writer in json_writers:
            writer.begin()
        try:
            if others:
                facts = BuildFacts.for_input(name)
                write_reports(analysed, facts, lambda: stats, others, overwrite=overwrite, sources=sources,
                              warnings_provider=warnings_once)  # fmt: skip
            else:
                for _ in analysed:
                    pass
        except UnicodeDecodeError as exc:  # only possible for a non-UTF-8 locale on stdin
            raise InputError(f"{name}: cannot decode input: {exc}") from None
        for writer in json_writers:
            writer.end(stats, warnings_once())
    return ReportResult(stats, warnings_once())


def write_build_reports(
    packages: Iterable[PackageFindings],
    facts: BuildFacts,
    stats_provider: Callable[[], BuildStats],
    targets: list[tuple[str, Path]],
    *,
    overwrite: bool = False,
    sources: SourceLocator | None = None,
    warnings_provider: Callable[[], list[InputWarning]] = list,
) -> None:
    """Every format, `json` included, from packages already read and analysed (a build escapelint ran).

    `json` streams the events of each package as it passes (escapelint.report.json); the other
    formats are written by escapelint.report.formats.write_reports in the same pass. A failure
    leaves every previous output as it was.
    """
    from escapelint.report.formats import write_reports

    json_targets = [path for name, path in targets if name == "json"]
    others = [(name, path) for name, path in targets if name != "json"]
    with contextlib.ExitStack() as stack:
        writers = [JsonReportWriter(stack.enter_context(open_report_output(path)), facts.input_name) for path in json_targets]
        for writer in writers:
            writer.begin()

        def tee() -> Iterator[PackageFindings]:
            for package in packages:
                for writer in writers:
                    writer.package(package)
                yield package

        if others:
            write_reports(tee(), facts, stats_provider, others, overwrite=overwrite, sources=sources,
                          warnings_provider=warnings_provider)  # fmt: skip
        else:
            for _ in tee():
                pass
        for writer in writers:
            writer.end(stats_provider(), warnings_provider())


@dataclass(frozen=True)
class ReportResult:
    stats: BuildStats  # every input line's role
    warnings: list[InputWarning]  # why the report may be silently wrong (escapelint.report.warnings)


def _noting_source_files(packages: Iterator[PackageFindings], check: SourceFileCheck) -> Iterator[PackageFindings]:
    for package in packages:
        check.add(package)
        yield package


def _read_here(
    reader: BuildReader, lines: TextIO, sources: SourceLocator, json_writers: list[JsonReportWriter]
) -> Iterator[PackageFindings]:
    """Read, analyse and write in this process, a package at a time; each package's leaks are counted
    in before its analysis, for the packages after it (escapelint.analyze.leaks)."""
    leaks = LeakSummaries()
    for output in reader.packages(lines):
        leaks.add_output(output)
        package = analyze(output, sources, leaks)
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
    source_check: SourceFileCheck,
) -> Iterator[PackageFindings]:
    """Read in worker processes (parallel.py); put their JSON and findings in input order."""
    results = read_windows(
        source, windows, jobs, input_name=name, sources=sources, fragments=fragments, keep_findings=keep_findings
    )
    # Closed on the way out, also on an error: the workers stop before their fragments are removed.
    with contextlib.closing(results):
        yield from _in_order_checked(results, source, json_writers, stats, source_check)


def _in_order_checked(
    results: Iterator[WindowResult],
    source: Path,
    json_writers: list[JsonReportWriter],
    stats: BuildStats,
    source_check: SourceFileCheck,
) -> Iterator[PackageFindings]:
    for result in results:
        if result.first_line != stats.lines:  # the line counter and the reader disagree on line ends: a bug
            raise RuntimeError(
                f"internal error: window {result.index} of {source} starts at line {result.first_line + 1}, "
                f"the windows before it end at line {stats.lines}; rerun with --jobs 1"
            )
        stats.add(result.stats)
        # Findings that come back are counted as they pass (_noting_source_files); the others here.
        source_check.add_names(result.named_files, None if result.findings is not None else Counter(result.unread_verdicts or {}))
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
    return report(source, [("json", path)], overwrite=overwrite, source_root=source_root, jobs=jobs).stats
