"""The report model: page names, build facts, and what a package page holds."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest

from escapelint.analyze.findings import Finding, PackageFindings, analyze
from escapelint.analyze.source import SourceLocator
from escapelint.events import (
    EscapeEvent,
    EventKind,
    Explanation,
    Flow,
    FlowStep,
    PackageOutput,
    Position,
)
from escapelint.read.assembler import BuildReader
from escapelint.report.categories import CATEGORIES
from escapelint.report.facts import BuildFacts, go_version_from_path
from escapelint.report.index import index_page, index_row
from escapelint.report.page import MAX_CHAIN_STEPS, package_page, page_stem
from escapelint.rules import RULES

from .conftest import RECORDED, read_lines
from .reporting import module_of


@pytest.mark.parametrize(
    "path, version",
    [
        ("/usr/local/go1.22.10/src/fmt/print.go", "1.22.10"),
        ("/root/.cache/escapelint/toolchains/1.27.3/go/src/sync/atomic/type.go", "1.27.3"),
        ("/opt/gotc/1.21.13/go/src/runtime/proc.go", "1.21.13"),
        ("/usr/lib/go-1.19/src/runtime/proc.go", "1.19"),
        ("/home/u/go/pkg/mod/golang.org/toolchain@v0.0.1-go1.23.9.linux-amd64/src/io/io.go", "1.23.9"),
        ("C:\\Program Files\\go1.24.11\\src\\os\\file.go", "1.24.11"),
        ("/usr/local/go1.25rc1/src/os/file.go", "1.25rc1"),
        ("./main.go", None),
        ("/home/u/src/go1.22.10-notes/x.go", None),  # not a GOROOT: no "/src/" after the version
        ("/home/u/projects/1.2/go/main.go", None),
    ],
)
def test_go_version_from_goroot_paths(path, version):
    assert go_version_from_path(path) == version


def test_build_facts_read_the_recording_sidecar():
    recording = RECORDED / "go1.22.10" / "example.m2.txt"
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    facts = BuildFacts.for_input(str(recording), now=now)
    meta = json.loads(recording.with_name("example.m2.meta.json").read_text())
    assert facts == BuildFacts(str(recording), "1.22.10", meta["command"], now)
    assert BuildFacts.for_input("-", now=now) == BuildFacts("<stdin>", None, None, now)
    assert BuildFacts.for_input("/nonexistent/out.txt", now=now).go_version is None


@pytest.mark.parametrize(
    "path",
    ["net/http", "../../etc/passwd", "a/b\\..\\c", "/abs/path", "..", "", None, "例え/パッケージ", "x" * 500,
     "a b/<script>", "CON", "pkg:colon"],
)  # fmt: skip
def test_page_stems_are_plain_unique_names(path):
    stem = page_stem(path)
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_]*_[0-9a-f]{12}", stem), stem
    assert len(stem) <= 80
    assert page_stem(path, f"{path}.test") != stem
    assert page_stem(path, f"{path}.test").endswith(page_stem(path, f"{path}.test")[-12:])


def test_page_stems_differ_for_paths_with_the_same_slug():
    assert page_stem("a/b") != page_stem("a_b") != page_stem("a.b")


def _example_pages():
    recording = RECORDED / "go1.27.3" / "example.m2.txt"
    sources = SourceLocator(module_of(recording))
    reader = BuildReader()
    return [package_page(analyze(o, sources), sources) for o in reader.packages(read_lines(recording))]


def test_package_page_groups_sites_by_function_and_inlined_callee():
    kv = next(p for p in _example_pages() if p.path.endswith("/kv"))
    parse = next(f for f in kv.functions if f.name == "Parse")
    # errors.New's allocation, inlined three times into Parse, is grouped under errors.New.
    (group,) = parse.inlined
    assert group.callee == "errors.New"
    assert [s.expr for s in group.sites] == ["&errors.errorString{...}"] * 3
    assert all(s.inlined_from is None for s in parse.sites)
    assert [(leak.name, leak.kind, leak.sinks) for leak in parse.leaks] == [("line", "leaks", ("{heap}",))]
    assert parse.total == len(parse.sites) + 3 == sum(c.count for c in parse.counts)
    assert kv.total == sum(f.total for f in kv.functions) == len(kv.sites)
    assert kv.directory == "kv"


def test_sites_carry_source_line_with_a_column_marker_and_the_chain_in_order():
    kv = next(p for p in _example_pages() if p.path.endswith("/kv"))
    site = next(s for s in kv.sites if s.expr == "&Command{...}")
    assert site.category == "returned-pointer"
    assert site.source.number == 20 and "&Command{" in site.source.text
    assert len(site.source.marker) == site.at.column - 1
    assert site.source.text[len(site.source.marker)] == "&"  # the marker ends under the column
    (chain,) = site.chains
    assert chain.hops[0].source.startswith("&{storage for &Command{...}}")
    assert chain.sink == chain.hops[-1].sink == "~r0"
    decisive = [step for hop in chain.hops for step in hop.steps if step.decisive]
    assert [(s.reason, s.expr) for s in decisive] == [("return", "return cmd, nil")]
    assert site.at.short == "parse.go:20:9" and site.at.text == "kv/parse.go:20:9"


def _finding(event: EscapeEvent, category: str | None = "leaking-call") -> Finding:
    return Finding(event, "F", "F", category, "why" if category else None, None, None, "f" * 20)


def test_long_chains_are_cut_and_counted():
    at = Position("/x/y.go", 3, 4)
    steps = tuple(FlowStep(f"e{i}", "assign", at) for i in range(MAX_CHAIN_STEPS + 25))
    explanation = Explanation(at, "v", "F", None, None, (Flow("{heap}", "v", -1, steps),), False, 1, 1)
    event = EscapeEvent(EventKind.ESCAPE, "p", at, "v", "F", (explanation,), None, 1)
    output = PackageOutput("p", None, 1, (event,), (), (), (), ())
    (site,) = package_page(PackageFindings(output, (_finding(event),), 0)).sites
    (chain,) = site.chains
    assert sum(len(h.steps) for h in chain.hops) == MAX_CHAIN_STEPS
    assert chain.omitted_steps == 25 and chain.step_count == MAX_CHAIN_STEPS + 25
    assert chain.sink == "{heap}"
    assert site.source is None  # /x/y.go does not exist


def test_index_totals_and_chart():
    pages = _example_pages()
    rows = [index_row(p) for p in pages]
    facts = BuildFacts("in.txt", None, None, datetime(2026, 1, 1, tzinfo=timezone.utc))
    index = index_page(facts, rows, 100, 0)
    assert index.total == sum(p.total for p in pages) == sum(b.count for b in index.chart)
    assert [b.count for b in index.chart] == sorted((b.count for b in index.chart), reverse=True)
    assert max(b.share for b in index.chart) == 1.0
    assert {c.id for c in index.columns} == {c.category.id for p in pages for c in p.counts}
    kv = next(r for r in rows if r.path.endswith("/kv"))
    assert kv.worst_function == "Parse" and kv.worst_count == 9
    assert index.column_counts(kv) == [n for n, c in zip(kv.counts, CATEGORIES) if c in index.columns]


def test_every_category_has_a_distinct_colour():
    assert [c.id for c in CATEGORIES] == list(RULES)
    assert len({c.colour for c in CATEGORIES}) == len(CATEGORIES)
