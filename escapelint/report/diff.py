"""What a pull request changed: the sticky Markdown comment, GitHub annotations and JSON of a DiffResult."""

from __future__ import annotations

import json
from collections import Counter

from escapelint.analyze.compare import DiffResult, repo_relative
from escapelint.analyze.findings import Finding
from escapelint.report.markdown import GITHUB_COMMENT_LIMIT, md, md_code_spans
from escapelint.rules import RULES

#: The hidden marker a bot looks for to update its previous comment instead of adding one.
COMMENT_MARKER = "<!-- escapelint:diff -->"
#: GitHub shows at most 10 warning annotations per step.
ANNOTATION_LIMIT = 10
DIFF_SCHEMA = "escapelint.diff/1"


def _code(text: str) -> str:
    """A build-derived string as code, safe in a table cell (see markdown_report.md)."""
    return f"<code>{md(text)}</code>"


def _summary_rows(result: DiffResult) -> list[str]:
    added = Counter(f.category for f in result.added)
    removed = Counter(f.category for f in result.removed)
    rows = ["| category | added | removed |", "| --- | ---: | ---: |"]
    for category in RULES:
        if added[category] or removed[category]:
            rows.append(f"| `{category}` | {added[category]} | {removed[category]} |")
    return rows


def _site_row(result: DiffResult, finding: Finding) -> str:
    at = finding.event.position
    where = f"{repo_relative(result, at.file)}:{at.line}"
    return (
        f"| {_code(where)} | {_code(finding.function or '?')} | `{finding.category}` | "
        f"{_code(finding.event.expr)} | {md_code_spans(finding.reason or '')} |"
    )


def markdown_comment(result: DiffResult, *, limit: int = GITHUB_COMMENT_LIMIT, report_hint: str | None = None) -> str:
    """The PR comment: a summary table, the new sites, the removed ones; always under `limit` characters."""
    added, removed = len(result.added), len(result.removed)
    head = [
        COMMENT_MARKER,
        f"### escapelint: {added} new heap escape{'s' * (added != 1)}, {removed} removed "
        f"(compared with {_code(result.base)})",
        "",
    ]
    if not added and not removed:
        head.append(f"No heap escapes were added or removed; {result.unchanged} unchanged.")
        return "\n".join(head) + "\n"
    head += _summary_rows(result) + ["", f"{result.unchanged} heap escapes unchanged.", ""]
    table_head = ["| site | function | category | expression | why |", "| --- | --- | --- | --- | --- |"]
    sections = [
        ("New heap escapes", sorted(result.added, key=_order), True),
        ("Removed heap escapes", sorted(result.removed, key=_order), False),
    ]
    parts = list(head)
    size = sum(len(p) + 1 for p in parts)
    omitted = {}
    closing_reserve = 600  # room for the closing tags and the note about what was left out
    for title, findings, is_open in sections:
        if not findings:
            continue
        block = [f"<details{' open' if is_open else ''}><summary>{title} ({len(findings)})</summary>", "", *table_head]
        block_size = sum(len(p) + 1 for p in block) + len("</details>") + 2
        if size + block_size + closing_reserve > limit:
            omitted[title] = len(findings)
            continue
        shown = 0
        for finding in findings:
            row = _site_row(result, finding)
            if size + block_size + len(row) + 1 + closing_reserve > limit:
                break
            block.append(row)
            block_size += len(row) + 1
            shown += 1
        if shown < len(findings):
            omitted[title] = len(findings) - shown
        parts += block + ["", "</details>", ""]
        size += block_size
    if omitted:
        left_out = "; ".join(f"{count} more {title.lower()}" for title, count in omitted.items())
        hint = f" See {report_hint}." if report_hint else " Run `escapelint diff --format json` for the full list."
        parts.append(f"_Not shown to stay within GitHub's comment size: {left_out}.{hint}_")
    text = "\n".join(parts).rstrip() + "\n"
    assert len(text) <= limit, "the comment must fit GitHub's limit"
    return text


def _order(finding: Finding) -> tuple:
    at = finding.event.position
    return (finding.event.package or "", at.file, at.line, at.column or 0, finding.fingerprint)


def _annotation_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _annotation_property(text: str) -> str:
    return _annotation_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(result: DiffResult, *, limit: int = ANNOTATION_LIMIT) -> str:
    """Workflow commands that annotate each new site (GitHub shows at most `limit` per step)."""
    lines = []
    added = sorted(result.added, key=_order)
    for finding in added[:limit]:
        at = finding.event.position
        properties = [f"file={_annotation_property(repo_relative(result, at.file))}", f"line={at.line}"]
        if at.column is not None:
            properties.append(f"col={at.column}")
        properties.append(f"title={_annotation_property(f'escapelint: {finding.category}')}")
        message = f"{finding.event.expr} escapes to the heap in {finding.function or '?'}: {finding.reason}"
        hint = RULES[finding.category].fix if finding.category in RULES else ""
        lines.append(f"::warning {','.join(properties)}::{_annotation_data(message + (' Fix: ' + hint if hint else ''))}")
    if len(added) > limit:
        more = len(added) - limit
        lines.append(
            f"::notice title=escapelint::{more} more new heap escape{'s' * (more != 1)} not annotated "
            f"(GitHub shows {limit} warnings per step); see the PR comment or `escapelint diff --format json`"
        )
    return "\n".join(lines) + ("\n" if lines else "")


def _finding_json(result: DiffResult, finding: Finding) -> dict:
    at = finding.event.position
    return {
        "fingerprint": finding.fingerprint,
        "package": finding.event.package,
        "function": finding.function,
        "category": finding.category,
        "kind": finding.event.kind.value,
        "expr": finding.event.expr,
        "file": repo_relative(result, at.file),
        "line": at.line,
        "column": at.column,
        "reason": finding.reason,
    }


def diff_json(result: DiffResult) -> str:
    added = Counter(f.category for f in result.added)
    removed = Counter(f.category for f in result.removed)
    document = {
        "schema": DIFF_SCHEMA,
        "base": result.base,
        "go_version": result.go_version,
        "summary": {c: {"added": added[c], "removed": removed[c]} for c in RULES if added[c] or removed[c]},
        "unchanged": result.unchanged,
        "added": [_finding_json(result, f) for f in sorted(result.added, key=_order)],
        "removed": [_finding_json(result, f) for f in sorted(result.removed, key=_order)],
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"
