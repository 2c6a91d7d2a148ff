"""What `escapelint check --format` prints for machines: the gate's new heap escapes as JSON, GitHub
workflow annotations or SARIF.

The new findings become the report model's `Site`s (escapelint.report.page.heap_site), and the
report's own renderers write them, as for a diff (escapelint.report.diff): the annotation line
(report.annotations, as errors, since they fail the gate) and the SARIF writer (report.sarif). The
JSON document lists the findings with their fingerprints, like the diff's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from escapelint.analyze.findings import Finding
from escapelint.report.annotations import github_annotation, workflow_command
from escapelint.report.page import finding_order, finding_record, heap_sites
from escapelint.report.sarif import findings_sarif

CHECK_SCHEMA = "escapelint.check/1"
CHECK_FORMATS = ("json", "github", "sarif")
_PROBLEM = re.compile(r"(?P<file>.+?):(?P<line>\d+): (?P<message>.*)", re.DOTALL)


def check_json(
    new: Iterable[Finding],
    *,
    suppressed: Iterable[tuple[Finding, str]],
    known: int,
    problems: Iterable[str],
    compared_with: str,
    go_version: str | None,
) -> str:
    new = sorted(new, key=finding_order)
    problems = list(problems)
    document = {
        "schema": CHECK_SCHEMA,
        "verdict": "fail" if new or problems else "ok",
        "compared_with": compared_with,
        "go_version": go_version,
        "known": known,
        "new": [finding_record(f, f.event.position.file) for f in new],
        "suppressed": [{**finding_record(f, f.event.position.file), "suppression": reason} for f, reason in suppressed],
        "problems": problems,
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def check_annotations(new: Iterable[Finding], *, problems: Iterable[str]) -> str:
    """One error annotation per new heap escape (they fail the gate), and one per malformed suppression."""
    lines = [
        github_annotation(site, command="error", title=f"escapelint: new {site.category}") for site in heap_sites(new)
    ]
    for problem in problems:
        # "FILE:LINE: MESSAGE" as the gate words it; a file name may hold colons ("a:b.go").
        where = _PROBLEM.match(problem)
        if where is None:
            lines.append(workflow_command("error", problem, None))
            continue
        properties = {"file": where["file"].removeprefix("./"), "line": where["line"], "title": "escapelint"}
        lines.append(workflow_command("error", where["message"].strip(), properties))
    return "".join(lines)


def check_sarif(new: Iterable[Finding], *, compared_with: str, go_version: str | None, generated_at=None) -> str:
    """SARIF of the new sites only, written by the report's SARIF writer, one package at a time."""
    return findings_sarif(new, input_name=f"check against {compared_with}", go_version=go_version,
                          generated_at=generated_at)  # fmt: skip


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
