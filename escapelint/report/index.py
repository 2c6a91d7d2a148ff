"""The index page's model: one row kept per package once its page is written, the totals, and the chart.

`write_reports` builds the `IndexPage` once, after the last package, and hands it to every writer's
`end`. It is finished: orderings, counts with their nouns and the HTML charts' geometry (SVG user
units) are properties here, so the templates only lay them out.
"""

from __future__ import annotations

from dataclasses import dataclass

from escapelint.analyze.cost import CostAttribution
from escapelint.report.categories import (
    CATEGORIES,
    CATEGORY_BY_ID,
    Category,
    CategoryCount,
    category_counts,
)
from escapelint.report.facts import BuildFacts
from escapelint.report.page import PackagePage
from escapelint.report.warnings import InputWarning
from escapelint.report.wording import Tally, bytes_text, static_note, tally

#: The index's chart, in SVG user units: one row per category, the category's name right-aligned
#: before its bar and the count just after the bar's end. The longest bar is CHART_BAR_SPAN long,
#: and none shorter than CHART_BAR_MIN_LENGTH, so that a count of 1 among thousands stays visible.
CHART_WIDTH = 720
CHART_ROW_HEIGHT = 26
CHART_MARGIN = 2  # above the first row and below the last
CHART_LABEL_RIGHT = 200
CHART_BAR_LEFT = 210
CHART_BAR_SPAN = 430
CHART_BAR_MIN_LENGTH = 2
CHART_BAR_TOP = 3  # from the top of its row
CHART_BAR_HEIGHT = 18
CHART_TEXT_BASELINE = 16  # from the top of its row
CHART_VALUE_GAP = 6  # between a bar's end and its count
#: The small stacked bar of a package's heap sites by category, in the index table's Heap column.
HEAP_BAR_WIDTH = 80
HEAP_BAR_HEIGHT = 8


@dataclass(frozen=True, slots=True)
class IndexRow:
    """What the index keeps of a package once its page is written."""

    path: str
    test_variant: str | None
    stem: str
    counts: tuple[int, ...]  # per category, in CATEGORIES order
    total: int
    leaking_params: int
    worst_function: str | None  # the function with the most heap sites
    worst_anchor: str | None
    worst_count: int
    errors: int
    unrecognized: int
    bytes: int | None = None  # with a heap profile only: what its heap sites allocated
    idle_sites: int = 0  # with a heap profile only: its sites the profile never saw allocate
    static_sites: int = 0  # escape sites served from static data, not in `total`

    @property
    def title(self) -> str:
        return f"{self.path} [{self.test_variant}]" if self.test_variant else self.path

    @property
    def bytes_text(self) -> str:
        return "" if self.bytes is None else bytes_text(self.bytes)

    @property
    def headline_total(self) -> int:
        """Heap sites in the headline categories (rules.HEADLINE)."""
        return sum(n for n, c in zip(self.counts, CATEGORIES) if c.headline)

    @property
    def error_tally(self) -> Tally:
        """The package's compiler errors: "1 error"."""
        return tally(self.errors, "error")


def index_row(page: PackagePage) -> IndexRow:
    """The row the index keeps of `page`; the function with the most heap sites is its worst."""
    counts = {c.category.id: c.count for c in page.counts}
    worst = max(page.functions, key=lambda f: f.total, default=None)
    if worst is not None and worst.total == 0:
        worst = None
    return IndexRow(
        path=page.path,
        test_variant=page.test_variant,
        stem=page.stem,
        counts=tuple(counts.get(c.id, 0) for c in CATEGORIES),
        total=page.total,
        leaking_params=page.leaking_params,
        worst_function=None if worst is None else worst.name,
        worst_anchor=None if worst is None else worst.anchor,
        worst_count=0 if worst is None else worst.total,
        errors=len(page.errors),
        unrecognized=page.unrecognized,
        bytes=None if page.cost is None else page.cost.bytes,
        idle_sites=len(page.idle_sites),
        static_sites=page.static_sites,
    )


@dataclass(frozen=True, slots=True)
class ChartBar:
    """One category's bar in the index's chart, longest first, with its place in the HTML chart."""

    category: Category
    count: int
    share: float  # of the longest bar, 0..1
    row: int  # from the top, 0-based
    value_text: str | None = None  # what the bar's end says, when not the count (bytes: "8.2 MB")

    label_right = CHART_LABEL_RIGHT  # x where the category's name ends
    bar_left = CHART_BAR_LEFT
    bar_height = CHART_BAR_HEIGHT

    @property
    def text_baseline(self) -> int:
        """y of the baseline of the category's name and count."""
        return self._top + CHART_TEXT_BASELINE

    @property
    def bar_top(self) -> int:
        """y of the bar's top edge."""
        return self._top + CHART_BAR_TOP

    @property
    def bar_length(self) -> float:
        """`share` of CHART_BAR_SPAN, at least CHART_BAR_MIN_LENGTH, to 0.1 unit."""
        return round(self._length, 1)

    @property
    def value_left(self) -> float:
        """x where the count begins, just after the bar's end."""
        return round(CHART_BAR_LEFT + CHART_VALUE_GAP + self._length, 1)

    @property
    def _top(self) -> int:
        return self.row * CHART_ROW_HEIGHT + CHART_MARGIN

    @property
    def _length(self) -> float:
        return float(max(self.share * CHART_BAR_SPAN, CHART_BAR_MIN_LENGTH))


@dataclass(frozen=True, slots=True)
class HeapBarSegment:
    """One category's part of a package's stacked heap bar, to 0.1 unit."""

    category: Category
    left: float
    length: float


@dataclass(frozen=True, slots=True)
class HeapBar:
    """A package's heap sites as one stacked bar, a segment per category it has, in column order."""

    segments: tuple[HeapBarSegment, ...]
    width: int = HEAP_BAR_WIDTH
    height: int = HEAP_BAR_HEIGHT


@dataclass(frozen=True, slots=True)
class IndexPage:
    """Everything the index shows: the build facts, one row per package, and the totals and chart."""

    facts: BuildFacts  # final: the Go version inferred from the output if the input did not say
    rows: tuple[IndexRow, ...]  # in input order
    totals: tuple[CategoryCount, ...]  # nonzero only, in category order
    columns: tuple[Category, ...]  # the categories any package has, for the table's columns
    chart: tuple[ChartBar, ...]  # nonzero categories, most sites first
    total: int
    leaking_params: int
    lines: int  # of input read
    unrecognized: int  # input lines escapelint did not understand
    errors: int
    warnings: tuple[InputWarning, ...] = ()  # shown only when there is one (escapelint.report.warnings)
    profile: ProfileSummary | None = None  # with a heap profile only
    static_sites: int = 0  # escape sites the compiler serves from static data: not in `total`

    chart_width = CHART_WIDTH

    @property
    def chart_height(self) -> int:
        """The chart's height: a row per bar and a margin above and below."""
        return len(self.chart) * CHART_ROW_HEIGHT + 2 * CHART_MARGIN

    @property
    def rows_by_heap(self) -> list[IndexRow]:
        """The rows, most heap sites first (most bytes first, with a heap profile); ties keep their input order."""
        if self.profile is not None:
            return sorted(self.rows, key=lambda r: r.bytes or 0, reverse=True)
        return sorted(self.rows, key=lambda r: r.total, reverse=True)

    @property
    def cost_chart_height(self) -> int:
        return 0 if self.profile is None else len(self.profile.chart) * CHART_ROW_HEIGHT + 2 * CHART_MARGIN

    @property
    def package_tally(self) -> Tally:
        return tally(len(self.rows), "package")

    @property
    def heap_allocation_tally(self) -> Tally:
        return tally(self.total, "heap allocation")

    @property
    def static_note(self) -> str:
        """What follows the count of heap allocations (page.static_note): the escape sites that allocate nothing."""
        return static_note(self.static_sites)

    @property
    def leaking_parameter_tally(self) -> Tally:
        return tally(self.leaking_params, "leaking parameter")

    @property
    def compiler_error_tally(self) -> Tally:
        return tally(self.errors, "compiler error")

    def column_counts(self, row: IndexRow) -> list[int]:
        """The row's heap sites per category, one per column of the table."""
        positions = {c.id: i for i, c in enumerate(CATEGORIES)}
        return [row.counts[positions[c.id]] for c in self.columns]

    def heap_bar(self, row: IndexRow) -> HeapBar:
        """The row's heap sites as a stacked bar, its categories in column order; no segments for none."""
        segments = []
        left = 0.0
        for n, category in zip(self.column_counts(row), self.columns):
            if n:
                length = HEAP_BAR_WIDTH * n / row.total
                segments.append(HeapBarSegment(category, round(left, 1), round(length, 1)))
                left += length
        return HeapBar(tuple(segments))


@dataclass(frozen=True, slots=True)
class ProfileSummary:
    """What the index says of the heap profiles: their facts and the chart of bytes per category."""

    files: tuple[str, ...]
    total_bytes: int
    total_objects: int
    attributed_bytes: int
    unmatched_bytes: int  # at lines of the build where no site is reported
    slice_growth_bytes: int  # the part of it at `append` lines (Go before 1.25 does not report them)
    unmapped_bytes: int
    unmapped_samples: int
    exercised_sites: int
    idle_sites: int
    chart: tuple[ChartBar, ...]  # categories with bytes, most bytes first

    @property
    def file_tally(self) -> Tally:
        return tally(len(self.files), "heap profile")

    @property
    def idle_site_tally(self) -> Tally:
        return tally(self.idle_sites, "heap site")

    @property
    def unmapped_sample_tally(self) -> Tally:
        return tally(self.unmapped_samples, "sample")

    def text(self, count: int) -> str:
        return bytes_text(count)


def profile_summary(costs: CostAttribution) -> ProfileSummary:
    facts = costs.facts
    with_bytes = [t for t in costs.categories if t.figures.bytes]
    longest = max((t.figures.bytes for t in with_bytes), default=0) or 1
    chart = tuple(
        ChartBar(CATEGORY_BY_ID[t.key], t.figures.bytes, t.figures.bytes / longest, i, bytes_text(t.figures.bytes))
        for i, t in enumerate(with_bytes)
    )
    exercised = sum(1 for c in costs.sites.values() if c.exercised)
    return ProfileSummary(
        files=facts.files,
        total_bytes=facts.total.bytes,
        total_objects=facts.total.objects,
        attributed_bytes=facts.attributed.bytes,
        unmatched_bytes=facts.unmatched.bytes,
        slice_growth_bytes=sum(u.figures.bytes for u in costs.unmatched if u.slice_growth),
        unmapped_bytes=facts.unmapped.bytes,
        unmapped_samples=facts.unmapped_samples,
        exercised_sites=exercised,
        idle_sites=len(costs.sites) - exercised,
        chart=chart,
    )


def index_page(
    facts: BuildFacts,
    rows: list[IndexRow],
    lines: int,
    unrecognized: int,
    warnings: tuple[InputWarning, ...] = (),
    costs: CostAttribution | None = None,
) -> IndexPage:
    """The index of `rows` (in input order), with the reader's line accounting and the run's warnings,
    and with `costs` (a heap profile joined to the build) the profile's summary and chart."""
    sums = [sum(column) for column in zip(*(r.counts for r in rows))] if rows else [0] * len(CATEGORIES)
    totals = category_counts({c.id: n for c, n in zip(CATEGORIES, sums)})
    longest = max((t.count for t in totals), default=0) or 1
    by_count = sorted(totals, key=lambda t: -t.count)
    return IndexPage(
        facts=facts,
        rows=tuple(rows),
        totals=totals,
        columns=tuple(t.category for t in totals),
        chart=tuple(ChartBar(t.category, t.count, t.count / longest, i) for i, t in enumerate(by_count)),
        total=sum(sums),
        leaking_params=sum(r.leaking_params for r in rows),
        lines=lines,
        unrecognized=unrecognized,
        errors=sum(r.errors for r in rows),
        warnings=tuple(warnings),
        profile=None if costs is None else profile_summary(costs),
        static_sites=sum(r.static_sites for r in rows),
    )
