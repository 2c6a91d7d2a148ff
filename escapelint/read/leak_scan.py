"""Every package's explanations of parameter leaks to the heap, read from a file before the packages are.

Worker processes (escapelint.workflows.parallel) read a file in windows of whole packages, but a
package's verdicts may follow a value into a function of an earlier package (escapelint.analyze.leaks):
the parent gives every worker the leak explanations of the whole file. Reading all of it would cost as
much as the work itself, so this finds the few lines that matter with the C-speed `bytes.find`: the
package headers and the "parameter p leaks to {heap} ...:" headers with their flow and step lines
(about 2 % of the standard library's lines), and reads just those lines with BuildReader, so they mean
exactly what they mean in the whole file.
"""

from __future__ import annotations

import bisect
import mmap
from collections.abc import Iterator
from pathlib import Path

from escapelint.events import Explanation
from escapelint.read.assembler import BuildReader
from escapelint.read.classifier import LineClassifier
from escapelint.read.messages import LeakHeader, PackageHeader

_LEAK = b": parameter "
_HEAP = b" leaks to {heap}"
_HEADER = b"# "
_BODY_INDENT = b"  "  # flow ("  flow: "), step ("    from ") and warning lines follow their header's prefix


def scan_leak_explanations(path: Path) -> Iterator[tuple[str, tuple[Explanation, ...]]]:
    """(package path, its explanations of leaks to the heap) for every package header of the file, in order."""
    with path.open("rb") as handle:
        try:
            data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file cannot be mapped
            return
        with data:
            yield from _scan(data)


def _scan(data) -> Iterator[tuple[str, tuple[Explanation, ...]]]:
    classifier = LineClassifier()
    headers: list[tuple[int, bytes]] = []  # (offset, line) of each package header
    start = 0 if data[:2] == _HEADER else _after_newline(data.find(b"\n" + _HEADER))
    while start >= 0:
        end = _line_end(data, start)
        line = data[start:end]
        if isinstance(classifier.classify(_text(line))[1], PackageHeader):
            headers.append((start, line))
        start = _after_newline(data.find(b"\n" + _HEADER, end))
    blocks: list[list[bytes]] = [[] for _ in headers]
    starts = [offset for offset, _ in headers]
    position = data.find(_LEAK)
    while position >= 0:
        start = data.rfind(b"\n", 0, position) + 1
        end = _line_end(data, start)
        line = data[start:end]
        package = bisect.bisect_right(starts, start) - 1
        if package >= 0 and _HEAP in line:
            _, message = classifier.classify(_text(line))
            if isinstance(message, LeakHeader) and message.sink == "{heap}":
                prefix = line[: position - start + 2]
                body = prefix + _BODY_INDENT
                block = [line]
                while end < len(data):
                    following = _line_end(data, end + 1)
                    candidate = data[end + 1 : following]
                    if not candidate.startswith(body):
                        break
                    block.append(candidate)
                    end = following
                blocks[package].extend(block)
        position = data.find(_LEAK, end)
    lines = []
    for (_, header), block in zip(headers, blocks):
        lines.append(_text(header) + "\n")
        lines.extend(_text(line) + "\n" for line in block)
    for output in BuildReader().packages(lines):
        if output.path is not None:
            yield output.path, tuple(e for e in output.unclaimed if e.sink == "{heap}")


def _after_newline(found: int) -> int:
    return found + 1 if found >= 0 else -1


def _line_end(data, start: int) -> int:
    end = data.find(b"\n", start)
    return len(data) if end < 0 else end


def _text(line: bytes) -> str:
    """A line as escapelint.read.input decodes it, without its line end."""
    return line.decode("utf-8", errors="replace").rstrip("\r")
