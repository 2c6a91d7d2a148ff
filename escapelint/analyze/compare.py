"""Comparing two builds' heap escapes: what a change added and removed.

Sites are paired by where the change left their lines (escapelint.analyze.line_map), then by what they
are; without a line mapping (a stored baseline has no revision) by fingerprint, which counts identical
sites of a function in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from escapelint.analyze.findings import Finding, normalized_expr
from escapelint.analyze.line_map import LineMapping

if TYPE_CHECKING:  # for annotations only: the cost model loads with --profile
    from escapelint.analyze.cost import CostAttribution


@dataclass
class DiffResult:
    """What changed between two builds: the heap findings `added` and `removed` (see `pair_sites`).

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


def site_identity(finding: Finding) -> tuple[str, str, str, str, str]:
    """What a site is, without where: its fingerprint's parts but the ordinal (escapelint.analyze.findings)."""
    event = finding.event
    return (event.package or "", finding.declared_in or "", finding.category or "", event.kind.value,
            normalized_expr(event.expr))  # fmt: skip


#: Above this many base × head sites of one identity, the sites left after the line mapping are paired
#: in order (as fingerprints pair them) instead of by distance: a generated function with thousands of
#: identical sites must not cost millions of distance comparisons.
NEAREST_PAIRING_LIMIT = 250_000


def pair_sites(
    base: Sequence[Finding], head: Sequence[Finding], lines: LineMapping | None = None
) -> list[tuple[Finding, Finding]]:
    """Which base and head sites are the same site: (base, head) pairs; the rest were removed or added.

    1. With a line mapping: a base site whose line the change left alone is the head site of the same
       identity (`site_identity`) at the same column of the line it moved to. Three identical
       `fmt.Println("x", v)` with a fourth inserted above, between or below: the inserted one is left.
    2. Then, per identity, what is left: code that moved, or a line that was reworded. Pairs nearest
       first (base line mapped to the head, or the head line of its hunk; another file counts as far),
       ties in order. Without a line mapping, in order only: the k-th base site of an identity is the
       k-th head site, which is what pairing by fingerprint (identity and ordinal) does.
    """
    pairs: list[tuple[Finding, Finding]] = []
    paired_base: set[int] = set()
    paired_head: set[int] = set()
    if lines is not None:
        at_position: dict[tuple, list[int]] = {}
        for index, finding in enumerate(head):
            at = finding.event.position
            at_position.setdefault((at.file, at.line, at.column, site_identity(finding)), []).append(index)
        for index, finding in enumerate(base):
            at = finding.event.position
            moved_to = lines.head_line(at.file, at.line)
            if moved_to is None:
                continue
            candidates = at_position.get((*moved_to, at.column, site_identity(finding)))
            while candidates:
                match = candidates.pop(0)
                if match not in paired_head:
                    pairs.append((finding, head[match]))
                    paired_base.add(index)
                    paired_head.add(match)
                    break
    left_base: dict[tuple, list[int]] = {}
    for index, finding in enumerate(base):
        if index not in paired_base:
            left_base.setdefault(site_identity(finding), []).append(index)
    left_head: dict[tuple, list[int]] = {}
    for index, finding in enumerate(head):
        if index not in paired_head:
            left_head.setdefault(site_identity(finding), []).append(index)
    for identity, base_indexes in left_base.items():
        head_indexes = left_head.get(identity)
        if not head_indexes:
            continue
        if lines is None or len(base_indexes) * len(head_indexes) > NEAREST_PAIRING_LIMIT:
            pairs.extend((base[b], head[h]) for b, h in zip(base_indexes, head_indexes))
            continue
        pairs.extend((base[b], head[h]) for b, h in _nearest_first(base, head, base_indexes, head_indexes, lines))
    return pairs


def _nearest_first(base, head, base_indexes, head_indexes, lines: LineMapping) -> list[tuple[int, int]]:
    distances = []
    for b in base_indexes:
        at = base[b].event.position
        file, line = lines.nearest_head_line(at.file, at.line)
        for h in head_indexes:
            there = head[h].event.position
            far = file is None or there.file != file
            distances.append((far, 0 if far else abs(there.line - line), b, h))
    distances.sort()
    chosen, used_base, used_head = [], set(), set()
    for _, _, b, h in distances:
        if b not in used_base and h not in used_head:
            chosen.append((b, h))
            used_base.add(b)
            used_head.add(h)
    return chosen


def compare(
    base: Iterable[Finding],
    head: Iterable[Finding],
    base_ref: str,
    go_version: str | None,
    lines: LineMapping | None = None,
) -> DiffResult:
    """Heap escapes added and removed between two builds' heap findings: paired by the line mapping
    from base to head first, then by what they are (`pair_sites`)."""
    base, head = list(base), list(head)
    pairs = pair_sites(base, head, lines)
    paired_base = {id(b) for b, _ in pairs}
    paired_head = {id(h) for _, h in pairs}
    result = DiffResult(base_ref, go_version=go_version)
    result.added = [f for f in head if id(f) not in paired_head]
    result.removed = [f for f in base if id(f) not in paired_base]
    result.unchanged = len(pairs)
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
