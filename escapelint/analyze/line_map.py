"""Where each unchanged line of a base revision is in the head: the line mapping of a `git diff -U0 -M`.

A comparison pairs a base site with the head site at the position its line moved to, before it pairs
the rest by what they are (escapelint.analyze.compare): an identical expression added above three
others is then the added one, not the last of four. The mapping is read from the text of

    git diff --no-color --no-ext-diff -U0 -M --src-prefix=a/ --dst-prefix=b/ BASE -- .

(escapelint.workflows.git runs it): with no context lines every hunk `@@ -a,b +c,d @@` is exactly the
lines removed (base a..a+b-1) and added (head c..c+d-1); every other line of the file is unchanged and
shifted by what the hunks before it added and removed. A file the diff does not name is unchanged;
a renamed one maps to its new name. Names are relative to the repository's top, "/"-separated, as git
prints them; `for_directory` re-keys them relative to a module inside the repository.
"""

from __future__ import annotations

import bisect
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_HUNK = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


class DiffFormatError(ValueError):
    """Text that is not the `git diff -U0` this module reads (a hunk header it cannot parse)."""


@dataclass(frozen=True, slots=True)
class Hunk:
    """One change: base lines old_start..old_start+old_count-1 replaced by head lines new_start..+new_count-1.

    When a count is 0, its start is the line *before* the change (git's convention), 0 at the top of the file.
    """

    old_start: int
    old_count: int
    new_start: int
    new_count: int


@dataclass(frozen=True, slots=True)
class FileChange:
    """One file of the diff: its base and head names (None when added or deleted) and its hunks in order."""

    old_path: str | None
    new_path: str | None
    hunks: tuple[Hunk, ...]

    def added_lines(self) -> frozenset[int]:
        """The head lines the change added or modified."""
        return frozenset(line for h in self.hunks for line in range(h.new_start, h.new_start + h.new_count))


@dataclass(frozen=True)
class FileLineMap:
    """The line mapping of one file: the boundaries where the shift changes, and the removed ranges."""

    change: FileChange
    _starts: tuple[int, ...] = field(init=False, repr=False)  # first base line after each hunk
    _shifts: tuple[int, ...] = field(init=False, repr=False)  # head - base for lines from that start on

    def __post_init__(self) -> None:
        starts, shifts, shift = [], [], 0
        for hunk in self.change.hunks:
            shift += hunk.new_count - hunk.old_count
            starts.append(hunk.old_start + (hunk.old_count if hunk.old_count else 1))
            shifts.append(shift)
        object.__setattr__(self, "_starts", tuple(starts))
        object.__setattr__(self, "_shifts", tuple(shifts))

    def _hunk_holding(self, line: int) -> Hunk | None:
        for hunk in self.change.hunks:
            if hunk.old_count and hunk.old_start <= line < hunk.old_start + hunk.old_count:
                return hunk
        return None

    def head_line(self, line: int) -> int | None:
        """The head line that base `line` is, unchanged; None when the change removed or modified it."""
        if self.change.new_path is None or self._hunk_holding(line) is not None:
            return None
        index = bisect.bisect_right(self._starts, line) - 1
        return line + (self._shifts[index] if index >= 0 else 0)

    def nearest_head_line(self, line: int) -> int:
        """Where base `line` went, or, for a removed or modified line, the first head line of its hunk:
        what a comparison measures the distance of a moved or reworded site by."""
        hunk = self._hunk_holding(line)
        if hunk is not None:
            return max(hunk.new_start, 1)
        mapped = self.head_line(line)
        return line if mapped is None else mapped


@dataclass(frozen=True)
class LineMapping:
    """The line mapping of a whole diff, by base file name; files it does not name are unchanged."""

    files: dict[str, FileLineMap]  # by base name, for files that exist in the base
    added: dict[str, frozenset[int]]  # head name -> lines added or modified (every line of a new file)

    def head_line(self, base_file: str, line: int) -> tuple[str, int] | None:
        """Where an unchanged base line is in the head, (file, line); None when it was removed or modified."""
        mapped = self.files.get(_key(base_file))
        if mapped is None:
            return base_file, line
        head = mapped.head_line(line)
        return None if head is None else (_same_form(base_file, mapped.change.new_path), head)

    def nearest_head_line(self, base_file: str, line: int) -> tuple[str | None, int]:
        """Where a base line is in the head, or where its hunk is when it changed (see FileLineMap)."""
        mapped = self.files.get(_key(base_file))
        if mapped is None:
            return base_file, line
        new_path = mapped.change.new_path
        return (None if new_path is None else _same_form(base_file, new_path)), mapped.nearest_head_line(line)

    def is_changed(self, head_file: str, line: int) -> bool:
        """Whether head `line` of `head_file` was added or modified by the change."""
        return line in self.added.get(_key(head_file), frozenset())

    def for_directory(self, directory: str) -> LineMapping:
        """The mapping with names relative to `directory` (a module inside the repository, "" or "." for
        the top); files outside it are left out, as no build inside it names them relatively."""
        prefix = "" if directory in ("", ".") else directory.strip("/") + "/"

        def inside(name: str | None) -> str | None:
            return name[len(prefix) :] if name is not None and name.startswith(prefix) else None

        files = {}
        for name, mapped in self.files.items():
            old = inside(name)
            if old is not None:
                change = mapped.change
                files[old] = FileLineMap(FileChange(old, inside(change.new_path), change.hunks))
        added = {inside(name): lines for name, lines in self.added.items() if inside(name) is not None}
        return LineMapping(files, added)  # type: ignore[arg-type]


def _key(printed: str) -> str:
    """A file name as the compiler prints it ("./kv/store.go", "kv/store.go") as the mapping keys it."""
    return posixpath.normpath(printed) if printed.startswith(".") else printed


def _same_form(printed: str, name: str) -> str:
    """`name` written as `printed` is ("./" kept), so that head sites are looked up by what the build prints."""
    return "./" + name if printed.startswith("./") and not name.startswith("./") else name


def unquote_path(text: str) -> str:
    """A path as git prints it in a diff header: C-quoted ("a/t\\303\\251st.go") when it holds special bytes."""
    if not (len(text) >= 2 and text.startswith('"') and text.endswith('"')):
        return text
    out, i, body = bytearray(), 0, text[1:-1]
    while i < len(body):
        char = body[i]
        if char != "\\":
            out += char.encode("utf-8")
            i += 1
        elif body[i + 1 : i + 4].isdigit() and len(body[i + 1 : i + 4]) == 3:
            out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
            i += 4
        else:
            out.append(_C_ESCAPES.get(body[i + 1 : i + 2], ord("\\")))
            i += 2
    return out.decode("utf-8", errors="surrogateescape")


def _side(text: str, prefix: str) -> str | None:
    """The name after '--- ' or '+++ ' (without git's a/ or b/ prefix), None for /dev/null."""
    text = text.split("\t", 1)[0] if not text.startswith('"') else text
    name = unquote_path(text)
    if name == "/dev/null":
        return None
    return name.removeprefix(prefix)


def parse_diff(text: str) -> list[FileChange]:
    """The files and hunks of a `git diff -U0 -M --src-prefix=a/ --dst-prefix=b/` (see the module docstring).

    A hunk's content lines are counted off by its header, so a removed line that reads "-- x" is not
    taken for a file header. Raises DiffFormatError for a hunk header it cannot read or a hunk cut
    short: a line mapping that silently lost a hunk would pair sites wrongly.
    """
    changes: list[FileChange] = []
    old: str | None = None
    new: str | None = None
    hunks: list[Hunk] = []
    in_file = False
    removing = adding = 0  # content lines of the current hunk still to come

    def finish() -> None:
        if removing or adding:
            raise DiffFormatError(f"a hunk of {new or old} ends {removing + adding} line(s) early")
        if in_file and (old is not None or new is not None):
            changes.append(FileChange(old, new, tuple(hunks)))

    for line in text.removesuffix("\n").split("\n"):
        if removing or adding:
            if line.startswith("-") and removing:
                removing -= 1
            elif line.startswith("+") and adding:
                adding -= 1
            elif not line.startswith("\\"):  # "\ No newline at end of file"
                raise DiffFormatError(f"not a line of a hunk: {line[:200]!r}")
            continue
        if line.startswith("diff --git "):
            finish()
            # The "diff --git a/X b/Y" line is ambiguous when a name holds " b/"; the lines below say.
            in_file, old, new, hunks = True, None, None, []
        elif not in_file or line.startswith("\\"):
            continue
        elif line.startswith("rename from "):
            old = unquote_path(line[len("rename from ") :])
        elif line.startswith("rename to "):
            new = unquote_path(line[len("rename to ") :])
        elif line.startswith("--- "):
            old = _side(line[4:], "a/")
        elif line.startswith("+++ "):
            new = _side(line[4:], "b/")
        elif line.startswith("@@"):
            match = _HUNK.match(line)
            if match is None:
                raise DiffFormatError(f"not a hunk header of a unified diff: {line[:200]!r}")
            a, b, c, d = match.groups()
            hunk = Hunk(int(a), 1 if b is None else int(b), int(c), 1 if d is None else int(d))
            hunks.append(hunk)
            removing, adding = hunk.old_count, hunk.new_count
    finish()
    return changes


def line_mapping(changes: Iterable[FileChange], new_files: Iterable[str] = ()) -> LineMapping:
    """The mapping of a diff's file changes, and of `new_files` (untracked files, every line added)."""
    files: dict[str, FileLineMap] = {}
    added: dict[str, frozenset[int]] = {}
    for change in changes:
        if change.old_path is not None:
            files[change.old_path] = FileLineMap(change)
        if change.new_path is not None:
            added[change.new_path] = change.added_lines()
    for name in new_files:
        added[name] = _EVERY_LINE
    return LineMapping(files, added)


class _EveryLine(frozenset):
    """Every line of a file git does not track: all of it is new."""

    def __contains__(self, line: object) -> bool:
        return isinstance(line, int) and line >= 1


_EVERY_LINE = _EveryLine()
