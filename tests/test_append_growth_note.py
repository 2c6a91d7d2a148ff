"""Before Go 1.25 the compiler prints nothing for append growth: the reports say so instead of hiding it."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from escapelint.report.facts import BuildFacts
from escapelint.workflows.report import report

from .conftest import FIXTURES, RECORDED


@pytest.mark.parametrize("version,shown", [(None, True), ("go1.19.8", True), ("go1.24.11", True), ("go1.25.5", False), ("go1.27.3", False)])
def test_build_facts_know_which_compilers_report_append(version, shown):
    facts = BuildFacts("x", version, None, datetime.now(timezone.utc))
    assert facts.reports_append_growth is not shown


@pytest.mark.parametrize("version,shown", [("1.22.10", True), ("1.27.3", False)])
def test_index_pages_carry_the_note(tmp_path, version, shown):
    source = RECORDED / f"go{version}" / "example.m2.txt"
    targets = [("html", tmp_path / "html"), ("md", tmp_path / "md"), ("md-summary", tmp_path / "summary.md")]
    report(str(source), targets, source_root=FIXTURES / "modules" / "example")
    for page in (tmp_path / "html" / "index.html", tmp_path / "md" / "README.md", tmp_path / "summary.md"):
        assert ("does not report" in page.read_text()) is shown, page
