"""The pull-request comparison: build the base revision in a temporary worktree and the working tree, and compare."""

from __future__ import annotations

from pathlib import Path

from escapelint.analyze.compare import DiffResult, compare
from escapelint.read.heap_profile import HeapProfile
from escapelint.workflows.audit import Progress, build_and_analyze
from escapelint.workflows.cache import ResultCache
from escapelint.workflows.git import git, line_mapping_since, worktree_at
from escapelint.workflows.gobuild import GoToolchain
from escapelint.workflows.profile import attribute_build


def run_diff(
    go: GoToolchain,
    patterns: list[str],
    root: Path,
    base_ref: str,
    progress: Progress | None = None,
    profiles: list[HeapProfile] | None = None,
    cache: ResultCache | None = None,
) -> DiffResult:
    """Build `base_ref` and the working tree. `profiles` (heap profiles of the working tree's code) are
    attributed to the head build's sites. With a `cache`, the packages the two share are analysed once
    (their output blocks are the same bytes when their files are: the base worktree is another
    directory, so only packages whose output names no file of the module, and GOROOT's, are shared)."""
    with worktree_at(root, base_ref) as base_root:
        base = build_and_analyze(go, patterns, base_root, progress=progress, cache=cache)
    head = build_and_analyze(go, patterns, root, progress=progress, cache=cache)
    # Sites on lines the change left alone are paired by where those lines went, before the rest are
    # paired by what they are: an identical expression inserted above others is the added one.
    lines = line_mapping_since(root, base_ref)
    result = compare(base.heap_findings(), head.heap_findings(), base_ref, head.go_version, lines)
    result.repo_root = Path(git(["rev-parse", "--show-toplevel"], root).strip()).resolve()
    result.head_root = root.resolve()
    if profiles is not None:
        result.costs = attribute_build(head.packages, profiles, root)
    # Paths of removed sites are printed relative to the base worktree's module root, which mirrors root.
    return result
