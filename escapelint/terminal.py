"""What the workflows print for people: progress while Go builds, summaries, the gate's verdicts, warnings.

Text that comes from the input or the build (file names from `//line` directives, expressions,
unrecognized lines, compiler messages) is shown with its control characters escaped, as `go vet`
and git do (`\\x1b`, `\\t`): it must not move the cursor, recolour or retitle the user's terminal.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable
from contextlib import contextmanager
from typing import TextIO

from escapelint.analyze.findings import Finding
from escapelint.events import BuildStats, LineRole
from escapelint.report.page import site_message, static_note
from escapelint.report.warnings import InputWarning
from escapelint.rules import RULES
from escapelint.workflows.audit import BuildFailedError, BuildResult, Progress
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
    functions = Counter((f.event.package, f.function) for f in heap)
    packages = sum(1 for p in result.packages if p.output.path is not None)
    command = escape_controls(result.command.display())
    allocations = f"{len(heap)} heap allocation{'s' * (len(heap) != 1)}{static_note(len(every) - len(heap))}"
    print(f"escapelint: {allocations} in {packages} packages ({command})", file=out)
    for category, count in sorted(categories.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {count:>6}  {category:<20} {RULES[category].title}", file=out)
    if functions:
        print("  functions with the most heap allocations:", file=out)
        for (package, function), count in functions.most_common(5):
            print(f"  {count:>6}  {escape_controls(f'{package}.{function}')}", file=out)
    for location in report_locations:
        print(f"  report: {escape_controls(location)}", file=out)
    unrecognized = [(p.output.path, u) for p in result.packages for u in p.output.unrecognized]
    if unrecognized:
        print(f"  {len(unrecognized)} output lines escapelint did not recognise, for example:", file=out)
        for package, line in unrecognized[:3]:
            print(f"    [{escape_controls(package)}] {escape_controls(line.text[:160])}", file=out)


def describe(finding: Finding) -> str:
    """One `check` line: "FILE:LINE:COL: [CATEGORY] " and the site's message as the report model words it."""
    event = finding.event
    message = site_message(event.kind.value, event.expr, finding.reason or "", function=finding.function or "?")
    return escape_controls(f"{event.position}: [{finding.category}] {message}")


def print_check(outcome: CheckOutcome, out: TextIO | None = None) -> None:
    out = out if out is not None else sys.stdout  # looked up now: tests and typer swap the streams
    for problem in outcome.problems:
        print(escape_controls(problem), file=out)
    for finding in outcome.new:
        print(describe(finding), file=out)
        rule = RULES.get(finding.category or "")
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


__all__ = [
    "Progress",
    "audit_summary",
    "describe",
    "escape_controls",
    "print_build_failure",
    "print_check",
    "print_warnings",
    "progress_bar",
    "report_summary",
]
