"""Check escapelint against the escape analysis of the whole Go standard library.

For each requested toolchain this runs, in an empty temporary directory and with
the toolchain's hermetic environment (see ``toolchains.py``)::

    go build -gcflags=-m=2 std                          # Go 1.19-1.24
    go build '-gcflags=-m=2 -d=escapedebug=1' std       # Go 1.25+, as escapelint audit builds

keeps the combined stdout+stderr as ``std-go<version>.txt`` (in a temporary
directory, or in ``--keep DIR``), streams it through ``BuildReader`` and checks:

(a) no line is left unrecognized (the first 20 are listed with line numbers);
(b) escape + moved events == summary lines counted without escapelint: the body
    after the optional position prefix is not indented and either ends with
    " escapes to heap" or starts with "moved to heap: ";
(c) leak events == lines whose body starts with "leaking param";
(d) the line roles are balanced (every line has exactly one role);
(e) the rule engine gives every escape/moved event a category and every event a function;
(f) ``escapelint report --format json`` writes the same bytes with ``--jobs 2``
    (two worker processes, escapelint/workflows/parallel.py) as with ``--jobs 1``;

plus, when it ran the build itself, that ``go build`` exited 0. Each check
prints a PASS/FAIL line with its numbers, followed by the totals (lines,
packages, events per kind, roles), the parse's wall time and lines/s, the
category distribution, ``leaking-call`` before and after following callees
(where the followed sites went, what the rest say of their callee), the heap
events that borrow an identical site's explanation and the unclaimed "escapes to
heap" explanations, and the unclassified events grouped by reason, and how many heap events
allocate: the share the compiler serves from static data (``allocates: false``), by static path.
Packages are counted as they stream past and never kept.

Usage::

    python scripts/check_std.py --go 1.22.10 [--go 1.27.3 ...] [--keep DIR]
    python scripts/check_std.py --input std.txt [--go 1.22.10]   # no build; --go only names it

Exit status: 0 if every check passes for every version, 1 if one fails,
2 on a usage error or a missing toolchain.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from escapelint.analyze.findings import analyze
from escapelint.analyze.leaks import LeakSummaries
from escapelint.analyze.source import SourceLocator
from escapelint.events import BuildStats, EventKind, LineRole, UnrecognizedLine
from escapelint.read.assembler import BuildReader
from escapelint.workflows.gobuild import escape_flags

if __package__:
    from .toolchains import Toolchain, find
else:  # run as a script: scripts/ is on sys.path
    from toolchains import Toolchain, find

#: Position prefix of a compiler line; lines without one (package headers, some errors) have none.
POSITION = re.compile(r"^(?:(?:[A-Za-z]:[\\/])?[^\n:]+:\d+(?::\d+)?|<unknown line number>): ")
def build_args(version: str) -> tuple[str, ...]:
    """The build of std with the flags escapelint's own builds use on that version (workflows/gobuild.py)."""
    return ("build", f"-gcflags={escape_flags('go' + version)}", "std")

#: How many unrecognized lines to list.
SHOWN_UNRECOGNIZED = 20


def open_build_output(path: Path):
    """Open recorded compiler output the way escapelint does."""
    return open(path, encoding="utf-8", errors="replace", newline="")


def output_name(version: str) -> str:
    return f"std-go{version}.txt"


@dataclass(frozen=True)
class Build:
    """One `go build -gcflags=-m=2 std` run and where its output went."""

    output: Path
    exit_code: int
    seconds: float


def build_std(toolchain: Toolchain, output: Path) -> Build:
    """Build std with -m=2, writing combined stdout+stderr to `output`."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="escapelint-std-") as cwd, output.open("wb") as out:
        proc = subprocess.run(
            [str(toolchain.go), *build_args(toolchain.version)],
            cwd=cwd,
            env=toolchain.env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    return Build(output, proc.returncode, time.perf_counter() - start)


@dataclass
class RawCounts:
    """Summary lines counted by plain string tests, without escapelint."""

    lines: int = 0
    heap: int = 0  # "X escapes to heap" and "moved to heap: x"
    leaks: int = 0  # "leaking param: p", "leaking param content: p", ...


def count_raw(lines: Iterable[str]) -> RawCounts:
    counts = RawCounts()
    for raw in lines:
        counts.lines += 1
        text = raw.rstrip("\r\n")
        match = POSITION.match(text)
        body = text[match.end() :] if match else text
        if not body or body[0] in " \t":
            continue
        if body.endswith(" escapes to heap") or body.startswith("moved to heap: "):
            counts.heap += 1
        elif body.startswith("leaking param"):
            counts.leaks += 1
    return counts


@dataclass
class ParseResult:
    """What one streaming pass of BuildReader over the output leaves behind: counters, no packages."""

    stats: BuildStats
    seconds: float
    unrecognized: int = 0
    first_unrecognized: list[tuple[str | None, UnrecognizedLine]] = field(default_factory=list)
    analysis_seconds: float = 0.0
    categories: Counter = field(default_factory=Counter)
    unclassified_reasons: Counter = field(default_factory=Counter)
    allocating: int = 0  # escape/moved events that allocate (analyze/allocation.py)
    static_reasons: Counter = field(default_factory=Counter)  # the others, by static path
    uncategorized: int = 0  # escape/moved events without a category (must stay 0)
    without_function: int = 0  # events of any kind with no function (must stay 0)
    leaking_before: int = 0  # heap events whose own chain ends at a call: leaking-call before following
    leaking_after: Counter = field(default_factory=Counter)  # what leaking-call says of the callee, by kind
    followed_into: Counter = field(default_factory=Counter)  # the categories of the sites followed out of it
    borrowed: int = 0  # heap events with no explanation of their own, sharing an identical site's
    unclaimed_escapes: int = 0  # "X escapes to heap:" explanations no summary claimed


def parse(path: Path) -> ParseResult:
    """One streaming pass: parse every package, then run the rule engine on it (timed apart)."""
    reader = BuildReader()
    result = ParseResult(reader.stats, 0.0)
    sources = SourceLocator(None)  # std positions are absolute GOROOT paths
    leaks = LeakSummaries()  # as escapelint report fills it
    start = time.perf_counter()
    with open_build_output(path) as lines:
        for package in reader.packages(lines):
            result.unrecognized += len(package.unrecognized)
            result.unclaimed_escapes += sum(1 for e in package.unclaimed if e.sink is None)
            room = SHOWN_UNRECOGNIZED - len(result.first_unrecognized)
            result.first_unrecognized.extend((package.path, u) for u in package.unrecognized[:room])
            analysis_start = time.perf_counter()
            leaks.add_output(package)
            for finding in analyze(package, sources, leaks).findings:
                result.without_function += finding.function is None
                if finding.event.kind in (EventKind.ESCAPE, EventKind.MOVED):
                    result.uncategorized += finding.category is None
                    result.categories[finding.category] += 1
                    result.borrowed += "(explained once for identical inlined copies" in (finding.reason or "")
                    if finding.allocates:
                        result.allocating += 1
                    else:
                        result.static_reasons[_static_path(finding.allocates_reason or "")] += 1
                    if finding.category == "unclassified":
                        result.unclassified_reasons[_reason_shape(finding.reason)] += 1
                    _count_leaking_call(result, finding)
            result.analysis_seconds += time.perf_counter() - analysis_start
    result.seconds = time.perf_counter() - start - result.analysis_seconds
    return result


#: What leaking-call says of a callee it could not follow, by the words of its reason (rules/leaking_call.py).
_CALLEE_KINDS = (
    ("the builtin `panic`", "builtin panic"),
    ("an interface method or a function value", "interface method or function value"),
    ("a function of another package whose leak", "function of a package not in the input"),
    ("whose parameter's leak the output does not explain", "callee without a leak explanation"),
    ("leaks to no place a rule names", "followed to no destination a rule names"),
    ("passed to a callee that lets it escape", "call not parsed"),
)


def _count_leaking_call(result: ParseResult, finding) -> None:
    """leaking-call before following (the site's own chain ends at a call) and after, by callee kind."""
    before = finding.category == "leaking-call" or bool(finding.followed) or finding.reason.startswith("appended to ")
    if not before:
        return
    result.leaking_before += 1
    if finding.category != "leaking-call":
        via = "append" if finding.reason.startswith("appended to ") else "callee"
        result.followed_into[f"{finding.category} (through {via})"] += 1
        return
    last = finding.reason.rsplit(", whose parameter ", 1)[-1]
    kind = next((name for words, name in _CALLEE_KINDS if words in last), "other")
    result.leaking_after[("followed, then " if finding.followed else "") + kind] += 1


def _static_path(reason: str) -> str:
    """What serves a non-allocating site, and on whose word: the compiler's convert: line or escapelint's."""
    witness = "compiler's convert: line" if "convert: using global" in reason else "expression or source"
    for path in ("read-only static data", "zerobase", "staticuint64s", "zeroVal", "static function value"):
        if path in reason:
            return f"{path} ({witness})"
    return f"other ({witness})"


def _reason_shape(reason: str) -> str:
    """An unclassified reason with its names and positions blanked, so alike reasons count together."""
    return re.sub(r"`[^`]*`", "`…`", reason).split(" at ")[0][:110]


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    numbers: str
    details: tuple[str, ...] = ()


def checks(result: ParseResult, raw: RawCounts) -> list[Check]:
    stats = result.stats
    events = stats.events
    heap_events = events[EventKind.ESCAPE] + events[EventKind.MOVED]
    roles_total = sum(stats.roles.values())
    shown = tuple(
        f"  line {u.line} ({path or 'no package'}): {u.text}" for path, u in result.first_unrecognized
    )
    return [
        Check("(a) no unrecognized lines", result.unrecognized == 0, f"{result.unrecognized} unrecognized", shown),
        Check(
            "(b) escape+moved events == raw heap summary lines",
            heap_events == raw.heap,
            f"{events[EventKind.ESCAPE]} escape + {events[EventKind.MOVED]} moved = {heap_events}, raw {raw.heap}",
        ),
        Check(
            "(c) leak events == raw 'leaking param' lines",
            events[EventKind.LEAK] == raw.leaks,
            f"{events[EventKind.LEAK]} leak, raw {raw.leaks}",
        ),
        Check(
            "(e) every heap event has a category, every event a function",
            result.uncategorized == 0 and result.without_function == 0,
            f"{result.uncategorized} heap events without a category, {result.without_function} events without a function",
        ),
        Check(
            "(d) line roles balanced",
            stats.balanced() and stats.lines == raw.lines,
            f"sum of roles {roles_total}, escapelint lines {stats.lines}, raw lines {raw.lines}",
        ),
    ]


def parallel_check(path: Path) -> Check:
    """(f): the JSON report of two worker processes is byte for byte the one of one process."""
    digests, seconds = {}, {}
    with tempfile.TemporaryDirectory(prefix="escapelint-check-") as tmp:
        for jobs in ("1", "2"):
            report = Path(tmp) / f"jobs{jobs}.json"
            args = [sys.executable, "-m", "escapelint", "report", str(path), "--format", "json"]
            args += ["--output", str(report), "--jobs", jobs, "-q"]
            start = time.perf_counter()
            done = subprocess.run(args, capture_output=True, text=True, check=False)
            seconds[jobs] = time.perf_counter() - start
            if done.returncode != 0:
                return Check("(f) same JSON report with --jobs 2 as with --jobs 1", False, f"--jobs {jobs} exited {done.returncode}", (done.stderr[-2000:],))
            digest = hashlib.sha256()
            with report.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
            digests[jobs] = digest.hexdigest()
    return Check(
        "(f) same JSON report with --jobs 2 as with --jobs 1",
        digests["1"] == digests["2"],
        f"sha256 {digests['2'][:16]} in {seconds['2']:.1f} s, --jobs 1 {digests['1'][:16]} in {seconds['1']:.1f} s",
    )


def print_check(check: Check) -> None:
    print(f"{'PASS' if check.passed else 'FAIL'}  {check.name}: {check.numbers}")
    for detail in check.details:
        print(detail)


def print_totals(result: ParseResult) -> None:
    stats = result.stats
    rate = stats.lines / result.seconds if result.seconds else float("inf")
    print(f"lines {stats.lines:,}; packages {stats.packages:,}")
    print("events   " + ", ".join(f"{kind.value} {stats.events[kind]:,}" for kind in EventKind))
    print("roles    " + ", ".join(f"{role.value} {stats.roles[role]:,}" for role in LineRole))
    print(f"parse    {result.seconds:.1f} s wall, {rate:,.0f} lines/s; rule engine {result.analysis_seconds:.1f} s")
    heap = sum(result.categories.values())
    print(f"categories of {heap:,} escape+moved events:")
    for category, count in result.categories.most_common():
        print(f"  {category:<20} {count:>7,}  {count / heap:6.1%}")
    after = sum(result.leaking_after.values())
    print(
        f"leaking-call before following callees {result.leaking_before:,} ({result.leaking_before / max(1, heap):.1%}), "
        f"after {after:,} ({after / max(1, heap):.1%}); the others are now:"
    )
    for category, count in result.followed_into.most_common():
        print(f"  {category:<45} {count:>7,}")
    print("leaking-call after following, by callee:")
    for kind, count in result.leaking_after.most_common():
        print(f"  {kind:<45} {count:>7,}")
    print(
        f"reader: {result.borrowed:,} heap events borrow an identical site's explanation, "
        f"{result.unclaimed_escapes:,} 'escapes to heap' explanations unclaimed"
    )
    if result.unclassified_reasons:
        print("unclassified, by reason:")
        for reason, count in result.unclassified_reasons.most_common(8):
            print(f"  {count:>6,}  {reason}")
    static = sum(result.static_reasons.values())
    print(
        f"allocations: {result.allocating:,} of {heap:,} heap events allocate; {static:,} "
        f"({static / max(1, heap):.1%}) are served from static data:"
    )
    for path, count in result.static_reasons.most_common():
        print(f"  {path:<50} {count:>7,}  {count / max(1, heap):6.1%}")


def check_output(title: str, path: Path, build: Build | None) -> bool:
    """Run every check on one recorded output, print the results; True if all pass."""
    print(f"== {title}: {path}")
    results = []
    if build is not None:
        results.append(Check("go build exited 0", build.exit_code == 0, f"exit {build.exit_code} after {build.seconds:.1f} s"))
    with open_build_output(path) as lines:
        raw = count_raw(lines)
    result = parse(path)
    results += checks(result, raw)
    results.append(parallel_check(path))
    for check in results:
        print_check(check)
    print_totals(result)
    return all(check.passed for check in results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--go", action="append", default=[], metavar="VERSION", help="toolchain to build std with (repeatable)")
    parser.add_argument("--input", type=Path, metavar="FILE", help="check this recorded output instead of building; --go then only names it")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep std-go<version>.txt here instead of in a temporary directory")
    args = parser.parse_args(argv)

    if args.input is not None:
        if len(args.go) > 1:
            parser.error("--input takes at most one --go (the version it was recorded with)")
        if not args.input.is_file():
            parser.error(f"{args.input}: no such file")
        passed = check_output(f"go{args.go[0]}" if args.go else args.input.name, args.input, None)
        print(f"check_std: {'PASS' if passed else 'FAIL'}")
        return 0 if passed else 1
    if not args.go:
        parser.error("give at least one --go VERSION, or --input FILE")

    toolchains = []
    for version in args.go:
        toolchain = find(version)
        if toolchain is None:
            print(f"go{version}: not installed (python scripts/toolchains.py install {version})", file=sys.stderr)
            return 2
        toolchains.append(toolchain)

    verdicts = {}
    with tempfile.TemporaryDirectory(prefix="escapelint-check-std-") as tmp:
        out_dir = args.keep or Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        for toolchain in toolchains:
            print(f"go{toolchain.version}: go {' '.join(build_args(toolchain.version))} ...", flush=True)
            build = build_std(toolchain, out_dir / output_name(toolchain.version))
            verdicts[toolchain.version] = check_output(f"go{toolchain.version}", build.output, build)
            print(flush=True)
    failed = [version for version, passed in verdicts.items() if not passed]
    summary = ", ".join(f"go{v} {'PASS' if p else 'FAIL'}" for v, p in verdicts.items())
    print(f"check_std: {'FAIL' if failed else 'PASS'} ({summary})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
