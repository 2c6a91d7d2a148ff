"""New sites are reported on the line that is new (issue 11): `diff` and `check --new-from-rev` pair a
base site with the head site on the line git says it moved to, before pairing the rest by what they are.

Three identical `fmt.Println("x", v)` in one function, and a fourth inserted above, between or below
them: before, sites were paired by their ordinal within the function, so the *last* of four looked new
wherever the fourth was inserted, and `check` failed on every escape of the touched function. Built by
a real Go toolchain in a git repository under tmp_path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import toolchain_or_skip

pytestmark = pytest.mark.toolchain

GO_VERSION = "1.27.3"
CALL = '\tfmt.Println("x", v)\n'
#: The same expression, its line told apart by a comment: a line identical to its neighbours is not
#: "inserted here" for git either (Myers' diff calls the last of four identical lines the new one).
NEW_CALL = '\tfmt.Println("x", v) // the new one\n'
HEADER = 'package rep\n\nimport "fmt"\n\n// Three prints v three times: three identical sites.\nfunc Three(v int) {\n'
BASE = HEADER + CALL * 3 + "}\n"
FIRST_CALL_LINE = HEADER.count("\n") + 1  # line 7


@pytest.fixture
def go_env():
    toolchain = toolchain_or_skip(GO_VERSION)
    env = toolchain.env()
    env["PATH"] = f"{toolchain.goroot / 'bin'}{os.pathsep}{env['PATH']}"
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "escapelint tests"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "tests@escapelint.invalid"
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    return env


def escapelint(args: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "escapelint", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def repo_with(tmp_path: Path, env: dict, source: str) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "go.mod").write_text("module example.com/rep\n\ngo 1.22\n")
    (repo / "rep.go").write_text(source)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "three identical calls"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    return repo


def sites_per_call(repo: Path, env: dict, *, allocating: bool = False) -> int:
    """How many heap sites the compiler reports for one `fmt.Println("x", v)` line (the base's first);
    with `allocating`, those that allocate: `check` fails on those only ("x" is static data)."""
    report = escapelint(["audit", "-q", "-f", "json:base.json"], repo, env)
    assert report.returncode == 0, report.stderr
    document = json.loads((repo / "base.json").read_text())
    (repo / "base.json").unlink()
    events = [e for p in document["packages"] for e in p["events"] if e["kind"] in ("escape", "moved")]
    lines = [e["line"] for e in events]
    assert sorted(set(lines)) == [FIRST_CALL_LINE, FIRST_CALL_LINE + 1, FIRST_CALL_LINE + 2]
    return sum(1 for e in events if e["line"] == FIRST_CALL_LINE and (e["allocates"] or not allocating))


# Where the fourth call goes: before the first call, between the first and second, after the third.
INSERTED_AT = {"above": 0, "between": 1, "below": 3}


@pytest.mark.parametrize("where", INSERTED_AT)
def test_diff_names_the_inserted_line(tmp_path, go_env, where):
    repo = repo_with(tmp_path, go_env, BASE)
    per_call = sites_per_call(repo, go_env)
    before = INSERTED_AT[where]
    (repo / "rep.go").write_text(HEADER + CALL * before + NEW_CALL + CALL * (3 - before) + "}\n")
    inserted = FIRST_CALL_LINE + before
    result = escapelint(["diff", "--base", "HEAD", "-q", "-f", "json"], repo, go_env)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert [(a["file"], a["line"]) for a in document["added"]] == [("rep.go", inserted)] * per_call
    assert document["removed"] == [] and document["unchanged"] == 3 * per_call


@pytest.mark.parametrize("where", INSERTED_AT)
def test_check_new_from_rev_names_the_inserted_line_only(tmp_path, go_env, where):
    repo = repo_with(tmp_path, go_env, BASE)
    per_call = sites_per_call(repo, go_env, allocating=True)
    before = INSERTED_AT[where]
    (repo / "rep.go").write_text(HEADER + CALL * before + NEW_CALL + CALL * (3 - before) + "}\n")
    inserted = FIRST_CALL_LINE + before
    result = escapelint(["check", "--new-from-rev", "HEAD", "-f", "json"], repo, go_env)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert [(n["file"].removeprefix("./"), n["line"]) for n in document["new"]] == [("rep.go", inserted)] * per_call
    assert document["known"] == 3 * per_call and document["compared_with"] == "changes since HEAD"
    # The pre-commit commit hook (no --new-from-rev, no baseline) compares with HEAD the same way.
    hook = escapelint(["check", "rep.go", "-f", "json"], repo, go_env)
    assert [(n["file"].removeprefix("./"), n["line"]) for n in json.loads(hook.stdout)["new"]] == [("rep.go", inserted)] * per_call
    # --whole-function: every escape of the touched function, as before.
    whole = escapelint(["check", "--new-from-rev", "HEAD", "--whole-function", "-f", "json"], repo, go_env)
    assert whole.returncode == 1, whole.stderr
    assert len(json.loads(whole.stdout)["new"]) == 4 * per_call


def test_a_reworded_line_that_keeps_its_escapes_is_not_new(tmp_path, go_env):
    """A changed line whose sites the base has, identically, nearby (spacing, a comment) is not new."""
    repo = repo_with(tmp_path, go_env, BASE)
    (repo / "rep.go").write_text(BASE.replace(CALL, '\tfmt.Println( "x", v ) // reworded\n', 1))
    result = escapelint(["check", "--new-from-rev", "HEAD"], repo, go_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 new heap escapes compared with changes since HEAD" in result.stdout
    diff = json.loads(escapelint(["diff", "--base", "HEAD", "-q", "-f", "json"], repo, go_env).stdout)
    assert diff["added"] == [] and diff["removed"] == []


def test_moved_code_is_neither_added_nor_removed(tmp_path, go_env):
    """A function moved below another and its file renamed: paired by what the sites are."""
    source = BASE + '\n// Other prints a string.\nfunc Other(s string) { fmt.Println(s) }\n'
    repo = repo_with(tmp_path, go_env, source)
    head = 'package rep\n\nimport "fmt"\n\n// Other prints a string.\nfunc Other(s string) { fmt.Println(s) }\n\n' + BASE[
        BASE.index("// Three") :
    ]
    subprocess.run(["git", "mv", "rep.go", "moved.go"], cwd=repo, env=go_env, check=True)
    (repo / "moved.go").write_text(head)
    diff = json.loads(escapelint(["diff", "--base", "HEAD", "-q", "-f", "json"], repo, go_env).stdout)
    assert diff["added"] == [] and diff["removed"] == []
    check = escapelint(["check", "--new-from-rev", "HEAD"], repo, go_env)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_pre_commit_refs_compare_with_the_merge_base_the_same_way(tmp_path, go_env):
    """`pre-commit run --from-ref main --to-ref HEAD` (a pre-push hook): the merge base is built."""
    repo = repo_with(tmp_path, go_env, BASE)
    per_call = sites_per_call(repo, go_env, allocating=True)
    subprocess.run(["git", "checkout", "-qb", "topic"], cwd=repo, env=go_env, check=True)
    (repo / "rep.go").write_text(HEADER + NEW_CALL + CALL * 3 + "}\n")
    subprocess.run(["git", "commit", "-qam", "a fourth call, above"], cwd=repo, env=go_env, check=True)
    env = dict(go_env, PRE_COMMIT_FROM_REF="main", PRE_COMMIT_TO_REF="HEAD")
    result = escapelint(["check", "rep.go", "-f", "json"], repo, env)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["compared_with"] == "changes since main (PRE_COMMIT_FROM_REF)"
    assert [(n["file"].removeprefix("./"), n["line"]) for n in document["new"]] == [("rep.go", FIRST_CALL_LINE)] * per_call


def test_a_base_revision_that_does_not_build_does_not_block_the_fix(tmp_path, go_env):
    """A commit that repairs HEAD's build: HEAD cannot be compared with, so every escape on a changed
    line is new, and a warning says why (not exit 3 for the parent's errors)."""
    repo = repo_with(tmp_path, go_env, BASE.replace(CALL, "\tundefinedName()\n", 1))
    (repo / "rep.go").write_text(BASE)
    result = escapelint(["check", "--new-from-rev", "HEAD", "-f", "json"], repo, go_env)
    assert result.returncode == 1, result.stderr
    assert "escapelint: warning: HEAD, the revision compared with, does not build (" in result.stderr
    assert "every heap escape on a changed line counts as new" in result.stderr
    assert {n["line"] for n in json.loads(result.stdout)["new"]} == {FIRST_CALL_LINE}
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=repo, capture_output=True, text=True, check=True)
    assert len(worktrees.stdout.splitlines()) == 1, "the temporary worktree is removed"
