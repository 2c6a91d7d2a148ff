"""What a pull request changed: the sticky Markdown comment, GitHub annotations, SARIF and JSON of a DiffResult.

The added and removed findings become the report model's `Site`s (escapelint.report.page), and the
report's own renderers write them: the annotation line (report.annotations), the SARIF writer
(report.sarif), the Markdown environment and its `md` escaping (report.markdown). Only the JSON
document, which lists findings with their fingerprints, is written here from the findings themselves.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from escapelint.analyze.compare import DiffResult, repo_relative
from escapelint.analyze.findings import Finding
from escapelint.report.annotations import github_annotation, workflow_command
from escapelint.report.markdown import (
    GITHUB_COMMENT_LIMIT,
    comment_length,
    environment,
    fit_comment,
)
from escapelint.report.page import Site, finding_order, finding_record, heap_sites
from escapelint.report.sarif import findings_sarif
from escapelint.rules import RULES

#: The hidden marker a bot looks for to update its previous comment instead of adding one.
COMMENT_MARKER = "<!-- escapelint:diff -->"
#: The comment shows at most this many characters of the base revision: the comment must fit its
#: limit whatever revision was given (`HEAD~1~1~1…`, a long ref name).
REVISION_SHOWN = 100
#: GitHub shows at most 10 warning annotations per step.
ANNOTATION_LIMIT = 10
DIFF_SCHEMA = "escapelint.diff/1"


# --- The model: the diff's sites, as the report model shows them ---------------------------------


def diff_sites(findings: Iterable[Finding]) -> list[Site]:
    """The report model's Sites of a diff's added or removed findings, in file order per package."""
    return heap_sites(findings)


def _file(result: DiffResult, site: Site) -> str | None:
    """The site's file relative to the repository root (as annotations and the comment show it)."""
    return None if site.at.file is None else repo_relative(result, site.at.file)


@dataclass(frozen=True, slots=True)
class CategoryChange:
    category: str
    added: int
    removed: int


@dataclass(frozen=True, slots=True)
class DiffRow:
    where: str  # FILE:LINE, the file relative to the repository root
    site: Site


@dataclass(frozen=True, slots=True)
class DiffSection:
    """The new or the removed sites; the comment shows the first `shown` of `rows`."""

    title: str
    open: bool
    rows: tuple[DiffRow, ...]
    shown: int

    @property
    def visible(self) -> tuple[DiffRow, ...]:
        return self.rows[: self.shown]


@dataclass(frozen=True, slots=True)
class DiffComment:
    """Everything the PR comment (templates/markdown/diff_comment.md) says, counted and cut to size."""

    marker: str
    base: str
    added: int
    removed: int
    unchanged: int
    changes: tuple[CategoryChange, ...]  # categories with added or removed sites, in registry order
    sections: tuple[DiffSection, ...]
    hint: str | None  # where the full list is, when the comment leaves rows out
    static_added: int = 0  # new escapes the compiler serves from static data: not in `added`, not listed

    @property
    def static_note(self) -> str:
        """The sentence on the new escapes that allocate nothing (after a space), or ""."""
        if not self.static_added:
            return ""
        n = self.static_added
        return (
            f" {n} more new escape site{'s' * (n != 1)} that the compiler serves from static data "
            f"(no allocation), not listed."
        )

    @property
    def left_out(self) -> list[tuple[str, int]]:
        return [(s.title, len(s.rows) - s.shown) for s in self.sections if s.shown < len(s.rows)]


def allocating(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that allocate: what a diff counts, lists and annotates as new heap escapes."""
    return [f for f in findings if f.allocates]


def _changes(result: DiffResult) -> tuple[CategoryChange, ...]:
    added = Counter(f.category for f in allocating(result.added))
    removed = Counter(f.category for f in result.removed)
    return tuple(CategoryChange(c, added[c], removed[c]) for c in RULES if added[c] or removed[c])


def _rows(result: DiffResult, findings: list[Finding]) -> tuple[DiffRow, ...]:
    rows = []
    for site in diff_sites(findings):
        file = _file(result, site)
        rows.append(DiffRow(site.at.text if file is None else f"{file}:{site.at.line}", site))
    return tuple(rows)


# --- The PR comment ------------------------------------------------------------------------------


def markdown_comment(result: DiffResult, *, limit: int = GITHUB_COMMENT_LIMIT, report_hint: str | None = None) -> str:
    """The PR comment: a summary table, the new sites, the removed ones; always under `limit` characters.

    As many new sites as fit are listed, then as many removed ones (`fit_comment`); the comment says
    how many it left out and where the full list is.
    """
    template = environment().get_template("diff_comment.md")
    added = allocating(result.added)
    new = DiffSection("New heap escapes", True, _rows(result, added), 0)
    removed = DiffSection("Removed heap escapes", False, _rows(result, result.removed), 0)
    comment = DiffComment(
        COMMENT_MARKER, clip_revision(result.base), len(added), len(result.removed), result.unchanged,
        _changes(result), (new, removed), report_hint, len(result.added) - len(added),
    )  # fmt: skip

    def render(n_new: int, n_removed: int) -> str:
        sections = (replace(new, shown=n_new), replace(removed, shown=n_removed))
        return template.render(comment=replace(comment, sections=sections))

    n_new, _ = fit_comment(lambda n: render(n, 0), len(new.rows), limit)
    _, text = fit_comment(lambda n: render(n_new, n), len(removed.rows), limit)
    assert comment_length(text) <= limit, "the comment must fit GitHub's limit"
    return text


def clip_revision(revision: str, limit: int = REVISION_SHOWN) -> str:
    """`revision` as the comment shows it: whole, or its first `limit` - 1 characters and an ellipsis."""
    return revision if len(revision) <= limit else revision[: limit - 1] + "\u2026"


# --- Annotations and SARIF of the added sites ----------------------------------------------------


def github_annotations(result: DiffResult, *, limit: int = ANNOTATION_LIMIT) -> str:
    """Workflow commands that annotate each new site that allocates (GitHub shows at most `limit` per step)."""
    added = diff_sites(allocating(result.added))
    lines = [
        github_annotation(site, command="warning", title=f"escapelint: {site.category}", file=_file(result, site))
        for site in added[:limit]
    ]
    if len(added) > limit:
        more = len(added) - limit
        message = (
            f"{more} more new heap escape{'s' * (more != 1)} not annotated (GitHub shows {limit} warnings per step); "
            "see the PR comment or `escapelint diff --format json`"
        )
        lines.append(workflow_command("notice", message, {"title": "escapelint"}))
    return "".join(lines)


def diff_sarif(result: DiffResult, *, generated_at: datetime | None = None) -> str:
    """SARIF of the added sites only, written by the report's SARIF writer, one package at a time."""
    return findings_sarif(result.added, input_name=f"diff against {result.base}", go_version=result.go_version,
                          generated_at=generated_at)  # fmt: skip


# --- JSON ----------------------------------------------------------------------------------------


def diff_json(result: DiffResult) -> str:
    document = {
        "schema": DIFF_SCHEMA,
        "base": result.base,
        "go_version": result.go_version,
        "summary": {c.category: {"added": c.added, "removed": c.removed} for c in _changes(result)},
        "unchanged": result.unchanged,
        "added": [finding_record(f, repo_relative(result, f.event.position.file)) for f in sorted(result.added, key=finding_order)],
        "removed": [finding_record(f, repo_relative(result, f.event.position.file)) for f in sorted(result.removed, key=finding_order)],
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"
