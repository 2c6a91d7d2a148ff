"""Build-wide leak summaries: each package's explanations of its parameters' leaks to the heap.

A value passed to a function of another package escapes when that function's parameter leaks; the
compiler explains the leak where it compiles the callee ("parameter p leaks to {heap} with derefs=0:"),
in the callee's own package's output. To say where the value ends up (a package-level variable, a
channel, memory behind a pointer, ...), the caller's package needs those explanations, so its
verdicts depend on other packages' output. This table is that dependency, in one place: the rules
read other packages only through it, and a cache of results must key on what it holds for the
packages a package calls.

A package sees only the packages before it in the input (`go build` prints a package after every
package it imports), so the table gives the same answers whether it is filled as the packages
stream past or all at once before the rules run (escapelint.read.leak_scan, for worker processes).
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable

from escapelint.events import EventKind, Explanation, PackageOutput
from escapelint.read.leak_scan import LeakText, read_leak_explanations, text_identity

#: The sink of a leak that callers pay for with a heap allocation.
HEAP_SINK = "{heap}"


class PackageLeaks:
    """One package's explanations of parameters leaking to the heap, and where it stands in the input.

    The explanations come read (a package read whole) or as the text leak_scan found, in memory or
    left in the file (LeakText), read on first use.
    """

    __slots__ = ("path", "order", "_explanations", "_unsorted", "_text", "_digest")

    def __init__(
        self, path: str, order: int, explanations: Iterable[Explanation] = (), text: bytes | LeakText | None = None
    ) -> None:
        self.path = path
        self.order = order
        self._text = text
        self._unsorted = None if text is not None else [e for e in explanations if e.sink == HEAP_SINK and e.flows]
        self._explanations: tuple[Explanation, ...] | None = None
        self._digest = None if text is None else _text_identity(text)

    @property
    def digest(self) -> str:
        """What a cached result that followed into this package keys on (escapelint.workflows.cache):
        the SHA-256 of its leak text as the scan found it, else of its explanations as read."""
        if self._digest is None:
            self._digest = "read:" + hashlib.sha256(repr([_identity(e) for e in self.explanations]).encode()).hexdigest()
        return self._digest

    @property
    def explanations(self) -> tuple[Explanation, ...]:
        """Read and put in order on first use: most packages are never called into."""
        if self._explanations is None:
            text = self._text
            if isinstance(text, LeakText):
                text = text.read()
            found = self._unsorted if text is None else read_leak_explanations(self.path, text)
            self._explanations = _in_order(found or ())
            self._text = self._unsorted = None
        return self._explanations


def _text_identity(text: bytes | LeakText) -> str:
    """A package's identity in the table (LeakSummaries.identity) when its leaks come as leak_scan's text."""
    return text.identity if isinstance(text, LeakText) else text_identity(text)


def _in_order(explanations: Iterable[Explanation]) -> tuple[Explanation, ...]:
    # In an order of their own: a package read whole and one read by leak_scan list the same
    # explanations in different orders (a leak event's first, or the input's).
    return tuple(sorted((e for e in explanations if e.sink == HEAP_SINK and e.flows), key=_identity))


class LeakSummaries:
    """Every package's leak explanations, by import path; the first package of a path wins."""

    def __init__(self) -> None:
        self._packages: dict[str, PackageLeaks] = {}
        self._count = 0
        #: Analyses of callee packages (escapelint.analyze.findings builds them), kept for the callers
        #: that follow: a handful of packages (strings, bytes, sync, ...) are called by most.
        self.analyses: dict[str, object] = {}
        #: While a cached block is analysed (escapelint.workflows.blocks): every package looked up, and
        #: its `identity`, so that the block's results are reused only while those are the same.
        self.recording: dict[str, str] | None = None
        #: While recording: the callee analyses the block used, by package path. They are kept from block
        #: to block, so what each read (its own SourceLocator's notes) is a dependency of every block using it.
        self.followed: dict[str, object] = {}
        #: (byte offset, import path, identity of its own leak text) of every package header of a file
        #: scanned whole (add_text with an offset), duplicates of a path too: `identities_in`.
        self._headers: list[tuple[int, str, str]] = []
        self._offsets: list[int] = []  # the headers' offsets, for bisect

    def add(self, path: str | None, explanations: Iterable[Explanation]) -> int:
        """Count in one package (a `# path` header), in input order; its order. Lines before any
        header (path None) are no package."""
        order = self._count
        if path is None:
            return order
        self._count += 1
        if path not in self._packages:
            self._packages[path] = PackageLeaks(path, order, explanations)
        return order

    def add_text(self, path: str, text: bytes | LeakText, offset: int | None = None) -> int:
        """Count in one package as leak_scan found it: the text of its leak explanations, read on first
        use; `offset`: where its header line is in the file (for `identities_in`)."""
        order = self._count
        self._count += 1
        known = self._packages.get(path)
        if known is None:
            known = self._packages[path] = PackageLeaks(path, order, text=text)
        if offset is not None:
            identity = known.digest if known.order == order else _text_identity(text)
            self._headers.append((offset, path, identity))
            self._offsets.append(offset)
        return order

    def identities_in(self, start: int, end: int) -> tuple[tuple[str, str], ...] | None:
        """(import path, identity of its own leak text) of each package whose header is in bytes
        [start, end) of the file, in order; None when the table was not filled with offsets.

        A block's results store these (escapelint.workflows.cache, BlockMeta.leak_identities), so
        that a run whose every block is in the cache knows every package's `identity` without
        scanning the file: the identity of a path is that of the first package of that path.
        """
        if not self._headers:
            return None
        low, high = bisect.bisect_left(self._offsets, start), bisect.bisect_left(self._offsets, end)
        return tuple((path, identity) for _, path, identity in self._headers[low:high])

    def add_output(self, output: PackageOutput) -> int:
        """Count in a package as read: the explanations of its leak events and its unclaimed leaks."""
        return self.add(output.path, leak_explanations(output))

    def order_of(self, path: str | None) -> int | None:
        known = self._packages.get(path) if path is not None else None
        return None if known is None else known.order

    def before(self, path: str, order: int) -> PackageLeaks | None:
        """The package `path` if it comes before the package at `order` (a package it can import)."""
        known = self._packages.get(path)
        if self.recording is not None:
            self.recording[path] = self.identity(path)
        if known is None or known.order >= order:
            return None
        return known

    def identity(self, path: str) -> str:
        """What the table holds for `path`, as a cache dependency: its digest, or "-" for nothing.
        The order is left out: `go build` prints a package after every package it imports, so a
        package found before is found before in every build."""
        known = self._packages.get(path)
        return "-" if known is None else known.digest

    def __len__(self) -> int:
        return len(self._packages)


def leak_explanations(output: PackageOutput) -> list[Explanation]:
    """A package's explanations of leaks to the heap: its leak events' and those no summary claimed
    (wrappers, instantiations)."""
    found = [e for event in output.events if event.kind is EventKind.LEAK for e in event.explanations]
    found += [e for e in output.unclaimed if e.sink is not None]
    return [e for e in found if e.sink == HEAP_SINK]


def _identity(explanation: Explanation) -> tuple:
    at = explanation.position
    return (
        at.file,
        at.line,
        at.column or 0,
        explanation.subject,
        explanation.derefs or 0,
        explanation.function or "",
        tuple((f.sink, f.source, f.derefs, tuple((s.expr, s.reason, str(s.at)) for s in f.steps)) for f in explanation.flows),
    )
