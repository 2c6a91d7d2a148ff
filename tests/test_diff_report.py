"""The PR comment, annotations and JSON of a diff, on recorded base/head outputs (no toolchain needed).

Base and head are the categories module built by Go 1.24.11 and by Go 1.25.5: a toolchain upgrade is a
real change with added sites (Go 1.25 reports append growth) and removed ones (make with a variable
size no longer escapes).
"""

from __future__ import annotations

import json
import re

import pytest
from markdown_it import MarkdownIt

from escapelint.analyze.compare import compare
from escapelint.analyze.findings import analyze
from escapelint.analyze.source import SourceLocator
from escapelint.read.assembler import read_build_output
from escapelint.report.diff import (
    ANNOTATION_LIMIT,
    COMMENT_MARKER,
    diff_json,
    github_annotations,
    markdown_comment,
)
from escapelint.workflows.audit import BuildResult

from .conftest import FIXTURES, RECORDED, read_lines


def recorded_build(version: str) -> BuildResult:
    packages, stats = read_build_output(read_lines(RECORDED / f"go{version}" / "categories.m2.txt"))
    sources = SourceLocator(FIXTURES / "modules" / "categories")
    return BuildResult(command=None, go_version=f"go{version}", packages=[analyze(p, sources) for p in packages], stats=stats)


@pytest.fixture(scope="module")
def upgrade():
    base, head = recorded_build("1.24.11"), recorded_build("1.25.5")
    return compare(base.heap_findings(), head.heap_findings(), "go1.24", head.go_version)


def test_added_and_removed_sites(upgrade):
    added = {f.category for f in upgrade.added}
    removed = {(f.category, f.event.expr) for f in upgrade.removed}
    assert "slice-growth" in added
    assert ("non-constant-size", "make([]byte, n)") in removed
    assert upgrade.unchanged > 20


def test_comment_is_marked_and_renders_to_tables(upgrade):
    comment = markdown_comment(upgrade)
    assert comment.startswith(COMMENT_MARKER + "\n")
    html = MarkdownIt("commonmark").enable("table").render(comment)
    assert html.count("<table>") == 3  # summary, new, removed
    assert "<code>append</code>" in html
    assert f"{len(upgrade.added)} new heap escapes" in comment


@pytest.mark.parametrize("limit", [65_536, 3_000, 1_500])
def test_comment_stays_under_the_limit_and_says_what_it_left_out(upgrade, limit):
    comment = markdown_comment(upgrade, limit=limit)
    assert len(comment) <= limit
    if limit < 3_000:
        assert "Not shown to stay within GitHub's comment size" in comment
        shown = len(re.findall(r"^\| <code>", comment, re.MULTILINE))
        left = sum(int(n) for n in re.findall(r"(\d+) more", comment))
        assert shown + left == len(upgrade.added) + len(upgrade.removed)


def test_annotations_respect_the_per_step_limit(upgrade):
    lines = github_annotations(upgrade, limit=3).splitlines()
    warnings = [line for line in lines if line.startswith("::warning ")]
    assert len(warnings) == min(3, len(upgrade.added))
    assert all(re.match(r"::warning file=[^,]+,line=\d+(,col=\d+)?,title=escapelint%3A [a-z-]+::", w) for w in warnings)
    if len(upgrade.added) > 3:
        assert lines[-1].startswith(f"::notice title=escapelint::{len(upgrade.added) - 3} more new heap escape")
    assert len(github_annotations(upgrade).splitlines()) <= ANNOTATION_LIMIT + 1


def test_json_lists_every_site(upgrade):
    document = json.loads(diff_json(upgrade))
    assert document["schema"] == "escapelint.diff/1"
    assert len(document["added"]) == len(upgrade.added)
    assert len(document["removed"]) == len(upgrade.removed)
    assert {a["fingerprint"] for a in document["added"]} == {f.fingerprint for f in upgrade.added}
