"""Markdown reports: a directory of GitHub-flavoured pages, and a one-file summary for a PR comment.

Rendered from the report model by the templates in escapelint/report/templates/markdown/. Every string that
comes from the build (expressions, paths, function names, reasons, compiler messages) goes through the
`md` filter, which writes Markdown's and HTML's metacharacters as character references: they then read
the same in table cells, paragraphs, headings and raw-HTML blocks such as `<summary>`, and can neither
end a table cell, start a code span, emphasis, math or a link, nor open an HTML tag. The templates put
such strings inside `<code>` (or link text), where GitHub does not turn `@name`, `#123` or `:emoji:`
into mentions, references or pictures.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import jinja2

from escapelint.report.categories import CATEGORY_BY_ID, Category
from escapelint.report.facts import BuildFacts
from escapelint.report.index import IndexPage
from escapelint.report.jinja import template_environment
from escapelint.report.output import ReportDirectory
from escapelint.report.page import PackagePage
from escapelint.report.wording import tally
from escapelint.report.writer import ReportWriter, StreamReportWriter
from escapelint.rules.docs import rules_markdown

INDEX = "README.md"  # GitHub shows a folder's README.md when the folder is opened
CATEGORIES_PAGE = "categories.md"
#: GitHub rejects issue and pull-request comments longer than this many characters.
GITHUB_COMMENT_LIMIT = 65_536
#: What md-summary aims under, leaving room for a bot's own header around it.
SUMMARY_BUDGET = 60_000

_MARKDOWN_ESCAPES = {
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
    ord('"'): "&quot;",
    ord("|"): "&#124;",
    ord("`"): "&#96;",
    ord("*"): "&#42;",
    ord("_"): "&#95;",
    ord("["): "&#91;",
    ord("]"): "&#93;",
    ord("\\"): "&#92;",
    ord("~"): "&#126;",
    ord("#"): "&#35;",
    ord("!"): "&#33;",
    ord("$"): "&#36;",  # GitHub's math
    ord("@"): "&#64;",
    ord("\n"): "&#10;",
    ord("\r"): "&#13;",
}
_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def md(value: object) -> str:
    """Text from the build, safe anywhere in a GitHub-flavoured Markdown page (see the module docstring)."""
    return str(value).translate(_MARKDOWN_ESCAPES)


def md_code_spans(text: str) -> str:
    """Like `md`, showing the `backticked` parts of the rules' reasons and fix hints as code."""
    parts = _CODE_SPAN.split(text)
    return "".join(md(part) if i % 2 == 0 else f"<code>{md(part)}</code>" for i, part in enumerate(parts))


def code_fence(text: str) -> str:
    """A backtick fence longer than any run of backticks in `text` (at least three)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def text_bar(share: float, width: int = 16) -> str:
    filled = round(share * width)
    if share > 0 and filled == 0:
        filled = 1
    return "█" * filled + "░" * (width - filled)


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = template_environment("markdown", autoescape=False)  # the md filter escapes every build-derived string
    env.filters["md"] = md
    env.filters["md_code_spans"] = md_code_spans
    env.filters["text_bar"] = text_bar
    env.filters["code_fence"] = code_fence
    return env


class MarkdownReportWriter(ReportWriter):
    """Writes DIR/README.md (the index), DIR/<package>.md per package and DIR/categories.md."""

    def __init__(self, path: Path, *, overwrite: bool) -> None:
        self.directory = ReportDirectory(path, overwrite=overwrite, format_name="md")

    def check(self) -> None:
        self.directory.check()

    def begin(self, facts: BuildFacts) -> None:
        self.directory.open()

    def package(self, page: PackagePage) -> None:
        self.directory.write(f"{page.stem}.md", environment().get_template("package.md").render(page=page))

    def end(self, index: IndexPage) -> None:
        self.directory.write(INDEX, environment().get_template("index.md").render(index=index))
        self.directory.write(CATEGORIES_PAGE, rules_markdown())

    def publish(self) -> None:
        self.directory.publish()

    def close(self) -> None:
        self.directory.close()


@dataclass(frozen=True, slots=True)
class SummarySite:
    """A headline site as the summary lists it."""

    category: Category
    expr: str
    at: str
    function: str | None
    package: str


class MarkdownSummaryWriter(StreamReportWriter):
    """One Markdown document for a PR comment, guaranteed under GitHub's 65,536-character limit.

    Totals per category always fit; the package table and the list of headline sites are cut to fit
    SUMMARY_BUDGET, and the document says how many rows it left out. Memory stays bounded: at most
    MAX_SITES headline sites are kept (the package rows come with the index).
    """

    MAX_SITES = 400
    MAX_TEXT = 120  # characters of an expression or function name

    def __init__(self, path: Path, *, overwrite: bool) -> None:
        super().__init__(path, overwrite=overwrite)
        self.sites: list[SummarySite] = []
        self.headline_sites = 0

    def package(self, page: PackagePage) -> None:
        for site in page.sites:
            category = CATEGORY_BY_ID[site.category]
            if not category.headline:
                continue
            self.headline_sites += 1
            if len(self.sites) < self.MAX_SITES:
                self.sites.append(
                    SummarySite(category, _clip(site.expr, self.MAX_TEXT), site.at.text,
                                None if site.function is None else _clip(site.function, self.MAX_TEXT), page.title)
                )  # fmt: skip

    def end(self, index: IndexPage) -> None:
        assert self.out is not None
        self.out.write(self.render(index))

    def render(self, index: IndexPage) -> str:
        facts = index.facts  # clipped: no fact can push the summary past the limit
        index = replace(index, facts=BuildFacts(
            _clip(facts.input_name, 300), facts.go_version and _clip(facts.go_version, 40),
            facts.command and _clip(facts.command, 300), facts.generated_at,
        ))  # fmt: skip
        rows = index.rows_by_heap
        template = environment().get_template("summary.md")

        def attempt(n_rows: int, n_sites: int) -> str:  # n_sites <= len(self.sites)
            return template.render(
                index=index,
                rows=rows[:n_rows],
                rows_left=tally(len(rows) - n_rows, "package"),
                sites=self.sites[:n_sites],
                sites_shown=n_sites,
                sites_left=tally(self.headline_sites - n_sites, "headline site"),
                headline_sites=self.headline_sites,
                limit=GITHUB_COMMENT_LIMIT,
            )

        # Packages first (at most 50, halved until they fit without sites), then as many sites as
        # fit, by bisection: a dozen renders of a small template.
        n_rows = min(len(rows), 50)
        while n_rows and comment_length(attempt(n_rows, 0)) > SUMMARY_BUDGET:
            n_rows //= 2
        _, text = fit_comment(lambda n: attempt(n_rows, n), len(self.sites), SUMMARY_BUDGET)
        if comment_length(text) > SUMMARY_BUDGET:  # cannot happen with clipped facts; never exceed the limit
            text = text[: SUMMARY_BUDGET - 80] + "\n\n_(cut here to stay under GitHub's comment limit)_\n"
        return text


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def comment_length(text: str) -> int:
    """The longer of code points and UTF-16 units, so that either way of counting stays under the limit."""
    return max(len(text), len(text.encode("utf-16-le")) // 2)


def fit_comment(render: Callable[[int], str], most: int, budget: int) -> tuple[int, str]:
    """The largest n <= `most` whose `render(n)` is at most `budget` long (by `comment_length`), and
    that text: how a comment for GitHub (at most GITHUB_COMMENT_LIMIT) is filled with as many rows as
    fit. Found by bisection, a dozen renders; `render(n)` should grow with n. When not even
    `render(0)` fits, that is returned, over budget: the caller decides what to cut."""
    low, high = 0, most
    while low < high:
        middle = (low + high + 1) // 2
        if comment_length(render(middle)) <= budget:
            low = middle
        else:
            high = middle - 1
    return low, render(low)
