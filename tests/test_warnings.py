"""What the user is told when results would be silently wrong (issues 11 and 15): warnings on stderr and in
the JSON document, --strict, control characters on the terminal, source excerpts only from the module,
and what `check` compares with (a missing configured baseline, pre-commit's --from-ref/--to-ref)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from escapelint.analyze.source import SourceLocator
from escapelint.events import BuildStats, LineRole, Position, UnrecognizedLine
from escapelint.read.assembler import read_build_output
from escapelint.report.warnings import SourceFileCheck, input_warnings
from escapelint.terminal import (
    audit_summary,
    escape_controls,
    print_check,
    print_warnings,
)
from escapelint.workflows.config import Config, load_config
from escapelint.workflows.gate import (
    CheckOutcome,
    comparison_for,
    warn_if_nothing_changed,
)

from .conftest import FIXTURES, RECORDED, analysed_file

EXAMPLE = RECORDED / "go1.27.3" / "example.m2.txt"
EXAMPLE_MODULE = FIXTURES / "modules" / "example"


def run(*args, cwd=None, env=None):
    return subprocess.run(
        [sys.executable, "-m", "escapelint", *args], capture_output=True, text=True, cwd=cwd, env=env, check=False
    )


# --- the input: not compiler output, no escape diagnostic, Go files not found ---------------------


def test_an_empty_input_warns_and_exits_0_or_2_under_strict(tmp_path):
    empty = tmp_path / "build.txt"
    empty.write_text("")
    result = run("report", str(empty), "-o", str(tmp_path / "r.json"))
    assert result.returncode == 0, result.stderr
    assert "escapelint: warning: no escape-analysis diagnostic" in result.stderr
    assert "-m=2" in result.stderr and "2>&1" in result.stderr
    document = json.loads((tmp_path / "r.json").read_text())
    assert [w["code"] for w in document["warnings"]] == ["no-escape-diagnostics"]
    strict = run("report", str(empty), "-o", str(tmp_path / "r.json"), "--strict")
    assert strict.returncode == 2
    assert "under --strict" in strict.stderr


def test_a_readme_is_mostly_unrecognized(tmp_path):
    readme = tmp_path / "README.txt"
    readme.write_text("".join(f"Some prose, line {n}.\n" for n in range(169)) + "\n\n")
    result = run("report", str(readme), "-o", str(tmp_path / "r.json"))
    assert result.returncode == 0
    assert "warning: 169 of 169 non-blank lines" in result.stderr
    codes = [w["code"] for w in json.loads((tmp_path / "r.json").read_text())["warnings"]]
    assert codes == ["mostly-unrecognized", "no-escape-diagnostics"]


def test_warnings_are_shown_under_quiet_too(tmp_path):
    empty = tmp_path / "build.txt"
    empty.write_text("")
    result = run("report", str(empty), "-q", "-o", str(tmp_path / "r.json"))
    assert "lines," not in result.stderr and "warning:" in result.stderr


def test_run_away_from_the_module_root_names_the_missing_files_and_suggests_source_root(tmp_path):
    result = run("report", str(EXAMPLE), "-o", str(tmp_path / "r.json"), cwd=tmp_path)
    assert result.returncode == 0
    assert f"3 of 3 Go files the output names were not found under {tmp_path}" in result.stderr
    assert "--source-root" in result.stderr
    assert run("report", str(EXAMPLE), "-o", str(tmp_path / "r.json"), "--strict", cwd=tmp_path).returncode == 2
    ok = run("report", str(EXAMPLE), "-o", str(tmp_path / "r.json"), "--source-root", str(EXAMPLE_MODULE),
             "--strict", cwd=tmp_path)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "warning" not in ok.stderr
    assert "warnings" not in json.loads((tmp_path / "r.json").read_text())  # as today when all is well


@pytest.mark.parametrize("jobs", [1, 2])
def test_without_the_source_the_warning_counts_the_verdicts_that_need_it(tmp_path, jobs, monkeypatch):
    """fixtures/modules/leaks read away from its module: which verdicts the missing files decide, by
    category, the same from worker processes as from one."""
    from escapelint.workflows import parallel
    from escapelint.workflows.report import report

    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(parallel, "MIN_WINDOW_BYTES", 1)
    leaks = RECORDED / "go1.27.3" / "leaks.m2.txt"
    out = tmp_path / "r.json"
    result = report(str(leaks), [("json", out)], source_root=tmp_path, jobs=jobs)
    (warning,) = result.warnings
    assert warning.code == "sources-not-found"
    assert warning.message.startswith(
        "4 of 4 Go files the output names were not found under "
        f"{tmp_path} (first: ./follow.go): 21 verdicts depend on facts only those files state (package-level "
        "variables, named results, fields and methods, callees' parameters): 11 leaking-call, 9 unclassified, "
        "1 returned-pointer;"
    )
    document = json.loads(out.read_text())
    unclassified = [e for p in document["packages"] for e in p["events"] if e["category"] == "unclassified"]
    assert len(unclassified) == 9  # the categories do change: the warning says so, and by how much


def test_no_warning_for_a_recorded_build_with_its_sources():
    build = analysed_file(EXAMPLE)
    check = SourceFileCheck(build.sources)
    for package in build.packages:
        check.add(package)
    assert input_warnings(build.stats, "example.m2.txt", check) == []


@pytest.mark.parametrize("generated", ["_cgo_gotypes.go", "./x.cgo1.go", "_testmain.go"])
def test_files_the_go_command_generates_and_removes_are_not_missing(generated):
    """The std library's output names `_cgo_gotypes.go` (cgo's, in go's work directory, printed by bare
    name), which made every std run warn "1 of 1133 Go files ... not found"."""
    build = analysed_file(EXAMPLE)
    check = SourceFileCheck(build.sources)
    for package in build.packages:
        check.add(package)
    check.add_names({generated})
    assert generated not in check.named
    assert input_warnings(build.stats, "example.m2.txt", check) == []


def test_most_lines_means_more_than_half_of_the_non_blank_ones():
    stats = BuildStats(lines=10, packages=1)
    stats.roles.update({LineRole.BLANK: 4, LineRole.UNRECOGNIZED: 3, LineRole.EVENT: 3})
    stats.events.update({"escape": 3})
    assert input_warnings(stats, "x") == []
    stats.roles.update({LineRole.UNRECOGNIZED: 1, LineRole.BLANK: -1})
    assert [w.code for w in input_warnings(stats, "x")] == ["mostly-unrecognized"]


def test_a_failed_build_says_so_rather_than_blame_gcflags():
    stats = BuildStats(lines=2)
    stats.roles.update({LineRole.HEADER: 1, LineRole.ERROR: 1})
    (warning,) = input_warnings(stats, "x")
    assert "the build failed" in warning.message


def test_lines_of_control_characters_only_are_unrecognized_not_blank():
    outputs, stats = read_build_output(["# p\n", "\x1c\x1d\x1e\x1f\n", "\x0b\x0c\n", "  \t\n", "\n"])
    assert stats.roles[LineRole.BLANK] == 2
    assert stats.roles[LineRole.UNRECOGNIZED] == 2
    assert [u.text for o in outputs for u in o.unrecognized] == ["\x1c\x1d\x1e\x1f", "\x0b\x0c"]
    assert stats.balanced()


# --- control characters on the terminal ------------------------------------------------------------


def test_control_characters_are_escaped_as_go_vet_and_git_show_them():
    assert escape_controls("a\x1b]0;pwned\x07b\tc\r\n\x7f\x9b\u202e") == "a\\x1b]0;pwned\\ab\\tc\\r\\n\\x7f\\x9b\\u202e"
    assert escape_controls("./kv/store.go:12:2 é ü 世界") == "./kv/store.go:12:2 é ü 世界"


def _hostile_finding():
    build = analysed_file(EXAMPLE)
    finding = next(f for p in build.packages for f in p.findings if f.category is not None)
    event = replace(finding.event, position=Position("evil\x1b[2J\x1b]0;x\x07.go", 4, 1), expr="x\x1b[31m")
    return build, replace(finding, event=event)


def test_check_output_escapes_file_names_from_line_directives():
    _, finding = _hostile_finding()
    out = io.StringIO()
    print_check(CheckOutcome([finding], [], 0, ["evil\x1b[2J.go:1: bad\tsuppression"], "changes since HEAD"), out)
    text = out.getvalue()
    assert "\x1b" not in text and "\x07" not in text and "\t" not in text
    assert "evil\\x1b[2J\\x1b]0;x\\a.go:4:1" in text
    assert "bad\\tsuppression" in text


def test_audit_summary_escapes_unrecognized_lines_and_function_names():
    from escapelint.workflows.gobuild import BuildCommand

    build, finding = _hostile_finding()
    result = replace(build.build_result(), command=BuildCommand(("go", "build", "./\x1b[2J..."), Path(".")))
    package = result.packages[0]
    output = replace(package.output, unrecognized=(UnrecognizedLine(3, "\x1b[2Jclear\x1b]0;title\x07"),))
    finding = replace(finding, function="F\x1b[31m", declared_in="F\x1b[31m")
    result.packages[0] = replace(package, output=output, findings=(*[finding] * 20, *package.findings))
    out = io.StringIO()
    audit_summary(result, ["html: out\x1b.html"], out)
    text = out.getvalue()
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b[2Jclear\\x1b]0;title\\a" in text and "F\\x1b[31m" in text and "out\\x1b.html" in text
    assert "go build ./\\x1b[2J..." in text


def test_warnings_escape_the_names_they_quote():
    out = io.StringIO()
    stats = BuildStats()
    print_warnings(input_warnings(stats, "in\x1bput.txt"), out)
    assert "in\\x1bput.txt" in out.getvalue() and "\x1b" not in out.getvalue()


def test_report_summary_escapes_what_it_prints(tmp_path):
    hostile = tmp_path / "x\x1b[2J.txt"
    hostile.write_text("")
    result = run("report", str(hostile), "-o", str(tmp_path / "r.json"))
    assert "\x1b" not in result.stderr and "x\\x1b[2J.txt" in result.stderr


# --- source excerpts only from the module or GOROOT ------------------------------------------------


def test_a_line_directive_to_a_file_outside_the_module_shows_no_excerpt(tmp_path):
    module, outside = tmp_path / "module", tmp_path / "outside"
    module.mkdir()
    outside.mkdir()
    secret = outside / "secret.go"
    secret.write_text("package secret\n\n// line 3\nvar password = \"hunter2-SECRET\"\n")
    inside = module / "ok.go"
    inside.write_text("package ok\n\nfunc f() *int {\n\tx := 0x5EC1A1\n\treturn &x\n}\n")
    build = tmp_path / "build.txt"
    build.write_text(
        "# example.com/m\n"
        f"{secret}:4:5: moved to heap: password\n"
        "./ok.go:4:2: moved to heap: x\n"
    )
    result = run("report", str(build), "--format", "md", "--format", "html", "-o", str(tmp_path / "r"),
                 "--source-root", str(module))  # fmt: skip
    assert result.returncode == 0, result.stderr
    pages = "".join(p.read_text() for p in (tmp_path / "r").rglob("*") if p.suffix in (".md", ".html"))
    assert "hunter2" not in pages
    assert "0x5EC1A1" in pages  # inside the source root: shown as before


def test_goroot_sources_are_still_quoted(tmp_path):
    from escapelint.report.page import _SourceCache

    goroot = tmp_path / "go"
    (goroot / "src" / "runtime").mkdir(parents=True)
    (goroot / "VERSION").write_text("go1.27.3\n")
    (goroot / "src" / "sync").mkdir()
    (goroot / "src" / "sync" / "x.go").write_text("package sync\nvar once = 1\n")
    (goroot / "y.go").write_text("package y\nvar secret = 1\n")  # a GOROOT, but not its src/
    cache = _SourceCache(SourceLocator(tmp_path / "module"))
    assert cache.line(str(goroot / "src" / "sync" / "x.go"), 2) == "var once = 1"
    assert cache.line(str(goroot / "y.go"), 2) is None


# --- check: what it compares with ------------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t.invalid", "PATH": "/usr/bin:/bin", "HOME": str(repo)}  # fmt: skip
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def test_a_configured_baseline_that_does_not_exist_is_a_warning(tmp_path):
    (tmp_path / ".escapelint.toml").write_text('baseline = "ci/baseline.json"\n')
    comparison = comparison_for(tmp_path, load_config(tmp_path), environ={})
    assert comparison.baseline is None and comparison.revision == "HEAD"
    (warning,) = comparison.warnings
    assert warning.code == "baseline-missing"
    assert str(tmp_path / "ci" / "baseline.json") in warning.message and "changes since HEAD" in warning.message
    assert comparison_for(tmp_path, Config(), environ={}).warnings == []  # the default, not configured


def test_pre_commit_refs_compare_with_their_merge_base(tmp_path):
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "a.go").write_text("package a\n")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "base")
    base = _git(tmp_path, "rev-parse", "HEAD").strip()
    (tmp_path / "a.go").write_text("package a\n\nvar x = 1\n")
    _git(tmp_path, "commit", "-qam", "change")
    env = {"PRE_COMMIT_FROM_REF": "main~1", "PRE_COMMIT_TO_REF": "main"}
    comparison = comparison_for(tmp_path, Config(), environ=env)
    assert comparison.revision == base
    assert comparison.since == "main~1 (PRE_COMMIT_FROM_REF)"
    assert comparison_for(tmp_path, Config(), new_from_rev="main", environ=env).revision == "main"


def test_comparing_with_head_when_nothing_changed_is_a_warning():
    comparison = comparison_for(Path("/nonexistent-escapelint-test"), Config(), environ={})
    (warning,) = warn_if_nothing_changed(comparison, {}).warnings
    assert warning.code == "nothing-changed" and "--new-from-rev origin/main" in warning.message
    assert warn_if_nothing_changed(comparison, {Path("/x.go"): {1}}).warnings == []


LEAK = "\n// Leak returns the address of a local.\nfunc Leak() *int {\n\tx := 42\n\treturn &x\n}\n"


@pytest.mark.toolchain
def test_check_under_pre_commit_from_and_to_ref_sees_an_escape_committed_earlier(tmp_path):
    from .conftest import toolchain_or_skip
    from .test_workflows import commit, escapelint, module_repo

    toolchain = toolchain_or_skip("1.27.3")
    env = toolchain.env()
    env["PATH"] = f"{toolchain.goroot / 'bin'}:{env['PATH']}"
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "escapelint tests"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "tests@escapelint.invalid"
    repo = module_repo(tmp_path, env)
    store = repo / "kv" / "store.go"
    store.write_text(store.read_text() + LEAK)
    commit(repo, env, "add a leak")
    # As `pre-commit run --all-files` in CI does: a clean checkout, compared with HEAD, passes...
    head = escapelint(["check"], repo, env)
    assert head.returncode == 0, head.stdout + head.stderr
    assert "nothing has changed since HEAD" in head.stderr
    assert escapelint(["check", "--strict"], repo, env).returncode == 2
    # ... while `pre-commit run --from-ref main~1 --to-ref main` sets these, and the leak is new.
    refs = dict(env, PRE_COMMIT_FROM_REF="main~1", PRE_COMMIT_TO_REF="main")
    ranged = escapelint(["check"], repo, refs)
    assert ranged.returncode == 1, ranged.stdout + ranged.stderr
    assert "x escapes to the heap in Leak" in ranged.stdout
    assert "compared with changes since main~1 (PRE_COMMIT_FROM_REF)" in ranged.stdout
    # A configured baseline that is missing: said on stderr, exit 2 under --strict.
    (repo / ".escapelint.toml").write_text('baseline = "ci/escapes.json"\n')
    missing = escapelint(["check", "--strict"], repo, refs)
    assert "does not exist" in missing.stderr
    assert missing.returncode == 1  # the gate's own failure comes first
    commit(repo, env, "config")
    clean = escapelint(["check", "--strict", "--new-from-rev", "HEAD~1"], repo, env)
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_the_html_and_markdown_index_show_warnings_only_when_there_are_some(tmp_path):
    away = run("report", str(EXAMPLE), "-f", "html", "-f", "md", "-o", str(tmp_path / "away"), cwd=tmp_path)
    assert away.returncode == 0, away.stderr
    html = (tmp_path / "away" / "html" / "index.html").read_text()
    md = (tmp_path / "away" / "md" / "README.md").read_text()
    assert "<b>Warning:</b> 3 of 3 Go files the output names were not found" in html
    assert "> **Warning:** 3 of 3 Go files the output names were not found" in md
    home = run("report", str(EXAMPLE), "-f", "html", "-f", "md", "-o", str(tmp_path / "home"),
               "--source-root", str(EXAMPLE_MODULE), cwd=tmp_path)  # fmt: skip
    assert home.returncode == 0, home.stderr
    assert "Warning" not in (tmp_path / "home" / "html" / "index.html").read_text()
    assert "Warning" not in (tmp_path / "home" / "md" / "README.md").read_text()


def test_a_build_escapelint_ran_is_not_asked_about_its_gcflags():
    stats = BuildStats(lines=4)
    stats.roles.update({LineRole.UNRECOGNIZED: 3, LineRole.HEADER: 1})
    (warning,) = input_warnings(stats, "the output of go build", from_build=True)
    assert warning.code == "mostly-unrecognized" and "-gcflags" not in warning.message
