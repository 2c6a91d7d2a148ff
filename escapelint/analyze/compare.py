"""Comparing two builds' heap escapes by fingerprint: what a change added and removed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from escapelint.analyze.cost import CostAttribution
from escapelint.analyze.findings import Finding


@dataclass
class DiffResult:
    """What changed between two builds: the heap findings `added` and `removed`, by fingerprint.

    `base` names the base build (a git revision); `repo_root` and `head_root` let sites be named
    relative to the repository (repo_relative), as GitHub annotations and links want them.
    """

    base: str
    added: list[Finding] = field(default_factory=list)
    removed: list[Finding] = field(default_factory=list)
    unchanged: int = 0
    go_version: str | None = None
    repo_root: Path | None = None
    head_root: Path | None = None
    costs: CostAttribution | None = None  # a heap profile of the head build, when one was given (`diff --profile`)


def compare(base: Iterable[Finding], head: Iterable[Finding], base_ref: str, go_version: str | None) -> DiffResult:
    """Heap escapes added and removed between two builds' heap findings, by fingerprint."""
    base_findings = {f.fingerprint: f for f in base}
    head_findings = {f.fingerprint: f for f in head}
    result = DiffResult(base_ref, go_version=go_version)
    result.added = [f for fp, f in head_findings.items() if fp not in base_findings]
    result.removed = [f for fp, f in base_findings.items() if fp not in head_findings]
    result.unchanged = len(head_findings.keys() & base_findings.keys())
    return result


def repo_relative(result: DiffResult, printed: str) -> str:
    """A site's file relative to the repository root, as GitHub annotations and links want it."""
    if result.head_root is None or result.repo_root is None:
        return printed
    path = Path(printed)
    absolute = path if path.is_absolute() else (result.head_root / path).resolve()
    try:
        return absolute.relative_to(result.repo_root).as_posix()
    except ValueError:
        return printed
