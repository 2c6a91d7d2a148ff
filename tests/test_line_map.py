"""The line mapping (escapelint.analyze.line_map) of real `git diff -U0 -M` output, from a git repository
under tmp_path, and the gate's use of it. No Go toolchain: the hunks are git's, not the compiler's."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from escapelint.analyze.line_map import (
    DiffFormatError,
    line_mapping,
    parse_diff,
    unquote_path,
)
from escapelint.workflows.git import GitError, changed_lines, line_mapping_since

LINES = "".join(f"line {n}\n" for n in range(1, 11))


def _git(repo: Path, *args: str) -> str:
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="t", GIT_COMMITTER_NAME="t",
               GIT_AUTHOR_EMAIL="t@escapelint.invalid", GIT_COMMITTER_EMAIL="t@escapelint.invalid")  # fmt: skip
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def repo(tmp_path) -> Path:
    repo = tmp_path / "repo"
    (repo / "mod").mkdir(parents=True)
    (repo / "mod" / "a.go").write_text(LINES)
    (repo / "mod" / "gone.go").write_text("".join(f"gone {n}\n" for n in range(1, 11)))
    (repo / "mod" / "old name.go").write_text(LINES)
    (repo / "top.go").write_text(LINES)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    return repo


def edit(path: Path, replacements: dict[int, list[str]]) -> None:
    """Replace line N (1-based) by the given lines; key 0 inserts before line 1."""
    lines = path.read_text().splitlines()
    out = list(replacements.get(0, []))
    for number, text in enumerate(lines, 1):
        out.extend(replacements.get(number, [text]))
    path.write_text("".join(f"{line}\n" for line in out))


def test_inserted_above_between_and_below_shift_the_lines_after_them(repo):
    a = repo / "mod" / "a.go"
    edit(a, {0: ["new top"], 3: ["line 3", "inserted after 3"], 10: ["line 10", "new bottom"]})
    mapping = line_mapping_since(repo / "mod", "HEAD")
    assert [mapping.head_line("a.go", n) for n in (1, 3, 4, 10)] == [("a.go", 2), ("a.go", 4), ("a.go", 6), ("a.go", 12)]
    assert mapping.head_line("./a.go", 4) == ("./a.go", 6), "the form the compiler prints is kept"
    assert [n for n in range(1, 14) if mapping.is_changed("a.go", n)] == [1, 5, 13]


def test_modified_and_deleted_lines_map_to_nothing_but_their_hunk(repo):
    a = repo / "mod" / "a.go"
    edit(a, {4: ["line four"], 6: [], 7: []})
    mapping = line_mapping_since(repo / "mod", "HEAD")
    assert mapping.head_line("a.go", 4) is None and mapping.head_line("a.go", 6) is None
    assert mapping.head_line("a.go", 8) == ("a.go", 6)
    assert mapping.nearest_head_line("a.go", 4) == ("a.go", 4)
    assert mapping.is_changed("a.go", 4) and not mapping.is_changed("a.go", 5)


def test_renamed_deleted_untracked_and_outside_the_module(repo):
    _git(repo, "mv", "mod/old name.go", "mod/new name.go")
    edit(repo / "mod" / "new name.go", {0: ["header"]})
    (repo / "mod" / "gone.go").unlink()
    (repo / "mod" / "fresh.go").write_text("package x\n")
    edit(repo / "top.go", {0: ["outside the module"]})
    mapping = line_mapping_since(repo / "mod", "HEAD")
    assert mapping.head_line("old name.go", 1) == ("new name.go", 2)
    assert mapping.head_line("gone.go", 1) is None
    assert mapping.is_changed("fresh.go", 1) and mapping.is_changed("fresh.go", 500)
    assert mapping.head_line("a.go", 5) == ("a.go", 5), "a file the diff does not name is unchanged"
    assert "top.go" not in mapping.added and "../top.go" not in mapping.added


def test_the_users_diff_configuration_does_not_change_the_names(repo):
    """diff.noprefix, diff.mnemonicPrefix and diff.relative would change what git prints."""
    _git(repo, "config", "diff.noprefix", "true")
    _git(repo, "config", "diff.mnemonicPrefix", "true")
    _git(repo, "config", "diff.relative", "true")
    edit(repo / "mod" / "a.go", {0: ["new top"]})
    assert line_mapping_since(repo / "mod", "HEAD").head_line("a.go", 1) == ("a.go", 2)
    assert changed_lines(repo / "mod", "HEAD") == {(repo / "mod" / "a.go").resolve(): {1}}


def test_a_quoted_name_is_unquoted(repo):
    name = "t\u00e9st\t.go"
    (repo / "mod" / name).write_text(LINES)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "quoted")
    edit(repo / "mod" / name, {0: ["x"]})
    assert line_mapping_since(repo / "mod", "HEAD").head_line(name, 1) == (name, 2)
    assert unquote_path('"a/t\\303\\251st\\t.go"') == "a/t\u00e9st\t.go"


def test_a_removed_line_that_reads_like_a_file_header(repo):
    """A hunk's lines are counted off by its header: "-- x" removed is a line, not "--- a/FILE"."""
    (repo / "mod" / "a.go").write_text("-- x\n++ y\n" + LINES)
    _git(repo, "commit", "-qam", "odd lines")
    (repo / "mod" / "a.go").write_text(LINES)
    mapping = line_mapping_since(repo / "mod", "HEAD")
    assert mapping.head_line("a.go", 3) == ("a.go", 1) and mapping.head_line("a.go", 1) is None


def test_malformed_diff_text_is_an_error_not_a_lost_hunk():
    # Deliberately malformed input, typed by hand: no git prints these.
    with pytest.raises(DiffFormatError, match="not a hunk header"):
        parse_diff("diff --git a/x.go b/x.go\n--- a/x.go\n+++ b/x.go\n@@ -1 +1 @ broken\n")
    with pytest.raises(DiffFormatError, match=r"ends 2 line\(s\) early"):
        parse_diff("diff --git a/x.go b/x.go\n--- a/x.go\n+++ b/x.go\n@@ -1,2 +1 @@\n-a\n")
    assert line_mapping(parse_diff("")).head_line("x.go", 3) == ("x.go", 3)


def test_an_unknown_revision_is_a_git_error(repo):
    with pytest.raises(GitError, match="does not name a commit"):
        line_mapping_since(repo / "mod", "no-such-branch")
