"""Gold files for the HTML and Markdown reports, and a check that every local link resolves.

Regenerate after an intended change with:  python -m pytest tests/test_reports_golden.py --regen-golden
and review the diff of tests/golden/reports/ like any other change. The date is fixed by the test;
escapelint's version and the assets' content hashes are scrubbed (tests/reporting.py).
"""

from __future__ import annotations

import functools

import pytest
from markdown_it import MarkdownIt

from .conftest import GOLDEN, RECORDED, fixture_id, recorded_files
from .reporting import PageLinks, broken_links, parse_page, render_fixture, scrub

GOLD_FIXTURES = [RECORDED / "go1.27.3" / f"{m}.m2.txt" for m in ("example", "hostile", "categories", "broken")]
GOLD = GOLDEN / "reports"


def _gold_pages(site, suffix):
    # The categories page is rendered from the rule docstrings and checked by test_rule_docs.py.
    return sorted(p for p in site.iterdir() if p.suffix == suffix and not p.name.startswith("categories"))


@pytest.mark.parametrize("recording", GOLD_FIXTURES, ids=fixture_id)
def test_html_and_markdown_match_gold(recording, tmp_path, request):
    render_fixture(recording, [("html", tmp_path / "html"), ("md", tmp_path / "md")])
    gold_dir = GOLD / recording.parent.name / recording.name.split(".")[0]
    regen = request.config.getoption("--regen-golden")
    produced = {}
    for kind, suffix in (("html", ".html"), ("md", ".md")):
        for page in _gold_pages(tmp_path / kind, suffix):
            produced[f"{kind}/{page.name}"] = scrub(page.read_text(encoding="utf-8"))
    if regen:
        if gold_dir.exists():
            for old in gold_dir.rglob("*"):
                if old.is_file():
                    old.unlink()
        for name, text in produced.items():
            (gold_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (gold_dir / name).write_text(text, encoding="utf-8")
        return
    assert gold_dir.is_dir(), f"no gold files in {gold_dir}; run with --regen-golden"
    expected = {p.relative_to(gold_dir).as_posix() for p in gold_dir.rglob("*") if p.is_file()}
    assert set(produced) == expected
    for name, text in produced.items():
        assert text == (gold_dir / name).read_text(encoding="utf-8"), f"{name} differs from its gold file"


@pytest.mark.parametrize("recording", recorded_files(), ids=fixture_id)
def test_every_local_link_and_anchor_resolves(recording, tmp_path):
    html, md = tmp_path / "html", tmp_path / "md"
    render_fixture(recording, [("html", html), ("md", md)])

    html_pages = sorted(html.glob("*.html"))
    assert (html / "index.html") in html_pages and (html / "categories.html") in html_pages
    assert broken_links(html, html_pages, functools.lru_cache(None)(parse_page)) == []

    renderer = MarkdownIt("commonmark", {"html": True}).enable("table")

    @functools.lru_cache(None)
    def md_page(path):
        parser = PageLinks()
        parser.feed(renderer.render(path.read_text(encoding="utf-8")))
        return parser

    md_pages = sorted(md.glob("*.md"))
    assert (md / "README.md") in md_pages and (md / "categories.md") in md_pages
    assert broken_links(md, md_pages, md_page) == []
