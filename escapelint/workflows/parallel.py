"""Read one large file of build output with several processes, with the same result as one process.

Why this is exact: `go build` prints each package's diagnostics as one block under its `# import/path`
line, and what escapelint concludes crosses a package in one way only (explanations, flows, functions,
fingerprints are all per package; BuildReader starts afresh at every header): a value passed to a
function of an earlier package is followed into that function's leak explanation. The parent finds
those explanations in the whole file first (escapelint.read.leak_scan: where they are and their
digests, not their text) and gives that table to every worker, which reads a package's text when a
value is followed into it. So the file is cut at package headers
into windows of whole packages. Each worker process reads, analyses and writes its windows as the
one-process pipeline does, starting its line count where the window starts; the parent puts the
results back in input order. A worker writes its share of the JSON document to a fragment file that
the parent copies into the output, so megabytes of text never pass through a pipe. (With the
result cache, a file is read by escapelint.workflows.cached_read, which uses the same workers' setup
and leak table for the blocks the cache does not hold.)

Why processes: the work is pure Python, so threads would queue on one interpreter lock. The workers
are forked, so they start at once with the grammar already compiled; elsewhere than on Linux, the
input is read by one process.

Nothing outlives the run: the workers die with the parent however it ends (`die_with_parent`; kill -9
too), and the parent removes the fragment directory on every way out but SIGKILL. What SIGKILL leaves,
a directory named after the pid of a process that no longer exists, the next parallel run removes
(`remove_stale_fragments`).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import queue
import shutil
import signal
import stat
import sys
import tempfile
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from escapelint.analyze.leaks import LeakSummaries
from escapelint.analyze.source import SourceLocator
from escapelint.events import BuildStats, UnrecognizedLine
from escapelint.gc_pause import pause_for_this_process
from escapelint.read.assembler import BuildReader
from escapelint.read.classifier import LineClassifier
from escapelint.read.input import WindowLines, file_snapshot
from escapelint.read.leak_scan import scan_leak_headers
from escapelint.read.messages import PackageHeader
from escapelint.report.json import JsonReportWriter
from escapelint.report.output import process_exists

if TYPE_CHECKING:
    from escapelint.analyze.findings import PackageFindings

#: The default number of workers is one per CPU up to this many: past it the biggest package (go/types
#: in the standard library) bounds the time anyway, and every worker holds a package in memory.
DEFAULT_MAX_JOBS = 4
#: Below this many bytes one process is quicker than starting several.
MIN_PARALLEL_BYTES = 16 << 20
#: Packages are grouped into windows of at least this many bytes, so that a build of many small
#: packages is not handed out one tiny package at a time.
MIN_WINDOW_BYTES = 1 << 20

_SCAN_PIECE = 8 << 20
COUNT_PIECE = 8 << 20
#: Fragment directories are named FRAGMENTS_PREFIX + the owner's pid + "-" + a random part.
FRAGMENTS_PREFIX = "escapelint-fragments-"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def default_jobs() -> int:
    """One worker per CPU this process may run on (its affinity mask where there is one), at most 4."""
    if hasattr(os, "sched_getaffinity"):
        cpus = len(os.sched_getaffinity(0))
    else:
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, DEFAULT_MAX_JOBS))


def can_fork() -> bool:
    """Whether workers can be forked: on Linux. (macOS has fork, but system libraries there may not
    survive it, which is why Python itself spawns there.)"""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


@dataclass(frozen=True)
class Window:
    """A run of whole packages of the input: bytes [start, end)."""

    index: int
    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class WindowPlan:
    """How one file is read by several processes: its windows, and the file as it was before it was
    cut (read.input.file_snapshot): a window read from the file rewritten since is an InputError, as
    with the result cache, never a report made of two files' bytes."""

    windows: list[Window]
    snapshot: tuple[int, ...]


@dataclass
class WindowResult:
    """What a worker hands back for one window: small things only; the JSON stays in `fragment`."""

    index: int
    first_line: int  # the lines of the input before the window
    stats: BuildStats
    fragment: Path | None  # the window's packages as JSON text (JsonReportWriter), if JSON was asked for
    packages_written: int
    unrecognized: list[tuple[UnrecognizedLine, str | None]]
    findings: list[PackageFindings] | None  # for the other report formats, which the parent writes
    named_files: frozenset[str] = frozenset()  # the files its events name (escapelint.report.warnings)
    unread_verdicts: dict[str, int] | None = None  # verdicts that needed an unread source, by category


def plan_windows(
    path: Path, *, min_window_bytes: int | None = None, start: int = 0, end: int | None = None
) -> list[Window]:
    """Cut the file (or its bytes [start, end), where `start` begins a line after a "\n") at package
    header lines into windows of whole packages, in input order. With `min_window_bytes` 0, every
    package header starts a window: the blocks of escapelint.workflows.cache."""
    if min_window_bytes is None:
        min_window_bytes = MIN_WINDOW_BYTES
    cuts = [start]
    classifier = LineClassifier()
    buffer = bytearray(_SCAN_PIECE)  # reused: scanning must not hold the file (or map it) in memory
    with path.open("rb", buffering=0) as handle:
        size = os.fstat(handle.fileno()).st_size if end is None else end
        handle.seek(start)
        offset = start
        previous = 0x0A  # the byte before the piece: a line starts at offset 0
        while offset < size:
            with memoryview(buffer) as view:
                read = handle.readinto(view[: min(_SCAN_PIECE, size - offset)])
            if not read:
                break
            # "#" is rare in compiler output outside package headers, and a one-byte search is the
            # fastest the bytes types offer.
            at = buffer.find(b"#", 0, read)
            while at >= 0:
                before = buffer[at - 1] if at else previous
                at_byte = offset + at
                if before == 0x0A and at_byte - cuts[-1] >= min_window_bytes and at_byte > cuts[-1] and _is_package_header(handle, at_byte, classifier):
                    cuts.append(at_byte)
                at = buffer.find(b"#", at + 1, read)
            previous = buffer[read - 1]
            offset += read
    cuts.append(max(size, cuts[-1]))
    return [Window(index, start, end) for index, (start, end) in enumerate(zip(cuts, cuts[1:]))]


def _is_package_header(handle, start: int, classifier: LineClassifier) -> bool:
    """Whether the line at byte `start` of the file is one the reader takes for a package header."""
    line = b""
    while b"\n" not in line:
        more = os.pread(handle.fileno(), 4096, start + len(line))
        if not more:
            break
        line += more
    text = line.split(b"\n", 1)[0].decode("utf-8", errors="replace").removesuffix("\r")
    if "\r" in text:  # a lone CR ends a line early: leave this one to the reader
        return False
    return isinstance(classifier.classify(text)[1], PackageHeader)


def count_line_ends(path: Path, start: int, end: int, buffer: bytearray | None = None) -> int:
    """How many lines end in bytes [start, end) of the file, counted as the reader counts them.

    Universal newlines: "\n", "\r\n" and a lone "\r" each end a line. `start` must begin a line
    after a "\n" (a window start), so that no CRLF is cut in two there. `buffer`: the one to read
    into (else one of COUNT_PIECE bytes is made).
    """
    if buffer is None:
        buffer = bytearray(COUNT_PIECE)  # one buffer, refilled: counting must not hold the file in memory
    piece = len(buffer)
    lines = 0
    cr_pending = False  # the byte before the piece was a CR
    with path.open("rb", buffering=0) as handle:
        handle.seek(start)
        while start < end:
            with memoryview(buffer) as view:
                read = handle.readinto(view[: min(piece, end - start)])
            if not read:
                break
            lines += buffer.count(b"\n", 0, read)
            # Most output has no CR: finding none (memchr) is twenty times cheaper than counting them.
            if buffer.find(b"\r", 0, read) >= 0:
                lines += buffer.count(b"\r", 0, read) - buffer.count(b"\r\n", 0, read)
            if cr_pending and buffer[0] == 0x0A:
                lines -= 1  # the LF of a CRLF whose CR ended the previous piece: one line end, not two
            cr_pending = buffer[read - 1] == 0x0D
            start += read
    return lines


# --- the worker side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    source: Path
    input_name: str
    sources: SourceLocator
    fragments: Path | None  # the directory for JSON fragments; None when no JSON is written
    keep_findings: bool
    parent: int  # the pid of the process that forks the workers
    leaks: LeakSummaries  # every package's leak explanations, read before the workers start
    snapshot: tuple[int, ...]  # WindowPlan.snapshot


_job: _Job | None = None
_classifier: LineClassifier | None = None


def _start_worker(job: _Job, classifier: LineClassifier) -> None:
    global _job, _classifier
    prepare_worker(job.parent)
    _job, _classifier = job, classifier


def prepare_worker(parent: int) -> None:
    """What every forked worker process does first (here and in escapelint.workflows.cached_read)."""
    die_with_parent(parent)
    # Like the one-process pipeline (report.py), which pauses the cyclic collector while it reads.
    pause_for_this_process()
    # Ctrl-C reaches the whole process group: the parent alone handles it, and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The parent's SIGTERM handler (report.py) is the parent's: the parent stops a worker with SIGTERM.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def die_with_parent(parent: int) -> None:
    """Have Linux SIGKILL this worker when its parent ends, however it ends (kill -9 too), so that no
    worker reads on for a report nobody will write.

    The request is tied to the thread that forked the worker, which is the parent's main thread for
    the workers of `read_windows` (a worker that the pool forks again to replace a dead one is
    stopped when the pool is). If the parent died before the request was in place, the worker's
    parent is already another process: it exits at once.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the parent's own cleanup is all there is
        pass
    if os.getppid() != parent:
        os._exit(1)


def _read_window(task: tuple[Window, int, int]) -> WindowResult:
    """Read, analyse and write one window. `task` also names an offset before the window whose line
    number the parent knows: the worker counts the lines from there itself."""
    from escapelint.analyze.findings import analyze  # here: the cached read imports this module's helpers only

    window, known_offset, known_lines = task
    job = _job
    assert job is not None and _classifier is not None, "worker not started"
    first_line = known_lines + count_line_ends(job.source, known_offset, window.start)
    reader = BuildReader(_classifier)
    findings: list[PackageFindings] | None = [] if job.keep_findings else None
    fragment = None if job.fragments is None else job.fragments / f"window-{window.index}.json"
    with WindowLines(job.source, window.start, window.end, job.snapshot) as lines:
        out = None if fragment is None else fragment.open("w", encoding="utf-8", newline="\n")
        try:
            writer = None if out is None else JsonReportWriter(out, job.input_name)
            named: set[str] = set()
            unread: dict[str, int] = {}
            for output in reader.packages(lines, first_line):
                named.update(e.position.file for e in output.events)
                package = analyze(output, job.sources, job.leaks)
                for finding in package.findings:
                    if finding.unread_source:
                        unread[finding.category] = unread.get(finding.category, 0) + 1
                if writer is not None:
                    writer.package(package)
                if findings is not None:
                    findings.append(package)
        finally:
            if out is not None:
                out.close()
    return WindowResult(
        window.index,
        first_line,
        reader.stats,
        fragment,
        0 if writer is None else writer.packages_written,
        [] if writer is None else writer.unrecognized,
        findings,
        frozenset(named),
        unread_verdicts=unread,
    )


# --- the parent side ---------------------------------------------------------------------------


def build_wide_leaks(source: Path) -> LeakSummaries:
    """The leak table of the whole file (escapelint.analyze.leaks), as one process reading it in order
    would have it for each package: a worker's window would otherwise see only its own packages."""
    leaks = LeakSummaries()
    for offset, path, text in scan_leak_headers(source):
        leaks.add_text(path, text, offset)
    return leaks


def read_windows(
    source: Path,
    plan: WindowPlan,
    jobs: int,
    *,
    input_name: str,
    sources: SourceLocator,
    fragments: Path | None,
    keep_findings: bool,
) -> Iterator[WindowResult]:
    """Every window's result, in input order, read by `jobs` forked worker processes.

    The biggest window goes first, so that the one huge package of a build (go/types holds 83 % of
    the Go 1.22 standard library's lines) is not started last; the rest follow in input order, so
    that the parent can copy their JSON into the output while the workers go on. Windows are handed
    out one at a time as workers finish (one spare in the queue), each with the nearest offset before
    it whose line number is known by then: the windows' line counts come back with their results,
    and a worker counts the few lines in between itself.
    """
    windows = plan.windows
    job = _Job(source, input_name, sources, fragments, keep_findings, os.getpid(), build_wide_leaks(source), plan.snapshot)
    context = multiprocessing.get_context("fork")
    biggest = max(windows, key=lambda w: w.size)
    order = deque([biggest, *(w for w in windows if w is not biggest)])
    known_lines = {0: 0}  # offset -> the lines before it
    finished: queue.SimpleQueue = queue.SimpleQueue()
    waiting: dict[int, WindowResult] = {}
    next_index = 0
    workers = min(jobs, len(windows))
    with context.Pool(workers, initializer=_start_worker, initargs=(job, LineClassifier())) as pool:
        in_flight = 0

        def hand_out() -> None:
            nonlocal in_flight
            while order and in_flight <= workers:
                window = order.popleft()
                anchor = max(offset for offset in known_lines if offset <= window.start)
                pool.apply_async(
                    _read_window,
                    ((window, anchor, known_lines[anchor]),),
                    callback=finished.put,
                    error_callback=finished.put,
                )
                in_flight += 1

        hand_out()
        while in_flight:
            result = finished.get()
            in_flight -= 1
            if isinstance(result, BaseException):
                raise result
            known_lines[windows[result.index].end] = result.first_line + result.stats.lines
            hand_out()
            waiting[result.index] = result
            while next_index in waiting:
                yield waiting.pop(next_index)
                next_index += 1


def parallel_plan(source: str, jobs: int | None) -> WindowPlan | None:
    """The windows to read `source` in with several processes, or None to read it with one.

    One process when asked (`jobs` 1), when there is one CPU, without fork, for standard input or
    anything but a regular file, for small inputs, or when the input has one package only.
    """
    if parallel_jobs(source, jobs) == 1:
        return None
    try:
        snapshot = file_snapshot(Path(source))  # before the file is cut: what the windows are cut from
        windows = plan_windows(Path(source))
    except OSError:
        return None  # unreadable: the one-process path says so
    return WindowPlan(windows, snapshot) if len(windows) > 1 else None


def parallel_jobs(source: str, jobs: int | None) -> int:
    """How many processes to read `source` with: 1 when asked, when there is one CPU, without fork,
    for standard input or anything but a regular file, and for small inputs; else `jobs` (default: one per CPU)."""
    if jobs is None:
        jobs = default_jobs()
    if jobs <= 1 or source == "-" or not can_fork():
        return 1
    path = Path(source)
    try:
        if not path.is_file() or path.stat().st_size < MIN_PARALLEL_BYTES:  # read at call time: tests lower it
            return 1
    except OSError:
        return 1  # unreadable: the one-process path says so
    return jobs


def fragment_directory() -> tempfile.TemporaryDirectory:
    """A new temporary directory for the workers' JSON fragments, named after this process."""
    return tempfile.TemporaryDirectory(prefix=f"{FRAGMENTS_PREFIX}{os.getpid()}-", ignore_cleanup_errors=True)


def remove_stale_fragments(directory: Path | None = None) -> None:
    """Remove the fragment directories that escapelint processes which no longer exist left in
    `directory` (default: the temporary directory): a run killed with SIGKILL cannot remove its own.

    Only this user's directories, named FRAGMENTS_PREFIX + a pid that no process has, are removed.
    """
    where = Path(tempfile.gettempdir()) if directory is None else directory
    try:
        entries = os.scandir(where)
    except OSError:
        return
    with entries:
        for entry in entries:
            if not entry.name.startswith(FRAGMENTS_PREFIX):
                continue
            owner = entry.name[len(FRAGMENTS_PREFIX) :].partition("-")[0]
            if not (owner.isascii() and owner.isdigit()) or process_exists(int(owner)):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid():
                shutil.rmtree(entry.path, ignore_errors=True)
