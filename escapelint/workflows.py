"""The three ways escapelint meets its users: audit a module, gate a commit, compare a pull request.

Each runs the real Go toolchain (gobuild.py), streams its output through the reader (assemble.py) and
the rule engine (findings.py), then decides: `audit` writes reports, `check` fails on new escapes,
`diff` compares two revisions by fingerprint. The CLI (cli.py) only parses options and prints.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .assemble import BuildReader, BuildStats
from .baseline import Baseline, read_baseline
from .config import Config
from .findings import Finding, PackageFindings, SourceLocator, analyze
from .gobuild import BuildCommand, GoCommandError, GoToolchain, RunningBuild
from .gosource import read_package_source
from .model import CompilerError
from .suppress import Suppressions

#: Progress callback: (packages done, packages expected or None, current package path).
Progress = Callable[[int, "int | None", "str | None"], None]


class BuildFailedError(Exception):
    """The Go build failed: the compiler's errors, never "no escapes"."""

    def __init__(self, command: BuildCommand, returncode: int, errors: list[tuple[str | None, CompilerError]]):
        self.command = command
        self.returncode = returncode
        self.errors = errors
        super().__init__(f"{command.display()} failed with exit status {returncode}")


@dataclass
class BuildResult:
    command: BuildCommand
    go_version: str | None
    packages: list[PackageFindings]
    stats: BuildStats

    def heap_findings(self) -> Iterator[Finding]:
        for package in self.packages:
            for finding in package.findings:
                if finding.category is not None:
                    yield finding


def build_and_analyze(
    go: GoToolchain,
    patterns: list[str],
    root: Path,
    *,
    tests: bool = False,
    progress: Progress | None = None,
) -> BuildResult:
    """Build `patterns` in module `root` with -m=2 and analyze every package as its output arrives."""
    command = BuildCommand.for_packages(go, patterns, root, tests=tests)
    expected = None
    if progress is not None:
        with contextlib.suppress(GoCommandError):
            expected = len(go.list_packages(patterns, root, tests=tests))
        progress(0, expected, None)
    go_version = go.version(root)
    reader = BuildReader()
    sources = SourceLocator(root)
    packages: list[PackageFindings] = []
    build = RunningBuild.start(command)
    try:
        for output in reader.packages(build.lines()):
            packages.append(analyze(output, sources))
            if progress is not None and output.path is not None:
                progress(sum(1 for p in packages if p.output.path is not None), expected, output.path)
    finally:
        build.stop()
    if build.returncode != 0:
        errors = [(p.output.path, e) for p in packages for e in p.output.errors]
        raise BuildFailedError(command, build.returncode or 0, errors)
    if tests:
        # A package with tests is compiled twice, alone and in its test variant "pkg [pkg.test]",
        # which holds every site of the former: keep the test variant only.
        tested = {p.output.path for p in packages if p.output.test_variant}
        packages = [p for p in packages if p.output.test_variant or p.output.path not in tested]
    return BuildResult(command, go_version, packages, reader.stats)


# --- check ---------------------------------------------------------------------------------------


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


# --- git -----------------------------------------------------------------------------------------


class GitError(Exception):
    pass


def git(args: list[str], cwd: Path) -> str:
    try:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise GitError(f"git: cannot run: {exc.strerror}") from None
    if result.returncode != 0:
        raise GitError(f"git {' '.join(args)}: {result.stderr.strip() or f'exit {result.returncode}'}")
    return result.stdout


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.MULTILINE)


def changed_lines(root: Path, revision: str) -> dict[Path, set[int]]:
    """Lines added or changed since `revision` in the working tree (and every line of untracked files)."""
    top = Path(git(["rev-parse", "--show-toplevel"], root).strip())
    changed: dict[Path, set[int]] = {}
    diff = git(["diff", "--no-color", "--no-ext-diff", "-U0", revision, "--", "."], root)
    current: Path | None = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            name = line[4:]
            current = None if name == "/dev/null" else (top / name[2:]).resolve()
            continue
        match = _HUNK.match(line)
        if match and current is not None:
            start, count = int(match.group(1)), int(match.group(2) or 1)
            changed.setdefault(current, set()).update(range(start, start + count))
    untracked = git(["ls-files", "--others", "--exclude-standard", "--", "."], root)
    for name in untracked.splitlines():
        path = (root / name).resolve()
        if path.suffix == ".go":
            with contextlib.suppress(OSError):
                changed[path] = set(range(1, path.read_text(errors="replace").count("\n") + 2))
    return changed


# --- diff ----------------------------------------------------------------------------------------


@dataclass
class DiffResult:
    base: str
    added: list[Finding] = field(default_factory=list)
    removed: list[Finding] = field(default_factory=list)
    unchanged: int = 0
    go_version: str | None = None
    repo_root: Path | None = None
    head_root: Path | None = None


def compare(base: BuildResult, head: BuildResult, base_ref: str) -> DiffResult:
    """Heap escapes added and removed between two builds, by fingerprint."""
    base_findings = {f.fingerprint: f for f in base.heap_findings()}
    head_findings = {f.fingerprint: f for f in head.heap_findings()}
    result = DiffResult(base_ref, go_version=head.go_version)
    result.added = [f for fp, f in head_findings.items() if fp not in base_findings]
    result.removed = [f for fp, f in base_findings.items() if fp not in head_findings]
    result.unchanged = len(head_findings.keys() & base_findings.keys())
    return result


@contextlib.contextmanager
def worktree_at(root: Path, revision: str) -> Iterator[Path]:
    """A temporary `git worktree` of `revision`, yielding the module root inside it."""
    top = Path(git(["rev-parse", "--show-toplevel"], root).strip()).resolve()
    inside = root.resolve().relative_to(top)
    commit = git(["rev-parse", "--verify", f"{revision}^{{commit}}"], root).strip()
    with tempfile.TemporaryDirectory(prefix="escapelint-base-") as parent:
        tree = Path(parent) / "tree"
        git(["worktree", "add", "--detach", "--quiet", str(tree), commit], root)
        try:
            yield tree / inside
        finally:
            with contextlib.suppress(GitError):
                git(["worktree", "remove", "--force", str(tree)], root)


def run_diff(go: GoToolchain, patterns: list[str], root: Path, base_ref: str, progress: Progress | None = None) -> DiffResult:
    with worktree_at(root, base_ref) as base_root:
        base = build_and_analyze(go, patterns, base_root, progress=progress)
    head = build_and_analyze(go, patterns, root, progress=progress)
    result = compare(base, head, base_ref)
    result.repo_root = Path(git(["rev-parse", "--show-toplevel"], root).strip()).resolve()
    result.head_root = root.resolve()
    # Paths of removed sites are printed relative to the base worktree's module root, which mirrors root.
    return result


def repo_relative(result: DiffResult, printed: str) -> str:
    """A site's file relative to the repository root, as GitHub annotations and links want it."""
    if result.head_root is None or result.repo_root is None:
        return printed
    path = Path(printed)
    absolute = path if path.is_absolute() else (result.head_root / path).resolve()
    try:
        return absolute.relative_to(result.repo_root).as_posix()
    except ValueError:
        return printed
