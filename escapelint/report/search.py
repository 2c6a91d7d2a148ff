"""The index page's search over every package's sites, and the package order the [ and ] keys follow.

Both are data for report.js, written as scripts that assign one JSON value (`window.ESCAPELINT_SEARCH`,
`window.ESCAPELINT_PAGES`): a page opened from disk may not fetch a file, but it may load a script of
its own directory (the pages' Content-Security-Policy allows `'self'`), so report.js adds a <script>
for them only when the search box or a key asks. Only a few short strings per site are kept while the
report is written (about 100 bytes each: 3 MB for the standard library's 33,000 sites).
"""

from __future__ import annotations

import json

from escapelint.report.categories import CATEGORIES
from escapelint.report.index import IndexPage
from escapelint.report.page import PackagePage


class SearchIndex:
    """The sites of the packages written so far, in a compact form: packages and categories are listed
    once and each site refers to them by number."""

    def __init__(self) -> None:
        self.packages: list[list[str]] = []  # [title, page stem]
        self.sites: list[list[object]] = []  # [package, category, expression, function, position, anchor]
        self._category = {c.id: i for i, c in enumerate(CATEGORIES)}

    def add(self, page: PackagePage) -> None:
        number = len(self.packages)
        self.packages.append([page.title, page.stem])
        for section in page.functions_by_sites:
            for site in (*section.sites, *(s for g in section.inlined for s in g.sites)):
                self.sites.append([number, self._category[site.category], site.expr, site.function or section.name,
                                   site.at.text, site.anchor])  # fmt: skip

    def document(self) -> dict:
        return {"categories": [c.id for c in CATEGORIES], "packages": self.packages, "sites": self.sites}

    def script(self) -> str:
        return _assignment("ESCAPELINT_SEARCH", self.document())

    def pages_script(self, index: IndexPage) -> str:
        """The package pages in the index's order (most heap sites first), for [ and ]."""
        return _assignment("ESCAPELINT_PAGES", [row.stem for row in index.rows_by_heap])


def _assignment(name: str, value: object) -> str:
    # JSON is JavaScript; "<" is written escaped so that no "</script" or "<!--" can appear in the text.
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    return f"window.{name} = {text};\n"
