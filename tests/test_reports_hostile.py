"""Hostile input stays inert: markup, `|`, backticks and newlines from Go source in every format.

fixtures/modules/hostile puts `<script>`, `"><img onerror=…>`, `|`, backticks, `\\n`, `&` entities and
Markdown links into the expressions the compiler quotes, and quotes, `&` and spaces into file names.
"""

from __future__ import annotations

import json
import re

import pytest
from markdown_it import MarkdownIt

from escapelint.report.annotations import GithubAnnotationsWriter
from escapelint.report.markdown import md, md_code_spans

from .conftest import RECORDED
from .reporting import parse_page, render_fixture

HOSTILE = [RECORDED / version / "hostile.m2.txt" for version in ("go1.19", "go1.27.3")]
PAYLOADS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "a | b || c", "`rm -rf /`", "<b>bold</b>"]


@pytest.fixture(scope="module", params=HOSTILE, ids=lambda p: p.parent.name)
def reports(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile")
    targets = [(f, out / name) for f, name in
               (("html", "html"), ("md", "md"), ("sarif", "x.sarif"), ("github", "a.txt"), ("rdjsonl", "r.jsonl"))]  # fmt: skip
    # Every site's annotation, not GitHub's first 10 (GithubAnnotationsWriter.limit): each one is checked.
    saved, GithubAnnotationsWriter.limit = GithubAnnotationsWriter.limit, 1_000_000
    try:
        render_fixture(request.param, targets)
    finally:
        GithubAnnotationsWriter.limit = saved
    return out


def _visible_text(html: str) -> str:
    import html as html_module

    return html_module.unescape(re.sub(r"<[^>]+>", "", html))


def test_html_shows_the_payloads_as_text_and_runs_none(reports):
    for page in (reports / "html").glob("*.html"):
        parsed = parse_page(page)
        scripts = [a.get("src") for tag, a in parsed.tags if tag == "script"]
        # Only escapelint's own scripts: report.js and the package's data (report/page_data.py).
        assert all(src and re.fullmatch(r"report_[0-9a-f]{12}\.js|data_\w+\.js", src) for src in scripts), page.name
        assert not [tag for tag, _ in parsed.tags if tag in ("img", "iframe", "object", "embed")]
        assert not [(tag, a) for tag, a in parsed.tags if any(k.startswith("on") for k in a)]
    for data in (reports / "html").glob("*.js"):  # the data scripts hold the payloads with "<" escaped
        if not data.name.startswith("report_"):
            assert "<" not in data.read_text(encoding="utf-8"), data.name
    package = next((reports / "html").glob("example_com_escapelint_hostile_[0-9a-f]*.html"))
    text = _visible_text(package.read_text(encoding="utf-8"))
    for payload in PAYLOADS:
        assert payload in text  # shown, as text


def test_markdown_renders_the_payloads_as_text(reports):
    renderer = MarkdownIt("commonmark", {"html": True}).enable("table")
    package = next((reports / "md").glob("example_com_escapelint_hostile_[0-9a-f]*.md"))
    source = package.read_text(encoding="utf-8")
    rendered = renderer.render(source)
    assert "<script" not in rendered and "<img" not in rendered and "<b>" not in rendered
    assert "<em>not bold" not in rendered and "<strong>not bold" not in rendered
    assert 'href="javascript' not in rendered
    text = _visible_text(rendered)
    for payload in PAYLOADS:
        assert payload in text
    # Every table row has as many cells as its header: no `|` from the input split a cell.
    for table in re.findall(r"<table>.*?</table>", rendered, re.S):
        widths = {len(re.findall(r"<t[hd][ >]", row)) for row in re.findall(r"<tr>.*?</tr>", table, re.S)}
        assert len(widths) == 1, table[:300]


def test_machine_formats_keep_payloads_as_data(reports):
    sarif = json.loads((reports / "x.sarif").read_text(encoding="utf-8"))
    messages = [r["message"]["text"] for r in sarif["runs"][0]["results"]]
    assert any("<script>alert(1)</script>" in m for m in messages)
    allocating = [r for r in sarif["runs"][0]["results"] if r["properties"]["allocates"]]
    for line in (reports / "r.jsonl").read_text(encoding="utf-8").splitlines():
        json.loads(line)
    annotations = (reports / "a.txt").read_text(encoding="utf-8").splitlines()
    # No newline from the input split an annotation; a site served from static data has none.
    assert len(annotations) == len(allocating)
    assert all(line.startswith(("::warning ", "::notice ")) for line in annotations)
    quoted = next(line for line in annotations if "it's" in line)
    assert "file=odd/it's & more.go," in quoted


@pytest.mark.parametrize(
    "text",
    ["a|b", "`x`", "<script>", "a\nb", "*em* _em_", "[l](javascript:x)", "&amp;", "\\", "~~s~~", "#1 @user", "$x$"],
)
def test_md_filter_leaves_no_markdown_or_html_metacharacter(text):
    escaped = md(text)
    assert not re.search(r"[|`<>*_\[\]\\~\n\r#@$]", re.sub(r"&(#\d+|[a-z]+);", "", escaped))
    rendered = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(f"x {escaped} y")
    assert _visible_text(rendered).strip() == f"x {text} y"


def test_md_code_spans():
    assert md_code_spans("stored in `a|b` at x") == "stored in <code>a&#124;b</code> at x"
