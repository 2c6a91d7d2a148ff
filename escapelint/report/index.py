"""The index page's model: one row kept per package once its page is written, and the totals."""

from __future__ import annotations

from dataclasses import dataclass

from escapelint.report.categories import (
    CATEGORIES,
    Category,
    CategoryCount,
    category_counts,
)
from escapelint.report.facts import BuildFacts
from escapelint.report.page import PackagePage


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

    @property
    def title(self) -> str:
        return f"{self.path} [{self.test_variant}]" if self.test_variant else self.path

    @property
    def headline_total(self) -> int:
        """Heap sites in the headline categories (rules.HEADLINE)."""
        return sum(n for n, c in zip(self.counts, CATEGORIES) if c.headline)


def index_row(page: PackagePage) -> IndexRow:
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
    )




@dataclass(frozen=True, slots=True)
class ChartBar:
    category: Category
    count: int
    share: float  # of the longest bar, 0..1


@dataclass(frozen=True, slots=True)
class IndexPage:
    facts: BuildFacts
    rows: tuple[IndexRow, ...]  # in input order
    totals: tuple[CategoryCount, ...]  # nonzero only, in category order
    columns: tuple[Category, ...]  # the categories any package has, for the table's columns
    chart: tuple[ChartBar, ...]
    total: int
    leaking_params: int
    lines: int
    unrecognized: int
    errors: int

    def column_counts(self, row: IndexRow) -> list[int]:
        positions = {c.id: i for i, c in enumerate(CATEGORIES)}
        return [row.counts[positions[c.id]] for c in self.columns]


def index_page(facts: BuildFacts, rows: list[IndexRow], lines: int, unrecognized: int) -> IndexPage:
    sums = [sum(column) for column in zip(*(r.counts for r in rows))] if rows else [0] * len(CATEGORIES)
    totals = category_counts({c.id: n for c, n in zip(CATEGORIES, sums)})
    longest = max((t.count for t in totals), default=0) or 1
    return IndexPage(
        facts=facts,
        rows=tuple(rows),
        totals=totals,
        columns=tuple(t.category for t in totals),
        chart=tuple(ChartBar(t.category, t.count, t.count / longest) for t in sorted(totals, key=lambda t: -t.count)),
        total=sum(sums),
        leaking_params=sum(r.leaking_params for r in rows),
        lines=lines,
        unrecognized=unrecognized,
        errors=sum(r.errors for r in rows),
    )
