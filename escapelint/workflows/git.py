"""What escapelint asks git: changed lines since a revision, their line mapping, and a temporary worktree of one."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from escapelint.analyze.line_map import (
    DiffFormatError,
    LineMapping,
    line_mapping,
    parse_diff,
)
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


def _diff_since(root: Path, commit: str) -> str:
    """`git diff -U0 -M` of the working tree against `commit`, under `root`, in the one form
    escapelint.analyze.line_map reads: whatever the user's configuration says about colours, external
    diff drivers, text conversion, prefixes (diff.noprefix, diff.mnemonicPrefix) and relative names."""
    return git(
        ["diff", "--no-color", "--no-ext-diff", "--no-textconv", "--no-relative", "-U0", "-M",
         "--src-prefix=a/", "--dst-prefix=b/", commit, "--", "."],
        root,
    )  # fmt: skip


def _changes_since(root: Path, commit: str):
    try:
        return parse_diff(_diff_since(root, commit))
    except DiffFormatError as exc:
        raise GitError(f"git diff printed what escapelint cannot read: {exc}") from None


def _untracked(root: Path) -> list[str]:
    """Untracked (not ignored) files under `root`, relative to `root`."""
    return git(["ls-files", "--others", "--exclude-standard", "--", "."], root).splitlines()


@dataclass(frozen=True)
class WorkingTreeChanges:
    """What changed in the working tree since a revision, from one `git diff` (and one list of the
    untracked files): the changed lines by file, and the line mapping from the revision."""

    top: Path  # the repository's top folder, resolved
    lines: dict[Path, set[int]]  # absolute path -> lines added or changed (every line of an untracked file)
    mapping: LineMapping  # file names relative to the module root, as a build there prints them


def changes_since(root: Path, revision: str) -> WorkingTreeChanges:
    """The working tree's changes since `revision`, for the module at `root` (which may be a folder of
    the repository). Four git commands: `check` runs before its build, so they are run once."""
    top = Path(git(["rev-parse", "--show-toplevel"], root).strip()).resolve()
    commit = commit_of(root, revision)
    changes = _changes_since(root, commit)
    untracked = _untracked(root)
    lines: dict[Path, set[int]] = {}
    for change in changes:
        if change.new_path is not None and change.hunks:
            added = change.added_lines()
            if added:
                lines.setdefault((top / change.new_path).resolve(), set()).update(added)
    for name in untracked:
        path = (root / name).resolve()
        text = read_go_file(path) if path.suffix == ".go" else None
        if text is not None:
            lines[path] = set(range(1, text.count("\n") + 2))
    inside = root.resolve().relative_to(top).as_posix()
    mapping = line_mapping(changes).for_directory(inside)
    mapping = LineMapping(mapping.files, {**mapping.added, **line_mapping((), untracked).added})
    return WorkingTreeChanges(top, lines, mapping)


def changed_lines(root: Path, revision: str) -> dict[Path, set[int]]:
    """Lines added or changed since `revision` in the working tree (and every line of untracked files)."""
    return changes_since(root, revision).lines


def line_mapping_since(root: Path, revision: str) -> LineMapping:
    """The line mapping (escapelint.analyze.line_map) from `revision` to the working tree, with file
    names relative to `root` (a module inside the repository), as a build in `root` prints them;
    untracked files count as added whole."""
    return changes_since(root, revision).mapping


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
