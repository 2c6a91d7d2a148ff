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
from escapelint.report import formats
from escapelint.report.categories import CATEGORIES
from escapelint.report.facts import BuildFacts, go_version_from_path
from escapelint.report.index import (
    CHART_BAR_LEFT,
    CHART_BAR_MIN_LENGTH,
    CHART_BAR_SPAN,
    CHART_ROW_HEIGHT,
    CHART_VALUE_GAP,
    HEAP_BAR_WIDTH,
    IndexPage,
    IndexRow,
    index_page,
    index_row,
)
from escapelint.report.page import (
    MAX_CHAIN_STEPS,
    Tally,
    package_page,
    page_stem,
    tally,
)
from escapelint.report.writer import ReportWriter
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


# --- The finished model: what the templates lay out without computing ------------------------------


def test_tallies_agree_with_their_count():
    assert tally(1, "site") == Tally(1, "site")
    assert tally(0, "site") == Tally(0, "sites")
    assert tally(1_234, "heap allocation").noun == "heap allocations"
    assert tally(2, "child", "children").noun == "children" and tally(1, "child", "children").noun == "child"


def _row(path: str, counts: dict[str, int], errors: int = 0) -> IndexRow:
    values = tuple(counts.get(c.id, 0) for c in CATEGORIES)
    return IndexRow(path, None, path.replace("/", "_"), values, sum(values), 0, None, None, 0, errors, 0)


_FACTS = BuildFacts("in.txt", None, None, datetime(2026, 1, 1, tzinfo=timezone.utc))


def test_index_rows_by_heap_are_most_first_and_keep_input_order_on_ties():
    rows = [_row("a", {"leaking-call": 1}), _row("b", {"leaking-call": 3}), _row("c", {"too-large": 1}), _row("d", {})]
    index = index_page(_FACTS, rows, 10, 0)
    assert [r.path for r in index.rows_by_heap] == ["b", "a", "c", "d"]
    assert [r.path for r in index.rows] == ["a", "b", "c", "d"]  # the model keeps input order


def test_index_tallies():
    index = index_page(_FACTS, [_row("a", {"leaking-call": 1}, errors=1)], 10, 0)
    assert index.package_tally == Tally(1, "package")
    assert index.heap_allocation_tally == Tally(1, "heap allocation")
    assert index.leaking_parameter_tally == Tally(0, "leaking parameters")
    assert index.compiler_error_tally == Tally(1, "compiler error")
    assert index.rows[0].error_tally == Tally(1, "error")
    empty = index_page(_FACTS, [], 0, 0)
    assert empty.package_tally == Tally(0, "packages") and empty.chart == () and empty.chart_height == 4


def test_chart_geometry_stacks_rows_and_keeps_tiny_bars_visible():
    index = index_page(_FACTS, [_row("a", {"leaking-call": 1_000, "too-large": 500, "channel-send": 1})], 10, 0)
    big, half, tiny = index.chart
    assert [b.row for b in index.chart] == [0, 1, 2]
    assert index.chart_height == 3 * CHART_ROW_HEIGHT + 4
    assert [b.bar_top for b in index.chart] == [5, 31, 57] and [b.text_baseline for b in index.chart] == [18, 44, 70]
    assert big.bar_length == CHART_BAR_SPAN and half.bar_length == CHART_BAR_SPAN / 2
    assert tiny.bar_length == CHART_BAR_MIN_LENGTH and isinstance(tiny.bar_length, float)
    for bar in index.chart:
        assert bar.value_left == round(CHART_BAR_LEFT + CHART_VALUE_GAP + bar.bar_length, 1)
        assert bar.bar_left == CHART_BAR_LEFT < bar.value_left <= index.chart_width


def test_heap_bar_segments_follow_the_columns_and_fill_the_bar():
    rows = [_row("a", {"returned-pointer": 1, "leaking-call": 2}), _row("b", {"interface-boxing": 3}), _row("c", {})]
    index = index_page(_FACTS, rows, 10, 0)
    bar = index.heap_bar(rows[0])
    assert [s.category.id for s in bar.segments] == [c.id for c in index.columns if c.id in ("returned-pointer", "leaking-call")]
    first, second = bar.segments
    assert (first.left, first.length) == (0.0, round(HEAP_BAR_WIDTH / 3, 1))
    assert second.left == first.length and second.left + second.length == bar.width
    assert index.heap_bar(rows[1]).segments[0].length == HEAP_BAR_WIDTH
    assert index.heap_bar(rows[2]).segments == ()


def test_package_page_tallies_and_what_it_shows():
    kv = next(p for p in _example_pages() if p.path.endswith("/kv"))
    assert kv.heap_allocation_tally == tally(kv.total, "heap allocation")
    assert kv.allocating_function_tally == Tally(5, "functions")  # of 7: Get and Delete only leak parameters
    assert kv.leaking_parameter_tally.count == kv.leaking_params
    assert kv.source_file_tally == tally(kv.source_files, "source file")
    assert kv.shown_directory == "kv" and kv.has_several_functions
    parse = next(f for f in kv.functions if f.name == "Parse")
    assert parse.site_tally == Tally(9, "sites") and parse.explained_sites == "each of the 9 sites"
    assert parse.leak_tally == Tally(1, "leak") and parse.leaking_param_tally == Tally(1, "leaking param")
    assert parse.inlined[0].site_tally == Tally(3, "sites")
    site = next(s for s in kv.sites if s.expr == "&Command{...}")
    assert site.explanation_count == len(site.chains) == 1
    assert site.chains[0].step_tally == tally(site.chains[0].step_count, "step")


def test_a_page_in_the_current_directory_names_no_directory():
    at = Position("./x.go", 3, 4)
    event = EscapeEvent(EventKind.ESCAPE, "p", at, "v", "F", (), None, 1)
    page = package_page(PackageFindings(PackageOutput("p", None, 1, (event,), (), (), (), ()), (_finding(event),), 0))
    assert page.directory == "." and page.shown_directory is None
    assert not page.has_several_functions
    (function,) = page.functions
    assert function.explained_sites == "this site" and function.site_tally == Tally(1, "site")


class _RecordingWriter(ReportWriter):
    def __init__(self) -> None:
        self.ends: list[IndexPage] = []

    def check(self) -> None:
        pass

    def begin(self, facts: BuildFacts) -> None:
        pass

    def package(self, page) -> None:
        pass

    def end(self, index: IndexPage) -> None:
        self.ends.append(index)

    def publish(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_write_reports_hands_every_writer_the_same_finished_index(monkeypatch, tmp_path):
    from dataclasses import replace

    from escapelint.events import BuildStats, LineRole

    writers = []

    def recording(path, overwrite):
        writers.append(_RecordingWriter())
        return writers[-1]

    for name in ("github", "rdjsonl"):
        monkeypatch.setitem(formats.FORMATS, name, replace(formats.FORMATS[name], writer=recording))
    at = Position("/usr/local/go1.22.10/src/fmt/print.go", 3, 4)  # the Go version comes from the output
    event = EscapeEvent(EventKind.ESCAPE, "p", at, "v", "F", (), None, 1)
    package = PackageFindings(PackageOutput("p", None, 1, (event,), (), (), (), ()), (_finding(event),), 0)
    stats = BuildStats(lines=12, packages=1)
    stats.roles[LineRole.UNRECOGNIZED] = 2
    formats.write_reports([package], _FACTS, lambda: stats, [("github", tmp_path / "a"), ("rdjsonl", tmp_path / "b")])
    (first,), (second,) = (w.ends for w in writers)
    assert first is second
    assert first.facts.go_version == "1.22.10" and (first.lines, first.unrecognized) == (12, 2)
    assert [r.path for r in first.rows] == ["p"] and first.total == 1
