"""What escapelint asks git: changed lines since a revision, and a temporary worktree of one."""

from __future__ import annotations

import contextlib
import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from escapelint.analyze.source import read_go_file


class GitError(Exception):
    pass


def git(args: list[str], cwd: Path) -> str:
    try:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise GitError(f"git: cannot run: {exc.strerror}") from None
    if result.returncode != 0:
        raise GitError(f"git {' '.join(args)}: {result.stderr.strip() or f'exit {result.returncode}'}")
    return result.stdout


def commit_of(root: Path, revision: str) -> str:
    """The commit `revision` names, as a full object name, or GitError.

    A revision is user input: "--output=FILE" handed to `git diff` as is would be read as an option
    (and truncate FILE). It is looked up after `--end-of-options`, where git reads it as a revision
    only, and only the object name that comes back is passed on to other git commands.
    """
    try:
        return git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"], root).strip()
    except GitError:
        raise GitError(f"{revision!r} does not name a commit in the git repository at {root}") from None


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.MULTILINE)


def changed_lines(root: Path, revision: str) -> dict[Path, set[int]]:
    """Lines added or changed since `revision` in the working tree (and every line of untracked files)."""
    top = Path(git(["rev-parse", "--show-toplevel"], root).strip())
    commit = commit_of(root, revision)
    changed: dict[Path, set[int]] = {}
    diff = git(["diff", "--no-color", "--no-ext-diff", "-U0", commit, "--", "."], root)
    current: Path | None = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            name = line[4:]
            current = None if name == "/dev/null" else (top / name[2:]).resolve()
            continue
        match = _HUNK.match(line)
        if match and current is not None:
            start, count = int(match.group(1)), int(match.group(2) or 1)
            changed.setdefault(current, set()).update(range(start, start + count))
    untracked = git(["ls-files", "--others", "--exclude-standard", "--", "."], root)
    for name in untracked.splitlines():
        path = (root / name).resolve()
        text = read_go_file(path) if path.suffix == ".go" else None
        if text is not None:
            changed[path] = set(range(1, text.count("\n") + 2))
    return changed


@contextlib.contextmanager
def worktree_at(root: Path, revision: str) -> Iterator[Path]:
    """A temporary `git worktree` of `revision`, yielding the module root inside it."""
    top = Path(git(["rev-parse", "--show-toplevel"], root).strip()).resolve()
    inside = root.resolve().relative_to(top)
    commit = commit_of(root, revision)
    with tempfile.TemporaryDirectory(prefix="escapelint-base-") as parent:
        tree = Path(parent) / "tree"
        git(["worktree", "add", "--detach", "--quiet", str(tree), commit], root)
        try:
            yield tree / inside
        finally:
            with contextlib.suppress(GitError):
                git(["worktree", "remove", "--force", str(tree)], root)
