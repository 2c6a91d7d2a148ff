"""Heap profiles joined to escape sites (issue 12): the reader, the attribution, the JSON, the command line.

The profiles are real: scripts/record_profiles.py ran BenchmarkHot of fixtures/modules/profiled with
`-memprofilerate 1 -benchtime 2000x` on Go 1.19, 1.22.10 and 1.27.3 (plain and -trimpath) and kept
`go tool pprof -raw` of each, so these tests need no toolchain; tests/test_profile_proto.py reads the
protobuf files and compares them with that text (and, marked `toolchain`, with a real `go tool pprof`). Hand-made text appears only where a test says it is
deliberately malformed.
"""

from __future__ import annotations

import functools
import gzip
import json
import shutil

import pytest

from escapelint.analyze.cost import ProfileMismatchError, attribute
from escapelint.read.heap_profile import ProfileFormatError, read_heap_profile
from escapelint.workflows.profile import ProfileError, attribute_build, read_profile

from .conftest import MODULES, RECORDED, analysed, analysed_file

VERSIONS = ["1.19", "1.22.10", "1.27.3"]
PROFILED = MODULES / "profiled"
MODULE_PATH = "example.com/escapelint/profiled"


def raw_profile(version: str, name: str = "profiled"):
    path = RECORDED / f"go{version}" / "profiles" / f"{name}.hot.raw"
    with path.open(encoding="utf-8") as lines:
        return read_heap_profile(lines, path.name)


def build(version: str, trimpath: bool = False):
    if trimpath:
        return analysed_file(RECORDED / f"go{version}" / "profiles" / "profiled-trimpath.m2.txt")
    return analysed(version, "profiled")


def costed(version: str, trimpath: bool = False):
    recording = build(version, trimpath)
    name = "profiled-trimpath" if trimpath else "profiled"
    costs = attribute_build(list(recording.packages), [raw_profile(version, name)], PROFILED)
    return recording, costs


def site(recording, costs, line: int, column: int):
    for finding in recording.findings():
        position = finding.event.position
        if finding.category is not None and position.line == line and position.column == column:
            return finding, costs.of(finding)
    raise AssertionError(f"no heap site at {line}:{column}")


# --- the reader --------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_reader_reads_every_toolchains_pprof_text(version):
    profile = raw_profile(version)
    assert [f"{t.type}/{t.unit}" for t in profile.sample_types] == [
        "alloc_objects/count", "alloc_space/bytes", "inuse_objects/count", "inuse_space/bytes",
    ]  # fmt: skip
    assert profile.default_type == "alloc_space" and profile.period == 1
    assert profile.samples == sum(g.samples for g in profile.groups) > 50
    # newPoint inlined into Inlined: one location, two frames, the callee first; Go writes no column.
    inlined = [loc for loc in profile.locations.values() if [f.function.rsplit(".", 1)[-1] for f in loc.frames] == ["newPoint", "Inlined"]]
    assert inlined, "the inlined allocation's location"
    frames = inlined[0].frames
    assert [(f.line, f.column) for f in frames] == [(38, None), (45, None)]
    assert frames[0].file.endswith("fixtures/modules/profiled/hot/hot.go")


def test_reader_keeps_trimmed_paths_as_written():
    profile = raw_profile("1.27.3", "profiled-trimpath")
    files = {f.file for loc in profile.locations.values() for f in loc.frames}
    assert f"{MODULE_PATH}/hot/hot.go" in files


@pytest.mark.parametrize(
    "text, message",
    [
        # Deliberately malformed, hand-made: not a profile's text at all.
        ("# example.com/x\n./x.go:1:2: x escapes to heap\n", "x:1: not the text of `go tool pprof -raw`"),
        ("PeriodType: space bytes\nPeriod: 1\n", "no samples section"),
        ("Samples:\nalloc_space/bytes\n          1          2: 1\n", "x:3: 2 values for 1 sample types"),
        ("Samples:\nalloc_space/bytes\nnonsense here\n", "x:3: not a sample"),
        ("Samples:\nalloc_space/bytes\nLocations\nwhat\n", "x:4: not a location"),
    ],
)
def test_reader_names_the_first_bad_line(text, message):
    with pytest.raises(ProfileFormatError, match=message.replace("(", r"\(").replace("`", ".")):
        read_heap_profile(text.splitlines(True), "x")


# --- the attribution ----------------------------------------------------------------------------


@pytest.mark.parametrize("trimpath", [False, True], ids=["plain", "trimpath"])
@pytest.mark.parametrize("version", VERSIONS)
def test_the_known_hottest_site_is_first(version, trimpath):
    recording, costs = costed(version, trimpath)
    ranked = costs.ranked(recording.findings())
    hottest, cost = ranked[0]
    assert (hottest.event.position.line, hottest.event.position.column, hottest.function) == (17, 9, "NewBuffer")
    # 4 KiB per call, 2001 calls (b.N = 1, then 2000), every allocation sampled. (Go 1.19's profile
    # also puts one 96-byte object at that line's PC: the runtime's, as recorded.)
    assert 2001 <= cost.figures.objects <= 2002 and 4096 * 2001 <= cost.figures.bytes < 4096 * 2002
    assert cost.share > 0.8 and costs.functions[0].key == f"{MODULE_PATH}/hot.NewBuffer"
    assert costs.categories[0].key == "returned-pointer"


@pytest.mark.parametrize("trimpath", [False, True], ids=["plain", "trimpath"])
@pytest.mark.parametrize("version", VERSIONS)
def test_two_sites_on_one_line_share_its_figure_and_say_so(version, trimpath):
    recording, costs = costed(version, trimpath)
    first, first_cost = site(recording, costs, 24, 10)
    second, second_cost = site(recording, costs, 24, 24)
    assert first_cost.shared_with == (second.event.line,) and second_cost.shared_with == (first.event.line,)
    assert first_cost.line == second_cost.line
    assert first_cost.figures.bytes + second_cost.figures.bytes == first_cost.line.bytes
    assert abs(first_cost.figures.bytes - second_cost.figures.bytes) <= 16  # split evenly (objects of 16 bytes)
    assert first_cost.line.objects >= 2 * 2001 - 2


@pytest.mark.parametrize("trimpath", [False, True], ids=["plain", "trimpath"])
@pytest.mark.parametrize("version", VERSIONS)
def test_inlined_allocations_land_on_the_inlined_site(version, trimpath):
    recording, costs = costed(version, trimpath)
    inlined, inlined_cost = site(recording, costs, 45, 17)
    assert inlined.function == "Inlined" and inlined.inlined_from == "newPoint"
    assert inlined_cost.figures.objects in (2001, 2002) and inlined_cost.shared_with == ()
    _, own_copy = site(recording, costs, 38, 9)  # newPoint's own body: never called, always inlined
    assert not own_copy.exercised and own_copy.figures.bytes == 0


@pytest.mark.parametrize("version", VERSIONS)
def test_unexercised_sites_are_zero_and_marked(version):
    recording, costs = costed(version)
    unused, cost = site(recording, costs, 63, 9)
    assert unused.function == "Unused" and not cost.exercised and cost.figures.bytes == 0 and cost.share == 0


@pytest.mark.parametrize("version", VERSIONS)
def test_append_growth_is_a_site_from_go125_and_profile_evidence_before(version):
    recording, costs = costed(version)
    growth = [u for u in costs.unmatched if u.line == 54]
    if version == "1.27.3":  # Go 1.25+ prints "append escapes to heap": the site has the bytes
        _, cost = site(recording, costs, 54, 13)
        assert cost.figures.bytes > 0 and growth == []
    else:  # nothing printed at the append: the profile's bytes are shown as slice growth
        assert len(growth) == 1 and growth[0].slice_growth and growth[0].figures.bytes > 0
        assert growth[0].function == f"{MODULE_PATH}/hot.Collect"


@pytest.mark.parametrize("version", VERSIONS)
def test_the_figures_add_up_and_the_rest_is_counted(version):
    _, costs = costed(version)
    facts = costs.facts
    assert facts.attributed + facts.unmatched + facts.unmapped == facts.total
    assert sum(c.figures.bytes for c in costs.sites.values()) == facts.attributed.bytes
    assert sum(t.figures.bytes for t in costs.categories) == facts.attributed.bytes
    # The benchmark's own lines (hot_test.go) and the testing package are not in the build.
    assert facts.unmapped_samples > 0 and facts.unmapped.bytes < facts.total.bytes / 10


def test_paths_from_another_machine_map_by_suffix(tmp_path):
    """The recorded profile names the recording machine's absolute paths; a checkout elsewhere maps by suffix."""
    elsewhere = tmp_path / "src" / "profiled"
    shutil.copytree(PROFILED, elsewhere)
    recording = build("1.27.3")
    costs = attribute_build(list(recording.packages), [raw_profile("1.27.3")], elsewhere)
    assert costs.ranked(recording.findings())[0][0].function == "NewBuffer"
    assert costs.facts.attributed.bytes > 0.9 * costs.facts.total.bytes


def test_a_file_name_alone_does_not_map():
    """`hot.go` alone could be any package's file: the directory must agree too, and one match only."""
    from escapelint.analyze.cost import _PathMap

    paths = _PathMap({"hot/hot.go", "cold/hot.go", "/goroot/src/strings/builder.go"}, "/build/m", "example.com/m")
    assert paths.build_file("/other/machine/m/hot/hot.go") == "hot/hot.go"
    assert paths.build_file("example.com/m/cold/hot.go") == "cold/hot.go"  # -trimpath
    assert paths.build_file("/elsewhere/warm/hot.go") is None  # only the name agrees
    assert paths.build_file("/usr/local/go/src/strings/builder.go") == "/goroot/src/strings/builder.go"
    assert paths.build_file("/build/m/hot/hot.go") == "hot/hot.go"  # exact


def test_several_profiles_add_up():
    recording = build("1.27.3")
    one = attribute(recording.packages, [raw_profile("1.27.3")], root=str(PROFILED))
    two = attribute(recording.packages, [raw_profile("1.27.3"), raw_profile("1.27.3")], root=str(PROFILED))
    assert two.facts.total.bytes == 2 * one.facts.total.bytes and two.facts.samples == 2 * one.facts.samples
    top_one, top_two = one.ranked(recording.findings())[0][1], two.ranked(recording.findings())[0][1]
    assert top_two.figures.bytes == 2 * top_one.figures.bytes and top_two.share == pytest.approx(top_one.share)


def test_a_profile_without_heap_sample_types_is_refused():
    # Deliberately hand-made: the sample types of a CPU profile, to be refused by name.
    text = "PeriodType: cpu nanoseconds\nPeriod: 10000000\nSamples:\nsamples/count cpu/nanoseconds\nLocations\n"
    profile = read_heap_profile(text.splitlines(True), "cpu.pprof")
    with pytest.raises(ProfileMismatchError, match=r"cpu.pprof: not a heap profile \(its sample types: samples/count, cpu/nanoseconds\)"):
        attribute(build("1.27.3").packages, [profile], root=str(PROFILED))


# --- reading files ------------------------------------------------------------------------------


def test_a_raw_text_file_is_read_without_go(tmp_path):
    source = RECORDED / "go1.22.10" / "profiles" / "profiled.hot.raw"
    assert read_profile(source, None).samples == raw_profile("1.22.10").samples
    packed = tmp_path / "heap.txt.gz"
    packed.write_bytes(gzip.compress(source.read_bytes()))
    assert read_profile(packed, None).samples == raw_profile("1.22.10").samples


def test_a_protobuf_profile_is_read_without_go():
    """tests/test_profile_proto.py compares the protobuf reader with pprof's text on every recorded profile."""
    source = RECORDED / "go1.27.3" / "profiles" / "profiled.hot.pb.gz"
    assert read_profile(source, None).groups == raw_profile("1.27.3").groups


def test_a_missing_profile_is_a_clear_error(tmp_path):
    with pytest.raises(ProfileError, match="--profile .*missing.pb.gz: No such file or directory"):
        read_profile(tmp_path / "missing.pb.gz", None)


def test_a_file_that_is_not_a_profile_is_refused_without_running_pprof(tmp_path):
    not_profile = tmp_path / "notes.bin"
    not_profile.write_bytes(b"\x00\x01 not a profile")  # deliberately not a profile
    with pytest.raises(ProfileError, match=r"--profile .*notes.bin: not a protobuf profile \("):
        read_profile(not_profile, object())  # a go that would fail if it were run


# --- the JSON document and the command line -----------------------------------------------------


def run_cli(args, capsys=None):
    from typer.testing import CliRunner

    from escapelint.cli import app

    return CliRunner().invoke(app, args)


def test_report_with_a_profile_writes_the_figures_into_the_json(tmp_path):
    out = tmp_path / "r.json"
    result = run_cli([
        "report", str(RECORDED / "go1.19" / "profiled.m2.txt"), "--source-root", str(PROFILED),
        "--profile", str(RECORDED / "go1.19" / "profiles" / "profiled.hot.raw"), "-f", f"json:{out}",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    events = {(e["line"], e["column"]): e for p in document["packages"] for e in p["events"] if e["kind"] == "escape"}
    hottest = events[(17, 9)]["profile"]
    assert hottest["bytes"] == 4096 * hottest["objects"] and hottest["exercised"] and hottest["shared_with"] == []
    assert 0.8 < hottest["share"] <= 1
    shared = events[(24, 10)]["profile"]
    assert shared["shared_with"] == [{"file": "hot/hot.go", "line": 24, "column": 24, "expr": "&Point{...}",
                                      "input_line": events[(24, 24)]["input_line"]}]  # fmt: skip
    assert shared["line_bytes"] == shared["bytes"] + events[(24, 24)]["profile"]["bytes"]
    assert events[(63, 9)]["profile"] == {"bytes": 0, "objects": 0, "share": 0.0, "exercised": False, "shared_with": []}
    profile = document["profile"]
    assert profile["sample_types"][1] == "alloc_space/bytes" and profile["sites"] == {"exercised": 6, "not_exercised": 2}
    assert profile["functions"][0]["function"] == f"{MODULE_PATH}/hot.NewBuffer"
    assert profile["packages"][0]["package"] == f"{MODULE_PATH}/hot"
    assert profile["categories"][0]["category"] == "returned-pointer"
    assert [u["line"] for u in profile["unmatched_lines"] if u["slice_growth"]] == [54]
    assert profile["unmapped_samples"] > 0
    assert "heap sites by bytes allocated" in result.output and "not exercised by this profile" in result.output


def test_report_without_a_profile_is_unchanged(tmp_path):
    out = tmp_path / "r.json"
    result = run_cli(["report", str(RECORDED / "go1.27.3" / "profiled.m2.txt"), "-f", f"json:{out}", "-q"])
    assert result.exit_code == 0
    assert '"profile"' not in out.read_text()


def test_report_refuses_a_file_that_is_not_a_profile_in_one_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("Samples:\nalloc_space/bytes\nnot a sample line\n")  # deliberately malformed
    result = run_cli(["report", str(RECORDED / "go1.27.3" / "profiled.m2.txt"), "--profile", str(bad), "-q"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith("escapelint: error: --profile ")


# --- the reports: HTML, Markdown, SARIF ---------------------------------------------------------


def render_with_profile(version: str, targets):
    from escapelint.report.facts import BuildFacts
    from escapelint.report.formats import write_reports

    from .reporting import FIXED_DATE

    recording, costs = costed(version)
    facts = BuildFacts(f"go{version}/profiled.m2.txt", f"go{version}", None, FIXED_DATE)
    write_reports(iter(recording.packages), facts, lambda: recording.stats, targets, sources=recording.sources, costs=costs)
    return costs


@pytest.mark.parametrize("version", ["1.19", "1.27.3"])
def test_the_page_model_ranks_functions_and_sites_by_bytes(version):
    from escapelint.report.facts import BuildFacts
    from escapelint.report.index import index_page, index_row
    from escapelint.report.page import package_page

    recording, costs = costed(version)
    page = package_page(recording.packages[0], recording.sources, costs=costs)
    names = [f.name for f in page.functions]
    assert names[0] == "NewBuffer" and page.functions[0].cost.bar == 1.0
    assert [f.cost.bytes for f in page.functions] == sorted((f.cost.bytes for f in page.functions), reverse=True)
    assert names[-1] in ("Unused", "newPoint") and not page.functions[-1].cost.exercised
    two_points = next(f for f in page.functions if f.name == "TwoPoints")
    assert [s.cost.shared_with for s in two_points.sites] == [("24:24 &Point{...}",), ("24:10 &Point{...}",)]
    assert {(s.function, s.at.line) for s in page.idle_sites} == {("newPoint", 38), ("Unused", 63)}
    facts = BuildFacts("x", f"go{version}", None, None)
    index = index_page(facts, [index_row(page)], recording.stats.lines, 0, (), costs)
    assert index.profile.chart[0].category.id == "returned-pointer" and index.profile.chart[0].value_text.endswith("MB")
    assert index.profile.idle_sites == 2 and index.rows[0].bytes == page.cost.bytes
    if version == "1.19":
        assert index.profile.slice_growth_bytes > 0  # the append the compiler does not report


def test_html_and_markdown_show_the_ranking_and_their_links_resolve(tmp_path):
    from markdown_it import MarkdownIt

    from .reporting import PageLinks, broken_links, parse_page

    html, md = tmp_path / "html", tmp_path / "md"
    render_with_profile("1.27.3", [("html", html), ("md", md)])
    page = next(html.glob("example_com_escapelint_profiled_hot_*.html")).read_text()
    assert page.index("<code>NewBuffer</code>") < page.index("<code>Collect</code>") < page.index("<code>Unused</code>")
    assert 'id="not-exercised"' in page and "8.2 MB" in page and 'class="cost-bar"' in page
    assert "The profile cannot tell this site from <code>24:24 &amp;Point{...}</code>" in page
    assert "style=" not in page  # the pages' CSP allows no inline style
    index = (html / "index.html").read_text()
    assert 'id="cost-chart"' in index and "Bytes allocated per category" in index and ">Bytes</button>" in index
    html_pages = sorted(html.glob("*.html"))
    assert broken_links(html, html_pages, functools.lru_cache(None)(parse_page)) == []
    renderer = MarkdownIt("commonmark", {"html": True}).enable("table")

    @functools.lru_cache(None)
    def md_page(path):
        parser = PageLinks()
        parser.feed(renderer.render(path.read_text(encoding="utf-8")))
        return parser

    assert broken_links(md, sorted(md.glob("*.md")), md_page) == []
    text = next(md.glob("example_com_escapelint_profiled_hot_*.md")).read_text()
    assert "| Category | Expression | At | Why | Bytes |" in text and "## Not exercised by this profile" in text
    readme = (md / "README.md").read_text()
    assert "allocated at heap sites" in readme and "not exercised by this profile" in readme
    assert "\n\n| Category | Bytes | |\n| --- | ---: | --- |\n| [returned-pointer]" in readme


def test_sarif_results_carry_the_figures_and_rank(tmp_path, sarif_validator):
    out = tmp_path / "r.sarif"
    costs = render_with_profile("1.27.3", [("sarif", out)])
    document = json.loads(out.read_text())
    sarif_validator.validate(document)
    results = document["runs"][0]["results"]
    top = max(results, key=lambda r: r["rank"])
    assert top["properties"]["expression"] == "&Buffer{}" and top["properties"]["profileBytes"] > 8_000_000
    assert 80 < top["rank"] <= 100 and top["rank"] == pytest.approx(100 * top["properties"]["profileShare"], abs=0.01)
    idle = [r for r in results if not r["properties"]["profileExercised"]]
    assert len(idle) == 2 and all(r["rank"] == 0 for r in idle)
    assert costs.facts.total.bytes > 0


# --- the gates' configuration --------------------------------------------------------------------


def test_cost_gate_keys_are_read_and_checked(tmp_path):
    from escapelint.workflows.config import ConfigError, load_config

    (tmp_path / ".escapelint.toml").write_text("fail-on-bytes = 4096\nmax-new-bytes = 0\n")
    config = load_config(tmp_path)
    assert (config.fail_on_bytes, config.max_new_bytes) == (4096, 0)
    (tmp_path / ".escapelint.toml").write_text('fail-on-bytes = "4k"\n')
    with pytest.raises(ConfigError, match="fail-on-bytes must be a whole number of bytes >= 0"):
        load_config(tmp_path)


def test_fail_on_bytes_lets_cheap_new_sites_pass():
    from escapelint.workflows.cost_gate import apply_fail_on_bytes
    from escapelint.workflows.gate import CheckOutcome

    recording, costs = costed("1.27.3")
    heap = [f for f in recording.findings() if f.category is not None]
    outcome = CheckOutcome(heap, [], 0, [], "baseline x")
    verdict = apply_fail_on_bytes(outcome, costs, 1_000_000)
    assert [f.function for f in verdict.outcome.new] == ["NewBuffer"]
    assert verdict.outcome.known == len(heap) - 1 and len(verdict.below) == len(heap) - 1
