"""The categories as the reports show them: the rule registry's ids, titles and docs, plus a badge colour."""

from __future__ import annotations

from dataclasses import dataclass

from escapelint.rules import RULES

#: One colour per category, distinct side by side and readable as white-on-colour badges.
CATEGORY_COLOURS: dict[str, str] = {
    "closure-capture": "#8e24aa",
    "interface-boxing": "#e65100",
    "slice-growth": "#2e7d32",
    "too-large": "#6d4c41",
    "non-constant-size": "#9e7700",
    "uintptr-escape": "#546e7a",
    "returned-pointer": "#c62828",
    "global-assignment": "#1565c0",
    "indirect-store": "#00838f",
    "channel-send": "#d81b60",
    "held-by-heap-object": "#7c8a00",
    "leaking-call": "#3949ab",
    "unclassified": "#757575",
}


@dataclass(frozen=True, slots=True)
class Category:
    """A category as the reports show it: from the rule registry, plus its badge colour."""

    id: str
    title: str
    summary: str  # the first line of the rule's docstring
    fix: str
    doc: str  # the rule's docstring, Markdown with ruff's headings
    headline: bool
    colour: str


CATEGORIES: tuple[Category, ...] = tuple(
    Category(
        id=rule.id,
        title=rule.title,
        summary=rule.doc.split("\n", 1)[0].strip(),
        fix=rule.fix,
        doc=rule.doc,
        headline=rule.headline,
        colour=CATEGORY_COLOURS.get(rule.id, "#757575"),
    )
    for rule in RULES.values()
)
CATEGORY_BY_ID: dict[str, Category] = {c.id: c for c in CATEGORIES}


@dataclass(frozen=True, slots=True)
class CategoryCount:
    """How many heap sites of one category a function, a package or the whole build has."""

    category: Category
    count: int


def category_counts(counts: dict[str, int]) -> tuple[CategoryCount, ...]:
    """The nonzero counts of `counts` (category id -> sites), in category order."""
    return tuple(CategoryCount(c, counts[c.id]) for c in CATEGORIES if counts.get(c.id))
