"""What the escapes cost: a Go heap profile's samples attributed to the heap sites of the same build.

The escape analysis says where and why; a heap profile (escapelint.read.heap_profile) says how much.
`attribute(packages, profiles, ...)` joins them:

* A sample belongs to its allocating location: Go writes heap profiles with the runtime's own frames
  removed (runtime/pprof/protomem.go, `hideRuntime`), so the first location is the code that called
  the allocator; a frame of `runtime.*` or `internal/runtime/*` still at the front (a profile written
  otherwise) is skipped, and one that is nothing but runtime is the runtime's own allocation.
* A location's frames are its inlining chain, innermost first. The compiler reports an allocation of
  inlined code at the outermost position, the call in the function it was compiled into
  (cmd/compile/internal/base/print.go: FmtPos prints `Ctxt.OutermostPos(pos)`). So the site is
  looked up at the location's last frame's file and line, and among the sites there, the ones whose
  function is that frame's function and whose `inlined_from` is the callee inlined at that call (the
  frame before it), or no callee when nothing was inlined. A narrowing that would leave no site is
  not applied.
* Go's profiles carry no column (runtime/pprof/proto.go writes none) and, with the runtime frames
  hidden, not the allocator either: sites on one line that the function and the inlining do not tell
  apart share the line's figure, split evenly, and say which sites they share it with
  (`SiteCost.shared_with`). When a profile does name the allocator (`runtime.convT64`,
  `runtime.makeslice`, `runtime.growslice`, ...) or a column, the sites it fits are kept.
* A sample at a line of the build's files where no site is reported is kept as an unmatched
  allocation: before Go 1.25 the compiler prints nothing for the array that `append` grows, so an
  unmatched line that calls `append` is slice growth the profile shows and the compiler does not.
* Source paths are mapped to the build's files as they are, by the module path (`-trimpath` builds
  write `example.com/mod/pkg/file.go`), or by their longest unique suffix of at least two path
  elements (a profile from another machine); samples in no file of the build are counted unmapped.

Several profiles add up. Bytes and objects are `alloc_space` and `alloc_objects` (`inuse_space`
and `inuse_objects` too when the profile has them); a site the profiles never saw allocate is
`exercised = False`: not exercised by this profile, which is not the same as free.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from escapelint.analyze.findings import Finding, PackageFindings, declared_name
from escapelint.events import EventKind
from escapelint.read.heap_profile import HeapProfile, ProfileFrame, ProfileMismatchError

#: The four values of a Go heap profile, by the names escapelint gives them.
VALUE_TYPES = {"bytes": "alloc_space", "objects": "alloc_objects", "inuse_bytes": "inuse_space", "inuse_objects": "inuse_objects"}

_RUNTIME_PREFIXES = ("runtime.", "internal/runtime/")
_APPEND = re.compile(r"\bappend\s*\(")


@dataclass(frozen=True, slots=True)
class Figures:
    """Summed sample values; the `inuse_*` ones None when no profile had them."""

    bytes: int = 0
    objects: int = 0
    inuse_bytes: int | None = None
    inuse_objects: int | None = None

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.bytes + other.bytes,
            self.objects + other.objects,
            _add(self.inuse_bytes, other.inuse_bytes),
            _add(self.inuse_objects, other.inuse_objects),
        )

    def split(self, parts: int) -> list[Figures]:
        """`parts` figures that add up to this one exactly: the remainder goes to the first."""
        return [
            Figures(
                _part(self.bytes, parts, i),
                _part(self.objects, parts, i),
                None if self.inuse_bytes is None else _part(self.inuse_bytes, parts, i),
                None if self.inuse_objects is None else _part(self.inuse_objects, parts, i),
            )
            for i in range(parts)
        ]


def _add(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else a + b


def _part(total: int, parts: int, index: int) -> int:
    share, remainder = divmod(total, parts)
    return share + (1 if index < remainder else 0)


@dataclass(frozen=True, slots=True)
class SiteCost:
    """One heap site's figures. `shared_with` are the input lines of the sites whose line figure this
    site shares (empty when the profile told them apart); `line` holds the whole shared figure."""

    figures: Figures
    share: float  # of the profiles' total bytes
    shared_with: tuple[int, ...]
    line: Figures
    exercised: bool


@dataclass(frozen=True, slots=True)
class UnmatchedAllocation:
    """Bytes the profile shows at a line of the build where no heap site is reported."""

    file: str  # as the build names it
    line: int
    function: str  # as the profile names it
    figures: Figures
    slice_growth: bool  # the line calls append: the growth the compiler does not print before Go 1.25


@dataclass(frozen=True, slots=True)
class CostTotal:
    """The summed figures of a function, package or category, with its number of exercised sites."""

    key: str
    package: str | None
    figures: Figures
    sites: int
    exercised: int


@dataclass(frozen=True)
class ProfileFacts:
    """What the profiles were and how much of them the build accounts for."""

    files: tuple[str, ...]
    sample_types: tuple[str, ...]  # "alloc_space/bytes", ...: those of every profile, in first-seen order
    durations: tuple[str | None, ...]
    periods: tuple[int | None, ...]
    samples: int
    total: Figures  # everything the profiles sampled
    attributed: Figures  # to heap sites
    unmatched: Figures  # at lines of the build without a site
    unmapped_samples: int  # in no file of the build (other packages, the tests, the runtime's own)
    unmapped: Figures
    runtime_samples: int  # stacks of nothing but the runtime


@dataclass(frozen=True)
class CostAttribution:
    """The join of profiles and a build: per site (by the input line of its summary), unmatched lines, totals."""

    facts: ProfileFacts
    sites: dict[int, SiteCost]
    unmatched: tuple[UnmatchedAllocation, ...]  # most bytes first
    functions: tuple[CostTotal, ...]  # most bytes first; key "package.function"
    packages: tuple[CostTotal, ...]
    categories: tuple[CostTotal, ...]
    heap_sites: dict[int, Finding]  # every heap site of the build, by the input line of its summary

    def of(self, finding: Finding) -> SiteCost | None:
        return self.sites.get(finding.event.line)

    def ranked(self, findings: Iterable[Finding]) -> list[tuple[Finding, SiteCost]]:
        """The heap sites with their cost, most bytes first (then objects, then input order)."""
        costed = [(f, c) for f in findings if (c := self.of(f)) is not None]
        return sorted(costed, key=lambda fc: (-fc[1].figures.bytes, -fc[1].figures.objects, fc[0].event.line))


def is_heap_site(finding: Finding) -> bool:
    return finding.category is not None and finding.event.kind in (EventKind.ESCAPE, EventKind.MOVED)


def attribute(
    packages: Iterable[PackageFindings],
    profiles: list[HeapProfile],
    *,
    root: str | None = None,
    module_path: str | None = None,
    line_text: Callable[[str, int], str | None] = lambda file, line: None,
) -> CostAttribution:
    """Attribute the samples of `profiles` to the heap sites of `packages` (see the module docstring).

    `root` is the directory the build's relative paths are relative to, `module_path` the module's
    path (for `-trimpath` profiles); `line_text(file, line)` gives a source line of the build, to tell
    an `append` among the unmatched lines.
    """
    packages = list(packages)
    sites: dict[tuple[str, int], list[Finding]] = defaultdict(list)
    build_files: set[str] = set()
    package_of: dict[int, str | None] = {}
    for package in packages:
        for finding in package.findings:
            build_files.add(finding.event.position.file)
            if is_heap_site(finding):
                sites[(finding.event.position.file, finding.event.position.line)].append(finding)
                package_of[finding.event.line] = package.output.path
        for remark in package.output.remarks:
            if remark.position is not None:
                build_files.add(remark.position.file)
    paths = _PathMap(build_files, root, module_path)

    shares: dict[int, Figures] = defaultdict(Figures)
    partners: dict[int, set[int]] = defaultdict(set)
    line_totals: dict[int, Figures] = defaultdict(Figures)
    unmatched: dict[tuple[str, int, str], Figures] = defaultdict(Figures)
    total = attributed = unmatched_total = unmapped = Figures()
    unmapped_samples = runtime_samples = samples = 0
    sample_types: list[str] = []
    for profile in profiles:
        indexes = _value_indexes(profile)
        for sample_type in profile.sample_types:
            name = f"{sample_type.type}/{sample_type.unit}"
            if name not in sample_types:
                sample_types.append(name)
        samples += profile.samples
        choice_cache: dict[int, tuple | None] = {}
        for group in profile.groups:
            figures = _figures(group.values, indexes)
            total += figures
            choice = choice_cache.get(group.location, ...)
            if choice is ...:
                choice = choice_cache[group.location] = _choose(profile, group.location, sites, paths)
            if choice is None or choice[0] == "unmapped":
                unmapped += figures
                unmapped_samples += group.samples
                continue
            if choice[0] == "runtime":
                unmapped += figures
                unmapped_samples += group.samples
                runtime_samples += group.samples
                continue
            if choice[0] == "unmatched":
                _, file, line, function = choice
                unmatched[(file, line, function)] += figures
                unmatched_total += figures
                continue
            chosen: list[Finding] = choice[1]
            attributed += figures
            keys = [f.event.line for f in chosen]
            for key, part in zip(keys, figures.split(len(keys))):
                shares[key] += part
                if len(keys) > 1:
                    partners[key].update(k for k in keys if k != key)
                    line_totals[key] += figures
    grand = total.bytes or 1
    costs: dict[int, SiteCost] = {}
    heap = [f for package in packages for f in package.findings if is_heap_site(f)]
    for finding in heap:
        key = finding.event.line
        figures = shares.get(key, Figures())
        costs[key] = SiteCost(
            figures=figures,
            share=figures.bytes / grand if total.bytes else 0.0,
            shared_with=tuple(sorted(partners.get(key, ()))),
            line=line_totals.get(key, figures),
            exercised=figures.bytes > 0 or figures.objects > 0,
        )
    facts = ProfileFacts(
        files=tuple(p.name for p in profiles),
        sample_types=tuple(sample_types),
        durations=tuple(p.duration for p in profiles),
        periods=tuple(p.period for p in profiles),
        samples=samples,
        total=total,
        attributed=attributed,
        unmatched=unmatched_total,
        unmapped_samples=unmapped_samples,
        unmapped=unmapped,
        runtime_samples=runtime_samples,
    )
    unmatched_list = tuple(
        sorted(
            (
                UnmatchedAllocation(file, line, function, figures, bool(_APPEND.search(line_text(file, line) or "")))
                for (file, line, function), figures in unmatched.items()
            ),
            key=lambda u: (-u.figures.bytes, u.file, u.line),
        )
    )
    return CostAttribution(
        facts=facts,
        sites=costs,
        unmatched=unmatched_list,
        functions=_totals(heap, costs, lambda f: f"{package_of[f.event.line]}.{f.function}", package_of),
        packages=_totals(heap, costs, lambda f: package_of[f.event.line] or "", package_of),
        categories=_totals(heap, costs, lambda f: f.category, package_of),
        heap_sites={f.event.line: f for f in heap},
    )


def check_heap_profile(profile: HeapProfile) -> None:
    """ProfileMismatchError unless `profile` has the values of a heap profile (before any build runs)."""
    _value_indexes(profile)


def _value_indexes(profile: HeapProfile) -> dict[str, int | None]:
    indexes = {name: profile.value_index(kind) for name, kind in VALUE_TYPES.items()}
    if indexes["bytes"] is None and indexes["inuse_bytes"] is None:
        kinds = ", ".join(f"{t.type}/{t.unit}" for t in profile.sample_types) or "none"
        raise ProfileMismatchError(f"{profile.name}: not a heap profile (its sample types: {kinds})")
    if indexes["bytes"] is None:  # an in-use-only profile: its space is what it says
        indexes["bytes"], indexes["objects"] = indexes["inuse_bytes"], indexes["inuse_objects"]
    return indexes


def _figures(values: tuple[int, ...], indexes: dict[str, int | None]) -> Figures:
    def value(name: str) -> int | None:
        index = indexes[name]
        return None if index is None else values[index]

    return Figures(value("bytes") or 0, value("objects") or 0, value("inuse_bytes"), value("inuse_objects"))


def _is_runtime(frame: ProfileFrame) -> bool:
    return frame.function.startswith(_RUNTIME_PREFIXES)


def _choose(profile: HeapProfile, location_id: int, sites, paths: _PathMap):
    """("sites", [findings]) | ("unmatched", file, line, function) | ("unmapped",) | ("runtime",) | None."""
    location = profile.locations.get(location_id)
    if location is None or not location.frames:
        return ("unmapped",)
    frames = location.frames
    first = next((i for i, frame in enumerate(frames) if not _is_runtime(frame)), None)
    if first is None:
        return ("runtime",)
    allocator = frames[first - 1].function if first > 0 else None
    unmatched = None
    # Outermost first: where the compiler reports it; an inner frame when the outer function is not
    # in the build (a callee inlined into a test, say: its own copy's site is the same allocation).
    for level in range(len(frames) - 1, first - 1, -1):
        frame = frames[level]
        file = paths.build_file(frame.file)
        if file is None:
            continue
        candidates = sites.get((file, frame.line))
        if not candidates:
            if unmatched is None:
                unmatched = ("unmatched", file, frame.line, frame.function)
            continue
        chosen = _narrowed(list(candidates), lambda f: _same_function(f.function, frame.function))
        callee = frames[level - 1].function if level > first else None
        if callee is None:
            chosen = _narrowed(chosen, lambda f: f.inlined_from is None)
        else:
            chosen = _narrowed(chosen, lambda f: f.inlined_from is not None and _same_function(f.inlined_from, callee))
        if frame.column is not None:
            chosen = _narrowed(chosen, lambda f: f.event.position.column == frame.column)
        if allocator is not None:
            chosen = _narrowed(chosen, lambda f: _fits_allocator(f, allocator))
        return ("sites", chosen)
    return unmatched or ("unmapped",)


def _narrowed(findings: list[Finding], keep: Callable[[Finding], bool]) -> list[Finding]:
    kept = [f for f in findings if keep(f)]
    return kept or findings


def _short_function(name: str) -> str:
    """`example.com/m/kv.(*Store).Set` → `(*Store).Set`, type arguments removed."""
    tail = name.rsplit("/", 1)[-1]
    _, dot, rest = tail.partition(".")
    return declared_name(rest if dot else tail) or ""


def _same_function(finding_function: str | None, profile_function: str) -> bool:
    if finding_function is None:
        return False
    return (declared_name(finding_function) or "") == _short_function(profile_function)


#: The runtime allocator a profile may name (when its runtime frames are not hidden) and the sites it makes.
def _fits_allocator(finding: Finding, allocator: str) -> bool:
    name = allocator.rsplit(".", 1)[-1]
    expr = finding.event.expr
    if name.startswith("convT") or name == "convI2I":
        return finding.category == "interface-boxing"
    if name == "growslice":
        return finding.category == "slice-growth" or expr.startswith("append")
    if name.startswith("makeslice"):
        return expr.startswith("make(")
    if name in ("makemap", "makemap_small", "makechan"):
        return expr.startswith("make(")
    if name.startswith(("concatstring", "concatbyte")):
        return "+" in expr
    if name.startswith(("slicebytetostring", "stringtoslice", "rawstring", "rawbyteslice", "rawruneslice")):
        return expr.startswith(("string(", "[]byte(", "[]rune("))
    if name == "newobject":
        return finding.event.kind is EventKind.MOVED or expr.startswith(("&", "new("))
    return True


def _totals(heap: list[Finding], costs: dict[int, SiteCost], key_of, package_of) -> tuple[CostTotal, ...]:
    figures: dict[str, Figures] = defaultdict(Figures)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    packages: dict[str, str | None] = {}
    for finding in heap:
        key = key_of(finding)
        cost = costs[finding.event.line]
        figures[key] += cost.figures
        counts[key][0] += 1
        counts[key][1] += cost.exercised
        packages.setdefault(key, package_of.get(finding.event.line))
    totals = [CostTotal(k, packages[k], figures[k], counts[k][0], counts[k][1]) for k in figures]
    return tuple(sorted(totals, key=lambda t: (-t.figures.bytes, -t.figures.objects, t.key)))


class _PathMap:
    """A profile's file names → the names the build printed (see the module docstring)."""

    def __init__(self, build_files: set[str], root: str | None, module_path: str | None) -> None:
        self._module_path = module_path.rstrip("/") + "/" if module_path else None
        self._root = root
        self._by_canonical: dict[str, str] = {}
        self._by_name: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        for printed in build_files:
            if printed.startswith("<"):
                continue
            canonical = self._canonical(printed)
            self._by_canonical.setdefault(canonical, printed)
            parts = tuple(p for p in canonical.split("/") if p)
            if parts:
                self._by_name[parts[-1]].append((parts, printed))
        self._cache: dict[str, str | None] = {}

    def _canonical(self, name: str) -> str:
        name = name.replace("\\", "/")
        if self._module_path and name.startswith(self._module_path) and self._root:
            name = f"{self._root}/{name[len(self._module_path):]}"
        elif not name.startswith("/") and self._root:
            name = f"{self._root}/{name}"
        return os.path.normpath(name).replace("\\", "/")

    def build_file(self, profile_file: str) -> str | None:
        found = self._cache.get(profile_file, ...)
        if found is ...:
            found = self._cache[profile_file] = self._find(profile_file)
        return found

    def _find(self, profile_file: str) -> str | None:
        canonical = self._canonical(profile_file)
        exact = self._by_canonical.get(canonical)
        if exact is not None:
            return exact
        parts = tuple(p for p in canonical.split("/") if p)
        if not parts:
            return None
        best, best_length, tied = None, 0, False
        for candidate_parts, printed in self._by_name.get(parts[-1], ()):
            length = 0
            for a, b in zip(reversed(candidate_parts), reversed(parts)):
                if a != b:
                    break
                length += 1
            if length > best_length:
                best, best_length, tied = printed, length, False
            elif length == best_length:
                tied = True
        if best is None or tied or best_length < 2:
            return None
        return best
