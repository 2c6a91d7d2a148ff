"""Build output read a package block at a time, each block's results taken from the cache or made and stored.

A block (escapelint.workflows.cache) is the bytes from one package header line up to the next. For each
one: its digest, the lookup, and on a hit the stored JSON text and findings (their line numbers moved
to where the block is now); on a miss the block is read (escapelint.read), analysed
(escapelint.analyze.findings), written as JSON, and stored. A file of output (cached_read.py, in
this process or in workers) and the builds escapelint runs (audit.py) all read through `read_block`,
so every reader of blocks gives the same bytes, cached or not.

A block's JSON text is written to `fragments`, a directory of the run's, and the caller copies it from
there into the report (`BlockResult.json`): a hit's text is linked there from the cache entry, or
copied, or rewritten with its line numbers moved.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from escapelint.analyze.leaks import LeakSummaries
from escapelint.events import BuildStats, UnrecognizedLine
from escapelint.read.assembler import BuildReader
from escapelint.read.classifier import LineClassifier
from escapelint.read.messages import PackageHeader
from escapelint.report.json import JsonReportWriter
from escapelint.workflows.cache import (
    FINDINGS,
    JSON,
    BlockHasher,
    BlockMeta,
    CacheContext,
    Dependency,
    Entry,
    RecordingSourceLocator,
    ResultCache,
    dump_findings,
    load_findings,
    shift_findings,
    shift_json,
)


if TYPE_CHECKING:
    from escapelint.analyze.findings import PackageFindings


@dataclass(frozen=True)
class JsonPiece:
    """A block's JSON text: the first `length` bytes of `path` (a file of the run's), `packages` packages;
    or of `handle`, the checked cache entry itself, open, when the process that copies the text into
    the report took it from the cache (whoever copies it closes it; `path` is None then)."""

    path: Path | None
    length: int
    packages: int
    handle: BinaryIO | None = None


@dataclass
class BlockResult:
    """What one block gave, cached or not."""

    first_line: int
    stats: BuildStats
    unrecognized: list[tuple[UnrecognizedLine, str | None]]
    named_files: frozenset[str]
    json: JsonPiece | None  # when JSON was asked for
    findings: list[PackageFindings] | None  # when findings were asked for
    hit: bool
    unread_verdicts: dict[str, int] | None = None  # verdicts that needed an unread source, by category


def read_block(
    lines: Callable[[], Iterable[str]],
    digest: str,
    first_line: int,
    *,
    cache: ResultCache,
    context: CacheContext,
    sources: RecordingSourceLocator,
    classifier: LineClassifier,
    fragments: Path | None,
    want_findings: bool,
    leaks: LeakSummaries | None = None,
    own_leaks: tuple[tuple[str, str], ...] | None = None,
) -> BlockResult:
    """The results of one block: `lines()` opens its text, `digest` is its digest (BlockHasher).

    JSON is written when `fragments` is given (the directory for its text), findings kept when
    `want_findings`. The cache is asked first; what it lacks is made and stored. `leaks` is the
    build-wide leak table (escapelint.analyze.leaks), holding this block's package already: the
    packages the analysis followed into are dependencies of the entry, as the source files are.
    `own_leaks`: the block's own packages' identities in that table, stored with its results.
    """
    found = look_up_block(
        digest, first_line, cache=cache, context=context, fragments=fragments, want_findings=want_findings,
        identity=None if leaks is None else leaks.identity,
    )  # fmt: skip
    if found is not None:
        return found
    key = context.key(digest)
    return _made(lines, key, first_line, cache, sources, classifier, fragments, want_findings, leaks, own_leaks)


def look_up_block(
    digest: str, first_line: int, *, cache: ResultCache, context: CacheContext, fragments: Path | None,
    want_findings: bool, identity: Callable[[str], str] | None,
) -> BlockResult | None:
    """The block's results when the cache holds them, else None, with other packages' leaks known by
    `identity` (LeakSummaries.identity, or the identities the cache states: escapelint.workflows.cached_read;
    None: an entry that depends on another package's leaks is not current)."""
    key = context.key(digest)
    want_json = fragments is not None
    root = context.source_root
    json_entry = cache.lookup(key, JSON, root, identity) if want_json else None
    findings_entry = None
    if want_findings and (json_entry is not None or not want_json):
        findings_entry = cache.lookup(key, FINDINGS, root, identity)
    try:
        if (json_entry is not None or not want_json) and (findings_entry is not None or not want_findings):
            return from_entries(json_entry, findings_entry, first_line, fragments)
    finally:
        for entry in (json_entry, findings_entry):
            if entry is not None:
                entry.close()
    return None


def from_entries(
    json_entry: Entry | None, findings_entry: Entry | None, first_line: int, fragments: Path | None,
    *, in_place: bool = False,
) -> BlockResult:
    """A hit's results from its open, checked entries (the JSON's text put in `fragments`, or with
    `in_place`, for the process that copies it into the report, left in the entry when no line moves)."""
    some = json_entry or findings_entry
    assert some is not None
    meta = some.meta.shifted(first_line)
    delta = first_line - some.meta.first_line
    piece = None
    if json_entry is not None:
        assert fragments is not None
        piece = _json_fragment(json_entry, delta, fragments, in_place)
    findings = None
    if findings_entry is not None:
        findings = shift_findings(load_findings(findings_entry), first_line - findings_entry.meta.first_line)
    return BlockResult(
        first_line, meta.stats, list(meta.unrecognized), meta.named_files, piece, findings, hit=True,
        unread_verdicts=dict(meta.unread_verdicts),
    )


def _json_fragment(entry: Entry, delta: int, fragments: Path, in_place: bool = False) -> JsonPiece:
    """The entry's JSON text in the run's fragment directory: linked when no line moves, else rewritten.
    `in_place`: when no line moves, the entry itself, open (the inode checked, whatever its name holds
    by now). A warm report on Go's std made and removed 268 links for nothing (0.04 s)."""
    packages = entry.meta.packages_written
    if not delta and in_place:
        return JsonPiece(None, entry.body_length, packages, os.fdopen(os.dup(entry.handle.fileno()), "rb"))
    target = fragments / f"hit-{os.urandom(8).hex()}.json"
    if not delta:
        if _link_open_entry(entry, target):
            return JsonPiece(target, entry.body_length, packages)
        with open(target, "wb") as out:
            _copy_range(entry.handle.fileno(), out, entry.body_length)
        return JsonPiece(target, entry.body_length, packages)
    with open(target, "wb", buffering=1 << 20) as out:
        shift_json(entry, delta, out)
        length = out.tell()
    return JsonPiece(target, length, packages)


def _link_open_entry(entry: Entry, target: Path) -> bool:
    """Hard-link the entry that is open (not whatever its name holds by now) to `target`, if possible."""
    try:
        os.link(entry.path, target)
    except OSError:  # another file system, no hard links, or gone since it was verified
        return False
    try:
        linked, held = os.stat(target), os.fstat(entry.handle.fileno())
        if (linked.st_dev, linked.st_ino) == (held.st_dev, held.st_ino):
            return True
    except OSError:
        pass
    target.unlink(missing_ok=True)  # another run replaced the entry meanwhile: copy the one verified
    return False


def _copy_range(source: int, out, length: int) -> None:
    offset = 0
    while offset < length:
        piece = os.pread(source, min(4 << 20, length - offset), offset)
        if not piece:
            raise OSError("cache entry shorter than it says")
        out.write(piece)
        offset += len(piece)


def _made(
    lines: Callable[[], Iterable[str]],
    key: str,
    first_line: int,
    cache: ResultCache,
    sources: RecordingSourceLocator,
    classifier: LineClassifier,
    fragments: Path | None,
    want_findings: bool,
    leaks: LeakSummaries | None = None,
    own_leaks: tuple[tuple[str, str], ...] | None = None,
) -> BlockResult:
    """Read and analyse the block; write its JSON and findings entries as it goes, and store them."""
    from escapelint.analyze.findings import analyze  # here: a run that only reuses results never loads the rules

    reader = BuildReader(classifier)
    json_out = cache.new_entry(key, JSON, fragments) if fragments is not None else None
    writer = None if json_out is None else JsonReportWriter(json_out.text(), "")
    packages: list[PackageFindings] = []
    unrecognized: list[tuple[UnrecognizedLine, str | None]] = []
    named: set[str] = set()
    unread: dict[str, int] = {}
    sources.take()  # what earlier blocks noted is theirs
    if leaks is not None:
        # Callee analyses kept from earlier blocks are reused: each notes what it reads itself
        # (RecordingSourceLocator.for_callee_package), and the block lists the notes of those it used.
        leaks.recording = {}
        leaks.followed = {}
    text = lines()
    try:
        for output in reader.packages(text, first_line):
            named.update(e.position.file for e in output.events)
            unrecognized.extend((u, output.path) for u in output.unrecognized)
            package = analyze(output, sources, leaks)
            for finding in package.findings:
                if finding.unread_source:
                    unread[finding.category] = unread.get(finding.category, 0) + 1
            if writer is not None:
                writer.package(package)
            if want_findings:
                packages.append(package)
        meta = BlockMeta(
            first_line, reader.stats, 0 if writer is None else writer.packages_written,
            tuple(unrecognized), frozenset(named), tuple(sources.take(_callee_recorders(leaks))) + _followed_packages(leaks),
            tuple(sorted(unread.items())), own_leaks,
        )  # fmt: skip
        piece = None
        if json_out is not None:
            json_out.finish(meta)
            piece = JsonPiece(json_out.path, json_out.body_length, meta.packages_written)
            json_out = None
            cache.store_fragment(piece.path, key, JSON)
    except BaseException:
        if json_out is not None:
            json_out.abandon()
        raise
    finally:
        close = getattr(text, "close", None)
        if close is not None:
            close()
    if want_findings:
        _store_findings(cache, key, packages, meta)
    return BlockResult(first_line, reader.stats, unrecognized, frozenset(named), piece,
                       packages if want_findings else None, hit=False, unread_verdicts=unread)  # fmt: skip


def _store_findings(cache: ResultCache, key: str, packages: list[PackageFindings], meta: BlockMeta) -> None:
    """Pickle the block's findings into the cache; a failure (a full disk) turns the cache off."""
    out = cache.new_entry(key, FINDINGS)
    if out is None:
        return
    try:
        dump_findings(packages, out.binary)
        out.finish(meta)
    except OSError as exc:
        out.abandon()
        cache.turn_off(f"cannot write {cache.tmp}: {exc.strerror or exc}")
        return
    except BaseException:
        out.abandon()
        raise
    cache.store_entry(out.path, key, FINDINGS)


#: A block of a pipe is held in memory up to this size, and in a temporary file beyond it.
SPOOL_IN_MEMORY = 8 << 20


def pipe_blocks(
    chunks: Iterable[bytes], classifier: LineClassifier, spool_directory: Path | None = None
) -> Iterator[tuple[str, tempfile.SpooledTemporaryFile]]:
    """The blocks of a stream (a `go build` pipe, its lines split at "\n" only), given in pieces of
    any size (RunningBuild.raw_chunks): (digest, the block's bytes, spooled), in order. A block starts
    at each line the reader takes for a package header, but for the stream's first.

    Pieces, not lines: spooling and hashing Go 1.22's std output (2.2 million lines) one line at a time
    took 1.6-1.9 s, in pieces 0.4-0.6 s. A piece is cut where a header line starts, found by its "#"
    (a one-byte search).
    """
    blocks = _SpooledBlocks(classifier, spool_directory)
    unfinished: list[bytes] = []  # the start of a line that goes on in a later piece
    for chunk in chunks:
        if b"\n" not in chunk:
            if chunk:
                unfinished.append(chunk)
            continue
        data = b"".join([*unfinished, chunk]) if unfinished else chunk
        end = data.rfind(b"\n") + 1
        yield from blocks.feed(data, end)
        unfinished = [data[end:]] if end < len(data) else []
    if unfinished:  # the last line, without a line end
        data = b"".join(unfinished)
        yield from blocks.feed(data, len(data))
    yield from blocks.finish()


class _SpooledBlocks:
    """pipe_blocks' current block: its spool and digest, and where the next one starts."""

    def __init__(self, classifier: LineClassifier, spool_directory: Path | None) -> None:
        self._classifier = classifier
        self._directory = spool_directory
        self._spool: tempfile.SpooledTemporaryFile | None = None
        self._digest: BlockHasher | None = None  # both None until the block's first byte

    def feed(self, data: bytes, end: int) -> Iterator[tuple[str, tempfile.SpooledTemporaryFile]]:
        """Take data[:end], whole lines (the last may lack its line end only at the stream's end)."""
        start = 0
        at = data.find(b"#", 0, end)
        while at >= 0:
            if at and data[at - 1] != 0x0A:  # not at a line's start
                at = data.find(b"#", at + 1, end)
                continue
            line_end = data.find(b"\n", at, end)
            line_end = end if line_end < 0 else line_end + 1
            if (self._spool is not None or at > start) and _is_header(data[at:line_end], self._classifier):
                self._write(data[start:at])
                yield from self.finish()
                start = at
            at = data.find(b"#", line_end, end)
        self._write(data[start:end])

    def finish(self) -> Iterator[tuple[str, tempfile.SpooledTemporaryFile]]:
        """The current block, if it has begun; the next starts afresh."""
        if self._spool is not None:
            spool, digest = self._spool, self._digest
            self._spool = self._digest = None
            spool.seek(0)
            yield digest.hexdigest(), spool

    def _write(self, data: bytes) -> None:
        if not data:
            return
        if self._spool is None:
            self._spool = tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY, dir=self._directory)
            self._digest = BlockHasher()
        self._spool.write(data)
        self._digest.update(data)


def _is_header(raw: bytes, classifier: LineClassifier) -> bool:
    text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
    return isinstance(classifier.classify(text)[1], PackageHeader)


def spooled_lines(spool) -> Iterator[str]:
    """The lines of a spooled block, decoded as RunningBuild.lines decodes them."""
    spool.seek(0)
    for raw in spool:
        yield raw.decode("utf-8", errors="replace")


def _callee_recorders(leaks: LeakSummaries | None) -> list[RecordingSourceLocator]:
    """The recorders of the callee analyses the block used (what they read is the block's dependency too)."""
    if leaks is None:
        return []
    found = [getattr(analysis, "locator", None) for analysis in leaks.followed.values()]
    return [locator for locator in found if isinstance(locator, RecordingSourceLocator)]


def _followed_packages(leaks: LeakSummaries | None) -> tuple[Dependency, ...]:
    """The packages the block's analysis looked up in the leak table, as dependencies; recording ends."""
    if leaks is None or leaks.recording is None:
        return ()
    recorded, leaks.recording = leaks.recording, None
    leaks.followed = {}
    return tuple(Dependency("package", path, identity) for path, identity in sorted(recorded.items()))
