"""formats: format names and targets, one pass for several formats, and never overwriting a user's files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from escapelint.analyze.findings import analyze
from escapelint.analyze.source import SourceLocator
from escapelint.read.assembler import BuildReader
from escapelint.report.facts import BuildFacts
from escapelint.report.formats import (
    DIFF_FORMATS,
    FORMATS,
    FormatTargetError,
    check_format_targets,
    parse_format_targets,
    write_reports,
)
from escapelint.report.output import MARKER, STDOUT, OutputRefusedError

from .conftest import RECORDED, read_lines
from .reporting import FIXED_DATE, module_of, render_fixture

EXAMPLE = RECORDED / "go1.27.3" / "example.m2.txt"


# --- parse_format_targets ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, output, expected",
    [
        (["html"], Path("out"), [("html", Path("out"))]),
        (["sarif"], None, [("sarif", STDOUT)]),
        (["github"], Path("-"), [("github", STDOUT)]),
        (["md:r/md", "sarif:r/x.sarif"], None, [("md", Path("r/md")), ("sarif", Path("r/x.sarif"))]),
        (["html", "sarif"], Path("r"), [("html", Path("r/html")), ("sarif", Path("r/escapelint.sarif"))]),
        (["html", "sarif:x.sarif"], Path("site"), [("html", Path("site")), ("sarif", Path("x.sarif"))]),
        (["github", "html:site"], None, [("github", STDOUT), ("html", Path("site"))]),
        (["sarif:C:\\out\\x.sarif"], None, [("sarif", Path("C:\\out\\x.sarif"))]),
        ([], Path("x"), []),
    ],
)
def test_format_targets(values, output, expected):
    assert parse_format_targets(values, output) == expected


@pytest.mark.parametrize(
    "values, output, message",
    [
        (["xml"], None, "unknown report format 'xml' in --format 'xml'; known: json, html"),
        (["htm:out"], None, "unknown report format 'htm'"),
        (["sarif:"], None, "--format 'sarif:' names no path; write sarif:PATH"),
        (["html"], None, "--format html writes a directory: give --output DIR or html:DIR"),
        (["html:-"], None, "--format html writes a directory, not standard output"),
        (["sarif", "github"], None, "--format sarif and --format github would both write standard output"),
        (["sarif:a", "rdjsonl:a"], None, "--format sarif and --format rdjsonl would both write a"),
        (["sarif", "github"], STDOUT, "several formats cannot all go to standard output"),
    ],
)
def test_format_target_errors_name_the_value(values, output, message):
    with pytest.raises(FormatTargetError) as raised:
        parse_format_targets(values, output)
    assert isinstance(raised.value, ValueError)
    assert message in str(raised.value)


def test_registry_lists_json_for_the_cli():
    assert list(FORMATS) == ["json", "html", "md", "md-summary", "sarif", "github", "rdjsonl"]
    assert FORMATS["json"].writer is None
    with pytest.raises(FormatTargetError, match="streams events"):
        write_reports([], BuildFacts("x", None, None, FIXED_DATE), lambda: None, [("json", Path("x.json"))])


# --- one pass ---------------------------------------------------------------------------------------


class OnePass:
    """An iterable that fails if it is iterated twice."""

    def __init__(self, items):
        self.items = items
        self.used = False

    def __iter__(self):
        assert not self.used, "iterated twice"
        self.used = True
        return iter(self.items)


def test_all_formats_in_one_pass_over_the_packages(tmp_path):
    reader = BuildReader()
    sources = SourceLocator(module_of(EXAMPLE))
    packages = OnePass(analyze(o, sources) for o in reader.packages(read_lines(EXAMPLE)))
    targets = parse_format_targets([n for n in FORMATS if n != "json"], tmp_path / "out")
    calls = []

    def stats():
        calls.append(packages.used)
        return reader.stats

    facts = BuildFacts("example", None, None, FIXED_DATE)  # no Go version given: inferred
    write_reports(packages, facts, stats, targets, sources=sources)
    assert calls == [True]  # asked once, after the packages
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "annotations.txt", "escapelint.rdjsonl", "escapelint.sarif", "html", "md", "summary.md",
    ]  # fmt: skip
    assert "1.27.3" in (out / "html" / "index.html").read_text()  # from GOROOT paths of inlined std code
    sarif = json.loads((out / "escapelint.sarif").read_text())
    assert sarif["runs"][0]["properties"]["goVersion"] == "1.27.3"
    sites = len(sarif["runs"][0]["results"])
    assert sites == 22
    # No annotation for the site served from static data (the constant "error:"), a SARIF note; GitHub's
    # 10 of the others, and the notice with the number left.
    allocating = [r for r in sarif["runs"][0]["results"] if r["properties"]["allocates"]]
    assert len(allocating) == sites - 1
    assert len((out / "annotations.txt").read_text().splitlines()) == min(len(allocating), 10) + (len(allocating) > 10)
    assert len((out / "escapelint.rdjsonl").read_text().splitlines()) == sites


def test_standard_output_target(capsys):
    render_fixture(EXAMPLE, [("rdjsonl", STDOUT)])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 22 and all(json.loads(line)["source"]["name"] == "escapelint" for line in lines)


# --- output safety ----------------------------------------------------------------------------------


def test_a_directory_escapelint_did_not_make_is_refused(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "notes.txt").write_text("mine")
    with pytest.raises(OutputRefusedError, match="holds files escapelint did not write"):
        render_fixture(EXAMPLE, [("html", site)])
    assert sorted(p.name for p in site.iterdir()) == ["notes.txt"]
    render_fixture(EXAMPLE, [("html", site)], overwrite=True)
    assert (site / "notes.txt").read_text() == "mine" and (site / "index.html").is_file()


def test_an_empty_directory_is_used_and_a_file_is_not(tmp_path):
    (tmp_path / "empty").mkdir()
    render_fixture(EXAMPLE, [("md", tmp_path / "empty")])
    assert (tmp_path / "empty" / "README.md").is_file()
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputRefusedError, match="not a directory"):
        render_fixture(EXAMPLE, [("html", tmp_path / "file")], overwrite=True)


def test_a_report_directory_is_replaced_with_its_stale_pages_removed(tmp_path):
    site = tmp_path / "site"
    render_fixture(RECORDED / "go1.27.3" / "hostile.m2.txt", [("html", site)])
    hostile_pages = {p.name for p in site.glob("*hostile*.html")}
    assert hostile_pages
    (site / "notes.txt").write_text("mine")  # not listed in the marker: never removed
    render_fixture(EXAMPLE, [("html", site)])  # the marker says escapelint wrote it: no --force needed
    names = {p.name for p in site.iterdir()}
    assert not names & hostile_pages
    assert "notes.txt" in names and MARKER in names
    assert len(list(site.glob("style_*.css"))) == 1
    marker = json.loads((site / MARKER).read_text())
    assert set(marker["files"]) == names - {MARKER, "notes.txt"}


def test_a_refused_target_stops_the_run_before_anything_is_written(tmp_path):
    (tmp_path / "x.sarif").write_text("keep")
    site = tmp_path / "site"
    site.mkdir()
    (site / "notes.txt").write_text("mine")
    with pytest.raises(OutputRefusedError, match="holds files escapelint did not write"):
        render_fixture(EXAMPLE, [("sarif", tmp_path / "x.sarif"), ("html", site)])
    assert (tmp_path / "x.sarif").read_text() == "keep"  # checked first: no partial output
    assert sorted(p.name for p in site.iterdir()) == ["notes.txt"]


def test_an_existing_report_file_is_replaced_without_overwrite(tmp_path):
    """Issue 11: a file named as a target is asked for; only directories keep the marker rule."""
    (tmp_path / "x.sarif").write_text("previous")
    render_fixture(EXAMPLE, [("sarif", tmp_path / "x.sarif")])
    assert json.loads((tmp_path / "x.sarif").read_text())["version"] == "2.1.0"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.sarif"]


def test_targets_naming_one_file_are_refused_however_spelled(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FormatTargetError, match="--format sarif and --format github would both write same.out"):
        parse_format_targets(["sarif:same.out", f"github:{tmp_path}/same.out"], None)
    with pytest.raises(FormatTargetError, match="--format json and --format sarif would both write x"):
        parse_format_targets(["json:x", f"sarif:{tmp_path / 'x'}"], None)
    (tmp_path / "link").symlink_to(tmp_path / "x")
    with pytest.raises(FormatTargetError, match="would both write"):
        parse_format_targets(["json:x", "sarif:link"], None)
    with pytest.raises(FormatTargetError, match="would both write"):  # library callers are checked too
        check_format_targets([("sarif", Path("x")), ("github", tmp_path / "x")], overwrite=True)
    assert list(tmp_path.iterdir()) == [tmp_path / "link"]


def test_an_output_that_is_the_input_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text("input")
    with pytest.raises(FormatTargetError, match="--format sarif would write over the input in.txt"):
        check_format_targets([("sarif", tmp_path / "in.txt")], overwrite=True, input="in.txt")
    check_format_targets([("sarif", STDOUT)], overwrite=False, input="-")  # standard input is no file


def test_diff_formats_go_through_the_same_parser():
    assert list(DIFF_FORMATS) == ["md", "json", "github", "sarif"]
    assert parse_format_targets(["md", "json:d.json"], None, DIFF_FORMATS, kind="diff") == [
        ("md", STDOUT), ("json", Path("d.json")),
    ]  # fmt: skip
    assert parse_format_targets(["md", "json"], Path("out"), DIFF_FORMATS, kind="diff") == [
        ("md", Path("out/escapelint-comment.md")), ("json", Path("out/escapelint-diff.json")),
    ]  # fmt: skip
    with pytest.raises(FormatTargetError, match=r"unknown diff format 'html' in --format 'html'; known: md, json, github, sarif"):
        parse_format_targets(["html"], None, DIFF_FORMATS, kind="diff")
    with pytest.raises(FormatTargetError, match="--format md and --format json would both write standard output"):
        parse_format_targets(["md", "json"], None, DIFF_FORMATS, kind="diff")


def test_the_same_package_twice_gets_two_pages(tmp_path):
    lines = read_lines(EXAMPLE)
    reader = BuildReader()
    sources = SourceLocator(module_of(EXAMPLE))
    packages = [analyze(o, sources) for o in reader.packages(lines + lines)]
    write_reports(packages, BuildFacts("twice", None, None, FIXED_DATE), lambda: reader.stats,
                  [("html", tmp_path / "site")], sources=sources)  # fmt: skip
    pages = sorted(p.name for p in (tmp_path / "site").glob("example_com*.html"))
    assert len(pages) == 4 and sum(p.endswith("_2.html") for p in pages) == 2
