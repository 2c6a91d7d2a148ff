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
import io
import mmap
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from escapelint.events import Explanation
from escapelint.read.assembler import BuildReader
from escapelint.read.classifier import LineClassifier
from escapelint.read.input import cannot_read, changed_while_read
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
            raise cannot_read(str(self.path), exc) from None
        if text_identity(text) != self.identity:
            raise changed_while_read(str(self.path))
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
    with path.open("rb", buffering=0) as handle:
        for offset, package, spans, digest in _scan_file(handle, _TextDigest):
            yield offset, package, LeakText(path, spans, "text:" + digest.hexdigest())


def scan_leak_handle(handle: BinaryIO) -> Iterator[tuple[str, bytes]]:
    """`scan_leak_explanations` of an open file (a block of a `go build` pipe spooled to disk): read a
    piece at a time, never into memory whole (go/types alone is 270 MB of the standard library's output)."""
    for _, package, _, text in _scan_file(handle, _Text):
        yield package, text.joined()


def scan_leak_text(data: bytes) -> Iterator[tuple[str, bytes]]:
    """`scan_leak_explanations` of text in memory: one block of a `go build` pipe (escapelint.workflows.blocks)."""
    return scan_leak_handle(io.BytesIO(data))


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


class _Text:
    """A package's leak texts, kept as they are found, and joined by line ends."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def add(self, text: bytes) -> None:
        self._parts.append(text)

    def joined(self) -> bytes:
        return b"\n".join(self._parts)


class _TextDigest:
    """`_Text`'s digest, without keeping the text (text_identity of its joined bytes)."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self._first = True

    def add(self, text: bytes) -> None:
        if not self._first:
            self._digest.update(b"\n")
        self._first = False
        self._digest.update(text)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


#: `_scan_file` reads this much at a time. Read, not mapped: a mapped page that the file no longer
#: holds (a build writing the file again truncates it first) kills the process with SIGBUS; and what
#: is read goes, where every mapped page read stays in the process's resident size. Small enough for
#: the processor's cache: the standard library's scan takes 0.17 s in 1 MiB pieces, 0.22 s in 8 MiB.
_READ_PIECE = 1 << 20


class _Pieces:
    """An open file read forward in pieces of whole lines: bytes [0, size) of `data` are bytes
    [base, base + size) of the file, from a line start to a line end (or the end of the file).

    `data` is one anonymous mapping, reused all along and given back to the system whole by `close`.
    A heap buffer would stay in the process (the allocator keeps big freed blocks for the next ones):
    with 8 MiB pieces, 24 MiB in the parent after the scan, counted again in every worker forked after it.
    """

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        handle.seek(0)
        self.base = 0
        self.size = 0
        self._filled = 0  # bytes [size, _filled) of data: a line begun at the end of the last read
        self.data = mmap.mmap(-1, 2 * _READ_PIECE)
        self._at_end = False

    def more(self) -> bool:
        """Read the next piece onto the end of `data`; False when the file had no more."""
        while not self._at_end:
            if self._filled + _READ_PIECE > len(self.data):  # a line or a block longer than a piece
                self._grow()
            try:
                with memoryview(self.data)[self._filled : self._filled + _READ_PIECE] as piece:
                    read = self._handle.readinto(piece)
            except OSError as exc:
                raise cannot_read(getattr(self._handle, "name", "the input"), exc) from None
            if not read:  # the last line, if the file does not end with a line end
                self._at_end = True
                added = self._filled > self.size
                self.size = self._filled
                return added
            cut = self.data.rfind(b"\n", self._filled, self._filled + read) + 1
            self._filled += read
            if cut:
                self.size = cut
                return True
        return False

    def drop_before(self, offset: int) -> None:
        """Forget the bytes before the line that `offset` of the file is in."""
        at = self.data.rfind(b"\n", 0, offset - self.base) + 1
        if at:
            self.data.move(0, at, self._filled - at)
            self.base += at
            self.size -= at
            self._filled -= at

    def close(self) -> None:
        self.data.close()

    def _grow(self) -> None:
        grown = mmap.mmap(-1, 2 * len(self.data))
        grown[: self._filled] = self.data[: self._filled]
        self.data.close()
        self.data = grown


def _scan_file(handle: BinaryIO, text_of) -> Iterator[tuple[int, str, list[tuple[int, int]], object]]:
    """(offset of its header, import path, the spans of its leak explanations, what `text_of()` (a
    `_Text` or a `_TextDigest`) made of them) of every package of an open file, read forward once in
    pieces of whole lines.

    In each piece the package headers are found first, then the leak headers with the flow and step
    lines below them, each assigned to the last package header before it. A leak header whose block
    reaches the end of a piece may go on in the next: it is matched again once the next piece is
    read onto it (and the package headers of what was read are found first, as for any piece).
    """
    classifier = LineClassifier()
    headers: list[tuple[int, str]] = []
    starts: list[int] = []  # the headers' offsets, for bisect
    blocks: list[list[tuple[int, int]]] = []
    texts: list = []
    pieces = _Pieces(handle)

    def find_headers(start: int) -> int:
        """Note the package headers in data[start:size] (`start` a line start); the end searched."""
        data, size = pieces.data, pieces.size
        at = _next_header_line(data, start, size)
        while at >= 0:
            end = _line_end(data, at, size)
            message = classifier.classify(_text(data[at:end]))[1]
            if isinstance(message, PackageHeader):
                headers.append((pieces.base + at, message.path))
                starts.append(pieces.base + at)
                blocks.append([])
                texts.append(text_of())
            at = _next_header_line(data, end + 1, size)
        return size

    try:
        while pieces.more():
            searched = find_headers(0)
            data, base = pieces.data, pieces.base
            position = data.find(_HEAP, 0, pieces.size)
            while position >= 0:
                # "POS: parameter p leaks to {heap} ...:" (BuildReader checks the rest), and the flow and
                # step lines below it, matched in C.
                start = data.rfind(b"\n", 0, position) + 1
                block = _BLOCK.match(data, start, pieces.size)
                # A block whose last line is the piece's may go on in the next: match it again with it.
                while block is not None and block.end() >= pieces.size - 1 and pieces.more():
                    searched = find_headers(searched)
                    block = _BLOCK.match(pieces.data, start, pieces.size)
                data = pieces.data  # a new mapping if it grew
                end = position + 1
                if block is not None and block.end("header") > position:
                    package = bisect.bisect_right(starts, base + start) - 1
                    if package >= 0:
                        blocks[package].append((base + start, base + block.end()))
                        texts[package].add(data[start : block.end()])
                        end = block.end()
                position = data.find(_HEAP, end, pieces.size)
            pieces.drop_before(base + pieces.size)
    finally:
        pieces.close()
    for (offset, package), spans, text in zip(headers, blocks, texts):
        yield offset, package, spans, text


def _next_header_line(data, start: int, size: int) -> int:
    """Where the next line at or after byte `start` of `data[:size]` (which begins at a line start)
    that begins with "# " (a package header's form) begins; -1 if none does.

    Found by its "#" alone: a one-byte search runs at memchr's speed, while a search for "\n# " (a
    common byte last) took 0.22 s of the standard library's 330 MB against 0.01 s. "#" is rare in
    compiler output (582 times in Go 1.22's std).
    """
    at = data.find(b"#", start, size)
    while at >= 0:
        if at + 1 < size and data[at + 1] == 0x20 and (at == 0 or data[at - 1] == 0x0A):
            return at
        at = data.find(b"#", at + 1, size)
    return -1


def _line_end(data, start: int, size: int) -> int:
    end = data.find(b"\n", start, size)
    return size if end < 0 else end


def _text(line: bytes) -> str:
    """A line as escapelint.read.input decodes it, without its line end."""
    return line.decode("utf-8", errors="replace").rstrip("\r")
