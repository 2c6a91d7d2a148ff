"""What the workflows print for people: progress while Go builds, summaries, the gate's verdicts, warnings.

Text that comes from the input or the build (file names from `//line` directives, expressions,
unrecognized lines, compiler messages) is shown with its control characters escaped, as `go vet`
and git do (`\\x1b`, `\\t`): it must not move the cursor, recolour or retitle the user's terminal.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from escapelint.events import BuildStats, LineRole
from escapelint.report.wording import (
    UNKNOWN_FUNCTION,
    bytes_text,
    site_message,
    static_note,
)

if TYPE_CHECKING:  # for annotations only: `report` with every package from the cache loads no rule
    from escapelint.analyze.cost import CostAttribution
    from escapelint.analyze.findings import Finding
    from escapelint.report.warnings import InputWarning
    from escapelint.workflows.audit import BuildFailedError, BuildResult, GenericDeclaration
    from escapelint.workflows.gate import CheckOutcome

_NAMED_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\b": "\\b", "\f": "\\f", "\v": "\\v", "\a": "\\a"}
#: Besides the C0 and C1 controls and DEL: the line separators and the bidirectional overrides and
#: isolates, which reorder what a terminal shows ("Trojan Source").
_INVISIBLE = {"\u2028", "\u2029", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)), "\u200e", "\u200f"}


def _escaped(char: str) -> str:
    named = _NAMED_ESCAPES.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: object) -> str:
    """`text` with every control character shown as an escape (`\\x1b`, `\\t`), the rest as it is."""
    text = str(text)
    if text.isprintable():  # the common case, and spaces are printable
        return text
    return "".join(_escaped(c) if _is_control(c) else c for c in text)


def _is_control(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code < 0xA0 or char in _INVISIBLE


def print_warnings(warnings: Iterable[InputWarning], out: TextIO | None = None) -> None:
    """One `escapelint: warning: ...` line per warning."""
    out = out if out is not None else sys.stderr  # looked up now: tests and typer swap the streams
    for warning in warnings:
        print(f"escapelint: warning: {escape_controls(warning.message)}", file=out)


def report_summary(stats: BuildStats, out: TextIO | None = None) -> None:
    """The `report` command's one line: lines, packages, events per kind, unrecognized lines."""
    out = out if out is not None else sys.stderr  # looked up now: tests and typer swap the streams
    events = ", ".join(f"{n} {k.value}" for k, n in sorted(stats.events.items())) or "no events"
    print(
        f"escapelint: {stats.lines} lines, {stats.packages} packages: {events}; "
        f"{stats.roles[LineRole.UNRECOGNIZED]} unrecognized lines",
        file=out,
    )


@contextmanager
def progress_bar(enabled: bool, label: str = "escape analysis"):
    """A rich progress bar on stderr (packages done / total) when stderr is a terminal, else nothing."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.progress import Progress as RichProgress

    with RichProgress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[package]}"),
        TimeElapsedColumn(),
        transient=True,
        console=None,
    ) as bar:
        task = bar.add_task(label, total=None, package="")

        def update(done: int, total: int | None, package: str | None) -> None:
            bar.update(task, completed=done, total=total, package=package or "")

        yield update


def print_build_failure(error: BuildFailedError, out: TextIO | None = None) -> None:
    out = out if out is not None else sys.stderr  # looked up now: tests and typer swap the streams
    print(
        f"escapelint: the Go build failed (exit {error.returncode}): {escape_controls(error.command.display())}",
        file=out,
    )
    for package, compiler_error in error.errors[:50]:
        where = f"{compiler_error.position}: " if compiler_error.position is not None else ""
        prefix = f"[{package}] " if package else ""
        # A message's continuation lines are tab-indented by the compiler: keep them as lines.
        first, *rest = compiler_error.message.split("\n")
        print(f"  {escape_controls(prefix + where + first)}", file=out)
        for line in rest:
            print(f"      {escape_controls(line.lstrip(chr(9)))}", file=out)
    if len(error.errors) > 50:
        print(f"  ... and {len(error.errors) - 50} more errors", file=out)
    if error.other_lines:
        print("  the build also printed:" if error.errors else "  the build printed:", file=out)
        for line in error.other_lines:
            print(f"  {escape_controls(line)}", file=out)
    if not error.errors and not error.other_lines:
        print("  (the build printed nothing else; run the command yourself)", file=out)


def audit_summary(result: BuildResult, report_locations: list[str], out: TextIO | None = None) -> None:
    """A short terminal summary: totals per category, the functions that allocate most, where reports are."""
    out = out if out is not None else sys.stderr  # looked up now: tests and typer swap the streams
    # Allocations, not escape lines: the escapes the compiler serves from static data are counted apart.
    every = list(result.heap_findings())
    heap = [f for f in every if f.allocates]
    categories = Counter(f.category for f in heap)
    # By the declared function, closures and instantiations counted in it: the function sections of
    # the report's pages, whose largest the HTML index names as a package's worst function.
    functions = Counter((f.event.package, f.declared_in or UNKNOWN_FUNCTION) for f in heap)
    packages = sum(1 for p in result.packages if p.output.path is not None)
    command = escape_controls(result.command.display())
    allocations = f"{len(heap)} heap allocation{'s' * (len(heap) != 1)}{static_note(len(every) - len(heap))}"
    print(f"escapelint: {allocations} in {packages} packages ({command})", file=out)
    for category, count in sorted(categories.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {count:>6}  {category:<20} {_rules()[category].title}", file=out)
    if functions:
        print("  functions with the most heap allocations (closures counted in the function that declares them):", file=out)
        for (package, function), count in functions.most_common(5):
            print(f"  {count:>6}  {escape_controls(f'{package}.{function}')}", file=out)
    for location in report_locations:
        print(f"  report: {escape_controls(location)}", file=out)
    unrecognized = [(p.output.path, u) for p in result.packages for u in p.output.unrecognized]
    if unrecognized:
        print(f"  {len(unrecognized)} output lines escapelint did not recognise, for example:", file=out)
        for package, line in unrecognized[:3]:
            print(f"    [{escape_controls(package)}] {escape_controls(line.text[:160])}", file=out)


def print_note(message: str, out: TextIO | None = None) -> None:
    """One `escapelint: note: ...` line: something that explains a result, not a warning."""
    out = out if out is not None else sys.stderr  # looked up now: tests and typer swap the streams
    print(f"escapelint: note: {escape_controls(message)}", file=out)


def uninstantiated_generics_note(declarations: list[GenericDeclaration], root: Path, *, tests: bool) -> str:
    """Why a build of generic code has no heap escape, and what to build instead."""
    first = declarations[0]
    try:
        file = first.file.relative_to(root.resolve()).as_posix()
    except ValueError:
        file = str(first.file)
    n = len(declarations)
    advice = "build a package that instantiates them" if tests else "pass --tests if the tests instantiate them, or build a package that does"
    return (
        f"the compiler reports escapes of a generic function only where it is instantiated, and the packages "
        f"built declare {n} generic function{'s' * (n != 1)} or type{'s' * (n != 1)} ({file}:{first.line}: {first.name}) "
        f"but instantiate none of them here: {advice}"
    )


def cost_summary(costs: CostAttribution, out: TextIO | None = None, top: int = 10) -> None:
    """The heap profile's verdict: the costliest sites with their category and fix, the costliest
    functions, the bytes at lines without a site, and what the profile did not exercise."""
    out = out if out is not None else sys.stderr  # looked up now: tests and typer swap the streams
    facts = costs.facts
    total = facts.total.bytes
    profiles = len(facts.files)
    print(
        f"escapelint: heap profile{'s' * (profiles != 1)}: {bytes_text(total)} in {facts.total.objects} objects "
        f"sampled; {bytes_text(facts.attributed.bytes)} at heap sites, {bytes_text(facts.unmatched.bytes)} at "
        f"lines without one, {bytes_text(facts.unmapped.bytes)} in {facts.unmapped_samples} samples outside the "
        "build (tests, other packages, the runtime)",
        file=out,
    )
    ranked = [(f, c) for f, c in costs.ranked(costs.heap_sites.values()) if c.exercised]
    if ranked:
        print("  heap sites by bytes allocated:", file=out)
    for finding, cost in ranked[:top]:
        shared = f" (shares its line with {len(cost.shared_with)} other site{'s' * (len(cost.shared_with) != 1)})" if cost.shared_with else ""
        print(
            f"  {bytes_text(cost.figures.bytes):>9} {cost.share:6.1%}  {escape_controls(finding.event.position)}: "
            f"[{finding.category}] {escape_controls(finding.event.expr)} in {escape_controls(finding.function or '?')}{shared}",
            file=out,
        )
        rule = _rules().get(finding.category or "")
        if rule is not None:
            print(f"{'':19}fix: {rule.fix}", file=out)
    functions = [t for t in costs.functions if t.figures.bytes or t.figures.objects]
    if functions:
        print("  functions by bytes allocated at their heap sites:", file=out)
        for total_row in functions[:5]:
            print(f"  {bytes_text(total_row.figures.bytes):>9}  {escape_controls(total_row.key)}", file=out)
    if costs.unmatched:
        print("  bytes at lines where the compiler reports no heap site:", file=out)
    for unmatched in costs.unmatched[:5]:
        what = "slice growth by append, which this Go does not report" if unmatched.slice_growth else "no heap site reported on this line"
        print(
            f"  {bytes_text(unmatched.figures.bytes):>9}  {escape_controls(unmatched.file)}:{unmatched.line}: {what}",
            file=out,
        )
    idle = sum(1 for c in costs.sites.values() if not c.exercised)
    if idle:
        print(f"  {idle} heap site{'s' * (idle != 1)} not exercised by this profile (0 bytes here; not free)", file=out)


def describe(finding: Finding, file_shown: Callable[[str], str] | None = None) -> str:
    """One `check` line: "FILE:LINE:COL: [CATEGORY] " and the site's message as the report model words it.

    `file_shown` names the file (the gate passes RepositoryPaths: relative to the repository's top).
    """
    event = finding.event
    message = site_message(event.kind.value, event.expr, finding.reason or "", function=finding.function or "?")
    position = event.position if file_shown is None else replace(event.position, file=file_shown(event.position.file))
    return escape_controls(f"{position}: [{finding.category}] {message}")


def print_check(
    outcome: CheckOutcome, out: TextIO | None = None, file_shown: Callable[[str], str] | None = None
) -> None:
    out = out if out is not None else sys.stdout  # looked up now: tests and typer swap the streams
    for problem in outcome.problems:
        print(escape_controls(problem), file=out)
    for finding in outcome.new:
        print(describe(finding, file_shown), file=out)
        rule = _rules().get(finding.category or "")
        if rule is not None:
            print(f"    fix: {rule.fix} (escapelint explain {rule.id})", file=out)
    new = len(outcome.new)
    verdict = "FAIL" if new or outcome.problems else "ok"
    print(
        f"escapelint check: {verdict}: {new} new heap escape{'s' * (new != 1)} compared with "
        f"{escape_controls(outcome.compared_with)}; {outcome.known} known, {len(outcome.suppressed)} suppressed"
        + (f", {outcome.static} served from static data (no allocation)" if outcome.static else "")
        + (f", {len(outcome.problems)} malformed suppressions" if outcome.problems else ""),
        file=out,
    )


def _rules():
    from escapelint.rules import RULES  # imported when first needed: a summary of reused results needs none

    return RULES


__all__ = [
    "audit_summary",
    "cost_summary",
    "describe",
    "escape_controls",
    "print_build_failure",
    "print_check",
    "print_note",
    "print_warnings",
    "progress_bar",
    "report_summary",
    "uninstantiated_generics_note",
]
