"""The baseline: the heap escapes a module already has, by fingerprint, so a gate fails only on new ones.

    {"schema": "escapelint.workflows.baseline/1", "go_version": "go1.27.3", "command": "go build ...",
     "findings": [{"fingerprint", "package", "function", "category", "kind", "expr", "file", "line"}]}

Matching is by fingerprint only (escapelint.analyze.findings): moving code, adding lines above it or reformatting
other functions keeps a site's fingerprint, so the file's positions are for people, not for matching. A baseline
records no git revision, so, unlike a comparison with a revision (escapelint.analyze.compare, by the line mapping),
identical sites of one function are told apart by their ordinal: one inserted above the others makes the last look new.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from escapelint.report.output import Ownership, ReportFile, open_report_output

if TYPE_CHECKING:  # annotations only: the command line imports BaselineError for every command
    from escapelint.analyze.findings import Finding

SCHEMA = "escapelint.workflows.baseline/1"


class BaselineError(ValueError):
    """The baseline file is missing, unreadable or not a baseline."""


@dataclass(frozen=True)
class Baseline:
    fingerprints: frozenset[str]
    go_version: str | None
    path: Path

    def __contains__(self, finding: Finding) -> bool:
        return finding.fingerprint in self.fingerprints


def baseline_document(findings: Iterable[Finding], go_version: str | None, command: str) -> dict:
    rows = [
        {
            "fingerprint": f.fingerprint,
            "package": f.event.package,
            "function": f.function,
            "category": f.category,
            "kind": f.event.kind.value,
            "expr": f.event.expr,
            "file": f.event.position.file,
            "line": f.event.position.line,
        }
        for f in findings
    ]
    rows.sort(key=lambda r: (r["package"] or "", r["file"], r["line"], r["fingerprint"]))
    return {"schema": SCHEMA, "go_version": go_version, "command": command, "findings": rows}


def _is_baseline(path: Path) -> bool:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:  # nested too deeply for the JSON decoder: not a baseline
        return False
    return isinstance(document, dict) and document.get("schema") == SCHEMA


#: The baseline is usually the configured default path, not one the user typed: another file there is kept.
BASELINE_FILE = Ownership("an escapelint baseline", _is_baseline)


def check_baseline_target(path: Path, *, overwrite: bool) -> None:
    """Refuse, before the build, a `path` that exists and is not a baseline (unless `overwrite`):
    escapelint.report.output.OutputExistsError."""
    ReportFile(path, overwrite=overwrite, ownership=BASELINE_FILE).check()


def write_baseline(path: Path, document: dict, *, overwrite: bool) -> None:
    """Write the baseline, replaced whole (escapelint.report.output); an existing file is replaced only
    if it is a baseline or `overwrite` says so, else OutputExistsError."""
    with open_report_output(path, overwrite=overwrite, ownership=BASELINE_FILE) as out:
        out.write(json.dumps(document, indent=1, ensure_ascii=False) + "\n")


def read_baseline(path: Path) -> Baseline:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"{path}: no baseline; create one with `escapelint baseline`") from None
    except (OSError, ValueError) as exc:
        raise BaselineError(f"{path}: not a readable baseline: {exc}") from None
    except RecursionError:
        raise BaselineError(f"{path}: not a readable baseline: nested too deeply") from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise BaselineError(f"{path}: not an escapelint baseline (schema {SCHEMA!r} expected)")
    try:
        fingerprints = frozenset(row["fingerprint"] for row in document["findings"])
    except (KeyError, TypeError):
        raise BaselineError(f"{path}: malformed findings list") from None
    return Baseline(fingerprints, document.get("go_version"), path)
