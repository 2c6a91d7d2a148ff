"""The source view's model: one page per Go file with sites, the whole file with its sites in the margin.

As coverage.py shows a file: every line, and on the lines the compiler reported, marks in the margin
(a category colour and a count) that open the line's sites (reason, explanation, fix) in place.
Variables moved to the heap are marked at their declaration (where the compiler reports them),
leaking parameters at the signature, and inlined copies link to the callee's line. Built from a
`PackagePage` (its `viewed_files` and sites), by `escapelint.report.formats.write_reports` when an
HTML report is written; the template only lays it out.
"""

from __future__ import annotations

from dataclasses import dataclass

from escapelint.report.categories import CategoryCount, category_counts
from escapelint.report.page import (
    LeakingParam,
    PackagePage,
    Site,
    Temporary,
    ViewedFile,
)
from escapelint.report.wording import Tally, tally

#: Lines per chunk of a source view: a chunk off screen is not laid out (`content-visibility`), so a
#: 7,000-line file renders as fast as a short one.
CHUNK_LINES = 200
#: Sites above which a view draws each line's sites only when the line is opened (from its data
#: script, report/page_data.py): crypto/internal/cryptotest/wycheproof's generated schema.go has 1,493.
LAZY_VIEW_SITES = 100
#: Characters of a line the view shows; longer lines (generated tables) are cut with an ellipsis.
MAX_VIEW_LINE_CHARS = 1000


@dataclass(frozen=True, slots=True)
class MarkedLine:
    """A line the compiler reported: its heap sites, the leaking parameters declared on it."""

    number: int
    sites: tuple[Site, ...]  # in the package page's order
    leaks: tuple[LeakingParam, ...]
    counts: tuple[CategoryCount, ...]  # of its sites, nonzero, in category order

    @property
    def anchor(self) -> str:
        return f"L{self.number}"

    @property
    def category(self) -> str | None:
        """The margin's colour: the first of its sites' categories in category order."""
        return self.counts[0].category.id if self.counts else None

    @property
    def moved(self) -> list[str]:
        """The variables declared here that the compiler moved to the heap."""
        return [s.expr for s in self.sites if s.kind == "moved"]

    @property
    def site_tally(self) -> Tally:
        return tally(len(self.sites), "site")


@dataclass(frozen=True, slots=True)
class ViewLink:
    """Another view of the same package, for the previous/next links and the n/p keys."""

    stem: str
    name: str


@dataclass(frozen=True, slots=True)
class SourceChunk:
    """CHUNK_LINES consecutive lines, 1-based `first` to `last`."""

    first: int
    last: int


@dataclass(frozen=True)
class SourceView:
    """One Go file's page."""

    stem: str
    file: str  # as the compiler prints it
    name: str  # base name
    local_path: str
    package_title: str
    package_stem: str
    lines: tuple[str, ...]  # the whole file, cut at MAX_VIEW_LINE_CHARS
    cut_lines: frozenset[int]  # line numbers whose text was cut
    marks: dict[int, MarkedLine]  # by line number
    counts: tuple[CategoryCount, ...]  # of the file's sites
    total: int
    previous: ViewLink | None
    next: ViewLink | None
    temporaries: tuple[Temporary, ...]  # one of each kind its sites name

    @property
    def title(self) -> str:
        return f"{self.name} · {self.package_title}"

    @property
    def site_tally(self) -> Tally:
        return tally(self.total, "heap site")

    @property
    def lazy_sites(self) -> bool:
        """Whether the lines' sites are left to the view's data script (more than LAZY_VIEW_SITES)."""
        return self.total > LAZY_VIEW_SITES

    @property
    def marked_line_tally(self) -> Tally:
        return tally(len(self.marks), "line")

    @property
    def chunks(self) -> list[SourceChunk]:
        return [SourceChunk(first, min(first + CHUNK_LINES - 1, len(self.lines)))
                for first in range(1, len(self.lines) + 1, CHUNK_LINES)]  # fmt: skip


def source_views(page: PackagePage) -> tuple[SourceView, ...]:
    """The source views of `page.viewed_files`, in its order, each with its sites and leaking parameters."""
    files = page.viewed_files
    by_file: dict[str, tuple[list[Site], list[LeakingParam]]] = {v.file: ([], []) for v in files}
    for section in page.functions_by_sites:
        for site in (*section.sites, *(s for g in section.inlined for s in g.sites)):
            if site.at.file in by_file:
                by_file[site.at.file][0].append(site)
        for leak in section.leaks:
            if leak.at.file in by_file:
                by_file[leak.at.file][1].append(leak)
    views = []
    for i, viewed in enumerate(files):
        sites, leaks = by_file[viewed.file]
        views.append(_view(page, viewed, sites, leaks,
                           files[i - 1] if i > 0 else None, files[i + 1] if i + 1 < len(files) else None))  # fmt: skip
    return tuple(views)


def _view(
    page: PackagePage,
    viewed: ViewedFile,
    sites: list[Site],
    leaks: list[LeakingParam],
    previous: ViewedFile | None,
    following: ViewedFile | None,
) -> SourceView:
    line_sites: dict[int, list[Site]] = {}
    line_leaks: dict[int, list[LeakingParam]] = {}
    for site in sites:
        line_sites.setdefault(site.at.line, []).append(site)
    for leak in leaks:
        line_leaks.setdefault(leak.at.line, []).append(leak)
    marks = {}
    for number in sorted({*line_sites, *line_leaks}):
        here = line_sites.get(number, [])
        counts: dict[str, int] = {}
        for site in here:
            counts[site.category] = counts.get(site.category, 0) + 1
        marks[number] = MarkedLine(number, tuple(here), tuple(line_leaks.get(number, [])), category_counts(counts))
    lines = tuple(text if len(text) <= MAX_VIEW_LINE_CHARS else text[:MAX_VIEW_LINE_CHARS] for text in viewed.lines)
    cut = frozenset(i + 1 for i, text in enumerate(viewed.lines) if len(text) > MAX_VIEW_LINE_CHARS)
    file_counts: dict[str, int] = {}
    for site in sites:
        file_counts[site.category] = file_counts.get(site.category, 0) + 1
    temporaries = {t.kind: t for s in sites for t in s.temporaries}
    return SourceView(
        stem=viewed.stem,
        file=viewed.file,
        name=viewed.name,
        local_path=viewed.local_path,
        package_title=page.title,
        package_stem=page.stem,
        lines=lines,
        cut_lines=cut,
        marks=marks,
        counts=category_counts(file_counts),
        total=len(sites),
        previous=None if previous is None else ViewLink(previous.stem, previous.name),
        next=None if following is None else ViewLink(following.stem, following.name),
        temporaries=tuple(temporaries.values()),
    )
