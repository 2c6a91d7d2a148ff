"""The PR comment, annotations, SARIF and JSON of a diff, on recorded base/head outputs (no toolchain needed).

Base and head are the categories module built by Go 1.24.11 and by Go 1.25.5: a toolchain upgrade is a
real change with added sites (Go 1.25 reports append growth) and removed ones (make with a variable
size no longer escapes).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from markdown_it import MarkdownIt

from escapelint.analyze.compare import DiffResult, compare
from escapelint.analyze.findings import analyze
from escapelint.analyze.source import SourceLocator
from escapelint.read.assembler import read_build_output
from escapelint.report.annotations import escape_data, escape_property
from escapelint.report.diff import (
    ANNOTATION_LIMIT,
    COMMENT_MARKER,
    diff_json,
    diff_sarif,
    diff_sites,
    github_annotations,
    markdown_comment,
)
from escapelint.report.markdown import comment_length, fit_comment, md, md_code_spans
from escapelint.report.page import finding_order
from escapelint.report.sarif import FINGERPRINT_KEY
from escapelint.rules import RULES
from escapelint.workflows.audit import BuildResult

from .conftest import FIXTURES, RECORDED, ROOT, analysed, read_lines


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
    annotations = lines[:3]
    assert len(annotations) == min(3, len(upgrade.added))
    pattern = r"::(warning|notice) (file=[^,]+,line=\d+(,col=\d+)?,)?title=escapelint [a-z-]+%3A [^:]+::"
    assert all(re.match(pattern, a) for a in annotations), annotations
    if len(upgrade.added) > 3:
        assert lines[-1].startswith(f"::notice title=escapelint::{len(upgrade.added) - 3} more new heap escape")
    assert len(github_annotations(upgrade).splitlines()) <= ANNOTATION_LIMIT + 1


def test_json_lists_every_site(upgrade):
    document = json.loads(diff_json(upgrade))
    assert document["schema"] == "escapelint.diff/1"
    assert len(document["added"]) == len(upgrade.added)
    assert len(document["removed"]) == len(upgrade.removed)
    assert {a["fingerprint"] for a in document["added"]} == {f.fingerprint for f in upgrade.added}


def test_an_unchanged_build_says_so(upgrade):
    same = DiffResult("main", unchanged=upgrade.unchanged)
    assert markdown_comment(same) == (
        f"{COMMENT_MARKER}\n### escapelint: 0 new heap escapes, 0 removed (compared with <code>main</code>)\n\n"
        f"No heap escapes were added or removed; {upgrade.unchanged} unchanged.\n"
    )
    assert github_annotations(same) == ""


def test_the_comment_is_filled_as_far_as_the_limit_allows(upgrade):
    """Rows are added while they fit: what is left of the limit is less than one more row (and the
    few characters by which the note about left-out rows could shrink)."""
    rows = re.findall(r"^\| <code>.*$", markdown_comment(upgrade), re.MULTILINE)
    longest = max(len(row) + 1 for row in rows)
    for limit in (1_500, 2_000, 3_000):
        comment = markdown_comment(upgrade, limit=limit)
        assert limit - longest - 40 < len(comment) <= limit


def test_comment_rows_are_the_report_models_sites(upgrade):
    sites = diff_sites(upgrade.added)
    assert [s.fingerprint for s in sites] == [f.fingerprint for f in sorted(upgrade.added, key=finding_order)]
    comment = markdown_comment(upgrade)
    for site in sites:
        assert f"| `{site.category}` | <code>{md(site.expr)}</code> | {md_code_spans(site.reason)} |" in comment
    assert "`escapelint diff --format json`" not in comment  # nothing left out, no note


def test_annotations_word_sites_as_the_report_does(upgrade):
    sites = diff_sites(upgrade.added)
    lines = github_annotations(upgrade).splitlines()
    for site, line in zip(sites[:ANNOTATION_LIMIT], lines[:ANNOTATION_LIMIT], strict=True):
        command = "warning" if RULES[site.category].headline else "notice"
        file = site.at.file.removeprefix("./")
        if file.startswith("<"):  # generated code: no file to point at, as in the report's annotations
            assert line.startswith(f"::{command} title=")
        else:
            assert line.startswith(f"::{command} file={escape_property(file)},line={site.at.line}")
        assert line.endswith("::" + escape_data(f"{site.message}\nFix: {RULES[site.category].fix}"))


def test_annotations_point_at_the_repository_relative_file(upgrade, tmp_path):
    module = tmp_path / "repo" / "sub"
    relocated = DiffResult(upgrade.base, list(upgrade.added), [], repo_root=tmp_path / "repo", head_root=module)
    finding = next(f for f in relocated.added if f.event.position.file.startswith("generics/"))
    expected = f"file=sub/{finding.event.position.file},line={finding.event.position.line}"
    assert any(f" {expected}," in line for line in github_annotations(relocated, limit=100).splitlines())
    assert f"<code>sub/{finding.event.position.file}:{finding.event.position.line}</code>" in markdown_comment(relocated)


def test_sarif_lists_the_added_sites_and_validates(upgrade):
    schema_path = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
    date = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    document = json.loads(diff_sarif(upgrade, generated_at=date))
    (run,) = document["runs"]
    results = run["results"]
    assert [r["partialFingerprints"][FINGERPRINT_KEY] for r in results] == [s.fingerprint for s in diff_sites(upgrade.added)]
    assert [r["message"]["text"] for r in results] == [s.message for s in diff_sites(upgrade.added)]
    assert run["properties"]["input"] == "diff against go1.24"
    assert run["invocations"][0]["endTimeUtc"] == "2026-01-02T03:04:05Z"
    assert {r["properties"]["package"] for r in results} == {f.event.package for f in upgrade.added}
    if schema_path.is_file():
        import jsonschema

        schema = json.loads(schema_path.read_text(encoding="utf-8"))
        validator = jsonschema.validators.validator_for(schema)(schema)
        assert not list(validator.iter_errors(document))


def test_sarif_of_a_diff_without_new_sites_has_no_results():
    document = json.loads(diff_sarif(DiffResult("main")))
    assert document["runs"][0]["results"] == []


@pytest.mark.parametrize("most, fits", [(0, 0), (10, 0), (10, 4), (10, 10), (1000, 333)])
def test_fit_comment_finds_the_most_rows_that_fit(most, fits):
    def render(n: int) -> str:
        return "h" * 10 + "r" * 3 * n

    budget = 10 + 3 * fits
    assert fit_comment(render, most, budget) == (min(most, fits), render(min(most, fits)))


def test_fit_comment_counts_utf16_units_and_hands_back_what_does_not_fit():
    assert comment_length("😀") == 2
    assert fit_comment(lambda n: "😀" * (n + 1), 10, 5) == (1, "😀😀")
    assert fit_comment(lambda n: "x" * (100 + n), 10, 50) == (0, "x" * 100)


def test_without_a_line_mapping_sites_pair_as_their_fingerprints_do():
    """A stored baseline has no revision: pairing in order within an identity is pairing by fingerprint."""
    from escapelint.analyze.compare import pair_sites

    for base_version, head_version in (("1.24.11", "1.25.5"), ("1.19", "1.27.3")):
        base = list(recorded_build(base_version).heap_findings())
        head = list(recorded_build(head_version).heap_findings())
        pairs = pair_sites(base, head)
        assert all(b.fingerprint == h.fingerprint for b, h in pairs)
        assert len(pairs) == len({f.fingerprint for f in base} & {f.fingerprint for f in head})


def test_with_an_identity_line_mapping_every_site_pairs_with_itself():
    from escapelint.analyze.compare import pair_sites
    from escapelint.analyze.line_map import line_mapping

    findings = list(recorded_build("1.27.3").heap_findings())
    pairs = pair_sites(findings, findings, line_mapping(()))
    assert len(pairs) == len(findings) and all(b is h for b, h in pairs)


def _report_annotations(tmp_path, build: BuildResult, limit: int | None = None) -> list[str]:
    """`report --format github` of a recorded build, written by the report's writer."""
    from escapelint.report.annotations import GithubAnnotationsWriter
    from escapelint.report.facts import BuildFacts
    from escapelint.report.formats import write_reports

    out = tmp_path / "annotations.txt"
    if limit is not None:
        GithubAnnotationsWriter.limit, saved = limit, GithubAnnotationsWriter.limit
    try:
        write_reports(build.packages, BuildFacts.for_input("categories.m2.txt"), lambda: build.stats, [("github", out)],
                      overwrite=True)  # fmt: skip
    finally:
        if limit is not None:
            GithubAnnotationsWriter.limit = saved
    return out.read_text().splitlines()


def test_report_github_is_capped_as_the_diff_is(tmp_path):
    """Issue 11: `report -f github` printed 33,368 lines on the standard library; GitHub shows 10."""
    build = recorded_build("1.27.3")
    total = sum(1 for _ in build.heap_findings())
    assert total > ANNOTATION_LIMIT + 1
    lines = _report_annotations(tmp_path, build)
    assert len(lines) == ANNOTATION_LIMIT + 1
    assert all(" file=" in line for line in lines[:ANNOTATION_LIMIT])
    left = total - ANNOTATION_LIMIT
    assert lines[-1] == (
        f"::notice title=escapelint::{left} more heap escapes not annotated (GitHub shows {ANNOTATION_LIMIT} per "
        "step); see the HTML, JSON or SARIF report"
    )
    assert len(_report_annotations(tmp_path, build, limit=total)) == total, "no notice when nothing is left"


def test_diff_and_report_annotate_a_site_with_the_same_line(tmp_path):
    build = recorded_build("1.27.3")
    findings = list(build.heap_findings())
    report_lines = set(_report_annotations(tmp_path, build, limit=len(findings)))
    for finding in findings:
        (line,) = github_annotations(DiffResult("main", added=[finding])).splitlines()
        assert line in report_lines


def test_the_terminal_and_the_index_count_a_function_the_same_way():
    """Issue 11: the index counts closures and instantiations into the declared function, the terminal
    counted them apart (Keep[int], Keep[string], … beside Keep): now both count by the declared function."""
    import io

    from escapelint.report.index import index_row
    from escapelint.report.page import package_page
    from escapelint.terminal import audit_summary

    build = recorded_build("1.27.3")
    out = io.StringIO()
    audit_summary(replace(build, command=_Command()), [], out)
    listed = re.findall(r"^ +(\d+)  (\S+)$", out.getvalue().split("most heap allocations")[1], re.MULTILINE)
    sections = {}
    for package in build.packages:
        page = package_page(package)
        sections.update({f"{package.output.path}.{f.name}": f.total for f in page.functions})
        row = index_row(page)
        assert sections[f"{package.output.path}.{row.worst_function}"] == max(f.total for f in page.functions)
    assert listed and all(sections[name] == int(count) for count, name in listed)
    assert ("8", "example.com/escapelint/categories/generics.Keep") in listed


class _Command:
    def display(self) -> str:
        return "go build -gcflags=-m=2 ./..."


def test_new_escapes_served_from_static_data_are_counted_apart_and_not_annotated():
    """The example's constant "error:" is static data: the comment counts it apart, nothing annotates it."""
    from escapelint.analyze.compare import compare
    from escapelint.report.diff import github_annotations, markdown_comment

    head = list(analysed("1.27.3", "example").build_result().heap_findings())
    result = compare([], head, "main", "go1.27.3")
    static = [f for f in result.added if not f.allocates]
    assert [f.event.expr for f in static] == ['"error:"']
    comment = markdown_comment(result)
    assert f"{len(head) - 1} new heap escapes" in comment
    assert "1 more new escape site that the compiler serves from static data (no allocation), not listed." in comment
    assert "&quot;error:&quot;" not in comment
    assert len(github_annotations(result).splitlines()) == min(len(head) - 1, 10) + 1
