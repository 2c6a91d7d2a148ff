"""The Markdown reports render (markdown-it-py, GFM tables) to the tables and links expected, and the
PR-comment summary stays under GitHub's comment limit, saying what it left out."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from html import unescape

from markdown_it import MarkdownIt

from escapelint.analyze.findings import Finding, PackageFindings
from escapelint.events import (
    BuildStats,
    EscapeEvent,
    EventKind,
    PackageOutput,
    Position,
)
from escapelint.report.facts import BuildFacts
from escapelint.report.index import index_page, index_row
from escapelint.report.markdown import GITHUB_COMMENT_LIMIT, MarkdownSummaryWriter
from escapelint.report.page import package_page

from .conftest import RECORDED
from .reporting import render_fixture

RENDERER = MarkdownIt("commonmark", {"html": True}).enable("table")


def _tables(html: str) -> list[list[list[str]]]:
    """Each table as rows of cell texts."""
    tables = []
    for table in re.findall(r"<table>.*?</table>", html, re.S):
        rows = []
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
            rows.append([unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)])
        tables.append(rows)
    return tables


def test_index_and_package_pages_render_to_tables_and_links(tmp_path):
    render_fixture(RECORDED / "go1.27.3" / "example.m2.txt", [("md", tmp_path)])
    index = RENDERER.render((tmp_path / "README.md").read_text(encoding="utf-8"))
    facts, chart, packages = _tables(index)
    assert ["Go", "1.27.3"] in facts
    assert ["Command", "go build -p 1 -gcflags=-m=2 ./..."] in facts
    # Allocations are counted: cmd/kvdemo's constant "error:" is listed apart, as static data.
    assert chart[0] == ["Category", "Sites", ""] and chart[1][:2] == ["interface-boxing", "6"]
    assert packages[0][:2] == ["Package", "Heap"] and packages[0][-2:] == ["Leaking params", "Worst function"]
    assert [row[:2] for row in packages[1:]] == [
        ["example.com/escapelint/example/kv", "17"], ["example.com/escapelint/example/cmd/kvdemo", "4"],
    ]  # fmt: skip
    kv_page = re.search(r'<a href="([^"]+\.md)"><code>example.com/escapelint/example/kv</code></a>', index)[1]
    assert (tmp_path / kv_page).is_file()
    assert '<a href="categories.md#interface-boxing">interface-boxing</a>' in index
    assert "21 heap allocations (1 more escape site that the compiler serves from static data)" in index

    page = RENDERER.render((tmp_path / kv_page).read_text(encoding="utf-8"))
    assert '<a href="README.md">All packages</a>' in page
    tables = _tables(page)
    parse_sites = next(t for t in tables if t[0] == ["Category", "Expression", "At", "Why"])
    assert parse_sites[1][:3] == ["returned-pointer", "&Command{...}", "parse.go:20:9"]
    # The explanation of each site is in a <details> block the table links to.
    anchor = re.search(r'<a href="#(s-[0-9a-f]+)">parse.go:20:9</a>', page)[1]
    block = page[: page.index(f'id="{anchor}"')].rsplit("<details>", 1)[1]
    assert "</details>" not in block
    after = page[page.index(f'id="{anchor}"') :]
    assert re.search(r"<li>↓ <em>return</em> <code>return cmd, nil</code> at 34:2 — <strong>decides the category</strong></li>", after)
    assert "<li><strong><code>~r0</code></strong> (sink)</li>" in after


def _site_event(i: int) -> EscapeEvent:
    at = Position(f"/src/p{i % 7}/file_{'x' * 40}.go", i + 1, 5)
    return EscapeEvent(EventKind.ESCAPE, "p", at, f"&T{{{'field: value, ' * 8}{i}}}", f"F{i}", (), None, i + 1)


def test_summary_stays_under_the_comment_limit_and_says_what_it_left_out(tmp_path):
    writer = MarkdownSummaryWriter(tmp_path / "summary.md", overwrite=False)
    rows = []
    for p in range(300):
        events = tuple(_site_event(p * 40 + i) for i in range(40))
        findings = tuple(Finding(e, e.function, e.function, "returned-pointer", "it reaches `~r0`", None, None,
                                 f"{p:08x}{i:012x}") for i, e in enumerate(events))  # fmt: skip
        output = PackageOutput(f"example.com/{'deep/' * 10}pkg{p}", None, 1, events, (), (), (), ())
        page = package_page(PackageFindings(output, findings, 0))
        writer.package(page)
        rows.append(index_row(page))
    stats = BuildStats(lines=12_000, packages=300)
    facts = BuildFacts("in.txt", "1.27.3", "go build " + "-x " * 1000, datetime(2026, 1, 1, tzinfo=timezone.utc))
    text = writer.render(index_page(facts, rows, stats.lines, 0))
    assert len(text) < GITHUB_COMMENT_LIMIT and len(text.encode("utf-16-le")) // 2 < GITHUB_COMMENT_LIMIT
    assert "### escapelint: 12,000 heap allocations" in text
    left = re.search(r"_([\d,]+) more headline sites not listed: this summary is cut to fit a pull-request comment", text)
    shown = len(re.findall(r"^\| returned-pointer \|", text, re.M))
    assert left and int(left[1].replace(",", "")) + shown == 12_000
    assert re.search(r"_\d+ more packages with fewer heap allocations not listed._", text)
    rendered = RENDERER.render(text)
    assert "<details><summary>Headline sites" in rendered and rendered.count("<table>") == 3


def test_summary_of_a_small_build_is_complete(tmp_path):
    render_fixture(RECORDED / "go1.27.3" / "example.m2.txt", [("md-summary", tmp_path / "s.md")])
    text = (tmp_path / "s.md").read_text(encoding="utf-8")
    assert "not listed" not in text
    assert "Headline sites (15)" in text
