"""A revision from the command line reaches git as a revision, never as an option (issue 15).

`check --new-from-rev=--output=FILE` used to run `git diff ... --output=FILE -- .`, which truncated
FILE. Revisions are now looked up with `git rev-parse --verify --end-of-options REV^{commit}` and only
the commit name that comes back is passed on. Every path here is under tmp_path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from escapelint.workflows.git import GitError, changed_lines, commit_of, worktree_at

from .conftest import toolchain_or_skip

KEEP = "keep me\n"


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "escapelint tests"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "tests@escapelint.invalid"
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    return env


@pytest.fixture
def repo(tmp_path) -> Path:
    """A git repository with one commit of a small Go file, and that file changed since."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "go.mod").write_text("module example.com/revisions\n\ngo 1.22\n")
    (repo / "a.go").write_text("package a\n\nfunc A() int { return 1 }\n")
    env = _git_env()
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "initial"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    (repo / "a.go").write_text("package a\n\nfunc A() int { return 2 }\n")
    return repo


@pytest.fixture
def victim(tmp_path) -> Path:
    path = tmp_path / "victim.txt"
    path.write_text(KEEP)
    return path


HOSTILE = ["--output={victim}", "-o{victim}", "--output", "--", "-"]


@pytest.mark.parametrize("revision", HOSTILE)
def test_changed_lines_refuses_an_option_as_revision(repo, victim, revision):
    revision = revision.format(victim=victim)
    with pytest.raises(GitError, match="does not name a commit"):
        changed_lines(repo, revision)
    assert victim.read_text() == KEEP


@pytest.mark.parametrize("revision", HOSTILE)
def test_worktree_at_refuses_an_option_as_revision(repo, victim, revision):
    revision = revision.format(victim=victim)
    with pytest.raises(GitError, match="does not name a commit"), worktree_at(repo, revision):
        pass  # pragma: no cover - never entered
    assert victim.read_text() == KEEP
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=repo, capture_output=True, text=True, check=True)
    assert len(worktrees.stdout.splitlines()) == 1


def test_real_revisions_still_work(repo):
    head = commit_of(repo, "HEAD")
    assert len(head) == 40 and commit_of(repo, "main") == head == commit_of(repo, head[:10])
    assert changed_lines(repo, "HEAD") == {(repo / "a.go").resolve(): {3}}
    with worktree_at(repo, "main") as tree:
        assert (tree / "a.go").read_text().endswith("return 1 }\n")


def test_a_tree_is_no_commit(repo):
    tree = subprocess.run(["git", "rev-parse", "HEAD^{tree}"], cwd=repo, capture_output=True, text=True, check=True)
    with pytest.raises(GitError, match="does not name a commit"):
        changed_lines(repo, tree.stdout.strip())


@pytest.mark.toolchain
def test_check_new_from_rev_option_leaves_the_file_alone_and_exits_2(repo, victim):
    toolchain = toolchain_or_skip("1.27.3")
    env = dict(_git_env(), **{k: v for k, v in toolchain.env().items() if k.startswith("GO")})
    result = subprocess.run(
        [sys.executable, "-m", "escapelint", "check", f"--new-from-rev=--output={victim}", "--go", str(toolchain.go)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert f"'--output={victim}' does not name a commit" in result.stderr
    assert victim.read_text() == KEEP
