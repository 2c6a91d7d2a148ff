"""The pre-commit gate: which of a build's heap escapes are new, against a baseline or the changed lines.

Against a revision, a heap escape is new when it is on a line the change added or modified and the
base revision, built in a temporary worktree, has no such site there (escapelint.analyze.compare pairs
them by the line mapping, then by what they are): a reworded line keeps its escapes, an identical
expression inserted above others is the new one. `whole_function` keeps the older rule: every heap
escape of a function the change touched, without building the base.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from escapelint.analyze.compare import compare
from escapelint.analyze.findings import Finding
from escapelint.analyze.line_map import LineMapping
from escapelint.analyze.source import read_package_source
from escapelint.report.warnings import InputWarning
from escapelint.workflows.audit import BuildResult, Progress, build_and_analyze
from escapelint.workflows.baseline import Baseline, read_baseline
from escapelint.workflows.config import Config
from escapelint.workflows.git import GitError, git, worktree_at
from escapelint.workflows.gobuild import GoToolchain
from escapelint.workflows.suppressions import Suppressions


@dataclass(frozen=True)
class CheckOutcome:
    new: list[Finding]  # heap escapes the gate fails on
    suppressed: list[tuple[Finding, str]]  # (finding, reason) silenced by //escapelint:ignore
    known: int  # heap escapes matched by the baseline or outside the changed lines
    problems: list[str]  # malformed suppressions, shown as errors
    compared_with: str  # "baseline .escapelint-baseline.json" or "changes since HEAD"
    static: int = 0  # new or known escapes the compiler serves from static data: not failed on (fail-on-static)


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
    lines: LineMapping | None = None,
    added: Collection[Finding] = (),
) -> CheckOutcome:
    """Which of a build's heap escapes are new: not in the baseline; else, with `lines`, on a line the
    change added or modified and among `added` (the head sites the base revision does not have,
    `added_since`); else (whole functions) on a changed line or in a function holding one."""
    suppressions = Suppressions()
    new, suppressed, known, static = [], [], 0, 0
    whole_function = baseline is None and lines is None
    changed_functions = _changed_functions(result, root, changed) if whole_function and changed is not None else set()
    added_ids = {id(f) for f in added}
    for finding in result.heap_findings():
        at = finding.event.position
        if at.file.startswith("<") or config.excluded(at.file) or finding.category not in config.fail_on:
            continue
        if not finding.allocates and not config.fail_on_static:
            static += 1  # no allocation at run time; its fingerprint is unchanged, so baselines keep matching
            continue
        path = _resolve(root, at.file)
        suppressions.read(at.file, path)
        suppression = suppressions.find(at.file, at.line, finding.category)
        if suppression is not None:
            suppressed.append((finding, suppression.reason))
            continue
        if baseline is not None:
            is_new = finding not in baseline
        elif lines is not None:
            is_new = lines.is_changed(at.file, at.line) and id(finding) in added_ids
        else:
            changed_here = changed.get(path.resolve(), set()) if path is not None else set()
            is_new = at.line in changed_here or (at.file, finding.declared_in) in changed_functions
        if is_new:
            new.append(finding)
        else:
            known += 1
    problems = [f"{p.file}:{p.line}: {p.message}" for p in suppressions.problems]
    if baseline is not None:
        compared_with = f"baseline {baseline.path}"
    else:
        compared_with = f"changes since {since}" + (" (whole functions)" if whole_function else "")
    return CheckOutcome(new, suppressed, known, problems, compared_with, static)


def on_changed_lines(result: BuildResult, lines: LineMapping) -> list[Finding]:
    """The build's heap escapes on lines the change added or modified: the only ones that can be new."""
    return [f for f in result.heap_findings() if lines.is_changed(f.event.position.file, f.event.position.line)]


def added_since(
    go: GoToolchain,
    patterns: list[str],
    root: Path,
    result: BuildResult,
    revision: str,
    lines: LineMapping,
    progress: Progress | None = None,
) -> list[Finding]:
    """The heap escapes of `result` (the working tree) that `revision` does not have, as `diff` finds
    them: `revision` is built in a temporary worktree, and the sites are paired by the line mapping,
    then by what they are. Nothing is built when no heap escape is on a changed line (the usual commit
    that touches no allocation); a pattern naming a directory the revision lacks is left out of its build.
    Raises escapelint.workflows.audit.BuildFailedError when the revision does not build."""
    if not on_changed_lines(result, lines):
        return []
    with worktree_at(root, revision) as base_root:
        there = [p for p in patterns if (base_root / p.removesuffix("/...")).is_dir()]
        base = build_and_analyze(go, there, base_root, progress=progress).heap_findings() if there else ()
        comparison = compare(base, result.heap_findings(), revision, result.go_version, lines)
    return comparison.added


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


#: What pre-commit sets for `pre-commit run --from-ref A --to-ref B` (and in a pre-push hook).
PRE_COMMIT_REFS = ("PRE_COMMIT_FROM_REF", "PRE_COMMIT_TO_REF")


@dataclass(frozen=True)
class Comparison:
    """What `check` compares with: a baseline, or the lines changed since `revision`."""

    baseline: Baseline | None
    revision: str | None  # the git revision changed lines are counted from, without a baseline
    since: str | None  # how the verdict names it ("HEAD", "origin/main (PRE_COMMIT_FROM_REF)")
    warnings: list[InputWarning] = field(default_factory=list)


def comparison_for(
    root: Path,
    config: Config,
    *,
    baseline_path: Path | None = None,
    new_from_rev: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Comparison:
    """Which comparison `check` makes, in this order:

    1. `--new-from-rev REV`: the lines and functions changed since REV;
    2. `--baseline FILE`, else the configured baseline if it exists: the baseline;
    3. PRE_COMMIT_FROM_REF and PRE_COMMIT_TO_REF set (`pre-commit run --from-ref A --to-ref B`):
       the changes since the merge base of A and B;
    4. the changes since HEAD: right for a commit hook, and nothing in a clean CI checkout.

    A configured `baseline` that does not exist is a warning (the comparison falls back to 3 or 4),
    as is a comparison with HEAD when nothing has changed since (see `warn_if_nothing_changed`).
    Raises BaselineError for an unreadable baseline, GitError when the refs cannot be resolved.
    """
    if new_from_rev is not None:
        return Comparison(None, new_from_rev, new_from_rev)
    if baseline_path is not None:
        return Comparison(read_baseline(baseline_path), None, None)
    known = load_baseline_for(root, config)
    if known is not None:
        return Comparison(known, None, None)
    warnings = []
    environ = {} if environ is None else environ
    from_ref, to_ref = (environ.get(name) for name in PRE_COMMIT_REFS)
    if from_ref and to_ref:
        try:
            revision = git(["merge-base", from_ref, to_ref], root).strip()
        except GitError:
            revision = git(["rev-parse", "--verify", f"{from_ref}^{{commit}}"], root).strip()
        since = f"{from_ref} (PRE_COMMIT_FROM_REF)"
    else:
        revision = since = "HEAD"
    if config.baseline_configured:
        where = f" in {config.origin}" if config.origin is not None else ""
        warnings.append(
            InputWarning(
                "baseline-missing",
                f"the baseline configured{where}, {root / config.baseline}, does not exist: comparing with "
                f"the changes since {since} instead; create it with `escapelint baseline`",
            )
        )
    return Comparison(None, revision, since, warnings)


def warn_if_nothing_changed(comparison: Comparison, changed: dict[Path, set[int]]) -> Comparison:
    """A comparison with HEAD where nothing changed passes whatever the code holds: say so."""
    if comparison.baseline is not None or changed or comparison.revision != "HEAD":
        return comparison
    warning = InputWarning(
        "nothing-changed",
        "nothing has changed since HEAD, so no heap escape can be new (as under `pre-commit run --all-files` "
        "in CI): a CI gate wants a committed baseline (`escapelint baseline`) or `--new-from-rev origin/main`",
    )
    return Comparison(None, comparison.revision, comparison.since, [*comparison.warnings, warning])
