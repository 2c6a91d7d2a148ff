"""The navigable report's model: source views, functions most sites first, one chain per distinct
explanation, compiler temporaries, fix hints once, the search index and the report options.

Recorded builds (fixtures/recorded) wherever the compiler's output is read; events built by hand only
where a test needs a shape the fixture modules do not produce (two identical explanations), as
test_report_model.py does.
"""

from __future__ import annotations

import json
import re

import pytest

from escapelint.analyze.findings import Finding, PackageFindings
from escapelint.events import EscapeEvent, EventKind, Explanation, Flow, FlowStep, PackageOutput, Position
from escapelint.report.facts import BuildFacts
from escapelint.report.html import highlight_go_lines, mark_temporaries, path_breaks
from escapelint.report.index import index_page, index_row
from escapelint.report.options import ReportOptionError, ReportOptions, check_editor_url, editor_href
from escapelint.report.page import InlinedCallees, package_page, source_view_stem, temporaries_in
from escapelint.report.search import SearchIndex
from escapelint.report.source_view import CHUNK_LINES, source_views

from .conftest import MODULES, analysed, read_lines, recording_path
from .reporting import FIXED_DATE, render_fixture


def _pages(module: str, mode: str = "module"):
    build = analysed("1.27.3", module)
    callees = InlinedCallees()
    pages = [package_page(p, build.sources, source_pages=mode, callees=callees) for p in build.packages]
    return pages


def _page(module: str, suffix: str, mode: str = "module"):
    return next(p for p in _pages(module, mode) if p.path.endswith(suffix))


def test_every_module_file_with_sites_gets_a_view_and_its_sites_link_to_their_lines():
    kv = _page("example", "/kv")
    assert [(v.file, v.name) for v in kv.viewed_files] == [("kv/parse.go", "parse.go"), ("kv/store.go", "store.go")]
    stems = {v.file: v.stem for v in kv.viewed_files}
    assert stems["kv/parse.go"] == source_view_stem("kv/parse.go", kv.stem) and re.fullmatch(r"src_parse_go_[0-9a-f]{12}", stems["kv/parse.go"])
    for site in kv.sites:
        assert site.source_href == f"{stems[site.at.file]}.html#L{site.at.line}"
        assert site.local_path == str((MODULES / "example" / site.at.file).resolve())
    leak = next(leak for f in kv.functions for leak in f.leaks if leak.name == "line")
    assert leak.source_href == f"{stems['kv/parse.go']}.html#L15"  # Parse's signature
    # The view holds the whole file, as the file has it (no trailing empty line).
    parse_text = (MODULES / "example" / "kv" / "parse.go").read_text(encoding="utf-8")
    assert kv.viewed_files[0].lines == tuple(parse_text.split("\n")[:-1])


def test_a_view_marks_each_reported_line_with_its_sites_leaks_and_category():
    kv = _page("example", "/kv")
    parse, store = source_views(kv)
    assert (parse.previous, parse.next.name, store.previous.name, store.next) == (None, "store.go", "parse.go", None)
    assert parse.total + store.total == kv.total == sum(len(m.sites) for v in (parse, store) for m in v.marks.values())
    line26 = parse.marks[26]  # fmt.Errorf("%s takes %d arguments, got %d", cmd.Op, want-1, len(fields)-1)
    assert [s.expr for s in line26.sites] == ["cmd.Op", "want - 1", "len(fields) - 1", "&errors.errorString{...}"]
    assert line26.category == "interface-boxing" and [(c.category.id, c.count) for c in line26.counts] == [
        ("interface-boxing", 3), ("returned-pointer", 1)]  # fmt: skip
    assert [leak.name for leak in parse.marks[15].leaks] == ["line"] and parse.marks[15].sites == ()
    assert parse.marks[15].category is None  # a leak-only line has the leak colour
    assert 16 not in parse.marks
    assert parse.package_stem == kv.stem and parse.local_path.endswith("kv/parse.go")
    assert [(c.first, c.last) for c in parse.chunks] == [(1, len(parse.lines))] and len(parse.lines) < CHUNK_LINES


def test_moved_variables_are_marked_at_their_declaration():
    page = _page("categories", "/categories")
    closures = next(v for v in source_views(page) if v.name == "closures.go")
    assert closures.marks[6].moved == ["n"]  # ./closures.go:6:2: moved to heap: n
    assert "n := 0" in closures.lines[5]


def test_an_inlined_copy_links_to_its_callees_declaration():
    kv, kvdemo = _page("example", "/kv"), _page("example", "/kvdemo")
    store = next(v for v in kv.viewed_files if v.name == "store.go")
    inlined = [s for s in kvdemo.sites if s.inlined_from == "kv.New"]
    assert [s.expr for s in inlined] == ["&kv.Store{...}", "make(map[string][]byte)"]
    # kv/store.go:16:6: can inline New (kv's output, read before kvdemo's)
    assert {s.callee_href for s in inlined} == {f"{store.stem}.html#L16"}
    assert store.lines[15].startswith("func New()")
    group = next(g for f in kvdemo.functions for g in f.inlined if g.callee == "kv.New")
    assert group.callee_href == f"{store.stem}.html#L16"
    # errors.New is in GOROOT: no view of it in a module's report, so no link.
    assert {s.callee_href for s in kv.sites if s.inlined_from == "errors.New"} == {None}


def test_source_pages_none_makes_no_view_and_no_links():
    kv = _page("example", "/kv", mode="none")
    assert kv.viewed_files == () and {s.source_href for s in kv.sites} == {None}
    with pytest.raises(ValueError, match="source_pages"):
        package_page(analysed("1.27.3", "example").packages[0], source_pages="some")


def test_functions_are_listed_most_heap_sites_first_then_leaks_then_output_order():
    kv = _page("example", "/kv")
    assert [f.name for f in kv.functions][:3] == ["Parse", "(*Store).Set", "(*Store).Get"]  # output order
    ordered = [(f.name, f.total, len(f.leaks)) for f in kv.functions_by_sites]
    assert ordered == [("Parse", 9, 1), ("(*Store).Set", 3, 2), ("Apply", 2, 2), ("New", 2, 0),
                       ("(*Store).Keys", 1, 1), ("(*Store).Get", 0, 1), ("(*Store).Delete", 0, 1)]  # fmt: skip
    assert [f.order for f in kv.functions] == sorted(f.order for f in kv.functions)


def _event_with_explanations(*explanations: Explanation) -> PackageOutput:
    at = Position("/m/x.go", 3, 4)
    event = EscapeEvent(EventKind.ESCAPE, "p", at, "v", "F", explanations, None, 1)
    return PackageOutput("p", None, 1, (event,), (), (), (), ())


def test_an_explanation_printed_twice_is_one_chain_marked_x2():
    at = Position("/m/x.go", 3, 4)
    same = Explanation(at, "v", "F", None, None, (Flow("{heap}", "v", -1, (FlowStep("v", "assign", at),)),), False, 1, 3)
    other = Explanation(at, "v", "F", None, None, (Flow("~r0", "v", -1, (FlowStep("return v", "return", at),)),), False, 9, 3)
    output = _event_with_explanations(same, other, same)
    finding = Finding(output.events[0], "F", "F", "leaking-call", "why", None, None, "f" * 20)
    (site,) = package_page(PackageFindings(output, (finding,), 0)).sites
    assert [(c.sink, c.repeats) for c in site.chains] == [("{heap}", 2), ("~r0", 1)]
    assert site.explanation_count == 2


def test_compiler_temporaries_are_found_in_recorded_explanations():
    # categories: ./unsafe.go:10:6:   flow: .autotmp_2 ← &x:
    page = _page("categories", "/categories")
    site = next(s for s in page.sites if any(t.name == ".autotmp_2" for t in s.temporaries))
    assert [t.kind for t in site.temporaries] == ["automatic"]
    assert [t.kind for t in page.temporary_kinds] == ["automatic"]
    assert "typecheck.TempAt" in page.temporary_kinds[0].explanation
    lines = [line for line in read_lines(recording_path("1.27.3", "categories")) if ".autotmp_2" in line]
    assert lines and all(t.name == ".autotmp_2" for line in lines for t in temporaries_in([line]))


def test_a_static_temporary_is_shown_short_and_linked_to_the_note():
    # conversions/statics.go: a package-level slice literal's backing array is a static temporary:
    # ./statics.go:6:23:     from (*int)(example.com/escapelint/conversions..stmp_0@0) = new(int) (assign) at ...
    (line,) = {line for line in read_lines(recording_path("1.27.3", "conversions")) if "..stmp_" in line}
    step = line.split("    from ", 1)[1].rsplit(" (assign) at ", 1)[0]
    html = mark_temporaries(step)
    assert '<a class="tmp" href="#tmp-static"' in html and ">.stmp_0@0</a>" in html
    assert "example.com/escapelint/conversions..stmp_0@0: a static temporary" in html  # the full name in the title
    assert [(t.kind, t.name) for t in temporaries_in([line])] == [("static", ".stmp_0@0")]
    assert mark_temporaries("<b>") == "&lt;b&gt;"


def test_highlighting_a_whole_file_keeps_one_html_line_per_source_line():
    text = (MODULES / "hostile" / "hostile.go").read_text(encoding="utf-8")
    lines = tuple(text.split("\n")[:-1])
    html = highlight_go_lines(lines)
    assert len(html) == len(lines)
    strip = lambda h: re.sub(r"<[^>]+>", "", str(h)).replace("&lt;", "<").replace("&gt;", ">").replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&")  # noqa: E731
    assert [strip(h) for h in html] == list(lines)
    # A raw string and a block comment spanning lines stay one token each, closed at every line end.
    spanning = ("x := `a", "b`", "/* c", "d */", "", "y := 1")
    out = highlight_go_lines(spanning)
    assert out[1] == '<span class="s">b`</span>' and out[3] == '<span class="cm">d */</span>' and out[4] == ""
    assert highlight_go_lines(("", "package p")) == ["", '<span class="kn">package</span> p']


def test_package_paths_break_after_separators_only():
    assert path_breaks("net/http<x>") == "net/<wbr>http&lt;x&gt;"


def test_the_search_index_lists_every_site_once_in_a_script():
    pages = _pages("example")
    search = SearchIndex()
    for page in pages:
        search.add(page)
    document = search.document()
    # The sites that allocate: the constant "error:" is served from static data and listed apart on its page.
    assert len(document["sites"]) == sum(p.total for p in pages) == 21
    package, category, expr, function, at, anchor = document["sites"][0]
    assert document["packages"][package] == [pages[0].title, pages[0].stem]
    assert (document["categories"][category], expr, function, at) == ("returned-pointer", "&Command{...}", "Parse", "kv/parse.go:20:9")
    assert anchor == pages[0].functions_by_sites[0].sites[0].anchor
    script = search.script()
    assert script.startswith("window.ESCAPELINT_SEARCH = ") and "<" not in script
    assert json.loads(script[len("window.ESCAPELINT_SEARCH = "):-2]) == json.loads(json.dumps(document))
    index = index_page(BuildFacts("x", None, None, FIXED_DATE), [index_row(p) for p in pages], 1, 0)
    assert search.pages_script(index) == f'window.ESCAPELINT_PAGES = ["{pages[0].stem}","{pages[1].stem}"];\n'


def test_fix_hints_are_written_once_per_category_on_a_page(tmp_path):
    render_fixture(recording_path("1.27.3", "example"), [("html", tmp_path / "html"), ("md", tmp_path / "md")])
    kv = _page("example", "/kv")
    html = (tmp_path / "html" / f"{kv.stem}.html").read_text(encoding="utf-8")
    md = (tmp_path / "md" / f"{kv.stem}.md").read_text(encoding="utf-8")
    for count in kv.counts:
        fix = count.category.fix.split("`")[0][:40]
        assert html.count(fix) == 1 and md.count(fix) == 1, count.category.id
        assert html.count(f'href="#fix-{count.category.id}"') == 2 * count.count  # the badge and "fix"
        assert md.count(f"](#fix-{count.category.id})") == count.count
    # The Markdown page lists the functions in the HTML page's order.
    listed = re.findall(r"^- \[<code>(.*?)</code>\]", md, re.MULTILINE)
    assert listed == [f.name.replace("*", "&#42;") for f in kv.functions_by_sites]
    # A site of this -m=2 build without an explanation would not be told to build with -m=2.
    assert "build with <code>-gcflags=-m=2</code>" not in html


def test_editor_url_templates_are_checked_and_paths_encoded():
    check_editor_url("vscode://file/{path}:{line}:{col}")
    check_editor_url("idea://open?file={path}&line={line}")
    for bad, words in [("vscode://file/{file}", "unknown placeholder {file}"), ("vscode://x/{line}", "no {path}"),
                       ("/{path}", "no URL scheme"), ("javascript:alert({path})", "javascript: scheme"),
                       ("JavaScript:x({path})", "scheme"), ("vscode://{path", "--editor-url")]:  # fmt: skip
        with pytest.raises(ReportOptionError, match=re.escape(words)):
            check_editor_url(bad)
    assert editor_href("vscode://file/{path}:{line}:{col}", "/a b/#x?.go", 3, None) == "vscode://file//a%20b/%23x%3F.go:3:1"
    with pytest.raises(ReportOptionError, match="--source-pages 'some'"):
        ReportOptions(source_pages="some")


def test_editor_links_are_written_only_when_asked(tmp_path):
    from escapelint.report.formats import write_reports

    build = analysed("1.27.3", "example")
    for name, options in (("plain", None), ("editor", ReportOptions(editor_url="vscode://file/{path}:{line}:{col}"))):
        write_reports(iter(build.packages), BuildFacts("x", None, None, FIXED_DATE), lambda: build.stats,
                      [("html", tmp_path / name)], sources=build.sources, options=options)  # fmt: skip
    kv = _page("example", "/kv")
    plain = (tmp_path / "plain" / f"{kv.stem}.html").read_text(encoding="utf-8")
    editor = (tmp_path / "editor" / f"{kv.stem}.html").read_text(encoding="utf-8")
    assert "vscode:" not in plain
    parse = (MODULES / "example" / "kv" / "parse.go").resolve()
    assert f'href="vscode://file/{parse}:20:9"' in editor
    assert editor.count('class="editor"') == kv.total
