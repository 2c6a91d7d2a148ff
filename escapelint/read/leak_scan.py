"""Every package's explanations of parameter leaks to the heap, read from a file before the packages are.

Worker processes (escapelint.workflows.parallel) read a file in windows of whole packages, but a
package's verdicts may follow a value into a function of an earlier package (escapelint.analyze.leaks):
the parent gives every worker the leak explanations of the whole file. Reading all of it would cost as
much as the work itself, so this finds the few lines that matter with the C-speed `bytes.find`: the
package headers and the "parameter p leaks to {heap} ...:" headers with their flow and step lines
(about 2 % of the standard library's lines). A package's lines are read, with BuildReader so that they
mean exactly what they mean in the whole file, only when a package that calls into it asks
(escapelint.analyze.leaks): in the workers, and for the few packages called.
"""

from __future__ import annotations

import bisect
import hashlib
import mmap
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from escapelint.events import Explanation
from escapelint.read.assembler import BuildReader
from escapelint.read.classifier import LineClassifier
from escapelint.read.input import InputError
from escapelint.read.messages import PackageHeader

_HEAP = b" leaks to {heap}"
#: A leak header and the lines that carry its position prefix indented (flow "  flow: ", step
#: "    from ", warning "  warning: "); a position never holds ": " (grammars/gc_diagnostics.lark).
_BLOCK = re.compile(rb"(?P<prefix>[^\n]*?: )(?P<header>parameter [^\n]*)(?:\n(?P=prefix)  [^\n]*)*")


class LeakText:
    """One package's leak explanations as spans of a file, read from it when asked for (`read`).

    The spans are kept instead of their bytes because the table of the whole file is made before the
    worker processes are forked, and every byte the parent holds then counts again in each worker:
    the texts of Go 1.22's std are 13 MB, and the scan that joined them left the parent 26 MB larger.
    Only the few packages a value is followed into are ever read (escapelint.analyze.leaks).
    """

    __slots__ = ("path", "spans", "identity")

    def __init__(self, path: Path, spans: list[tuple[int, int]], identity: str) -> None:
        self.path = path
        self.spans = spans
        self.identity = identity  # text_identity of the text

    def read(self) -> bytes:
        """The text, as the scan found it; InputError if the file no longer holds it."""
        try:
            with self.path.open("rb", buffering=0) as handle:
                text = b"\n".join(os.pread(handle.fileno(), end - start, start) for start, end in self.spans)
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read: {exc.strerror or exc}") from None
        if text_identity(text) != self.identity:
            raise InputError(f"{self.path}: the file changed while it was read")
        return text


def text_identity(text: bytes) -> str:
    """A package's identity in the leak table (escapelint.analyze.leaks) when its leaks come as this
    scan's text: "text:" and the SHA-256 of the text."""
    return "text:" + hashlib.sha256(text).hexdigest()


def scan_leak_explanations(path: Path) -> Iterator[tuple[str, bytes]]:
    """(package path, the text of its explanations of leaks to the heap) for every package header of
    the file, in order. The text is read by `read_leak_explanations` when someone asks."""
    for _, package, text in scan_leak_headers(path):
        yield package, text.read()


def scan_leak_headers(path: Path) -> Iterator[tuple[int, str, LeakText]]:
    """`scan_leak_explanations` with the byte offset of each package header line in the file, and the
    text left in the file (LeakText) until someone asks."""
    with path.open("rb") as handle:
        for offset, package, spans, data in _scan_mapped(handle):
            digest = hashlib.sha256()
            for index, (start, end) in enumerate(spans):
                if index:
                    digest.update(b"\n")  # the texts are joined by line ends, as `_joined` joins them
                digest.update(data[start:end])
            yield offset, package, LeakText(path, spans, "text:" + digest.hexdigest())


def scan_leak_handle(handle: BinaryIO) -> Iterator[tuple[str, bytes]]:
    """`scan_leak_explanations` of an open file (a block of a `go build` pipe spooled to disk): mapped,
    never read into memory whole (go/types alone is 270 MB of the standard library's output)."""
    for _, package, spans, data in _scan_mapped(handle):
        yield package, _joined(data, spans)


def _scan_mapped(handle: BinaryIO) -> Iterator[tuple[int, str, list[tuple[int, int]], mmap.mmap]]:
    """`_scan` of an open file, mapped; each package with the mapping its spans are in."""
    try:
        data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except ValueError:  # an empty file cannot be mapped
        return
    with data:
        for offset, package, spans in _scan(data):
            yield offset, package, spans, data


def scan_leak_text(data: bytes) -> Iterator[tuple[str, bytes]]:
    """`scan_leak_explanations` of text in memory: one block of a `go build` pipe (escapelint.workflows.blocks)."""
    for _, package, spans in _scan(data):
        yield package, _joined(data, spans)


def _joined(data, spans: list[tuple[int, int]]) -> bytes:
    return b"\n".join(data[start:end] for start, end in spans)


def read_leak_explanations(package: str, text: bytes) -> tuple[Explanation, ...]:
    """The explanations of leaks to the heap in the text `scan_leak_explanations` found for `package`."""
    global _classifier
    if _classifier is None:
        _classifier = LineClassifier()
    lines = [f"# {package}\n"] + [line + "\n" for line in _text(text).split("\n") if line]
    found: list[Explanation] = []
    for output in BuildReader(_classifier).packages(lines):
        found += [e for e in output.unclaimed if e.sink == "{heap}"]
    return tuple(found)


#: The classifier of every leak text this process reads: it only memoizes (what a line means does not
#: depend on what it read before), and the texts share most of their bodies ("parameter p leaks to
#: {heap} with derefs=0:", the steps of common calls), so each is parsed once, not once per package.
_classifier: LineClassifier | None = None


class _ScannedPages:
    """Finds in a mapped file, giving back the pages behind the search as it goes forward.

    Every page `find` reads stays mapped into the process, so scanning a 330 MiB file would leave its
    resident size at 330 MiB (the pages are the kernel's page cache, but they count in the process's
    RSS, and in the workers forked after it). So a search goes a window at a time, and MADV_DONTNEED
    unmaps what lies behind: the data stays cached, and a page read again is mapped again.
    """

    WINDOW = 4 << 20  # about 80 system calls on the standard library

    def __init__(self, data) -> None:
        self.data = data
        self._mapped = isinstance(data, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED")
        self._behind = 0

    def find(self, needle: bytes, start: int) -> int:
        data, size = self.data, len(self.data)
        while start < size:
            end = min(start + self.WINDOW, size)
            found = data.find(needle, start, end + len(needle) - 1)
            if found >= 0:
                return found
            self._give_back(end - self.WINDOW)  # a window of slack: what is found is read around
            start = end
        return -1

    def give_back_all(self) -> None:
        if self._mapped and len(self.data) > self._behind:
            self.data.madvise(mmap.MADV_DONTNEED, self._behind, len(self.data) - self._behind)
        self._behind = 0

    def _give_back(self, until: int) -> None:
        until = until // mmap.PAGESIZE * mmap.PAGESIZE
        if self._mapped and until - self._behind >= self.WINDOW:
            self.data.madvise(mmap.MADV_DONTNEED, self._behind, until - self._behind)
            self._behind = until


def _scan(data) -> Iterator[tuple[int, str, list[tuple[int, int]]]]:
    """(offset of its header, import path, the spans of its leak explanations) of every package."""
    classifier = LineClassifier()
    pages = _ScannedPages(data)
    headers: list[tuple[int, str]] = []  # (offset, import path) of each package header
    start = _next_header_line(pages, 0)
    while start >= 0:
        end = _line_end(data, start)
        message = classifier.classify(_text(data[start:end]))[1]
        if isinstance(message, PackageHeader):
            headers.append((start, message.path))
        start = _next_header_line(pages, end + 1)
    pages.give_back_all()
    blocks: list[list[tuple[int, int]]] = [[] for _ in headers]
    starts = [offset for offset, _ in headers]
    position = pages.find(_HEAP, 0)
    while position >= 0:
        # "POS: parameter p leaks to {heap} ...:" (BuildReader checks the rest), and the flow and step
        # lines below it, matched in C.
        start = data.rfind(b"\n", 0, position) + 1
        block = _BLOCK.match(data, start)
        end = position + 1
        if block is not None and block.end("header") > position:
            package = bisect.bisect_right(starts, start) - 1
            if package >= 0:
                blocks[package].append(block.span())
                end = block.end()
        position = pages.find(_HEAP, end)
    pages.give_back_all()
    for (offset, package), spans in zip(headers, blocks):
        yield offset, package, spans


def _next_header_line(pages: _ScannedPages, start: int) -> int:
    """Where the next line at or after byte `start` that begins with "# " (a package header's form)
    begins; -1 if none does.

    Found by its "#" alone: a one-byte search runs at memchr's speed, while a search for "\n# " (a
    common byte last) took 0.22 s of the standard library's 330 MB against 0.01 s. "#" is rare in
    compiler output (582 times in Go 1.22's std).
    """
    data = pages.data
    at = pages.find(b"#", start)
    while at >= 0:
        if data[at + 1 : at + 2] == b" " and (at == 0 or data[at - 1] == 0x0A):
            return at
        at = pages.find(b"#", at + 1)
    return -1


def _line_end(data, start: int) -> int:
    end = data.find(b"\n", start)
    return len(data) if end < 0 else end


def _text(line: bytes) -> str:
    """A line as escapelint.read.input decodes it, without its line end."""
    return line.decode("utf-8", errors="replace").rstrip("\r")
