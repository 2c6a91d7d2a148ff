"""The per-package result cache: what a package block of build output gave last time, reused when it would give it again.

A *block* is a run of input bytes from one package header line up to the next (or the lines before
the first header): the unit the reader starts afresh at (escapelint.workflows.parallel says why), so
its results are a function of its bytes and of the few things below, and nothing else.

**The key** of a block is the SHA-256 of: the cache's format version, escapelint's version and a
fingerprint of its own code and grammar (`code_fingerprint`: any change to the reader, the rules or the
JSON writer makes every entry a miss), the options that change results (`context`: how the input is
cut into lines: a file reads "\\r" as a line end, a `go build` pipe only "\\n"), a digest of the facts
the block's results take from outside the block and that are known before the lookup (`facts`: none
today; see below), and the block's digest: the SHA-256 of the SHA-256 digests of its bytes in 16 MiB
pieces (`BlockHasher`), so that several threads can hash one big block. The source root is not in the key: the files
read under it are dependencies, named relative to it, so that two checkouts of one module (`diff`'s
base worktree and the working tree) share the entries of the packages whose files are the same.

**Dependencies** are what the results read that the key cannot know in advance: the Go source files
the rules read for facts (and the listing of their directories, since a global may be declared in any
file of a package). An entry lists each with its identity (the SHA-256 of the file's bytes, or that it
could not be read; the sorted `*.go` names of a directory); a hit requires every one to be the same
now, checked by reading them again (once per file per run). A dependency of another kind can be added
the same way (`Dependency.kind`): a package's results that depend on *another* package's output (a
callee's leak explained in the package that declares it) list that package's block digest as a
dependency of kind "package", or, when it is known before the lookup, put it in `facts`.

**Entries** are files under `entries/XX/KEY-KIND` (KIND "json": the package's JSON report text;
"findings": the pickled analysis, for the other report formats and the gate), each laid out as

    BODY  META (JSON)  TRAILER (JSON)  len(TRAILER) as 8 hex digits  MAGIC

so that a worker can write the body as it goes and the parent can copy the body, as it is, into the
report. The trailer names the key, kind, format and lengths, and holds a CRC-32 of the body and one of
the meta: an entry that is truncated, corrupt, of another format or of another key is a miss (and is
rewritten), never trusted. The meta can be checked alone (`verify_entry(..., body=False)`), which is
how a run looks at every block's entry before it decides which blocks need work
(escapelint.workflows.cached_read); the body is checked before it is used. Entries are written under a temporary name in `tmp/` and renamed into place, so a
reader sees a whole entry or none, and two processes filling the cache at once each write whole
entries (the last rename wins; both are right). Line numbers in an entry are those of the run that
wrote it (`first_line`); a hit at another line shifts them (`shift_json`, `shift_findings`).

**Where**: `$ESCAPELINT_CACHE` (`off` for none), else the user's cache directory
(`$XDG_CACHE_HOME` or `~/.cache`, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on Windows) +
`escapelint/results`, beside, never inside, the toolchains `scripts/toolchains.py` keeps in
`~/.cache/escapelint/toolchains`. The size is bounded (`$ESCAPELINT_CACHE_LIMIT` MiB, default
`DEFAULT_LIMIT_MIB`): after a run that stored entries, the least recently used are removed until the
cache is under 90 % of the bound; an entry used in the last `KEEP_RECENT_SECONDS` is never removed,
so that a run never loses an entry another run is about to copy.

**Failures**: a cache directory that cannot be created or written (read-only, not a directory, a
full disk while an entry is written) turns the cache off for the rest of the run, with one `problem`
the command line prints as a warning; the reports are written all the same, and are the same.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import pickle
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from escapelint import __version__
from escapelint.analyze.source import SourceLocator, go_text
from escapelint.events import BuildStats, CompilerError, EventKind, LineRole, UnrecognizedLine
from escapelint.read.input import changed_while_read

if TYPE_CHECKING:  # annotations only: the analysis is not loaded to copy results from the cache
    from escapelint.analyze.findings import PackageFindings

#: Bumped whenever the layout of an entry changes.
FORMAT = 2
CACHE_VARIABLE = "ESCAPELINT_CACHE"
LIMIT_VARIABLE = "ESCAPELINT_CACHE_LIMIT"
#: The size bound by default, MiB: the Go 1.22 standard library's entries take about 600 MiB.
DEFAULT_LIMIT_MIB = 2048
#: Trimming never removes an entry used this recently (another run may be about to copy it).
KEEP_RECENT_SECONDS = 600
#: A hit refreshes its entry's modification time (the LRU clock) when it is older than this.
_TOUCH_AFTER_SECONDS = 60
_MAGIC = b"ESCLCACHE1\n"
_LENGTH_DIGITS = 8
_TAIL = _LENGTH_DIGITS + len(_MAGIC)
_ENTRIES = "entries"
_TMP = "tmp"
_INPUTS = "inputs"  # what the look-up hashed of input files (ResultCache.known_blocks)
#: How many input files' block digests are kept (the least recently used go first).
_INPUTS_KEPT = 64
#: A file changed less than this long before it was hashed may still be being written (see known_blocks).
_SETTLED_NS = 2_000_000_000
_TAG = "CACHEDIR.TAG"
_TAG_TEXT = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by escapelint (its per-package result cache).\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
#: The kinds of entry.
JSON = "json"
FINDINGS = "findings"
KINDS = (JSON, FINDINGS)
_READ_PIECE = 4 << 20


def default_directory(environ: Mapping[str, str] = os.environ) -> Path | None:
    """Where the cache lives: $ESCAPELINT_CACHE, else the platform's user cache directory; None for "off"."""
    chosen = environ.get(CACHE_VARIABLE)
    if chosen:
        return None if chosen == "off" else Path(chosen)
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    elif sys.platform == "win32":
        base = Path(environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        xdg = environ.get("XDG_CACHE_HOME")
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "escapelint" / "results"


def limit_bytes(environ: Mapping[str, str] = os.environ) -> int:
    """The size bound: $ESCAPELINT_CACHE_LIMIT MiB (a positive whole number), else the default."""
    value = environ.get(LIMIT_VARIABLE, "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value) << 20
    return DEFAULT_LIMIT_MIB << 20


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A digest of escapelint's own code and grammar: results made by other code are never reused.

    Hashed afresh in every process that uses the cache (a few milliseconds: about 80 small files), so
    an edit of an installed copy, or of a checkout, invalidates the entries it would change.
    """
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(__version__.encode())
    files = sorted(package.rglob("*.py"))
    grammar = package.parent / "grammars"
    files += sorted(grammar.glob("*.lark")) if grammar.is_dir() else sorted((package / "grammars").glob("*.lark"))
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            data = b"?"
        digest.update(f"{path.relative_to(path.parents[1]).as_posix()}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


#: Blocks are hashed, and entries' bodies checked, in pieces of this size, so that the pieces of one big
#: block (go/types is 270 MB of Go 1.22's std) can be done by several threads at once.
PIECE = 16 << 20


class BlockHasher:
    """A block's digest: the SHA-256 of the SHA-256 digests of its bytes in pieces of PIECE bytes
    (of one empty piece for no bytes), fed a piece at a time (`piece_digest`) or as a stream (`update`)."""

    def __init__(self) -> None:
        self._pieces: list[bytes] = []
        self._current = hashlib.sha256()
        self._filled = 0

    def update(self, data) -> None:
        size = len(data)
        if self._filled + size < PIECE:  # a line of a pipe, nearly always: no view, no loop (2 M lines)
            self._current.update(data)
            self._filled += size
            return
        with memoryview(data) as view:
            while len(view):
                part = view[: PIECE - self._filled]
                self._current.update(part)
                self._filled += len(part)
                view = view[len(part) :]
                if self._filled == PIECE:
                    self._pieces.append(self._current.digest())
                    self._current, self._filled = hashlib.sha256(), 0

    def hexdigest(self) -> str:
        pieces = self._pieces + ([self._current.digest()] if self._filled or not self._pieces else [])
        return combined_digest(pieces)


def combined_digest(pieces: list[bytes]) -> str:
    """The block digest of the given pieces' SHA-256 digests, in order (BlockHasher)."""
    return hashlib.sha256(b"".join(pieces)).hexdigest()


def piece_spans(start: int, end: int) -> list[tuple[int, int]]:
    """Bytes [start, end) cut in pieces of PIECE bytes (one empty piece for none)."""
    if end <= start:
        return [(start, start)]
    return [(at, min(at + PIECE, end)) for at in range(start, end, PIECE)]


def piece_digest(path: Path, start: int, end: int, buffer=None) -> bytes:
    """The SHA-256 digest of bytes [start, end) of a file; InputError when it is shorter.

    Read into `buffer` (writable; else one is made), a READ_PIECE at a time, not mapped: a mapped
    page the file no longer holds (a build writing the file again truncates it first) kills the
    process with SIGBUS. Threads use buffers that the thread starting them made (piece_buffer): a
    large buffer a thread allocates stays in a malloc arena of its own, where worker processes
    forked later count it again. Reading is no slower than hashing the mapped page cache.
    """
    digest = hashlib.sha256()
    with memoryview(bytearray(READ_PIECE) if buffer is None else buffer) as view:
        with path.open("rb", buffering=0) as handle:
            handle.seek(start)
            while start < end:
                read = handle.readinto(view[: min(len(view), end - start)])
                if not read:
                    raise changed_while_read(str(path))
                digest.update(view[:read])
                start += read
    return digest.digest()


#: piece_digest reads this much at a time: each thread's buffer is resident while it hashes. Any size
#: from 256 KiB to 4 MiB hashes Go 1.22's std in the same 0.20 s (one thread); 4 MiB buffers made the
#: warm report's peak 66 MiB against 58 MiB mapped.
READ_PIECE = 1 << 20


def piece_buffer():
    """A buffer for piece_digest: an anonymous mapping, which goes back to the system whole when it
    is closed, whichever thread used it."""
    import mmap

    return mmap.mmap(-1, READ_PIECE)


def _over_mapped(descriptor: int, start: int, end: int, function):
    """`function` of bytes [start, end) of an open file, mapped (from the page `start` is in) for the call."""
    import mmap

    aligned = start - start % mmap.ALLOCATIONGRANULARITY
    with mmap.mmap(descriptor, end - aligned, offset=aligned, access=mmap.ACCESS_READ) as data:
        with memoryview(data) as view:
            with view[start - aligned :] as piece:
                return function(piece)


def block_digest(path: Path, start: int, end: int) -> str:
    """The digest (BlockHasher) of bytes [start, end) of a file."""
    return combined_digest([piece_digest(path, a, b) for a, b in piece_spans(start, end)])


@dataclass(frozen=True)
class CacheContext:
    """What, besides a block's bytes, decides its results: hashed into every key (but the root)."""

    source_root: Path | None  # where relative dependencies are; not in the key (see the module docstring)
    line_ends: str  # "universal" (a file) or "newline" (a go build pipe, split on \\n only)
    facts: str = ""  # a digest of facts from outside the block known before the lookup (none today)

    def key(self, digest: str) -> str:
        text = "\0".join((str(FORMAT), __version__, code_fingerprint(), self.line_ends, self.facts, digest))
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def context_for(sources: SourceLocator, line_ends: str) -> CacheContext:
    return CacheContext(sources.root, line_ends)


# --- dependencies -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dependency:
    """One thing outside the block that a result read: ("file", path, SHA-256 or "-" when unreadable),
    ("dir", path, the sorted names of its *.go entries, NUL-separated, or "-")."""

    kind: str
    name: str
    identity: str


_MISSING = "-"


class Dependencies:
    """The identities of files and directories as this process sees them, each looked at once.

    A run reads one snapshot of the source: what changes while it runs is seen by the next run.
    """

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], str] = {}
        self._named: dict[tuple[str, str, Path | None], str] = {}  # (kind, name as an entry lists it, root) -> identity

    def identity(self, kind: str, path: Path | str) -> str:
        # Strings and os calls, not Path methods: a warm run of Go's std checks 2,600 of them.
        name = os.fspath(path)
        known = self._seen.get((kind, name))
        if known is None:
            if kind == "file":
                self.read_file(name)  # notes the identity
                return self._seen[(kind, name)]
            try:
                with os.scandir(name) as entries:
                    known = "\0".join(sorted(e.name for e in entries if e.name.endswith(".go")))
            except (OSError, ValueError):
                known = _MISSING
            self._seen[(kind, name)] = known
        return known

    def read_file(self, path: Path | str) -> bytes | None:
        """A file's bytes, None when it cannot be read; the first read of a file is also its identity,
        so that what the analysis read is what the entry names (and the file is read once, not twice)."""
        name = os.fspath(path)
        try:
            with open(name, "rb", buffering=0) as handle:
                data = handle.readall()
        except (OSError, ValueError):
            self._seen.setdefault(("file", name), _MISSING)
            return None
        if ("file", name) not in self._seen:
            self._seen[("file", name)] = hashlib.sha256(data).hexdigest()
        return data

    def current(self, dependency: Dependency, root: Path | None, packages: Callable[[str], str] | None = None) -> bool:
        if dependency.kind == "package":  # another package's leaks, followed into (escapelint.analyze.leaks)
            return packages is not None and packages(dependency.name) == dependency.identity
        if dependency.kind not in ("file", "dir"):
            return False  # a kind this code does not know: never trusted
        # Thousands of entries name the same few files: each name is resolved once (a Path costs more
        # than the comparison).
        named = (dependency.kind, dependency.name, root)
        known = self._named.get(named)
        if known is None:
            path = dependency.name
            if not os.path.isabs(path):
                if root is None:
                    return False
                path = os.path.join(root, path)
            known = self._named[named] = self.identity(dependency.kind, path)
        return known == dependency.identity


class RecordingSourceLocator(SourceLocator):
    """A SourceLocator that notes every Go file and directory the analysis reads (`take`): by its
    name relative to the root when the output names it so (`./x.go`), else by its absolute path."""

    def __init__(self, root: Path | None, dependencies: Dependencies) -> None:
        super().__init__(root)
        self.dependencies = dependencies
        self.used: dict[tuple[str, str], Dependency] = {}
        self._names: dict[Path, set[str]] = {}  # path -> the names it was reached by

    def path(self, printed: str) -> Path | None:
        found = super().path(printed)
        if found is not None:
            name = str(found) if found.is_absolute() and Path(printed).is_absolute() else printed
            self._names.setdefault(found, set()).add(str(Path(name)))
            self._names.setdefault(found.parent, set()).add(str(Path(name).parent))
        return found

    def _note(self, kind: str, path: Path) -> None:
        names = self._names.get(path)
        if names is None:
            # A sibling file, found by listing its directory, or an imported package's directory
            # (PackageSource.members_of): named as its parent is. Kept, so that the files listed in
            # that directory are named as it is (relative where it is).
            parents = self._names.get(path.parent, {str(path.parent)})
            names = self._names[path] = {str(Path(directory) / path.name) for directory in parents}
        identity = self.dependencies.identity(kind, path)
        for name in names:
            self.used[(kind, name)] = Dependency(kind, name, identity)

    def go_files_in(self, directory: Path) -> list[Path]:
        self._note("dir", directory)
        return super().go_files_in(directory)

    def read_file(self, path: Path) -> str | None:
        data = self.dependencies.read_file(path)
        self._note("file", path)
        return None if data is None else go_text(data)

    def for_callee_package(self) -> RecordingSourceLocator:
        """A recorder of its own for a callee package's analysis, which later blocks reuse: every block
        that uses it lists what it read (`take(also=...)`)."""
        return RecordingSourceLocator(self.root, self.dependencies)

    def take(self, also: Iterable[RecordingSourceLocator] = ()) -> list[Dependency]:
        """The dependencies noted since the last call, with all that the `also` recorders ever noted, in a fixed order."""
        used, self.used = self.used, {}
        for other in also:
            used.update(other.used)
        return [used[k] for k in sorted(used)]


# --- block metadata: what a run needs of a block besides its body ---------------------------------


@dataclass(frozen=True)
class BlockMeta:
    """What a block gave, besides the body: its line accounting and what the parent collects."""

    first_line: int  # the lines before the block in the run that wrote it
    stats: BuildStats
    packages_written: int  # packages in the JSON body
    unrecognized: tuple[tuple[UnrecognizedLine, str | None], ...]  # with their package's path
    named_files: frozenset[str]  # the files its events name (escapelint.report.warnings)
    dependencies: tuple[Dependency, ...]
    #: Verdicts that needed a fact of a source that was not read, by category (Finding.unread_source),
    #: for the warning that names them (escapelint.report.warnings) when only the JSON is reused.
    unread_verdicts: tuple[tuple[str, int], ...] = ()
    #: (import path, identity) of the block's own packages in the leak table (LeakSummaries.identities_in):
    #: a run whose every block is a hit checks the "package" dependencies against these. None: not known.
    leak_identities: tuple[tuple[str, str], ...] | None = None

    def to_json(self) -> bytes:
        stats = self.stats
        return json.dumps(
            {
                "first_line": self.first_line,
                "stats": {
                    "lines": stats.lines,
                    "roles": {role.value: count for role, count in stats.roles.items()},
                    "events": {kind.value: count for kind, count in stats.events.items()},
                    "remarks": dict(stats.remarks),
                    "packages": stats.packages,
                },
                "packages_written": self.packages_written,
                "unrecognized": [[u.line, u.text, path] for u, path in self.unrecognized],
                "named_files": sorted(self.named_files),
                "dependencies": [[d.kind, d.name, d.identity] for d in self.dependencies],
                "unread_verdicts": [list(pair) for pair in self.unread_verdicts],
                "leak_identities": None if self.leak_identities is None else [list(p) for p in self.leak_identities],
            },
            ensure_ascii=False,
        ).encode("utf-8", "surrogatepass")

    @classmethod
    def from_json(cls, data: bytes) -> BlockMeta:
        document = json.loads(data.decode("utf-8", "surrogatepass"))
        raw = document["stats"]
        stats = BuildStats(
            lines=raw["lines"],
            roles=Counter({LineRole(k): v for k, v in raw["roles"].items()}),
            events=Counter({EventKind(k): v for k, v in raw["events"].items()}),
            remarks=Counter(raw["remarks"]),
            packages=raw["packages"],
        )
        return cls(
            first_line=document["first_line"],
            stats=stats,
            packages_written=document["packages_written"],
            unrecognized=tuple((UnrecognizedLine(line, text), path) for line, text, path in document["unrecognized"]),
            named_files=frozenset(document["named_files"]),
            dependencies=tuple(Dependency(*d) for d in document["dependencies"]),
            unread_verdicts=tuple((category, count) for category, count in document["unread_verdicts"]),
            leak_identities=None if (own := document["leak_identities"]) is None else tuple((p, i) for p, i in own),
        )

    def shifted(self, first_line: int) -> BlockMeta:
        """The same block read `first_line - self.first_line` lines further down the input."""
        delta = first_line - self.first_line
        if not delta:
            return self
        moved = tuple((UnrecognizedLine(u.line + delta, u.text), path) for u, path in self.unrecognized)
        return replace(self, first_line=first_line, unrecognized=moved)


# --- entries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A verified entry, open: `body_length` bytes of body from offset 0 of `handle`, then `meta`."""

    key: str
    kind: str
    path: Path
    handle: object  # an open binary file (io.BufferedReader): the entry stays readable however the cache changes
    body_length: int
    meta: BlockMeta
    body_crcs: tuple[int, ...]  # the trailer's CRC-32 of each piece of the body (`body_intact`)
    #: (device, inode, size, modification time) of the file once checked and used (ResultCache.lookup): `reopen`
    identity: tuple[int, ...] = ()

    def close(self) -> None:
        self.handle.close()

    def reopen(self) -> Entry | None:
        """The entry opened again (after `close`), if the file at its path is still the one checked:
        same device, inode, size and modification time (a rewritten entry is a new file, renamed in;
        a file changed in place has a new modification time). None otherwise: look it up again."""
        if not self.identity:
            return None
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - the Entry owns it
        except OSError:
            return None
        try:
            same = _file_identity(handle) == self.identity
        except OSError:
            same = False
        if not same:
            handle.close()
            return None
        return replace(self, handle=handle)

    def body_intact(self) -> bool:
        """Whether the body is what was written: the CRC-32 of each piece is the trailer's."""
        return all(self.piece_intact(index) for index in range(len(self.body_crcs)))

    def piece_intact(self, index: int) -> bool:
        """Whether piece `index` of the body (piece_spans) is what was written."""
        start, end = piece_spans(0, self.body_length)[index]
        try:
            return _crc_of(self.handle.fileno(), start, end) == self.body_crcs[index]
        except OSError:
            return False

    def body(self) -> bytes:
        return os.pread(self.handle.fileno(), self.body_length, 0)


class EntryWriter:
    """Writes one entry: the body through `binary` (or `text()`), then `finish(meta)` adds meta and trailer.

    The file is `path` (a run's fragment, or a temporary name in the cache); the CRC-32 is taken as the
    bytes pass, so that nothing is read back.
    """

    def __init__(self, path: Path, key: str, kind: str) -> None:
        self.path = path
        self.key = key
        self.kind = kind
        self._raw = _CheckedFile(path)
        self.binary = io.BufferedWriter(self._raw, 1 << 20)
        self._text: io.TextIOWrapper | None = None
        self.body_length = 0

    def text(self) -> io.TextIOWrapper:
        """The body as a UTF-8 text stream (what JsonReportWriter writes to)."""
        if self._text is None:
            self._text = io.TextIOWrapper(self.binary, encoding="utf-8", newline="\n", write_through=False)
        return self._text

    def finish(self, meta: BlockMeta) -> None:
        """End the body and write meta and trailer; the file is a complete entry afterwards."""
        if self._text is not None:
            self._text.flush()
        self.binary.flush()
        raw = self._raw
        self.body_length = raw.written
        body_crcs = raw.crcs
        meta_bytes = meta.to_json()
        raw.write_unchecked(meta_bytes)
        trailer = json.dumps(
            {
                "format": FORMAT,
                "version": __version__,
                "key": self.key,
                "kind": self.kind,
                "body": self.body_length,
                "meta": len(meta_bytes),
                "body_crc32": body_crcs,  # of each piece (piece_spans)
                "meta_crc32": zlib.crc32(meta_bytes),
            }
        ).encode()
        raw.write_unchecked(trailer + f"{len(trailer):0{_LENGTH_DIGITS}x}".encode() + _MAGIC)
        raw.close_file()

    def abandon(self) -> None:
        self._raw.close_file()
        try:
            self.path.unlink()
        except OSError:
            pass


class _CheckedFile(io.RawIOBase):
    """A binary file that keeps a CRC-32 and the count of the bytes written through it."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._descriptor: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        self._crcs: list[int] = []  # of the whole pieces (PIECE bytes) written
        self._crc = 0  # of the piece being written
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        with memoryview(data) as view:
            done = os.write(self._descriptor, view)
            written = view[:done]
            while len(written):
                part = written[: PIECE - self.written % PIECE]
                self._crc = zlib.crc32(part, self._crc)
                self.written += len(part)
                written = written[len(part) :]
                if self.written % PIECE == 0:
                    self._crcs.append(self._crc)
                    self._crc = 0
        return done

    @property
    def crcs(self) -> list[int]:
        """The CRC-32 of each piece of what was written (piece_spans)."""
        return self._crcs + ([self._crc] if self.written % PIECE or not self.written else [])

    def write_unchecked(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._descriptor, view) :]

    def fileno(self) -> int:
        return self._descriptor

    def close_file(self) -> None:
        descriptor, self._descriptor = self._descriptor, None
        if descriptor is not None:
            os.close(descriptor)

    def close(self) -> None:  # the buffers above close it too: the descriptor is closed once
        self.close_file()
        super().close()


def verify_entry(path: Path, key: str, kind: str, *, body: bool = True) -> Entry | None:
    """The entry at `path`, open and checked whole (with `body` false: all but its body, which the
    caller checks with `Entry.body_intact` before using it); None when missing, truncated, corrupt or
    foreign."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - the Entry owns it
    except OSError:
        return None
    try:
        entry = _verified(handle, path, key, kind)
        if entry is not None and body and not entry.body_intact():
            entry = None
    except (OSError, ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError):
        entry = None
    if entry is None:
        handle.close()
    return entry


def _file_identity(handle) -> tuple[int, ...]:
    info = os.fstat(handle.fileno())
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def _crc_of(descriptor: int, start: int, end: int) -> int:
    """The CRC-32 of bytes [start, end) of an open entry (OSError when it is shorter), mapped: an
    entry is replaced by a rename, never written again in place (a mapped input file is, see piece_digest)."""
    if end <= start:
        return 0
    if os.fstat(descriptor).st_size < end:
        raise OSError("shorter than its trailer says")
    return _over_mapped(descriptor, start, end, zlib.crc32)


def _verified(handle, path: Path, key: str, kind: str) -> Entry | None:
    info = os.fstat(handle.fileno())
    if hasattr(os, "getuid") and info.st_uid != os.getuid():  # another user's file: never trusted
        return None
    size = info.st_size
    if size < _TAIL:
        return None
    tail = os.pread(handle.fileno(), _TAIL, size - _TAIL)
    if tail[_LENGTH_DIGITS:] != _MAGIC:
        return None
    trailer_length = int(tail[:_LENGTH_DIGITS], 16)
    trailer_start = size - _TAIL - trailer_length
    if trailer_start < 0:
        return None
    trailer = json.loads(os.pread(handle.fileno(), trailer_length, trailer_start))
    if (
        trailer.get("format") != FORMAT
        or trailer.get("version") != __version__
        or trailer.get("key") != key
        or trailer.get("kind") != kind
    ):
        return None
    body, meta_length = int(trailer["body"]), int(trailer["meta"])
    if body < 0 or meta_length < 0 or body + meta_length != trailer_start:
        return None
    meta_bytes = os.pread(handle.fileno(), meta_length, body)
    if len(meta_bytes) != meta_length or zlib.crc32(meta_bytes) != trailer["meta_crc32"]:
        return None
    crcs = trailer["body_crc32"]
    if not isinstance(crcs, list) or len(crcs) != len(piece_spans(0, body)) or not all(isinstance(c, int) for c in crcs):
        return None
    return Entry(key, kind, path, handle, body, BlockMeta.from_json(meta_bytes), tuple(crcs))


# --- the cache ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheInfo:
    directory: Path
    entries: int
    size: int  # bytes
    limit: int  # bytes


class ResultCache:
    """One run's view of the cache directory (see the module docstring); `None` stands for no cache.

    Safe to use from forked worker processes: each writes its own temporary files and renames them in.
    `problem` is set, once, when the cache had to be turned off; workers hand theirs to the parent.
    """

    def __init__(self, directory: Path, limit: int) -> None:
        self.directory = directory
        self.limit = limit
        self.problem: str | None = None
        self.stored = 0  # entries this process stored
        self.dependencies = Dependencies()

    @classmethod
    def open(cls, directory: Path | None = None, *, limit: int | None = None) -> ResultCache | None:
        """The cache at `directory` (default: `default_directory()`), made if need be; None when off.

        A directory that cannot be made or written gives a cache that is already `off`: its
        `problem` says why, and it stores and finds nothing.
        """
        if directory is None:
            directory = default_directory()
            if directory is None:
                return None
        cache = cls(Path(directory), limit if limit is not None else limit_bytes())
        try:
            for sub in (_ENTRIES, _TMP):
                (cache.directory / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
            tag = cache.directory / _TAG
            if not tag.exists():
                _write_atomically(tag, _TAG_TEXT.encode(), cache.directory / _TMP)
            probe = tempfile.NamedTemporaryFile(dir=cache.directory / _TMP, prefix="probe-", delete=True)  # noqa: SIM115
            probe.close()
        except OSError as exc:
            cache.turn_off(f"{cache.directory}: {exc.strerror or exc}")
        return cache

    @property
    def on(self) -> bool:
        return self.problem is None

    def turn_off(self, why: str) -> None:
        if self.problem is None:
            self.problem = f"the result cache is off for this run: {why}"

    @property
    def tmp(self) -> Path:
        return self.directory / _TMP

    def entry_path(self, key: str, kind: str) -> Path:
        return self.directory / _ENTRIES / key[:2] / f"{key}-{kind}"

    def lookup(
        self, key: str, kind: str, root: Path | None, packages: Callable[[str], str] | None = None,
        *, check_packages: bool = True, body: bool = True,
    ) -> Entry | None:
        """The entry for (key, kind), verified and with every dependency current (relative ones under
        `root`; another package's leaks by `packages`, LeakSummaries.identity); else None. With
        `check_packages` false, dependencies on other packages are left for the caller to check
        (escapelint.workflows.cached_read does, once every block's own identities are known); with
        `body` false, the body is not checked (`Entry.body_intact` does)."""
        if not self.on:
            return None
        path = self.entry_path(key, kind)
        entry = verify_entry(path, key, kind, body=body)
        if entry is None:
            return None
        dependencies = entry.meta.dependencies
        if not check_packages:
            dependencies = tuple(d for d in dependencies if d.kind != "package")
        if not all(self.dependencies.current(d, root, packages) for d in dependencies):
            entry.close()
            return None
        _touch(path)
        try:
            return replace(entry, identity=_file_identity(entry.handle))
        except OSError:
            return entry

    def new_entry(self, key: str, kind: str, where: Path | None = None) -> EntryWriter | None:
        """A writer for an entry, in `where` (a run's fragment directory) or the cache's tmp; None when off."""
        if not self.on and where is None:
            return None
        directory = where if where is not None else self.tmp
        name = f"{key[:16]}-{kind}-{os.getpid()}-{os.urandom(4).hex()}.partial"
        try:
            return EntryWriter(directory / name, key, kind)
        except OSError as exc:
            if where is not None:
                raise
            self.turn_off(f"cannot write {directory}: {exc.strerror or exc}")
            return None

    def store_entry(self, path: Path, key: str, kind: str) -> None:
        """Rename a finished entry (written by `new_entry` in the cache's tmp) into place."""
        self._put(path, key, kind, keep=False)

    def store_fragment(self, path: Path, key: str, kind: str) -> None:
        """Put a copy of a finished entry that stays where it is (a run's fragment) into the cache:
        a hard link where the file systems allow it, else a copy."""
        self._put(path, key, kind, keep=True)

    def _put(self, path: Path, key: str, kind: str, *, keep: bool) -> None:
        """A failure turns the cache off (full disk, read-only directory) and is otherwise harmless."""
        if not self.on:
            if not keep:
                path.unlink(missing_ok=True)
            return
        target = self.entry_path(key, kind)
        staged = None
        try:
            target.parent.mkdir(exist_ok=True, mode=0o700)
            if keep:
                staged = self.tmp / f"{path.name}.link"
                try:
                    os.link(path, staged)
                except OSError:  # another file system, or no hard links: a copy
                    _copy_file(path, staged)
                _move_in(staged, target)
            else:
                _move_in(path, target)
            self.stored += 1
        except OSError as exc:
            self.turn_off(f"cannot write {target.parent}: {exc.strerror or exc}")
            if staged is not None:
                staged.unlink(missing_ok=True)
            if not keep:
                path.unlink(missing_ok=True)

    # --- an input file's block digests, kept for the next run on the same file

    def known_blocks(self, source: Path, identity: tuple[int, ...]) -> list[tuple[int, int, str]] | None:
        """The blocks ((start, end, digest), in order) the look-up found in `source` the last time,
        if `identity` (read.input.file_snapshot, now) is the one it had then; else None.

        The file is the same when its device, inode, size, modification and change times are: a
        write changes the change time, which no program can set. A file whose times were within
        _SETTLED_NS of the moment it was looked at is never remembered (`remember_blocks`), since a
        write in the same tick of the file system's clock would leave them as they were (what git
        calls a racily clean file). The record is checked whole, and made by this very code.
        """
        if not self.on:
            return None
        try:
            record_path = self._input_record(source)
            data = record_path.read_bytes()
            if hashlib.sha256(data[64:]).hexdigest().encode() != data[:64]:
                return None
            record = json.loads(data[64:])
            if record["code"] != code_fingerprint() or record["identity"] != list(identity):
                return None
            blocks = [(int(start), int(end), str(digest)) for start, end, digest in record["blocks"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        with contextlib.suppress(OSError):
            os.utime(record_path)  # the least recently used records go first (`_trim_inputs`)
        return blocks

    def remember_blocks(
        self, source: Path, identity: tuple[int, ...], taken_ns: int, blocks: list[tuple[int, int, str]]
    ) -> None:
        """Keep the blocks the look-up hashed of `source`, whose `identity` was taken at `taken_ns`
        (time.time_ns()), before it was hashed."""
        if not self.on or taken_ns - max(identity[3], identity[4]) < _SETTLED_NS:
            return
        payload = json.dumps({"code": code_fingerprint(), "identity": list(identity), "blocks": blocks}).encode()
        try:
            (self.directory / _INPUTS).mkdir(exist_ok=True, mode=0o700)
            _write_atomically(self._input_record(source), hashlib.sha256(payload).hexdigest().encode() + payload, self.tmp)
        except OSError as exc:
            self.turn_off(f"cannot write {self.directory / _INPUTS}: {exc.strerror or exc}")

    def _input_record(self, source: Path) -> Path:
        name = hashlib.sha256(os.fsencode(os.path.abspath(source))).hexdigest()[:32]
        return self.directory / _INPUTS / name

    def _trim_inputs(self) -> None:
        try:
            with os.scandir(self.directory / _INPUTS) as items:
                records = sorted((item.stat().st_mtime, item.path) for item in items if item.is_file(follow_symlinks=False))
        except OSError:
            return
        for _, path in records[: max(0, len(records) - _INPUTS_KEPT)]:
            with contextlib.suppress(OSError):
                os.unlink(path)

    # --- maintenance

    def entries(self) -> list[tuple[Path, os.stat_result]]:
        found = []
        root = self.directory / _ENTRIES
        try:
            shards = list(os.scandir(root))
        except OSError:
            return found
        for shard in shards:
            if not shard.is_dir(follow_symlinks=False) or len(shard.name) != 2:
                continue
            try:
                with os.scandir(shard.path) as items:
                    for item in items:
                        if _is_entry_name(item.name) and item.is_file(follow_symlinks=False):
                            try:
                                found.append((Path(item.path), item.stat(follow_symlinks=False)))
                            except OSError:
                                continue
            except OSError:
                continue
        return found

    def info(self) -> CacheInfo:
        entries = self.entries()
        return CacheInfo(self.directory, len(entries), sum(s.st_size for _, s in entries), self.limit)

    def trim(self, now: float | None = None) -> int:
        """Remove the least recently used entries until the cache is under 90 % of its bound; how many.

        Also removes temporary files of runs that no longer exist. Entries used in the last
        KEEP_RECENT_SECONDS stay, whatever the size.
        """
        now = time.time() if now is None else now
        self._remove_stale_tmp(now)
        self._trim_inputs()
        entries = self.entries()
        total = sum(s.st_size for _, s in entries)
        if total <= self.limit:
            return 0
        goal = self.limit * 9 // 10
        removed = 0
        for path, info in sorted(entries, key=lambda e: e[1].st_mtime):
            if total <= goal:
                break
            if now - info.st_mtime < KEEP_RECENT_SECONDS:
                break
            try:
                path.unlink()
            except OSError:
                continue
            total -= info.st_size
            removed += 1
        return removed

    def clean(self) -> int:
        """Remove every entry, record of an input file and temporary file; how many entries. Nothing else is touched."""
        removed = 0
        for path, _ in self.entries():
            try:
                path.unlink()
                removed += 1
            except OSError:
                continue
        for shard in (self.directory / _ENTRIES).glob("??"):
            try:
                shard.rmdir()
            except OSError:
                pass
        for record in (self.directory / _INPUTS).glob("*"):
            record.unlink(missing_ok=True)
        self._remove_stale_tmp(time.time(), everything=True)
        return removed

    def _remove_stale_tmp(self, now: float, *, everything: bool = False) -> None:
        from escapelint.report.output import process_exists

        try:
            items = list(os.scandir(self.tmp))
        except OSError:
            return
        for item in items:
            if not item.name.endswith((".partial", ".link")):
                continue
            owner = item.name.split("-")[2] if item.name.count("-") >= 3 else ""
            if not everything and owner.isdigit() and process_exists(int(owner)):
                continue
            try:
                if item.is_file(follow_symlinks=False):
                    os.unlink(item.path)
            except OSError:
                pass


#: How a finished entry is put in place (a rename: atomic, and a reader sees a whole entry or none).
_move_in = os.replace


def _is_entry_name(name: str) -> bool:
    key, _, kind = name.partition("-")
    return len(key) == 64 and kind in KINDS and all(c in "0123456789abcdef" for c in key)


def _touch(path: Path) -> None:
    try:
        if time.time() - path.stat().st_mtime > _TOUCH_AFTER_SECONDS:
            os.utime(path)
    except OSError:
        pass


def _write_atomically(path: Path, data: bytes, tmp: Path) -> None:
    partial = tmp / f"{path.name}-x-{os.getpid()}-{os.urandom(4).hex()}.partial"
    partial.write_bytes(data)
    os.replace(partial, path)


def _copy_file(source: Path, target: Path) -> None:
    import shutil

    shutil.copyfile(source, target)


# --- shifting line numbers: a block found at another line of the input --------------------------

_LINE_FIELDS = None


def shift_json(entry: Entry, delta: int, out) -> None:
    """Write the entry's JSON body to the binary `out` with every input line number moved by `delta`.

    The body's input line numbers are the values of "input_line" and "header_line" (docs/json-report.md);
    JSON strings escape every quote, so the pattern cannot match inside one.
    """
    import re

    global _LINE_FIELDS
    if _LINE_FIELDS is None:
        _LINE_FIELDS = re.compile(rb'"(input_line|header_line)": (\d+)')

    def moved(match) -> bytes:
        return b'"%s": %d' % (match.group(1), int(match.group(2)) + delta)

    descriptor = entry.handle.fileno()
    offset, carry = 0, b""
    while offset < entry.body_length:
        piece = os.pread(descriptor, min(_READ_PIECE, entry.body_length - offset), offset)
        if not piece:
            raise OSError(f"{entry.path}: shorter than it says")
        offset += len(piece)
        text = carry + piece
        cut = text.rfind(b"\n") + 1 if offset < entry.body_length else len(text)
        if cut <= 0:  # no line end in the piece: keep reading
            carry = text
            continue
        out.write(_LINE_FIELDS.sub(moved, text[:cut]))
        carry = text[cut:]
    if carry:
        out.write(_LINE_FIELDS.sub(moved, carry))


def shift_findings(packages: Iterable[PackageFindings], delta: int) -> list[PackageFindings]:
    """The same packages read `delta` lines further down the input: every input line number moved."""
    packages = list(packages)
    if not delta:
        return packages
    shifted = []
    for package in packages:
        output = package.output
        explanations: dict[int, object] = {}

        def explanation(x):
            done = explanations.get(id(x))
            if done is None:
                done = explanations[id(x)] = replace(x, first_line=x.first_line + delta)
            return done

        events = {}
        for event in output.events:
            events[id(event)] = replace(
                event, line=event.line + delta, explanations=tuple(explanation(x) for x in event.explanations)
            )
        moved = replace(
            output,
            header_line=None if output.header_line is None else output.header_line + delta,
            events=tuple(events[id(e)] for e in output.events),
            remarks=tuple(replace(r, line=r.line + delta) for r in output.remarks),
            errors=tuple(CompilerError(e.position, e.message, e.line + delta) for e in output.errors),
            unclaimed=tuple(explanation(x) for x in output.unclaimed),
            unrecognized=tuple(UnrecognizedLine(u.line + delta, u.text) for u in output.unrecognized),
        )
        findings = tuple(replace(f, event=events[id(f.event)]) for f in package.findings)
        shifted.append(replace(package, output=moved, findings=findings))
    return shifted


def dump_findings(packages: list[PackageFindings], out) -> None:
    pickle.dump(packages, out, protocol=pickle.HIGHEST_PROTOCOL)


def load_findings(entry: Entry) -> list[PackageFindings]:
    """The entry's pickled packages (a verified entry of the user's own cache: see verify_entry)."""
    return pickle.loads(entry.body())
