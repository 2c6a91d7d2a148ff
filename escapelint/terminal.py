"""What the workflows print for people: progress while Go builds, summaries, the gate's verdicts."""

from __future__ import annotations

import sys
from collections import Counter
from contextlib import contextmanager
from typing import TextIO

from escapelint.analyze.findings import Finding
from escapelint.report.page import site_message
from escapelint.rules import RULES
from escapelint.workflows.audit import BuildFailedError, BuildResult, Progress
from escapelint.workflows.gate import CheckOutcome


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


def print_build_failure(error: BuildFailedError, out: TextIO = sys.stderr) -> None:
    print(f"escapelint: the Go build failed (exit {error.returncode}): {error.command.display()}", file=out)
    for package, compiler_error in error.errors[:50]:
        where = f"{compiler_error.position}: " if compiler_error.position is not None else ""
        prefix = f"[{package}] " if package else ""
        print(f"  {prefix}{where}{compiler_error.message}", file=out)
    if len(error.errors) > 50:
        print(f"  ... and {len(error.errors) - 50} more errors", file=out)
    if not error.errors:
        print("  (the build printed no compiler error escapelint recognised; run the command yourself)", file=out)


def audit_summary(result: BuildResult, report_locations: list[str], out: TextIO = sys.stderr) -> None:
    """A short terminal summary: totals per category, the functions that allocate most, where reports are."""
    heap = list(result.heap_findings())
    categories = Counter(f.category for f in heap)
    functions = Counter((f.event.package, f.function) for f in heap)
    packages = sum(1 for p in result.packages if p.output.path is not None)
    print(f"escapelint: {len(heap)} heap escapes in {packages} packages ({result.command.display()})", file=out)
    for category, count in sorted(categories.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {count:>6}  {category:<20} {RULES[category].title}", file=out)
    if functions:
        print("  functions with the most heap escapes:", file=out)
        for (package, function), count in functions.most_common(5):
            print(f"  {count:>6}  {package}.{function}", file=out)
    for location in report_locations:
        print(f"  report: {location}", file=out)
    unrecognized = [(p.output.path, u) for p in result.packages for u in p.output.unrecognized]
    if unrecognized:
        print(f"  {len(unrecognized)} output lines escapelint did not recognise, for example:", file=out)
        for package, line in unrecognized[:3]:
            print(f"    [{package}] {line.text[:160]}", file=out)


def describe(finding: Finding) -> str:
    """One `check` line: "FILE:LINE:COL: [CATEGORY] " and the site's message as the report model words it."""
    event = finding.event
    message = site_message(event.kind.value, event.expr, finding.reason or "", function=finding.function or "?")
    return f"{event.position}: [{finding.category}] {message}"


def print_check(outcome: CheckOutcome, out: TextIO = sys.stdout) -> None:
    for problem in outcome.problems:
        print(f"{problem}", file=out)
    for finding in outcome.new:
        print(describe(finding), file=out)
        rule = RULES.get(finding.category or "")
        if rule is not None:
            print(f"    fix: {rule.fix} (escapelint explain {rule.id})", file=out)
    new = len(outcome.new)
    verdict = "FAIL" if new or outcome.problems else "ok"
    print(
        f"escapelint check: {verdict}: {new} new heap escape{'s' * (new != 1)} compared with "
        f"{outcome.compared_with}; {outcome.known} known, {len(outcome.suppressed)} suppressed"
        + (f", {len(outcome.problems)} malformed suppressions" if outcome.problems else ""),
        file=out,
    )


__all__ = ["Progress", "audit_summary", "describe", "print_build_failure", "print_check", "progress_bar"]
