"""Suppression comments in Go source: `//escapelint:ignore CATEGORY reason`, or golangci-lint's
`//nolint:escapelint // reason`.

A comment on the site's line, or alone on the line above it, silences findings of that category there
(`all` silences every category). `//nolint:escapelint` (alone or in a list, `//nolint:errcheck,escapelint`)
silences every category, as golangci-lint's directive silences a whole linter. The reason is required
(after `//` for nolint, as golangci-lint's nolintlint asks): a suppression nobody can explain later is
a bug. A malformed one is reported, never silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from escapelint.analyze.source import read_go_file
from escapelint.rules import RULES

DIRECTIVE = "//escapelint:ignore"
_DIRECTIVE = re.compile(r"//escapelint:ignore(?:\s+(\S+))?(?:\s+(.*\S))?\s*$")
NOLINT = "//nolint:"
#: golangci-lint's form: `//nolint:LINTER[,LINTER...]` then, optionally, ` // reason`.
_NOLINT = re.compile(r"//nolint:([\w-]+(?:\s*,\s*[\w-]+)*)(?:\s*//\s*(.*\S))?\s*$")


@dataclass(frozen=True, slots=True)
class Suppression:
    file: str
    line: int  # the line of the comment
    category: str  # a category id or "all"
    reason: str
    applies_to: tuple[int, ...]  # the lines it silences


@dataclass(frozen=True, slots=True)
class SuppressionProblem:
    file: str
    line: int
    message: str


class Suppressions:
    """The suppressions of the files read so far, looked up by (file, line, category)."""

    def __init__(self) -> None:
        self._by_site: dict[tuple[str, int], list[Suppression]] = {}
        self.problems: list[SuppressionProblem] = []
        self._read: set[str] = set()

    def read(self, file: str, path: Path | None) -> None:
        """Read the directives of `file` (as the compiler prints it) from `path`, once."""
        if file in self._read or path is None:
            return
        self._read.add(file)
        text = read_go_file(path)
        if text is None or (DIRECTIVE not in text and NOLINT not in text):
            return
        for number, line in enumerate(text.splitlines(), start=1):
            if (DIRECTIVE in line or NOLINT in line) and not _opens_comment(line):
                continue  # mentioned in a comment's prose or a string, not written as a directive
            if DIRECTIVE in line:
                match = _DIRECTIVE.search(line)
                category, reason = (match.group(1), match.group(2)) if match else (None, None)
                if not category or (category not in RULES and category != "all"):
                    self.problems.append(
                        SuppressionProblem(file, number, f"{DIRECTIVE} needs a category ({', '.join(RULES)} or all)")
                    )
                    continue
                if not reason:
                    self.problems.append(SuppressionProblem(file, number, f"{DIRECTIVE} {category} needs a reason"))
                    continue
            elif NOLINT in line:
                match = _NOLINT.search(line)
                linters = [name.strip() for name in match.group(1).split(",")] if match else []
                if "escapelint" not in linters:
                    if match is None and "escapelint" in line.partition(NOLINT)[2].split("//")[0]:
                        self.problems.append(
                            SuppressionProblem(file, number, "malformed //nolint:escapelint; write //nolint:escapelint // REASON")
                        )
                    continue  # another linter's directive
                category, reason = "all", match.group(2)
                if not reason:
                    self.problems.append(
                        SuppressionProblem(file, number, "//nolint:escapelint needs a reason: //nolint:escapelint // REASON")
                    )
                    continue
            else:
                continue
            alone = line.strip().startswith("//")
            applies_to = (number, number + 1) if alone else (number,)
            suppression = Suppression(file, number, category, reason, applies_to)
            for target in applies_to:
                self._by_site.setdefault((file, target), []).append(suppression)

    def find(self, file: str, line: int, category: str | None) -> Suppression | None:
        for suppression in self._by_site.get((file, line), ()):
            if suppression.category in ("all", category):
                return suppression
        return None


#: Go's string and rune literals, so that a `//` inside one ("http://x") is not taken for a comment.
_LITERAL = re.compile(r'"(?:[^"\\\n]|\\.)*"|`[^`]*`|\'(?:[^\'\\\n]|\\.)*\'')


def _opens_comment(line: str) -> bool:
    """Whether the line's comment begins with a directive, as golangci-lint requires of //nolint:
    `//escapelint:ignore …` alone or after code, not quoted inside another comment's prose."""
    code = _LITERAL.sub('""', line)
    start = code.find("//")
    return start >= 0 and (code.startswith(DIRECTIVE, start) or code.startswith(NOLINT, start))
