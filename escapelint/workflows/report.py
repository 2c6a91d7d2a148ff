"""Reports from a file of build output (`report`, with worker processes for a large one), and every format from a build escapelint ran (`write_build_reports`)."""

from __future__ import annotations

from collections import Counter

import contextlib
import functools
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from escapelint.analyze.source import SourceLocator
from escapelint.events import BuildStats
from escapelint.gc_pause import paused
from escapelint.read.input import STDIN, InputError, open_build_output, ready_for_lines, starts_like_json
from escapelint.report.facts import BuildFacts
from escapelint.report.json import JsonReportWriter
from escapelint.report.options import ReportOptions
from escapelint.report.output import open_report_output
from escapelint.report.warnings import InputWarning, SourceFileCheck, input_warnings
from escapelint.workflows.cache import ResultCache, context_for
from escapelint.workflows.cached_read import ReadSettings, read_cached
from escapelint.workflows.parallel import (
    WindowPlan,
    default_jobs,
    fragment_directory,
    parallel_jobs,
    parallel_plan,
    read_windows,
    remove_stale_fragments,
)
from escapelint.workflows.signals import terminated_like_interrupted

if TYPE_CHECKING:
    # Annotations only. The analysis is imported where a package is analysed, the cost model with a
    # profile: a report whose every package comes from the cache loads neither (about 50 ms).
    from escapelint.analyze.cost import CostAttribution
    from escapelint.analyze.findings import PackageFindings
    from escapelint.read.assembler import BuildReader
    from escapelint.read.heap_profile import HeapProfile

#: The exit status of a run stopped by SIGTERM: 128 + 15, as a shell reports a process SIGTERM ended.


def report(
    source: str | Sequence[str],
    targets: list[tuple[str, Path]],
    *,
    overwrite: bool = False,
    source_root: Path | None = None,
    jobs: int | None = None,
    profiles: list[HeapProfile] | None = None,
    cache: ResultCache | None = None,
    options: ReportOptions | None = None,
) -> ReportResult:
    """Read `go build -gcflags=-m=2` output from `source` and write every (format, path) target in one pass.

    `source` may also be escapelint JSON reports, one or several (a list): the shards of one build,
    merged (`_report_from_json`). An input is a JSON report when its first non-blank character is "{".

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

    With `profiles` (heap profiles of the same build, escapelint.workflows.profile), every package is
    read before anything is written, in this process: the cost of a site depends on every site on its
    line (escapelint.analyze.cost), and the result's `costs` holds the attribution.

    With a `cache` (escapelint.workflows.cache), a file (not standard input) is read a package block
    at a time, and a block read before with the same bytes, options and source files is taken from
    the cache: the reports are the same, byte for byte.

    `options` are the HTML pages' choices (escapelint.report.options: source views, editor links).
    """
    inputs = [source] if isinstance(source, str) else list(source)
    if not inputs:
        raise InputError("no input given")
    with terminated_like_interrupted():
        from escapelint.report.formats import check_format_targets

        for each in inputs:
            check_format_targets(targets, overwrite=overwrite, input=each)
        with contextlib.ExitStack() as stack:
            handles = [stack.enter_context(open_build_output(each)) for each in inputs]
            reports = [starts_like_json(handle) for handle in handles]
            if all(reports):
                if profiles is not None:
                    raise InputError(
                        "--profile is joined to compiler output, not to escapelint JSON reports: pass it to the "
                        "run that reads each shard's compiler output"
                    )
                return _report_from_json(inputs, handles, targets, overwrite=overwrite, source_root=source_root,
                                         options=options)  # fmt: skip
            _refuse_mixed_inputs(inputs, reports)
            # A regular file is opened again by the reader (or its workers); what can be read only once
            # (standard input, a pipe) is read from the handle that looked at it.
            opened = None if _regular_file(handles[0]) else handles[0]
            if opened is None:
                stack.close()
            return _report(inputs[0], targets, overwrite=overwrite, source_root=source_root, jobs=jobs, opened=opened,
                           profiles=profiles, cache=cache, options=options)  # fmt: skip


def _refuse_mixed_inputs(inputs: list[str], reports: list[bool]) -> None:
    """Several inputs are merged only as JSON reports: compiler output is read one file at a time."""
    if len(inputs) == 1:
        return
    text = [_shown(name) for name, is_report in zip(inputs, reports) if not is_report]
    json_reports = [_shown(name) for name, is_report in zip(inputs, reports) if is_report]
    what = (
        f"{text[0]} is compiler output and {json_reports[0]} an escapelint JSON report"
        if json_reports
        else f"{text[0]} and {text[1]} are compiler output"
    )
    raise InputError(
        f"{what}: several inputs are merged only as escapelint JSON reports; turn each file of compiler "
        f"output into one first (escapelint report FILE --format json --output FILE.json)"
    )


def _shown(name: str) -> str:
    return "<stdin>" if name == STDIN else name


def _file_identity(handle: TextIO) -> tuple[int, int] | None:
    """(device, inode) of a regular file, to tell when one is given twice (under two names, too)."""
    if not _regular_file(handle):
        return None
    status = os.fstat(handle.fileno())
    return status.st_dev, status.st_ino


def _regular_file(source: TextIO | str) -> bool:
    """An open handle or a named input that is a regular file saying how big it is: one that can be
    opened again and read in pieces. Not standard input or a pipe, nor what /proc shows as regular
    files that say 0 (those are read once, as they come)."""
    try:
        if isinstance(source, str):
            if source == STDIN:
                return False
            status = os.stat(source)
        else:
            status = os.fstat(source.fileno())
    except (AttributeError, OSError, ValueError):  # a test runner's stand-in for standard input
        return False
    return stat.S_ISREG(status.st_mode) and status.st_size > 0


def _report(
    source: str,
    targets: list[tuple[str, Path]],
    *,
    overwrite: bool,
    source_root: Path | None,
    jobs: int | None,
    opened: TextIO | None = None,
    profiles: list[HeapProfile] | None = None,
    cache: ResultCache | None = None,
    options: ReportOptions | None = None,
) -> ReportResult:
    from escapelint.report.facts import BuildFacts
    from escapelint.report.formats import write_reports

    json_targets = [path for name, path in targets if name == "json"]
    others = [(name, path) for name, path in targets if name != "json"]
    name = "<stdin>" if source == STDIN else source
    sources = SourceLocator(source_root if source_root is not None else Path.cwd())
    cache_problems: list[str | None] = []  # the workers' (escapelint.workflows.parallel)
    source_check = SourceFileCheck(sources)
    with contextlib.ExitStack() as stack:
        stack.enter_context(paused())  # until the report is written (escapelint.gc_pause says why)
        json_writers = []
        for path in json_targets:
            out = stack.enter_context(open_report_output(path))
            json_writers.append(JsonReportWriter(out, name))
        costs = None
        # With a profile the input is read here and whole before anything is written (the docstring says
        # why), without the cache: a site's cost depends on the whole build, not on its block alone.
        # Reads the input: only once the outputs are known writable. What is already open is read here.
        # Standard input or a pipe is read once, as it comes; a cache that is off is not asked.
        active = cache if profiles is None and opened is None and cache is not None and cache.on and _regular_file(source) else None
        window_plan = None
        if profiles is None and opened is None and active is None:
            window_plan = parallel_plan(source, jobs)
        if window_plan is None and active is None:  # read in this process: with a profile, what is open, one job
            from escapelint.read.assembler import BuildReader

            reader = BuildReader()
            stats = reader.stats
            lines = ready_for_lines(opened if opened is not None else stack.enter_context(open_build_output(source)))
            if profiles is None:
                analysed = _read_here(reader, lines, sources, json_writers)
            else:
                from escapelint.workflows.profile import attribute_build

                read = list(_read_here(reader, lines, sources, []))
                costs = attribute_build(read, profiles, source_root if source_root is not None else Path.cwd())
                for writer in json_writers:
                    writer.costs = costs
                analysed = _written_to(iter(read), json_writers)
        else:
            remove_stale_fragments()
            stats = BuildStats()
            fragments = Path(stack.enter_context(fragment_directory())) if json_writers else None
            if active is not None:
                workers = parallel_jobs(source, jobs)
                if workers == 1:
                    stack.enter_context(open_build_output(source)).close()  # its errors, as without the cache
                settings = ReadSettings(Path(source), active, context_for(sources, "universal"), sources, fragments, bool(others))
                analysed = _read_through_cache(settings, workers, json_writers, stats, source_check, cache_problems)
            else:
                analysed = _read_in_workers(
                    Path(source), window_plan, jobs or default_jobs(), name, sources, fragments, json_writers, stats,
                    keep_findings=bool(others), source_check=source_check,
                )
        # Closed before the fragments' directory is removed, also when a writer fails.
        stack.enter_context(contextlib.closing(analysed))
        analysed = _noting_source_files(analysed, source_check)
        # Computed once, when first asked for: after the input is read, for the index and the JSON.
        warnings_once = functools.cache(lambda: input_warnings(stats, name, source_check))

        for writer in json_writers:
            writer.begin()
        try:
            if others:
                facts = BuildFacts.for_input(name)
                write_reports(analysed, facts, lambda: stats, others, overwrite=overwrite, sources=sources,
                              warnings_provider=warnings_once, costs=costs,
                              options=options)  # fmt: skip
            else:
                for _ in analysed:
                    pass
        except UnicodeDecodeError as exc:  # only possible for a non-UTF-8 locale on stdin
            raise InputError(f"{name}: cannot decode input: {exc}") from None
        for writer in json_writers:
            writer.end(stats, warnings_once())
    cache_problem = None
    if cache is not None:
        cache_problem = cache.problem or next((p for p in cache_problems if p), None)
        if cache.on:
            cache.trim()
    return ReportResult(stats, warnings_once(), costs, cache_problem)


def _report_from_json(
    inputs: list[str],
    handles: list[TextIO],
    targets: list[tuple[str, Path]],
    *,
    overwrite: bool,
    source_root: Path | None,
    options: ReportOptions | None = None,
) -> ReportResult:
    """Merge escapelint JSON reports, the shards of one build, into the reports one input of them all gives.

    Each document's packages follow those of the documents before it (in the order given), their input
    line numbers moved on by the lines of those documents: the reports are the same, byte for byte, as
    those of one input holding the shards' compiler output one after the other (tests/test_json_input.py).
    A package (import path and test variant) in two documents is an error: the shards of one build
    never share a package, and merging one twice would count its lines twice. Every document's head
    (schema, escapelint version) is checked before anything is written. The warnings are decided
    again on the merged line accounting and the source root, as for one input; the merged document's
    "input" is the shards' (one name when they agree, as `<stdin>` for shards piped in). The verdicts
    are the documents' own: nothing is analysed again. One process reads (`--jobs` does not apply).
    """
    from escapelint.report.json_input import read_head, read_report

    names = [_shown(name) for name in inputs]
    files: dict[tuple[int, int], str] = {}  # checked first: nothing is written for a report given twice
    for handle, name in zip(handles, names):
        key = _file_identity(handle)
        if key is None:
            continue
        if key in files:
            what = f"{name} is given twice" if files[key] == name else f"{files[key]} and {name} are the same file"
            raise InputError(f"{what}: the shards of one build never share a package")
        files[key] = name
    texts: list[str | None] = []
    heads = []
    for handle, name in zip(handles, names):
        text = handle.read()
        heads.append(read_head(text, name))
        texts.append(None if _regular_file(handle) else text)  # a file is read again when its turn comes
    input_name = ", ".join(dict.fromkeys(head.input for head in heads))
    sources = SourceLocator(source_root if source_root is not None else Path.cwd())
    source_check = SourceFileCheck(sources)
    stats = BuildStats()  # the merged accounting, complete once every document is read

    def merged() -> Iterator[PackageFindings]:
        owners: dict[tuple[str, str | None], int] = {}
        for index, name in enumerate(names):
            text = texts[index]
            if text is None:
                with open_build_output(inputs[index]) as handle:
                    text = handle.read()
            document = read_report(text, name)
            del text
            for package in document.packages(stats.lines):
                output = package.output
                if output.path is not None:
                    owner = owners.setdefault((output.path, output.test_variant), index)
                    if owner != index:
                        title = f"{output.path} [{output.test_variant}]" if output.test_variant else output.path
                        raise InputError(
                            f"{name}: package {title} is also in {names[owner]}: the shards of one build never "
                            "share a package (is one report given twice?)"
                        )
                source_check.add(package)
                yield package
            stats.add(document.stats)

    # Computed once, when first asked for: after every document is read.
    warnings_once = functools.cache(lambda: input_warnings(stats, input_name, source_check))

    with paused():  # until the report is written (escapelint.gc_pause says why)
        write_build_reports(merged(), BuildFacts.for_input(input_name), lambda: stats, targets, overwrite=overwrite,
                            sources=sources, warnings_provider=warnings_once, options=options)  # fmt: skip
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
    costs: CostAttribution | None = None,
    options: ReportOptions | None = None,
) -> None:
    """Every format, `json` included, from packages already read and analysed (a build escapelint ran).

    `costs` (a heap profile joined to these packages, escapelint.analyze.cost) adds the figures to
    every format.

    `json` streams the events of each package as it passes (escapelint.report.json); the other
    formats are written by escapelint.report.formats.write_reports in the same pass. A failure
    leaves every previous output as it was.
    """
    from escapelint.report.formats import write_reports

    json_targets = [path for name, path in targets if name == "json"]
    others = [(name, path) for name, path in targets if name != "json"]
    with contextlib.ExitStack() as stack:
        writers = [JsonReportWriter(stack.enter_context(open_report_output(path)), facts.input_name, costs)
                   for path in json_targets]  # fmt: skip
        for writer in writers:
            writer.begin()

        def tee() -> Iterator[PackageFindings]:
            for package in packages:
                for writer in writers:
                    writer.package(package)
                yield package

        if others:
            write_reports(tee(), facts, stats_provider, others, overwrite=overwrite, sources=sources,
                          warnings_provider=warnings_provider, costs=costs, options=options)  # fmt: skip
        else:
            for _ in tee():
                pass
        for writer in writers:
            writer.end(stats_provider(), warnings_provider())


@dataclass(frozen=True)
class ReportResult:
    stats: BuildStats  # every input line's role
    warnings: list[InputWarning]  # why the report may be silently wrong (escapelint.report.warnings)
    costs: CostAttribution | None = None  # the heap profiles' figures, when profiles were given
    cache_problem: str | None = None  # why the result cache went off during the run, if it did


def _written_to(packages: Iterator[PackageFindings], json_writers: list[JsonReportWriter]) -> Iterator[PackageFindings]:
    for package in packages:
        for writer in json_writers:
            writer.package(package)
        yield package


def _noting_source_files(packages: Iterator[PackageFindings], check: SourceFileCheck) -> Iterator[PackageFindings]:
    for package in packages:
        check.add(package)
        yield package


def _read_here(
    reader: BuildReader, lines: TextIO, sources: SourceLocator, json_writers: list[JsonReportWriter]
) -> Iterator[PackageFindings]:
    """Read, analyse and write in this process, a package at a time; each package's leaks are counted
    in before its analysis, for the packages after it (escapelint.analyze.leaks)."""
    from escapelint.analyze.findings import analyze
    from escapelint.analyze.leaks import LeakSummaries

    leaks = LeakSummaries()
    for output in reader.packages(lines):
        leaks.add_output(output)
        package = analyze(output, sources, leaks)
        for writer in json_writers:
            writer.package(package)
        yield package


def _read_in_workers(
    source: Path,
    plan: WindowPlan,
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
        source, plan, jobs, input_name=name, sources=sources, fragments=fragments, keep_findings=keep_findings
    )
    # Closed on the way out, also on an error: the workers stop before their fragments are removed.
    with contextlib.closing(results):
        for result in results:
            _check_line(result.first_line, stats, f"window {result.index} of {source}")
            stats.add(result.stats)
            # Findings that come back are counted as they pass (_noting_source_files); the others here.
            source_check.add_names(result.named_files, None if result.findings is not None else Counter(result.unread_verdicts or {}))
            if result.fragment is not None:
                for writer in json_writers:
                    writer.splice(result.fragment, result.packages_written, result.unrecognized)
                result.fragment.unlink()
            yield from result.findings or ()


def _check_line(first_line: int, stats: BuildStats, what: str) -> None:
    if first_line != stats.lines:  # the line counter and the reader disagree on line ends: a bug
        raise RuntimeError(
            f"internal error: {what} starts at line {first_line + 1}, "
            f"what is before it ends at line {stats.lines}; rerun with --jobs 1"
        )


def _splice_pieces(pieces, unrecognized, json_writers: list[JsonReportWriter]) -> None:
    """Copy each package block's JSON (escapelint.workflows.blocks) into the reports, and remove it."""
    for writer in json_writers:
        writer.splice(Path(), 0, unrecognized)
    for piece in pieces:
        # A piece is a file of the run's, or the cache entry itself, open (blocks.JsonPiece).
        with piece.handle or contextlib.nullcontext():
            for writer in json_writers:
                writer.splice(piece.handle or piece.path, piece.packages, (), piece.length)
        if piece.path is not None:
            piece.path.unlink()


def _read_through_cache(
    settings: ReadSettings,
    jobs: int,
    json_writers: list[JsonReportWriter],
    stats: BuildStats,
    source_check: SourceFileCheck,
    cache_problems: list[str | None],
) -> Iterator[PackageFindings]:
    """Read a file a package block at a time through the result cache (escapelint.workflows.cached_read)."""
    results = read_cached(settings, jobs)
    # Closed on the way out, also on an error: the workers stop before their fragments are removed.
    with contextlib.closing(results):
        for result, problem in results:
            _check_line(result.first_line, stats, f"the block of {settings.source} at line {result.first_line + 1}")
            stats.add(result.stats)
            # Findings that come back are counted as they pass (_noting_source_files); the others here.
            source_check.add_names(result.named_files, None if result.findings is not None else Counter(result.unread_verdicts or {}))
            _splice_pieces([] if result.json is None else [result.json], result.unrecognized, json_writers)
            cache_problems.append(problem)
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
