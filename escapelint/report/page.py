"""The report model: exactly what one report page needs, as small frozen dataclasses.

Data flows one way: `PackageFindings` (escapelint.analyze.findings) -> `PackagePage` (here) -> the writers (HTML and
Markdown templates, SARIF, annotations) -> files. Templates and writers never see parser or event
objects, only the plain strings and numbers below. One `PackagePage` is built per package and shared by
every requested format, then dropped; only its `IndexRow` is kept for the index.

The model is finished: counts, the nouns that agree with them (`Tally`), orderings and geometry are
properties here, so that the templates only lay them out.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from escapelint.analyze.cost import CostAttribution
from escapelint.analyze.findings import Finding, PackageFindings
from escapelint.analyze.source import SourceLocator, read_go_file
from escapelint.events import (
    EscapeEvent,
    EventKind,
    Explanation,
    LeakKind,
    PackageOutput,
    Position,
)
from escapelint.report.categories import CategoryCount, category_counts
from escapelint.report.facts import go_version_from_path
from escapelint.report.options import SOURCE_PAGE_CHOICES
from escapelint.report.wording import (
    UNKNOWN_FUNCTION,
    Tally,
    bytes_text,
    site_message,
    static_note,
    tally,
)

if TYPE_CHECKING:
    from escapelint.report.source_view import SourceView

#: Steps drawn per explanation chain; the rest are counted. Most chains have 2-10 steps; a few in
#: the standard library run to hundreds, which no reader follows and every page pays for.
MAX_CHAIN_STEPS = 40
#: Characters of a source line shown; longer lines (generated tables) are cut with an ellipsis.
MAX_SOURCE_CHARS = 240
#: Function sections a package page shows open; the rest (the runtime has ~700 functions) start
#: collapsed, most sites first, so that the page renders quickly and a click opens one.
OPEN_FUNCTIONS = 40

# --- Page names ------------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9]+")


def page_stem(path: str | None, test_variant: str | None = None) -> str:
    """A file name stem for a package's page: a readable slug plus a hash of the import path.

    As in coverage.py's per-file pages: the hash keeps names unique and the slug keeps them readable;
    only [A-Za-z0-9_] survive, so no import path can reach outside the report directory.
    """
    key = f"{path or ''}\0{test_variant or ''}"
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    slug = _UNSAFE.sub("_", path or "no_package").strip("_")[-60:].lstrip("_") or "package"
    if test_variant:
        slug += "_test"
    return f"{slug}_{digest}"


def _anchor(prefix: str, text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    slug = _UNSAFE.sub("-", text).strip("-")[:40]
    return f"{prefix}-{slug}-{digest}" if slug else f"{prefix}-{digest}"


# --- Page content ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Place:
    """A source position, printable: `text` in full, `short` without the site's own file."""

    file: str | None  # None for "<unknown line number>"
    line: int
    column: int | None
    text: str
    short: str


@dataclass(frozen=True, slots=True)
class ChainStep:
    """One "from EXPR (REASON) at POS" step of the compiler's explanation."""

    expr: str
    reason: str
    at: Place
    decisive: bool  # the step the category was decided by


@dataclass(frozen=True, slots=True)
class ChainHop:
    """One flow: the value moves from `source` to `sink`, for the reasons in `steps`."""

    source: str  # with "&" for an address, "*" per dereference
    sink: str
    steps: tuple[ChainStep, ...]


@dataclass(frozen=True, slots=True)
class Chain:
    """One explanation: a path from the allocation (first hop's source) to the final sink."""

    header: str  # what the compiler explains, e.g. "x escapes to heap" or "parameter p leaks to {heap}"
    hops: tuple[ChainHop, ...]
    truncated: bool  # the compiler cut it ("truncated explanation due to assignment cycle")
    omitted_steps: int  # steps beyond MAX_CHAIN_STEPS, not drawn
    sink: str | None  # where the last flow ends; None for an explanation without flows
    repeats: int = 1  # how many times the compiler printed this same explanation for the site

    @property
    def step_count(self) -> int:
        return sum(len(hop.steps) for hop in self.hops) + self.omitted_steps

    @property
    def step_tally(self) -> Tally:
        """Its steps, drawn and omitted: "1 step", "12 steps"."""
        return tally(self.step_count, "step")


@dataclass(frozen=True, slots=True)
class SourceLine:
    """The source line of a site; `marker` is the whitespace before the column (tabs kept)."""

    number: int
    text: str
    marker: str | None  # None when the compiler printed no column
    cut: bool  # text was longer than MAX_SOURCE_CHARS


#: The bar beside a site's or a function's bytes, in SVG units (an SVG, since the pages' CSP allows no inline style).
COST_BAR_WIDTH = 60
COST_BAR_HEIGHT = 8


@dataclass(frozen=True, slots=True)
class Cost:
    """What a heap profile says a site or a function allocated (escapelint.analyze.cost), ready to show.

    `bar` is the length of its bar beside the counts, 0..1 of the costliest of its kind on the page
    (sites against sites, functions against functions); `shared_with` names the sites of the same
    line the profile could not tell from this one ("24:24 &Point{...}").
    """

    bytes: int
    objects: int
    share: float  # of every byte the profiles sampled
    exercised: bool
    bar: float
    shared_with: tuple[str, ...] = ()

    @property
    def bytes_text(self) -> str:
        return bytes_text(self.bytes)

    @property
    def share_text(self) -> str:
        return f"{self.share:.1%}"

    @property
    def object_tally(self) -> Tally:
        return tally(self.objects, "object")

    bar_width = COST_BAR_WIDTH
    bar_height = COST_BAR_HEIGHT

    @property
    def bar_length(self) -> float:
        """`bar` of COST_BAR_WIDTH (SVG units), to 0.1, at least 1 for what allocated at all (so it shows)."""
        if not self.exercised:
            return 0.0
        return round(max(self.bar * COST_BAR_WIDTH, 1.0), 1)


@dataclass(frozen=True, slots=True)
class Temporary:
    """A variable the compiler made up, named in a reason or an explanation: `.stmp_N` or `.autotmp_N`.

    Verified in GOROOT/src/cmd/compile/internal: `staticinit.StaticName` names package data
    `obj.StaticNamePrefix` + N (".stmp_"), printed as "pkg..stmp_N@OFFSET" (the byte offset written);
    `typecheck.TempAt` names a function's temporaries ".autotmp_N".
    """

    kind: str  # "static" | "automatic"
    name: str  # as shown: ".stmp_29@0", ".autotmp_4"
    anchor: str  # the page's one note on this kind of temporary: "tmp-static"

    @property
    def explanation(self) -> str:
        return TEMPORARY_EXPLANATIONS[self.kind]


TEMPORARY_EXPLANATIONS = {
    "static": (
        "`.stmp_N` is a static temporary: package data the compiler lays out for a composite literal "
        "(`staticinit.StaticName`), shown as `pkg..stmp_N@OFFSET`, the offset of the field written. It is "
        "not a heap allocation; what is stored in it is reachable from package data, so it escapes."
    ),
    "automatic": (
        "`.autotmp_N` is a temporary variable the compiler introduced for an intermediate value "
        "(`typecheck.TempAt`): a local on the stack unless it is itself moved to the heap."
    ),
}
#: "net/http..stmp_29@0", "vendor/golang.org/x/net/http2/hpack..stmp_4@32", ".autotmp_4".
TEMPORARY_NAME = re.compile(r"(?:(?:[\w.-]+/)*[\w-]+\.)?(\.(stmp|autotmp)_\d+(?:@\d+)?)")


def temporaries_in(texts: Iterable[str]) -> tuple[Temporary, ...]:
    """The compiler temporaries named in `texts`, each once, in order of appearance."""
    found: dict[str, Temporary] = {}
    for text in texts:
        if ".stmp_" not in text and ".autotmp_" not in text:
            continue
        for match in TEMPORARY_NAME.finditer(text):
            kind = "static" if match.group(2) == "stmp" else "automatic"
            found.setdefault(match.group(1), Temporary(kind, match.group(1), f"tmp-{kind}"))
    return tuple(found.values())


@dataclass(frozen=True, slots=True)
class ViewedFile:
    """A Go file of a package's sites that gets a source view page: its lines, read once for the page."""

    file: str  # as the compiler prints it
    name: str  # its base name, for titles and links
    stem: str  # the view's page name without extension
    lines: tuple[str, ...]
    local_path: str  # absolute, on disk


@dataclass(frozen=True, slots=True)
class Site:
    """One heap allocation (an `escape` or `moved` event) with its verdict and the compiler's why."""

    anchor: str
    category: str
    kind: str  # "escape" | "moved"
    expr: str
    at: Place
    function: str | None  # as the compiler names it (closures such as F.func1 included)
    inlined_from: str | None
    reason: str
    shown_reason: str  # the reason with the package's (absolute) directory left out, for pages
    message: str  # one line for annotations and SARIF, worded by `site_message`
    fingerprint: str
    source: SourceLine | None
    chains: tuple[Chain, ...]  # one per distinct explanation, in the compiler's order (`Chain.repeats`)
    source_href: str | None = None  # its line in the package's source view ("src_x_go_….html#L12")
    local_path: str | None = None  # the file on disk, absolute, for editor links; None when not found
    callee_href: str | None = None  # an inlined copy: the inlined callee's declaration in a source view
    temporaries: tuple[Temporary, ...] = ()  # compiler temporaries its reason or explanation names
    cost: Cost | None = None  # with a heap profile only
    # Whether the site calls the allocator at run time (analyze/allocation.py): False for an escape the
    # compiler serves from static data (a constant, a zero-sized or one-byte value, ...), with the reason.
    allocates: bool = True
    allocates_reason: str | None = None

    @property
    def machine_message(self) -> str:
        """`message` for SARIF and rdjsonl, which keep the sites served from static data at a lower level:
        with "(no allocation: REASON)" for those."""
        if self.allocates:
            return self.message
        return f"{self.message} (no allocation: {self.allocates_reason})"

    @property
    def explanation_count(self) -> int:
        """How many distinct explanations the compiler gave (pages number them when there are several)."""
        return len(self.chains)


@dataclass(frozen=True, slots=True)
class LeakingParam:
    """A `leaking param` event: callers pay for it; `sinks` are where its explanations say it goes."""

    name: str
    kind: str  # "leaks", "content leaks", "leaks to result ~r0 (level 0)"
    at: Place
    sinks: tuple[str, ...]
    source_href: str | None = None  # its signature's line in the package's source view


@dataclass(frozen=True, slots=True)
class InlinedGroup:
    """Sites that are copies of an inlined callee's allocations, grouped under the callee."""

    callee: str
    sites: tuple[Site, ...]

    @property
    def site_tally(self) -> Tally:
        return tally(len(self.sites), "site")

    @property
    def callee_href(self) -> str | None:
        """The callee's declaration in a source view, when the report has one."""
        return self.sites[0].callee_href if self.sites else None


@dataclass(frozen=True, slots=True)
class FunctionSection:
    """One function's part of a package page: its own sites, the copies of inlined callees' sites,
    its leaking parameters and the values it keeps on the stack."""

    name: str
    anchor: str
    sites: tuple[Site, ...]  # the function's own allocations
    inlined: tuple[InlinedGroup, ...]
    leaks: tuple[LeakingParam, ...]
    stack_values: int  # "does not escape" verdicts: values the compiler kept on the stack
    counts: tuple[CategoryCount, ...]  # nonzero only, in category order
    total: int  # heap sites that allocate, inlined copies included
    cost: Cost | None = None  # with a heap profile only: its sites' figures summed
    order: int = 0  # its place in the package's output (first appearance), 0-based
    static_sites: tuple[Site, ...] = ()  # escape sites the compiler serves from static data, listed apart

    @property
    def site_tally(self) -> Tally:
        """Its heap sites, inlined copies included."""
        return tally(self.total, "site")

    @property
    def static_site_tally(self) -> Tally:
        """Its escape sites that allocate nothing: "2 more escape sites"."""
        return tally(len(self.static_sites), "more escape site")

    @property
    def leak_tally(self) -> Tally:
        """Its leaking parameters, short: "1 leak"."""
        return tally(len(self.leaks), "leak")

    @property
    def leaking_param_tally(self) -> Tally:
        """Its leaking parameters: "2 leaking params"."""
        return tally(len(self.leaks), "leaking param")

    @property
    def stack_value_tally(self) -> Tally:
        return tally(self.stack_values, "value")

    @property
    def explained_sites(self) -> str:
        """Which sites the explanations below are for: "this site", or "each of the 12 sites"."""
        return f"each of the {self.total:,} sites" if self.total > 1 else "this site"


@dataclass(frozen=True, slots=True)
class CompilerMessage:
    """A compiler error of the package, with its position when the compiler printed one."""

    at: str | None
    message: str


@dataclass(frozen=True, slots=True)
class PackagePage:
    """Everything one package's page shows, in page order; built once and shared by every format."""

    path: str  # the import path, "(no package)" for output before any "# pkg" header
    test_variant: str | None
    stem: str  # page file name without extension
    directory: str | None  # where most of its sites are; positions there are shown without it
    functions: tuple[FunctionSection, ...]
    counts: tuple[CategoryCount, ...]  # nonzero only, in category order
    total: int  # heap sites
    leaking_params: int
    stack_values: int
    errors: tuple[CompilerMessage, ...]
    unclaimed: int  # explanations no summary line claimed
    unrecognized: int  # input lines escapelint did not understand
    source_files: int
    # With a heap profile only: the package's figures, and its sites the profile never saw allocate.
    cost: Cost | None = None
    idle_sites: tuple[Site, ...] = ()

    @property
    def profiled(self) -> bool:
        """Whether a heap profile was given: then functions and sites are in order of bytes."""
        return self.cost is not None

    @property
    def idle_site_tally(self) -> Tally:
        return tally(len(self.idle_sites), "site")
    explained: bool = True  # the output explains its sites (an -m=2 build): a site without one is the compiler's choice
    viewed_files: tuple[ViewedFile, ...] = ()  # the files that get a source view (--source-pages), in name order
    temporaries: tuple[Temporary, ...] = ()  # of every site, each kind once: the page explains them once
    source_views: tuple[SourceView, ...] = ()  # the views of `viewed_files`, built when an HTML report is written

    @property
    def functions_by_sites(self) -> list[FunctionSection]:
        """The functions, most heap sites first, then most leaking parameters; ties in output order.
        The pages list them so: the functions that matter are on the first screen. With a heap
        profile, most bytes first instead (`package_page`)."""
        if self.profiled:  # with a heap profile, package_page has put them in order of bytes
            return list(self.functions)
        return sorted(self.functions, key=lambda f: (-f.total, -len(f.leaks), f.order))

    @property
    def open_functions(self) -> int:
        """How many function sections (of `functions_by_sites`) start open."""
        return OPEN_FUNCTIONS

    @property
    def source_view_tally(self) -> Tally:
        return tally(len(self.viewed_files), "file")

    @property
    def few_source_views(self) -> bool:
        """Whether the list of source views is short enough to show open (the runtime has 144)."""
        return len(self.viewed_files) <= 8

    @property
    def few_functions(self) -> bool:
        """Whether the function list is short enough to show open above the sections."""
        return len(self.functions) <= 12

    @property
    def temporary_kinds(self) -> list[Temporary]:
        """One temporary of each kind the page names, for its single note on them."""
        return list({t.kind: t for t in self.temporaries}.values())
    static_sites: int = 0  # escape sites served from static data: not in `total` or `counts`

    @property
    def sites(self) -> list[Site]:
        """Every site, in page order, those served from static data last in each function (`allocates`)."""
        return [
            s for f in self.functions for s in (*f.sites, *(s for g in f.inlined for s in g.sites), *f.static_sites)
        ]

    @property
    def static_site_tally(self) -> Tally:
        """Escape sites that allocate nothing: "3 more escape sites"."""
        return tally(self.static_sites, "more escape site")

    @property
    def static_note(self) -> str:
        """What follows the count of heap allocations: `static_note(self.static_sites)`."""
        return static_note(self.static_sites)

    @property
    def title(self) -> str:
        return f"{self.path} [{self.test_variant}]" if self.test_variant else self.path

    @property
    def shown_directory(self) -> str | None:
        """The directory the page names once (its positions are shown without it); None for none or "."."""
        return self.directory if self.directory and self.directory != "." else None

    @property
    def has_several_functions(self) -> bool:
        """Whether there is more than one function section (then the HTML page lists them first)."""
        return len(self.functions) > 1

    @property
    def heap_allocation_tally(self) -> Tally:
        return tally(self.total, "heap allocation")

    @property
    def allocating_function_tally(self) -> Tally:
        """The functions with at least one heap site."""
        return tally(sum(1 for f in self.functions if f.total), "function")

    @property
    def leaking_parameter_tally(self) -> Tally:
        return tally(self.leaking_params, "leaking parameter")

    @property
    def stack_value_tally(self) -> Tally:
        return tally(self.stack_values, "value")

    @property
    def source_file_tally(self) -> Tally:
        """The Go files read for source lines."""
        return tally(self.source_files, "source file")

    @property
    def unrecognized_line_tally(self) -> Tally:
        return tally(self.unrecognized, "input line")

    @property
    def unclaimed_explanation_tally(self) -> Tally:
        return tally(self.unclaimed, "explanation")


# --- Building a page -------------------------------------------------------------------------------

class _SourceCache:
    """The lines of the source files one package's sites are in, read once each."""

    def __init__(self, locator: SourceLocator) -> None:
        self._locator = locator
        self._lines: dict[str, list[str] | None] = {}
        self._paths: dict[str, Path] = {}

    def lines(self, file: str) -> list[str] | None:
        """The file's lines (split at "\n" only, as the compiler counts them), or None when it may not be
        quoted or cannot be read."""
        if file not in self._lines:
            path = self._locator.path(file)
            if path is not None and not _may_show(path, self._locator.root):
                path = None
            text = read_go_file(path) if path is not None else None
            self._lines[file] = None if text is None else text.split("\n")
            if text is not None:
                self._paths[file] = path
        return self._lines[file]

    def line(self, file: str, number: int) -> str | None:
        lines = self.lines(file)
        if lines is None or not 1 <= number <= len(lines):
            return None
        return lines[number - 1]

    def path(self, file: str) -> Path | None:
        """Where a file whose lines were read is on disk."""
        return self._paths.get(file)

    def in_module(self, file: str) -> bool:
        """Whether a file whose lines were read is under the locator's root (the module)."""
        path, root = self._paths.get(file), self._locator.root
        if path is None or root is None:
            return False
        try:
            return path.resolve().is_relative_to(root.resolve())
        except (OSError, RuntimeError):
            return False


def _may_show(path: Path, root: Path | None) -> bool:
    """Whether a report may quote lines of `path`: a file inside the module (the locator's root) or a
    Go installation's src/. A `//line /abs/elsewhere.go:4` directive must not make the report quote
    line 4 of any readable file; symbolic links are followed before the check."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return False
    if root is not None and resolved.is_relative_to(root.resolve()):
        return True
    return any(resolved.is_relative_to(source) for source in _go_sources(resolved.parent))


def in_go_installation(file: str | None) -> bool:
    """Whether a site's file is a Go installation's (GOROOT) source: standard-library code the compiler
    inlined into the package, or a generic instantiated there, not the module's own."""
    if file is None or not Path(file).is_absolute():
        return False
    return go_version_from_path(file) is not None or bool(_go_sources(Path(file).parent))


@functools.lru_cache(maxsize=4096)
def _go_sources(directory: Path) -> tuple[Path, ...]:
    """The src/ directories of the Go installations (GOROOTs: VERSION, src/runtime/) above `directory`."""
    found = []
    for ancestor in (directory, *directory.parents):
        if ancestor.name == "src" and (ancestor.parent / "VERSION").is_file() and (ancestor / "runtime").is_dir():
            found.append(ancestor)
    return tuple(found)


def _split(file: str) -> tuple[str, str]:
    """(directory, base name) of a printed file name, "/" or "\\" separated."""
    cut = max(file.rfind("/"), file.rfind("\\"))
    return (file[:cut], file[cut + 1 :]) if cut >= 0 else ("", file)


def _place(position: Position, home: str | None, directory: str | None) -> Place:
    """`short` drops what the page already says: the site's own file (for its steps), else the
    package's directory (the page names it once)."""
    if position.line == 0 and position.file.startswith("<unknown"):
        return Place(None, 0, None, "unknown position", "unknown position")
    text = str(position)
    line = f"{position.line}" if position.column is None else f"{position.line}:{position.column}"
    if position.file == home:
        short = line
    elif directory is not None and _split(position.file)[0] == directory:
        short = f"{_split(position.file)[1]}:{line}"
    else:
        short = text
    return Place(position.file, position.line, position.column, text, short)


def package_directory(output: PackageOutput) -> str | None:
    """The directory most of a package's event positions are in: its source directory."""
    directories = Counter(_split(e.position.file)[0] for e in output.events if not e.position.file.startswith("<"))
    return directories.most_common(1)[0][0] if directories else None


def _source_line(cache: _SourceCache, position: Position) -> SourceLine | None:
    text = cache.line(position.file, position.line)
    if text is None:
        return None
    text = text.rstrip("\r")
    marker = None
    if position.column is not None:
        # Columns are 1-based byte offsets; the marker repeats the line's tabs so it lines up.
        prefix = text.encode("utf-8")[: position.column - 1].decode("utf-8", "ignore")
        marker = "".join(c if c == "\t" else " " for c in prefix)
    cut = len(text) > MAX_SOURCE_CHARS
    if cut:
        text = text[:MAX_SOURCE_CHARS]
        if marker is not None and len(marker) >= MAX_SOURCE_CHARS:
            marker = None
    return SourceLine(position.line, text, marker, cut)


def _source_text(source: str, derefs: int) -> str:
    if derefs < 0:
        return "&" + source
    return "*" * derefs + source


def _chain(explanation: Explanation, home: str | None, directory: str | None, decisive: object) -> Chain:
    budget = MAX_CHAIN_STEPS
    omitted = 0
    hops = []
    for flow in explanation.flows:
        steps = []
        for step in flow.steps:
            if budget == 0:
                omitted += 1
                continue
            budget -= 1
            steps.append(ChainStep(step.expr, step.reason, _place(step.at, home, directory), step == decisive))
        if steps or not omitted:  # hops past the budget are counted, not drawn
            hops.append(ChainHop(_source_text(flow.source, flow.derefs), flow.sink, tuple(steps)))
    if explanation.sink is not None:
        header = f"parameter {explanation.subject} leaks to {explanation.sink}"
        if explanation.derefs:
            header += f" with derefs={explanation.derefs}"
    else:
        header = f"{explanation.subject} escapes to heap"
    if explanation.function:
        header += f" in {explanation.function}"
    sink = explanation.flows[-1].sink if explanation.flows else None
    return Chain(header, tuple(hops), explanation.truncated, omitted, sink)


def _leak_kind(event: EscapeEvent) -> str:
    leak = event.leak
    if leak is None or leak.kind is LeakKind.HEAP:
        return "leaks"
    if leak.kind is LeakKind.CONTENT:
        return "content leaks"
    level = "" if leak.level is None else f" (level {leak.level})"
    return f"leaks to result {leak.result}{level}"


def _without_directory(text: str, directory: str | None) -> str:
    if not directory or not (directory.startswith("/") or directory[1:3] in (":\\", ":/")):
        return text  # a relative directory ("kv") could also be part of an expression
    return text.replace(directory + ("\\" if "\\" in directory else "/"), "")


def finding_order(finding: Finding) -> tuple:
    """The order a diff or a gate lists findings in: package, file, line, column, then fingerprint."""
    at = finding.event.position
    return (finding.event.package or "", at.file, at.line, at.column or 0, finding.fingerprint)


def finding_record(finding: Finding, file: str) -> dict:
    """One finding as the diff's and the gate's JSON list it, with `file` as the document shows it."""
    at = finding.event.position
    return {
        "fingerprint": finding.fingerprint,
        "package": finding.event.package,
        "function": finding.function,
        "category": finding.category,
        "kind": finding.event.kind.value,
        "expr": finding.event.expr,
        "file": file,
        "line": at.line,
        "column": at.column,
        "reason": finding.reason,
    }


def heap_sites(findings: Iterable[Finding]) -> list[Site]:
    """The Sites of a diff's or a gate's findings (`heap_site` each), in `finding_order`."""
    return [heap_site(f) for f in sorted(findings, key=finding_order)]


def heap_site(finding: Finding, sources: SourceLocator | None = None) -> Site:
    """The Site of one heap finding (an `escape` or `moved` event) outside any page, as a diff lists
    them: positions in full (no package directory to leave out), and no source line unless `sources`."""
    return _site(finding, None if sources is None else _SourceCache(sources), None)


def _site(
    finding: Finding,
    cache: _SourceCache | None,
    directory: str | None,
    views: dict[str, ViewedFile] | None = None,
    callees: InlinedCallees | None = None,
) -> Site:
    event = finding.event
    home = event.position.file
    category = finding.category or "unclassified"
    reason = finding.reason or ""
    chains = distinct_chains(_chain(e, home, directory, finding.step) for e in event.explanations)
    # The callees' chains after the caller's: where each one sends the value it was passed.
    chains += tuple(
        _chain(replace(f.explanation, function=f.explanation.function or f.callee), home, directory, finding.step)
        for f in finding.followed
    )
    view = views.get(home) if views else None
    path = cache.path(home) if cache is not None else None
    texts = [event.expr, reason, *(t for c in chains for h in c.hops for t in (h.source, h.sink, *(s.expr for s in h.steps)))]
    return Site(
        anchor=f"s-{finding.fingerprint}",
        category=category,
        kind=event.kind.value,
        expr=event.expr,
        at=_place(event.position, None, directory),
        function=finding.function,
        inlined_from=finding.inlined_from,
        reason=reason,
        shown_reason=_without_directory(reason, directory),
        message=site_message(event.kind.value, event.expr, reason),
        fingerprint=finding.fingerprint,
        source=None if cache is None else _source_line(cache, event.position),
        chains=chains,
        source_href=None if view is None else f"{view.stem}.html#L{event.position.line}",
        local_path=None if path is None else str(path.resolve()),
        callee_href=None if callees is None or not finding.inlined_from else callees.href(finding.inlined_from),
        temporaries=temporaries_in(texts),
        allocates=finding.allocates,
        allocates_reason=None if finding.allocates else _without_directory(finding.allocates_reason or "", directory),
    )


def distinct_chains(chains: Iterable[Chain]) -> tuple[Chain, ...]:
    """One chain per distinct explanation, in first-printed order, with how often it was printed: the
    compiler prints the same explanation again for each path it walks to the same sink."""
    counts: dict[Chain, int] = {}
    for chain in chains:
        counts[chain] = counts.get(chain, 0) + 1
    return tuple(chain if n == 1 else replace(chain, repeats=n) for chain, n in counts.items())


def source_view_stem(file: str, page_stem: str) -> str:
    """A source view's page name: "src_" + a slug of the file's base name + a hash of the file name and
    its package page's stem (a file built into two packages, a package and its test variant, gets a
    view in each), so that names never clash and only [A-Za-z0-9_] appear."""
    digest = hashlib.sha256(f"{file}\0{page_stem}".encode("utf-8", "surrogatepass")).hexdigest()[:12]
    slug = _UNSAFE.sub("_", _split(file)[1]).strip("_")[-40:].lstrip("_") or "file"
    return f"src_{slug}_{digest}"


class InlinedCallees:
    """Where the inlinable functions of the packages read so far are declared, as source view links.

    An inlined copy of a callee's allocation ("inlining call to kv.New") names the callee by package
    name; its declaration is where that package's output said "can inline New". go build prints a
    package after its dependencies, so a callee's package has been read before its callers. A name
    two packages share (two packages named `rand`) links nowhere.
    """

    def __init__(self) -> None:
        self._hrefs: dict[str, str | None] = {}

    def add(self, output: PackageOutput, views: dict[str, ViewedFile]) -> None:
        package_name = _package_name(output.path)
        for remark in output.remarks:
            if remark.kind != "can_inline" or remark.position is None or not remark.function:
                continue
            view = views.get(remark.position.file)
            if view is None:
                continue
            name = remark.function
            if package_name and not name.startswith(package_name + "."):
                name = f"{package_name}.{name}"
            href = f"{view.stem}.html#L{remark.position.line}"
            self._hrefs[name] = href if self._hrefs.get(name, href) == href else None

    def href(self, callee: str) -> str | None:
        return self._hrefs.get(callee)


def _package_name(path: str | None) -> str | None:
    """The name a package is usually declared with: its import path's last element (before a /vN)."""
    if not path:
        return None
    parts = path.split("/")
    if len(parts) > 1 and re.fullmatch(r"v\d+", parts[-1]):
        return parts[-2]
    return parts[-1]


class _FunctionBuilder:
    """One function's section while its package's findings are read, in order of first appearance."""

    def __init__(self, name: str, order: int) -> None:
        self.name = name
        self.order = order
        self.sites: list[Site] = []
        self.inlined: dict[str, list[Site]] = {}
        self.leaks: list[LeakingParam] = []
        self.static: list[Site] = []
        self.stack_values = 0
        self.counts: dict[str, int] = {}

    def build(self) -> FunctionSection:
        return FunctionSection(
            name=self.name,
            anchor=_anchor("f", self.name),
            sites=tuple(self.sites),
            inlined=tuple(InlinedGroup(callee, tuple(sites)) for callee, sites in self.inlined.items()),
            leaks=tuple(self.leaks),
            stack_values=self.stack_values,
            counts=category_counts(self.counts),
            total=sum(self.counts.values()),
            order=self.order,
            static_sites=tuple(self.static),
        )


def package_page(
    package: PackageFindings,
    sources: SourceLocator | None = None,
    stem: str | None = None,
    costs: CostAttribution | None = None,
    *,
    source_pages: str = "none",
    callees: InlinedCallees | None = None,
) -> PackagePage:
    """The page of one package: its functions in order of first appearance, each with its sites,
    inlined copies grouped by callee, leaking parameters and the count of values kept on the stack.

    With `costs` (a heap profile joined to the build), every site and function carries its figures,
    the functions come in order of bytes, most first (then in order of appearance), and so do the
    sites within each; the sites the profile never saw allocate come last and are listed apart.

    `source_pages` (SOURCE_PAGE_CHOICES) says which of its files get a source view; the sites and
    leaking parameters there link to their lines. `callees` knows the declarations of the inlinable
    functions read so far: an inlined copy links to its callee's line; this package's are added.
    """
    if source_pages not in SOURCE_PAGE_CHOICES:
        raise ValueError(f"source_pages must be one of {', '.join(SOURCE_PAGE_CHOICES)}, not {source_pages!r}")
    output = package.output
    cache = _SourceCache(sources or SourceLocator())
    directory = package_directory(output)
    stem = stem or page_stem(output.path, output.test_variant)
    views = _viewed_files(output, cache, directory, stem, source_pages)
    if callees is not None:
        callees.add(output, views)
    functions: dict[str, _FunctionBuilder] = {}
    counts: dict[str, int] = {}
    leaking = stack = static = 0
    for finding in package.findings:
        event = finding.event
        name = finding.declared_in or UNKNOWN_FUNCTION
        function = functions.get(name)
        if function is None:
            function = functions[name] = _FunctionBuilder(name, len(functions))
        if event.kind is EventKind.NOESCAPE:
            function.stack_values += 1
            stack += 1
        elif event.kind is EventKind.LEAK:
            sinks = tuple(dict.fromkeys(e.sink for e in event.explanations if e.sink))
            at = _place(event.position, None, directory)
            view = views.get(event.position.file)
            href = None if view is None else f"{view.stem}.html#L{event.position.line}"
            function.leaks.append(LeakingParam(event.expr, _leak_kind(event), at, sinks, href))
            leaking += 1
        else:
            site = _site(finding, cache, directory, views, callees)
            if not site.allocates:
                # Counted apart: reports count allocations, not escape lines.
                function.static.append(site)
                static += 1
                continue
            if costs is not None:
                site = with_cost(site, finding, costs)
            if site.inlined_from:
                function.inlined.setdefault(site.inlined_from, []).append(site)
            else:
                function.sites.append(site)
            function.counts[site.category] = function.counts.get(site.category, 0) + 1
            counts[site.category] = counts.get(site.category, 0) + 1
    path = output.path if output.path is not None else "(no package)"
    sections = tuple(f.build() for f in functions.values() if f.sites or f.inlined or f.leaks or f.static)
    page_cost = None
    idle: tuple[Site, ...] = ()
    if costs is not None:
        sections, page_cost, idle = _ranked_by_cost(sections, costs)
    temporaries: dict[str, Temporary] = {}
    for section in sections:
        for site in (*section.sites, *(s for g in section.inlined for s in g.sites)):
            for temporary in site.temporaries:
                temporaries.setdefault(temporary.name, temporary)
    return PackagePage(
        path=path,
        test_variant=output.test_variant,
        stem=stem,
        directory=directory,
        functions=sections,
        counts=category_counts(counts),
        total=sum(counts.values()),
        leaking_params=leaking,
        stack_values=stack,
        errors=tuple(CompilerMessage(None if e.position is None else str(e.position), e.message) for e in output.errors),
        unclaimed=len(output.unclaimed),
        unrecognized=len(output.unrecognized),
        source_files=package.source_files,
        cost=page_cost,
        idle_sites=idle,
        static_sites=static,
        explained=bool(output.unclaimed) or any(e.explanations for e in output.events),
        viewed_files=tuple(sorted(views.values(), key=lambda v: (v.name, v.file))),
        temporaries=tuple(temporaries.values()),
    )


def with_cost(site: Site, finding: Finding, costs: CostAttribution) -> Site:
    """`site` (the Site of `finding`) with its heap profile figures; its bar is set by the page."""
    cost = costs.of(finding)
    if cost is None:
        return site
    shared = []
    for line in cost.shared_with:
        other = costs.heap_sites[line].event
        where = f"{other.position.line}:{other.position.column}" if other.position.column else f"{other.position.line}"
        shared.append(f"{where} {other.expr}")
    # `bar` is set once the page's costliest site is known (_ranked_by_cost).
    return replace(site, cost=Cost(cost.figures.bytes, cost.figures.objects, cost.share, cost.exercised, 0.0, tuple(shared)))


def _site_bytes(site: Site) -> int:
    return site.cost.bytes if site.cost is not None else 0


def _ranked_by_cost(sections: tuple[FunctionSection, ...], costs: CostAttribution):
    """The sections with bars, in order of bytes (stable); the page's figures; its unexercised sites."""
    sites = [s for f in sections for s in (*f.sites, *(s for g in f.inlined for s in g.sites))]
    costliest_site = max((_site_bytes(s) for s in sites), default=0) or 1

    def with_bar(site: Site) -> Site:
        if site.cost is None:
            return site
        return replace(site, cost=replace(site.cost, bar=site.cost.bytes / costliest_site))

    def by_bytes(items: tuple[Site, ...]) -> tuple[Site, ...]:
        return tuple(sorted((with_bar(s) for s in items), key=lambda s: -_site_bytes(s)))

    grand = costs.facts.total.bytes
    ranked = []
    for section in sections:
        own = by_bytes(section.sites)
        groups = tuple(replace(g, sites=by_bytes(g.sites)) for g in section.inlined)
        all_sites = [*own, *(s for g in groups for s in g.sites)]
        total = sum(_site_bytes(s) for s in all_sites)
        objects = sum(s.cost.objects for s in all_sites if s.cost is not None)
        exercised = any(s.cost is not None and s.cost.exercised for s in all_sites)
        ranked.append((section, own, groups, total, objects, exercised))
    costliest_function = max((r[3] for r in ranked), default=0) or 1
    result = []
    for section, own, groups, total, objects, exercised in ranked:
        cost = None
        if section.total:
            cost = Cost(total, objects, total / grand if grand else 0.0, exercised, total / costliest_function)
        result.append(replace(section, sites=own, inlined=groups, cost=cost))
    result.sort(key=lambda f: -(f.cost.bytes if f.cost is not None else 0))
    page_bytes = sum(f.cost.bytes for f in result if f.cost is not None)
    page_objects = sum(f.cost.objects for f in result if f.cost is not None)
    idle = tuple(s for f in result for s in (*f.sites, *(s for g in f.inlined for s in g.sites)) if s.cost is not None and not s.cost.exercised)
    page_cost = Cost(page_bytes, page_objects, page_bytes / grand if grand else 0.0, page_bytes > 0 or page_objects > 0, 1.0)
    return tuple(result), page_cost, idle


def _viewed_files(
    output: PackageOutput, cache: _SourceCache, directory: str | None, page_stem: str, mode: str
) -> dict[str, ViewedFile]:
    """The files of the package's heap sites and leaking parameters that get a source view, by name."""
    if mode == "none":
        return {}
    views: dict[str, ViewedFile] = {}
    for event in output.events:
        file = event.position.file
        if event.kind is EventKind.NOESCAPE or file in views:
            continue
        lines = cache.lines(file)
        if lines is None:
            continue
        if mode == "module" and not (_split(file)[0] == directory or cache.in_module(file)):
            continue
        path = cache.path(file)
        if lines and lines[-1] == "":  # the newline that ends the last line starts none
            lines = lines[:-1]
        views[file] = ViewedFile(file, _split(file)[1], source_view_stem(file, page_stem),
                                 tuple(line.rstrip("\r") for line in lines), str(path.resolve()))  # fmt: skip
    return views
