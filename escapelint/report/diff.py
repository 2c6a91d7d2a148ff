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
from escapelint.report.annotations import (
    ANNOTATION_LIMIT,
    github_annotation,
    overflow_notice,
)
from escapelint.report.markdown import (
    GITHUB_COMMENT_LIMIT,
    comment_length,
    environment,
    fit_comment,
)
from escapelint.report.page import (
    Site,
    bytes_text,
    finding_order,
    finding_record,
    heap_sites,
    in_go_installation,
    with_cost,
)
from escapelint.report.sarif import findings_sarif
from escapelint.rules import RULES

#: The hidden marker a bot looks for to update its previous comment instead of adding one.
COMMENT_MARKER = "<!-- escapelint:diff -->"
#: The comment shows at most this many characters of the base revision: the comment must fit its
#: limit whatever revision was given (`HEAD~1~1~1…`, a long ref name).
REVISION_SHOWN = 100
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
    """The new or the removed sites, the module's own or the standard library's inlined into it; the
    comment shows the first `shown` of `rows`."""

    title: str
    added: bool  # the new sites, else the removed ones
    open: bool  # shown unfolded: the module's own new sites
    rows: tuple[DiffRow, ...]
    shown: int
    in_go_installation: bool = False  # sites in GOROOT files: standard-library code inlined here

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
    new_bytes: str | None = None  # with a heap profile: what the new sites allocated ("1.2 MB")
    costliest: tuple[DiffRow, ...] = ()  # with a heap profile: the new sites that allocated most, at most 5
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

    @property
    def in_go_installation(self) -> tuple[int, int]:
        """(new, removed) sites in GOROOT files, which the counts above include."""
        new, removed = (sum(len(s.rows) for s in self.sections if s.in_go_installation and s.added is is_new)
                        for is_new in (True, False))  # fmt: skip
        return new, removed


def allocating(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that allocate: what a diff counts, lists and annotates as new heap escapes."""
    return [f for f in findings if f.allocates]


def _changes(result: DiffResult) -> tuple[CategoryChange, ...]:
    added = Counter(f.category for f in allocating(result.added))
    removed = Counter(f.category for f in result.removed)
    return tuple(CategoryChange(c, added[c], removed[c]) for c in RULES if added[c] or removed[c])


def _rows(result: DiffResult, findings: list[Finding]) -> tuple[DiffRow, ...]:
    rows = []
    sites = diff_sites(findings)
    if result.costs is not None:
        sites = [with_cost(site, finding, result.costs) for site, finding in zip(sites, sorted(findings, key=finding_order))]
    for site in sites:
        file = _file(result, site)
        rows.append(DiffRow(site.at.text if file is None else f"{file}:{site.at.line}", site))
    return tuple(rows)


def _sections(result: DiffResult, added: list[Finding]) -> tuple[DiffSection, ...]:
    """The comment's sections in the order they are filled: the module's own new and removed sites, then
    those in GOROOT files (standard-library generics instantiated, or code inlined, into the module's
    packages: slices.Insert's append reported at slices.go), collapsed, after them."""
    sections = []
    for title, is_new, findings in (("New heap escapes", True, added),
                                    ("Removed heap escapes", False, result.removed)):  # fmt: skip
        rows = _rows(result, findings)
        own = tuple(r for r in rows if not in_go_installation(r.site.at.file))
        sections.append(DiffSection(title, is_new, is_new, own, 0))
        inlined = tuple(r for r in rows if in_go_installation(r.site.at.file))
        if inlined:
            std_title = f"{title} in inlined standard-library code"
            sections.append(DiffSection(std_title, is_new, False, inlined, 0, in_go_installation=True))
    return tuple(sorted(sections, key=lambda s: s.in_go_installation))


# --- The PR comment ------------------------------------------------------------------------------


def markdown_comment(result: DiffResult, *, limit: int = GITHUB_COMMENT_LIMIT, report_hint: str | None = None) -> str:
    """The PR comment: a summary table, the new sites, the removed ones; always under `limit` characters.

    As many new sites as fit are listed, then as many removed ones (`fit_comment`), then those in
    inlined standard-library code (GOROOT files), each in a collapsed section of its own; the comment
    says how many it left out and where the full list is.
    """
    template = environment().get_template("diff_comment.md")
    added = allocating(result.added)
    sections = list(_sections(result, added))
    comment = DiffComment(
        COMMENT_MARKER, clip_revision(result.base), len(added), len(result.removed), result.unchanged,
        _changes(result), tuple(sections), report_hint, static_added=len(result.added) - len(added),
    )  # fmt: skip
    if result.costs is not None:
        costs = result.costs
        ranked = [row for section in sections if section.added for row in section.rows
                  if row.site.cost is not None and row.site.cost.exercised]  # fmt: skip
        ranked.sort(key=lambda row: -row.site.cost.bytes)
        total = sum(c.figures.bytes for f in result.added if (c := costs.of(f)) is not None)
        comment = replace(comment, new_bytes=bytes_text(total), costliest=tuple(ranked[:5]))

    def render(index: int, shown: int) -> str:
        trial = [*sections[:index], replace(sections[index], shown=shown), *sections[index + 1 :]]
        return template.render(comment=replace(comment, sections=tuple(trial)))

    text = template.render(comment=comment)
    for index, section in enumerate(sections):  # filled in order: the module's own sites first
        shown, text = fit_comment(lambda n, index=index: render(index, n), len(section.rows), limit)
        sections[index] = replace(section, shown=shown)
    assert comment_length(text) <= limit, "the comment must fit GitHub's limit"
    return text


def clip_revision(revision: str, limit: int = REVISION_SHOWN) -> str:
    """`revision` as the comment shows it: whole, or its first `limit` - 1 characters and an ellipsis."""
    return revision if len(revision) <= limit else revision[: limit - 1] + "\u2026"


# --- Annotations and SARIF of the added sites ----------------------------------------------------


def github_annotations(result: DiffResult, *, limit: int = ANNOTATION_LIMIT) -> str:
    """The annotation of each new site that allocates, worded as `report --format github` words it
    (report.annotations.github_annotation), the first `limit` of them and the overflow notice."""
    added = diff_sites(allocating(result.added))
    lines = [github_annotation(site, file=_file(result, site)) for site in added[:limit]]
    if len(added) > limit:
        see = "see the PR comment or `escapelint diff --format json`"
        lines.append(overflow_notice(len(added) - limit, "new heap escape", see, limit))
    return "".join(lines)


def diff_sarif(result: DiffResult, *, generated_at: datetime | None = None) -> str:
    """SARIF of the added sites only, written by the report's SARIF writer, one package at a time; files
    relative to the repository's top, as code scanning (github/codeql-action/upload-sarif) resolves them."""
    return findings_sarif(result.added, input_name=f"diff against {result.base}", go_version=result.go_version,
                          generated_at=generated_at, file_shown=lambda file: repo_relative(result, file))  # fmt: skip


# --- JSON ----------------------------------------------------------------------------------------


def diff_json(result: DiffResult) -> str:
    document = {
        "schema": DIFF_SCHEMA,
        "base": result.base,
        "go_version": result.go_version,
        "summary": {c.category: {"added": c.added, "removed": c.removed} for c in _changes(result)},
        "unchanged": result.unchanged,
        "added": [
            _with_profile(finding_record(f, repo_relative(result, f.event.position.file)), f, result)
            for f in sorted(result.added, key=finding_order)
        ],
        "removed": [finding_record(f, repo_relative(result, f.event.position.file)) for f in sorted(result.removed, key=finding_order)],
    }
    if result.costs is not None:
        document["new_bytes"] = sum(c.figures.bytes for f in result.added if (c := result.costs.of(f)) is not None)
        document["profile_files"] = list(result.costs.facts.files)
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def _with_profile(record: dict, finding: Finding, result: DiffResult) -> dict:
    """An added site's record with its heap profile figures, when `diff --profile` gave one."""
    if result.costs is not None:
        from escapelint.report.json import site_profile

        cost = result.costs.of(finding)
        if cost is not None:
            record["profile"] = site_profile(cost, result.costs)
    return record
