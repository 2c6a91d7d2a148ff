"""The pre-commit gate (escapelint.workflows.gate) on recorded builds: no Go toolchain, no git.

The BuildResult is the recorded `go build -gcflags=-m=2` of fixtures/modules/example by Go 1.27.3, analysed
with that module's sources (conftest.analysed); a copy of the module stands in where a test edits its files.
Edits only append to existing lines, so the recorded positions stay true.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from escapelint.analyze.line_map import FileChange, Hunk, LineMapping, line_mapping
from escapelint.rules import RULES
from escapelint.workflows.baseline import Baseline
from escapelint.workflows.config import Config
from escapelint.workflows.gate import gate, load_baseline_for, packages_for_files

from .conftest import MODULES, analysed

ROOT = MODULES / "example"


def build():
    return analysed("1.27.3", "example").build_result()


def heap():
    """The heap findings the gate fails on by default: those that allocate (not `"error:"`, a constant)."""
    return [f for f in build().heap_findings() if f.allocates]


def sites(findings) -> list[tuple[str, int, str | None, str]]:
    return [(f.event.position.file, f.event.position.line, f.category, f.event.expr) for f in findings]


def baseline_of(findings, path=Path(".escapelint-baseline.json")) -> Baseline:
    return Baseline(frozenset(f.fingerprint for f in findings), "go1.27.3", path)


def module_copy(tmp_path: Path) -> Path:
    root = tmp_path / "example"
    shutil.copytree(ROOT, root)
    return root


def append_to_line(path: Path, line: int, text: str) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[line - 1] += text
    path.write_text("\n".join(lines), encoding="utf-8")


def replace_line(path: Path, line: int, text: str) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[line - 1] = text
    path.write_text("\n".join(lines), encoding="utf-8")


# --- against a baseline ----------------------------------------------------------------------------


def test_the_recorded_build_has_heap_escapes_to_gate():
    assert len(heap()) == 21  # and one escape served from static data (below)
    assert {f.category for f in heap()} >= {"returned-pointer", "interface-boxing", "slice-growth", "leaking-call"}


def test_a_baseline_of_everything_lets_everything_pass():
    outcome = gate(build(), ROOT, Config(), baseline=baseline_of(heap()), changed=None, since=None)
    assert outcome.new == [] and outcome.suppressed == [] and outcome.problems == []
    assert outcome.known == len(heap())
    assert outcome.compared_with == "baseline .escapelint-baseline.json"


def test_only_escapes_outside_the_baseline_are_new():
    findings = heap()
    missing = [f for f in findings if f.declared_in == "(*Store).Set"]
    outcome = gate(
        build(), ROOT, Config(), baseline=baseline_of([f for f in findings if f not in missing]), changed=None, since=None
    )
    assert sites(outcome.new) == sites(missing) and len(missing) == 3
    assert outcome.known == len(findings) - 3


def test_an_empty_baseline_makes_every_gated_escape_new():
    outcome = gate(build(), ROOT, Config(), baseline=baseline_of([]), changed=None, since=None)
    assert sites(outcome.new) == sites(heap()) and outcome.known == 0


def test_a_baseline_from_another_build_still_matches_by_fingerprint():
    """The same module recorded by Go 1.26.6: the sites both versions report are known."""
    older = list(analysed("1.26.6", "example").build_result().heap_findings())
    outcome = gate(build(), ROOT, Config(), baseline=baseline_of(older), changed=None, since=None)
    shared = {f.fingerprint for f in older} & {f.fingerprint for f in heap()}
    assert len(shared) > len(heap()) // 2
    assert outcome.known == len(shared)
    assert {f.fingerprint for f in outcome.new} == {f.fingerprint for f in heap()} - shared


# --- configuration: fail-on and exclude ------------------------------------------------------------


def test_fail_on_leaves_other_categories_out_entirely():
    config = Config(fail_on=frozenset({"returned-pointer"}))
    outcome = gate(build(), ROOT, config, baseline=baseline_of([]), changed=None, since=None)
    assert sites(outcome.new) == sites(f for f in heap() if f.category == "returned-pointer")
    assert outcome.known == 0  # not counted as known either


def test_unclassified_is_not_gated_by_default():
    assert "unclassified" not in Config().fail_on


def test_exclude_leaves_those_files_out():
    config = Config(exclude=("cmd/**",))
    outcome = gate(build(), ROOT, config, baseline=baseline_of([]), changed=None, since=None)
    assert sites(outcome.new) == sites(f for f in heap() if not f.event.position.file.startswith("cmd/"))
    assert all(f.event.position.file.startswith("kv/") for f in outcome.new)


def test_an_empty_fail_on_gates_nothing():
    outcome = gate(build(), ROOT, Config(fail_on=frozenset()), baseline=baseline_of([]), changed=None, since=None)
    assert (outcome.new, outcome.known, outcome.suppressed) == ([], 0, [])


# --- against changed lines -------------------------------------------------------------------------


def test_no_changes_no_new_escapes():
    outcome = gate(build(), ROOT, Config(), baseline=None, changed={}, since="HEAD")
    assert outcome.new == [] and outcome.known == len(heap())
    assert outcome.compared_with == "changes since HEAD (whole functions)"


def test_a_changed_line_makes_its_whole_function_new():
    """kv/store.go:24 (`s.mu.Lock()` in (*Store).Set) has no escape, but its function has three."""
    changed = {(ROOT / "kv" / "store.go").resolve(): {24}}
    outcome = gate(build(), ROOT, Config(), baseline=None, changed=changed, since="main")
    assert sites(outcome.new) == sites(f for f in heap() if f.declared_in == "(*Store).Set")
    assert outcome.known == len(heap()) - 3
    assert outcome.compared_with == "changes since main (whole functions)"


def test_changed_lines_in_several_files_and_functions():
    changed = {
        (ROOT / "kv" / "parse.go").resolve(): {20},  # in Parse
        (ROOT / "cmd" / "kvdemo" / "main.go").resolve(): {1},  # the package clause: no function
        (ROOT / "kv" / "store.go").resolve(): {19, 20},  # between functions: a blank line and a comment
    }
    outcome = gate(build(), ROOT, Config(), baseline=None, changed=changed, since="HEAD")
    assert sites(outcome.new) == sites(f for f in heap() if f.declared_in == "Parse")


def test_a_changed_function_in_another_file_does_not_count():
    """(file, function) pairs: a change to Parse in parse.go makes only parse.go's Parse sites new."""
    changed = {(ROOT / "kv" / "parse.go").resolve(): {16}}
    outcome = gate(build(), ROOT, Config(), baseline=None, changed=changed, since="HEAD")
    assert {f.event.position.file for f in outcome.new} == {"kv/parse.go"}


def changed_line_mapping(changes: dict[str, list[Hunk]]) -> LineMapping:
    """The line mapping git would give for these hunks of fixtures/modules/example's files."""
    return line_mapping(FileChange(name, name, tuple(hunks)) for name, hunks in changes.items())


def test_against_a_revision_only_added_sites_on_changed_lines_are_new():
    """Issue 11: a 1-line change in (*Store).Set made its three escapes new; now only line 27's two,
    and only those the base revision's build does not have (`added`)."""
    lines = changed_line_mapping({"kv/store.go": [Hunk(27, 1, 27, 1)]})
    everything = heap()
    outcome = gate(build(), ROOT, Config(), baseline=None, changed={}, since="HEAD", lines=lines, added=everything)
    assert sites(outcome.new) == [
        ("kv/store.go", 27, "indirect-store", '"set " + key'),
        ("kv/store.go", 27, "slice-growth", "append"),
    ]
    assert outcome.known == len(everything) - 2 and outcome.compared_with == "changes since HEAD"
    reworded = gate(build(), ROOT, Config(), baseline=None, changed={}, since="HEAD", lines=lines, added=[])
    assert reworded.new == [], "a changed line whose sites the base has is not new"


def test_against_a_revision_an_added_site_on_an_unchanged_line_is_not_the_gates():
    """A site the base lacks on a line the change left alone (a callee's change altered inlining) is
    for `diff` to show; the gate fails only on the lines a commit touched."""
    lines = changed_line_mapping({"kv/parse.go": [Hunk(0, 0, 1, 1)]})
    outcome = gate(build(), ROOT, Config(), baseline=None, changed={}, since="HEAD", lines=lines, added=heap())
    assert outcome.new == []


def test_a_baseline_wins_over_changed_lines():
    changed = {(ROOT / "kv" / "store.go").resolve(): {24}}
    outcome = gate(build(), ROOT, Config(), baseline=baseline_of(heap()), changed=changed, since="HEAD")
    assert outcome.new == [] and outcome.compared_with.startswith("baseline ")


# --- suppressions ------------------------------------------------------------------------------------


def test_a_suppression_on_the_site_line_silences_its_category_only(tmp_path):
    root = module_copy(tmp_path)
    append_to_line(root / "kv" / "store.go", 27, " //escapelint:ignore slice-growth the log is bounded")
    outcome = gate(build(), root, Config(), baseline=baseline_of([]), changed=None, since=None)
    assert [(sites([f]), reason) for f, reason in outcome.suppressed] == [
        (sites([f]), "the log is bounded") for f in heap() if (f.event.position.line, f.category) == (27, "slice-growth")
    ]
    assert ("kv/store.go", 27, "indirect-store", '"set " + key') in sites(outcome.new)  # same line, other category
    assert len(outcome.new) == len(heap()) - 1


def test_a_suppression_alone_on_the_line_above(tmp_path):
    root = module_copy(tmp_path)
    # kv/store.go:15 is blank, above `func New() *Store {`: the line it covers holds no site.
    append_to_line(root / "kv" / "store.go", 15, "//escapelint:ignore all constructors allocate")
    outcome = gate(build(), root, Config(), baseline=baseline_of([]), changed=None, since=None)
    assert outcome.suppressed == [] and len(outcome.new) == len(heap())
    # kv/parse.go:19 is the `}` above `cmd := &Command{...}`; the gate reads text, so a comment may take its place.
    replace_line(root / "kv" / "parse.go", 19, "\t//escapelint:ignore returned-pointer the caller keeps it")
    outcome = gate(build(), root, Config(), baseline=baseline_of([]), changed=None, since=None)
    suppressed = [(f.event.position.line, f.category, f.event.expr, reason) for f, reason in outcome.suppressed]
    assert suppressed == [(20, "returned-pointer", "&Command{...}", "the caller keeps it")]
    assert len(outcome.new) == len(heap()) - 1


def test_a_malformed_suppression_is_a_problem_and_silences_nothing(tmp_path):
    root = module_copy(tmp_path)
    append_to_line(root / "kv" / "store.go", 17, " //escapelint:ignore returned-pointer")
    append_to_line(root / "kv" / "parse.go", 20, " //escapelint:ignore returned-pointers typo")
    outcome = gate(build(), root, Config(), baseline=baseline_of([]), changed=None, since=None)
    assert outcome.suppressed == [] and len(outcome.new) == len(heap())
    assert sorted(outcome.problems) == [
        f"kv/parse.go:20: //escapelint:ignore needs a category ({', '.join(RULES)} or all)",
        "kv/store.go:17: //escapelint:ignore returned-pointer needs a reason",
    ]


def test_suppressions_in_excluded_or_ungated_files_are_not_read(tmp_path):
    root = module_copy(tmp_path)
    append_to_line(root / "cmd" / "kvdemo" / "main.go", 13, " //escapelint:ignore")
    outcome = gate(build(), root, Config(exclude=("cmd/**",)), baseline=baseline_of([]), changed=None, since=None)
    assert outcome.problems == []


# --- load_baseline_for and packages_for_files ------------------------------------------------------


def test_load_baseline_for_a_module_without_one(tmp_path):
    assert load_baseline_for(tmp_path, Config()) is None


def test_load_baseline_for_reads_the_configured_path(tmp_path):
    (tmp_path / "ci").mkdir()
    path = tmp_path / "ci" / "b.json"
    path.write_text('{"schema": "escapelint.workflows.baseline/1", "findings": [{"fingerprint": "x"}]}', encoding="utf-8")
    assert load_baseline_for(tmp_path, Config(baseline="ci/b.json")) == Baseline(frozenset({"x"}), None, path)


def test_packages_for_files(tmp_path, monkeypatch):
    root = module_copy(tmp_path)
    monkeypatch.chdir(root)
    files = ["kv/store.go", "kv/parse.go", "cmd/kvdemo/main.go", "go.mod", "README.md", "root.go"]
    assert packages_for_files(files, root) == [".", "./cmd/kvdemo", "./kv"]


def test_packages_for_files_relative_to_the_working_directory(tmp_path, monkeypatch):
    root = module_copy(tmp_path)
    monkeypatch.chdir(root / "kv")
    assert packages_for_files(["store.go", "../cmd/kvdemo/main.go"], root) == ["./cmd/kvdemo", "./kv"]
    assert packages_for_files([str(root / "kv" / "parse.go")], root) == ["./kv"]  # absolute as it is


def test_packages_for_files_outside_the_module_are_left_out(tmp_path, monkeypatch):
    root = module_copy(tmp_path)
    (tmp_path / "other.go").write_text("package other\n", encoding="utf-8")
    monkeypatch.chdir(root)
    assert packages_for_files(["../other.go", "/elsewhere/x.go"], root) == []
    assert packages_for_files([], root) == []


@pytest.mark.parametrize("names", [["kv/store.go", "kv/store.go", "./kv/parse.go"], ["kv/../kv/store.go"]])
def test_packages_for_files_are_unique(tmp_path, monkeypatch, names):
    root = module_copy(tmp_path)
    monkeypatch.chdir(root)
    assert packages_for_files(names, root) == ["./kv"]


def test_escapes_served_from_static_data_never_fail_by_default():
    """cmd/kvdemo's `fmt.Fprintln(os.Stderr, "error:", err)`: the constant is static data, no allocation."""
    static = [f for f in build().heap_findings() if not f.allocates]
    assert [f.event.expr for f in static] == ['"error:"']
    outcome = gate(build(), ROOT, Config(), baseline=baseline_of([]), changed=None, since=None)
    assert outcome.static == 1 and static[0] not in outcome.new
    opted_in = gate(build(), ROOT, Config(fail_on_static=True), baseline=baseline_of([]), changed=None, since=None)
    assert opted_in.static == 0 and static[0] in opted_in.new
    # Its fingerprint is what it was: a baseline holding it still matches it.
    known = gate(build(), ROOT, Config(fail_on_static=True), baseline=baseline_of(static), changed=None, since=None)
    assert static[0] not in known.new
