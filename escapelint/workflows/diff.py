"""The pull-request comparison: build the base revision in a temporary worktree and the working tree, and compare."""

from __future__ import annotations

from pathlib import Path

from escapelint.analyze.compare import DiffResult, compare
from escapelint.workflows.audit import Progress, build_and_analyze
from escapelint.workflows.cache import ResultCache
from escapelint.workflows.git import git, worktree_at
from escapelint.workflows.gobuild import GoToolchain


def run_diff(
    go: GoToolchain,
    patterns: list[str],
    root: Path,
    base_ref: str,
    progress: Progress | None = None,
    cache: ResultCache | None = None,
) -> DiffResult:
    """Build `base_ref` and the working tree; with a `cache`, the packages the two share are analysed
    once (their output blocks are the same bytes when their files are: the base worktree is another
    directory, so only packages whose output names no file of the module, and GOROOT's, are shared)."""
    with worktree_at(root, base_ref) as base_root:
        base = build_and_analyze(go, patterns, base_root, progress=progress, cache=cache)
    head = build_and_analyze(go, patterns, root, progress=progress, cache=cache)
    result = compare(base.heap_findings(), head.heap_findings(), base_ref, head.go_version)
    result.repo_root = Path(git(["rev-parse", "--show-toplevel"], root).strip()).resolve()
    result.head_root = root.resolve()
    # Paths of removed sites are printed relative to the base worktree's module root, which mirrors root.
    return result
