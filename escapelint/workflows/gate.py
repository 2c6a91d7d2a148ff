"""The pre-commit gate: which of a build's heap escapes are new, against a baseline or the changed lines."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from escapelint.analyze.findings import Finding
from escapelint.analyze.source import read_package_source
from escapelint.workflows.audit import BuildResult
from escapelint.workflows.baseline import Baseline, read_baseline
from escapelint.workflows.config import Config
from escapelint.workflows.suppressions import Suppressions


@dataclass(frozen=True)
class CheckOutcome:
    new: list[Finding]  # heap escapes the gate fails on
    suppressed: list[tuple[Finding, str]]  # (finding, reason) silenced by //escapelint:ignore
    known: int  # heap escapes matched by the baseline or outside the changed lines
    problems: list[str]  # malformed suppressions, shown as errors
    compared_with: str  # "baseline .escapelint-baseline.json" or "changes since HEAD"


def packages_for_files(files: Iterable[str], root: Path) -> list[str]:
    """Package patterns ("./dir") for the Go files given, relative to the module root."""
    patterns = set()
    for name in files:
        path = Path(name)
        if path.suffix != ".go":
            continue
        absolute = (Path.cwd() / path).resolve()
        try:
            relative = absolute.parent.relative_to(root.resolve())
        except ValueError:
            continue  # outside this module
        patterns.add("./" + relative.as_posix() if relative.parts else ".")
    return sorted(patterns)


def gate(
    result: BuildResult,
    root: Path,
    config: Config,
    *,
    baseline: Baseline | None,
    changed: dict[Path, set[int]] | None,
    since: str | None,
) -> CheckOutcome:
    """Which of a build's heap escapes are new: not in the baseline, or on changed lines/functions."""
    suppressions = Suppressions()
    new, suppressed, known = [], [], 0
    changed_functions = _changed_functions(result, root, changed) if changed is not None else set()
    for finding in result.heap_findings():
        at = finding.event.position
        if at.file.startswith("<") or config.excluded(at.file) or finding.category not in config.fail_on:
            continue
        path = _resolve(root, at.file)
        suppressions.read(at.file, path)
        suppression = suppressions.find(at.file, at.line, finding.category)
        if suppression is not None:
            suppressed.append((finding, suppression.reason))
            continue
        if baseline is not None:
            is_new = finding not in baseline
        else:
            lines = changed.get(path.resolve(), set()) if path is not None else set()
            is_new = at.line in lines or (at.file, finding.declared_in) in changed_functions
        if is_new:
            new.append(finding)
        else:
            known += 1
    problems = [f"{p.file}:{p.line}: {p.message}" for p in suppressions.problems]
    compared_with = f"baseline {baseline.path}" if baseline is not None else f"changes since {since}"
    return CheckOutcome(new, suppressed, known, problems, compared_with)


def _resolve(root: Path, printed: str) -> Path | None:
    path = Path(printed)
    return path if path.is_absolute() else root / path


def _changed_functions(result: BuildResult, root: Path, changed: dict[Path, set[int]]) -> set[tuple[str, str]]:
    """(file, declared function) of every function whose source span holds a changed line."""
    touched = set()
    files = {f.event.position.file for f in result.heap_findings() if not f.event.position.file.startswith("<")}
    for printed in files:
        path = _resolve(root, printed)
        lines = changed.get(path.resolve()) if path is not None else None
        if not lines:
            continue
        source = read_package_source({printed: path})
        for span in source.functions.get(printed, ()):
            if any(span.start_line <= line <= span.end_line for line in lines):
                touched.add((printed, span.name))
    return touched


def load_baseline_for(root: Path, config: Config) -> Baseline | None:
    path = root / config.baseline
    return read_baseline(path) if path.exists() else None
