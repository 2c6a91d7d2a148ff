"""The HTML report: a static site of one index, one page per package and the category explanations.

Everything is rendered from the report model (page.py, index.py) by the Jinja2 templates in
escapelint/report/templates/html/, with autoescape and StrictUndefined. The site is self-contained and opens
from disk: the stylesheet and script are copied in under content-hashed names (as coverage.py does),
charts are inline SVG, nothing is fetched from the network, and a Content-Security-Policy forbids
inline scripts, so a `<script>` in a Go string literal stays text even if escaping ever failed.
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

import jinja2
from markupsafe import Markup, escape
from pygments.formatters import HtmlFormatter
from pygments.lexers.go import GoLexer
from pygments.token import STANDARD_TYPES

from escapelint.report.page_data import page_data_name, page_data_script, view_data_script
from escapelint.report.facts import BuildFacts
from escapelint.report.index import IndexPage
from escapelint.report.jinja import template_environment
from escapelint.report.output import ReportDirectory
from escapelint.report.options import ReportOptions, editor_href
from escapelint.report.page import TEMPORARY_NAME, PackagePage, Site, SourceLine
from escapelint.report.search import SearchIndex
from escapelint.report.source_view import SourceView
from escapelint.report.writer import ReportWriter

INDEX = "index.html"
CATEGORIES_PAGE = "categories.html"
#: Loaded on demand by report.js (a <script> added to the page: a page opened from disk may not fetch):
#: every site of every package for the index's search, and the package pages in index order for [ and ].
SEARCH_SCRIPT = "search-index.js"
PAGES_SCRIPT = "pages.js"
_CODE_SPAN = re.compile(r"`([^`\n]+)`")


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = template_environment("html", autoescape=jinja2.select_autoescape(["html", "svg"], default_for_string=True))
    env.filters["code_spans"] = code_spans
    env.filters["highlight_go"] = highlight_go
    env.filters["markdown"] = markdown_html
    env.filters["highlight_go_lines"] = highlight_go_lines
    env.filters["temporaries"] = mark_temporaries
    env.filters["path_breaks"] = path_breaks
    env.filters["editor_href"] = editor_link
    return env


def code_spans(text: str) -> Markup:
    """Escape text, then show its `backticked` parts as code (the rules' reasons are written so)."""
    return Markup(_CODE_SPAN.sub(r"<code>\1</code>", str(escape(text))))


_LEXER = GoLexer()


def _css_class(token_type) -> str:
    while token_type not in STANDARD_TYPES:
        token_type = token_type.parent
    return STANDARD_TYPES[token_type]


#: Token classes drawn in the text colour: no span for them keeps big pages light.
_PLAIN = frozenset({"", "w", "n", "nx", "p", "o"})


@functools.lru_cache(maxsize=8192)
def _highlight_text(text: str) -> str:
    runs: list[list[str]] = []  # [css class, text], adjacent tokens of one class merged
    for token_type, value in _LEXER.get_tokens(text):
        value = value.replace("\n", "")
        if not value:
            continue
        css = _css_class(token_type)
        css = "" if css in _PLAIN else css
        if runs and runs[-1][0] == css:
            runs[-1][1] += value
        else:
            runs.append([css, value])
    return "".join(f'<span class="{css}">{escape(value)}</span>' if css else str(escape(value)) for css, value in runs)


def highlight_go(line: SourceLine) -> Markup:
    """One source line as highlighted HTML (Pygments' Go lexer, one line at a time)."""
    return Markup(_highlight_text(line.text))


#: The whole-file lexer: Pygments' GoLexer strips leading and trailing newlines by default, which
#: would shift every line number of a file that starts with a blank line.
_FILE_LEXER = GoLexer(stripnl=False, ensurenl=True)


def highlight_go_lines(lines: tuple[str, ...]) -> list[Markup]:
    """A whole Go file as highlighted HTML, one string per line: comments and raw strings that span
    lines are lexed as one token and closed and reopened at each line end."""
    out: list[list[str]] = [[]]
    classes: list[str] = [""]  # the class of the last run of each line, to merge adjacent runs
    texts: list[list[str]] = [[]]
    for token_type, value in _FILE_LEXER.get_tokens("\n".join(lines) + "\n"):
        css = _css_class(token_type)
        css = "" if css in _PLAIN else css
        for i, part in enumerate(value.split("\n")):
            if i:
                out.append([])
                texts.append([])
                classes.append("")
            if not part:
                continue
            if texts[-1] and classes[-1] == css:
                texts[-1][-1] += part
            else:
                texts[-1].append(part)
                out[-1].append(css)
                classes[-1] = css
    return [
        Markup("".join(f'<span class="{css}">{escape(text)}</span>' if css else str(escape(text)) for css, text in zip(runs, parts)))
        for runs, parts in zip(out[: len(lines)], texts[: len(lines)])
    ]


def mark_temporaries(text: str) -> Markup:
    """Text with the compiler's temporaries (`net/http..stmp_29@0`, `.autotmp_4`) shown short and
    linked to the page's note on them; the package path before a static temporary is dropped."""
    html = str(text) if isinstance(text, Markup) else str(escape(text))
    if ".stmp_" not in html and ".autotmp_" not in html:
        return Markup(html)

    def link(match: re.Match[str]) -> str:
        kind = "static" if match.group(2) == "stmp" else "automatic"
        what = "static temporary (package data, no allocation)" if kind == "static" else "compiler temporary variable"
        return f'<a class="tmp" href="#tmp-{kind}" title="{escape(match.group(0))}: a {what}">{match.group(1)}</a>'

    return Markup(TEMPORARY_NAME.sub(link, html))


def path_breaks(text: str) -> Markup:
    """An import path or file name that may wrap after a "/" (or "."), never inside a word."""
    return Markup(re.sub(r"([/.])", r"\1<wbr>", str(escape(text))))


def editor_link(item: Site | SourceView, template: str) -> str:
    """The --editor-url link of a site (its line and column) or a source view (its first line)."""
    if isinstance(item, Site):
        return editor_href(template, item.local_path or "", item.at.line, item.at.column)
    return editor_href(template, item.local_path, 1, 1)


def markdown_html(text: str) -> Markup:
    """A rule docstring (our own Markdown, raw HTML disabled) as HTML, Go examples highlighted."""
    return Markup(_markdown().render(_demote(text)))


def _demote(text: str) -> str:
    return "\n".join("#" + line if line.startswith("## ") else line for line in text.splitlines())


@functools.lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt
    from pygments import highlight
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    def highlight_code(code: str, lang: str, _attrs) -> str:
        try:
            lexer = get_lexer_by_name(lang or "text")
        except ClassNotFound:
            return ""
        # Output that starts with <pre is used as it is; the Pygments classes are scoped to .src.
        return f'<pre class="src block"><code>{highlight(code, lexer, HtmlFormatter(nowrap=True))}</code></pre>\n'

    return MarkdownIt("commonmark", {"html": False, "highlight": highlight_code}).enable("table")


def stylesheet() -> str:
    pygments_css = HtmlFormatter(style="default").get_style_defs(".src")
    # Inside the dark media query: the default style's token colours, and its background, replaced.
    dark = HtmlFormatter(style="github-dark").get_style_defs(".src")
    dark = "\n".join("  " + line for line in dark.splitlines() if line.startswith(".src .") and "background" not in line.split("{")[0])
    return environment().get_template("style.css").render(pygments_css=pygments_css, pygments_dark_css=dark)


def script() -> str:
    return environment().get_template("report.js").render()


def _hashed_name(stem: str, suffix: str, content: str) -> str:
    return f"{stem}_{hashlib.sha256(content.encode()).hexdigest()[:12]}{suffix}"


class HtmlReportWriter(ReportWriter):
    """Writes DIR/index.html; per package DIR/<package>.html, its data (data_<package>.js: chains and
    the sections it draws when opened, see page_data.py) and DIR/src_<file>.html (source views); DIR/categories.html, and the search index
    and page order that report.js loads when asked."""

    def __init__(self, path: Path, *, overwrite: bool, options: ReportOptions | None = None) -> None:
        self.directory = ReportDirectory(path, overwrite=overwrite, format_name="html")
        self.assets: dict[str, str] = {}
        self.options = options or ReportOptions()
        self.search = SearchIndex()

    def use_options(self, options: ReportOptions) -> None:
        self.options = options

    def check(self) -> None:
        self.directory.check()

    def begin(self, facts: BuildFacts) -> None:
        self.directory.open()
        css, js = stylesheet(), script()
        self.assets = {"css": _hashed_name("style", ".css", css), "js": _hashed_name("report", ".js", js)}
        self.directory.write(self.assets["css"], css)
        self.directory.write(self.assets["js"], js)

    def package(self, page: PackagePage) -> None:
        env = environment()
        editor_url = self.options.editor_url
        data = page_data_name(page.stem)
        macros = env.get_template("macros.html").module
        lazy = {f.anchor: str(macros.function_body(f, page.explained, editor_url))
                for f in page.functions_by_sites[page.open_functions :]}  # fmt: skip
        self.directory.write(data, page_data_script(page, lazy))
        html = env.get_template("package.html").render(page=page, assets=self.assets, editor_url=editor_url, data_script=data)
        self.directory.write(f"{page.stem}.html", html)
        source = env.get_template("source.html")
        for view in page.source_views:
            view_data = page_data_name(view.stem)
            if view.lazy_sites:
                package_href = f"{page.stem}.html"
                lines = {mark.anchor: str(macros.line_sites(mark, page.explained, editor_url, package_href)) for mark in view.marks.values()}
                self.directory.write(view_data, view_data_script(lines))
            html = source.render(view=view, explained=page.explained, assets=self.assets, editor_url=editor_url,
                                 data_script=data, view_data_script=view_data)  # fmt: skip
            self.directory.write(f"{view.stem}.html", html)
        self.search.add(page)

    def end(self, index: IndexPage) -> None:
        env = environment()
        self.directory.write(INDEX, env.get_template("index.html").render(index=index, assets=self.assets))
        self.directory.write(CATEGORIES_PAGE, env.get_template("categories.html").render(assets=self.assets))
        self.directory.write(SEARCH_SCRIPT, self.search.script())
        self.directory.write(PAGES_SCRIPT, self.search.pages_script(index))

    def publish(self) -> None:
        self.directory.publish()

    def close(self) -> None:
        self.directory.close()
