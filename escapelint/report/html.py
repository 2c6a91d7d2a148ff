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

from escapelint.report.facts import BuildFacts
from escapelint.report.index import IndexPage
from escapelint.report.jinja import template_environment
from escapelint.report.output import ReportDirectory
from escapelint.report.page import PackagePage, SourceLine
from escapelint.report.writer import ReportWriter

INDEX = "index.html"
CATEGORIES_PAGE = "categories.html"
_CODE_SPAN = re.compile(r"`([^`\n]+)`")


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = template_environment("html", autoescape=jinja2.select_autoescape(["html", "svg"], default_for_string=True))
    env.filters["code_spans"] = code_spans
    env.filters["highlight_go"] = highlight_go
    env.filters["markdown"] = markdown_html
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
    return environment().get_template("style.css").render(pygments_css=pygments_css)


def script() -> str:
    return environment().get_template("report.js").render()


def _hashed_name(stem: str, suffix: str, content: str) -> str:
    return f"{stem}_{hashlib.sha256(content.encode()).hexdigest()[:12]}{suffix}"


class HtmlReportWriter(ReportWriter):
    """Writes DIR/index.html, DIR/<package>.html per package and DIR/categories.html."""

    def __init__(self, path: Path, *, overwrite: bool) -> None:
        self.directory = ReportDirectory(path, overwrite=overwrite, format_name="html")
        self.assets: dict[str, str] = {}

    def check(self) -> None:
        self.directory.check()

    def begin(self, facts: BuildFacts) -> None:
        self.directory.open()
        css, js = stylesheet(), script()
        self.assets = {"css": _hashed_name("style", ".css", css), "js": _hashed_name("report", ".js", js)}
        self.directory.write(self.assets["css"], css)
        self.directory.write(self.assets["js"], js)

    def package(self, page: PackagePage) -> None:
        html = environment().get_template("package.html").render(page=page, assets=self.assets)
        self.directory.write(f"{page.stem}.html", html)

    def end(self, index: IndexPage) -> None:
        env = environment()
        self.directory.write(INDEX, env.get_template("index.html").render(index=index, assets=self.assets))
        self.directory.write(CATEGORIES_PAGE, env.get_template("categories.html").render(assets=self.assets))

    def publish(self) -> None:
        self.directory.publish()

    def close(self) -> None:
        self.directory.close()
