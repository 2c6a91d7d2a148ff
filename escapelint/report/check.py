"""What `escapelint check --format` prints for machines: the gate's new heap escapes as JSON, GitHub
workflow annotations or SARIF.

The new findings become the report model's `Site`s (escapelint.report.page.heap_site), and the
report's own renderers write them, as for a diff (escapelint.report.diff): the annotation line
(report.annotations, as errors, since they fail the gate) and the SARIF writer (report.sarif). The
JSON document lists the findings with their fingerprints, like the diff's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timezone
from itertools import groupby

from escapelint.analyze.findings import Finding
from escapelint.report.annotations import github_annotation, workflow_command
from escapelint.report.page import heap_site

CHECK_SCHEMA = "escapelint.check/1"
CHECK_FORMATS = ("json", "github", "sarif")


def _order(finding: Finding) -> tuple:
    at = finding.event.position
    return (finding.event.package or "", at.file, at.line, at.column or 0, finding.fingerprint)


def _finding_json(finding: Finding) -> dict:
    at = finding.event.position
    return {
        "fingerprint": finding.fingerprint,
        "package": finding.event.package,
        "function": finding.function,
        "category": finding.category,
        "kind": finding.event.kind.value,
        "expr": finding.event.expr,
        "file": at.file,
        "line": at.line,
        "column": at.column,
        "reason": finding.reason,
    }


def check_json(
    new: Iterable[Finding],
    *,
    suppressed: Iterable[tuple[Finding, str]],
    known: int,
    problems: Iterable[str],
    compared_with: str,
    go_version: str | None,
) -> str:
    new = sorted(new, key=_order)
    problems = list(problems)
    document = {
        "schema": CHECK_SCHEMA,
        "verdict": "fail" if new or problems else "ok",
        "compared_with": compared_with,
        "go_version": go_version,
        "known": known,
        "new": [_finding_json(f) for f in new],
        "suppressed": [{**_finding_json(f), "suppression": reason} for f, reason in suppressed],
        "problems": problems,
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def check_annotations(new: Iterable[Finding], *, problems: Iterable[str]) -> str:
    """One error annotation per new heap escape (they fail the gate), and one per malformed suppression."""
    lines = [
        github_annotation(site, command="error", title=f"escapelint: new {site.category}")
        for site in (heap_site(f) for f in sorted(new, key=_order))
    ]
    for problem in problems:
        file, _, rest = problem.partition(":")
        line, _, message = rest.partition(":")
        properties = {"file": file.removeprefix("./"), "line": line, "title": "escapelint"} if line.isdigit() else None
        lines.append(workflow_command("error", message.strip() if properties else problem, properties))
    return "".join(lines)


def check_sarif(new: Iterable[Finding], *, compared_with: str, go_version: str | None, generated_at=None) -> str:
    """SARIF of the new sites only, written by the report's SARIF writer, one package at a time."""
    from escapelint.report.diff import _TextTarget
    from escapelint.report.facts import BuildFacts
    from escapelint.report.index import index_page
    from escapelint.report.output import STDOUT
    from escapelint.report.sarif import SarifWriter

    facts = BuildFacts(f"check against {compared_with}", go_version, None, generated_at or datetime.now(timezone.utc))
    writer = SarifWriter(STDOUT, overwrite=True)
    writer.target = target = _TextTarget()
    try:
        writer.begin(facts)
        for package, findings in groupby(sorted(new, key=_order), key=lambda f: f.event.package):
            path = package if package is not None else "(no package)"
            writer.sites([heap_site(f) for f in findings], package=path, title=path)
        writer.end(index_page(facts, [], lines=0, unrecognized=0))
        writer.publish()
    finally:
        writer.close()
    return target.text.getvalue()


def render_check(
    format: str,
    new: list[Finding],
    *,
    suppressed: list[tuple[Finding, str]],
    known: int,
    problems: list[str],
    compared_with: str,
    go_version: str | None,
) -> str:
    """The gate's outcome in one of CHECK_FORMATS."""
    if format == "json":
        return check_json(
            new, suppressed=suppressed, known=known, problems=problems, compared_with=compared_with, go_version=go_version
        )
    if format == "github":
        return check_annotations(new, problems=problems)
    if format == "sarif":
        return check_sarif(new, compared_with=compared_with, go_version=go_version)
    raise ValueError(f"unknown check format {format!r}; known: {', '.join(CHECK_FORMATS)}")
