"""Building a module and analysing it as the build streams: what `audit`, `baseline`, `check` and `diff` share.

`build_and_analyze` runs the real Go toolchain (gobuild.py) and puts its output through the reader
(escapelint.read) and the rule engine (escapelint.analyze.findings), a package at a time. What each
workflow then decides lives beside this: the gate in gate.py, the comparison of two revisions in
diff.py; the CLI (escapelint.cli) only parses options and prints.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from escapelint.analyze.findings import Finding, PackageFindings, analyze
from escapelint.analyze.leaks import LeakSummaries
from escapelint.analyze.source import SourceLocator, read_go_file
from escapelint.events import BuildStats, CompilerError
from escapelint.read.leak_scan import scan_leak_handle, scan_leak_text
from escapelint.workflows.blocks import (
    SPOOL_IN_MEMORY,
    pipe_blocks,
    read_block,
    spooled_lines,
)
from escapelint.workflows.cache import RecordingSourceLocator, ResultCache, context_for
from escapelint.workflows.gobuild import (
    BuildCommand,
    GoCommandError,
    GoToolchain,
    RunningBuild,
)

#: Progress callback: (packages done, packages expected or None, current package path).
Progress = Callable[[int, "int | None", "str | None"], None]


class BuildFailedError(Exception):
    """The Go build failed: the compiler's errors, never "no escapes"."""

    def __init__(
        self,
        command: BuildCommand,
        returncode: int,
        errors: list[tuple[str | None, CompilerError]],
        other_lines: list[str] | None = None,
    ):
        self.command = command
        self.returncode = returncode
        self.errors = errors
        # Every line the build printed that escapelint did not recognise (a redeclaration, a link
        # error, a message of a newer Go): shown as Go wrote it, since one of them is why it failed.
        self.other_lines = other_lines or []
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
    cache: ResultCache | None = None,
) -> BuildResult:
    """Build `patterns` in module `root` with -m=2 and analyze every package as its output arrives.

    Every package is kept in the result (the gate, the baseline and diff compare them all); `audit`
    streams them to its reports instead (`AnalysedBuild`). With a `cache`, a package whose output
    block, options and source files are those of an earlier run is taken from it.
    """
    build = AnalysedBuild(go, patterns, root, tests=tests, progress=progress, cache=cache)
    packages = list(build.packages())
    return build.result(packages)


class AnalysedBuild:
    """A build whose packages are analysed as its output arrives: iterate `packages()` once.

    The iteration ends with BuildFailedError when the build failed, after the last package: a
    consumer that writes reports as packages pass (`audit`) stages them, so that a failed build
    publishes none (escapelint.report.output). What the end of a run needs besides the packages (the
    line accounting, the files the output names, the errors, the summary) is kept small:
    `summary()` is a BuildResult whose packages hold their heap findings without explanations.
    """

    def __init__(
        self,
        go: GoToolchain,
        patterns: list[str],
        root: Path,
        *,
        tests: bool = False,
        progress: Progress | None = None,
        cache: ResultCache | None = None,
    ) -> None:
        self.go = go
        self.patterns = patterns
        self.root = root
        self.tests = tests
        self.progress = progress
        self.cache = cache if cache is not None and cache.on else None
        self.go_version = go.version(root)
        # The flags depend on the version: -d=escapedebug=1 on Go 1.25+ (workflows.gobuild.escape_flags).
        self.command = BuildCommand.for_packages(go, patterns, root, tests=tests, go_version=self.go_version)
        self.stats = BuildStats()
        self.named_files: set[str] = set()  # the Go files the output names (escapelint.report.warnings)
        self._errors: list[tuple[str | None, CompilerError]] = []
        self._other_lines: list[str] = []
        self._summaries: list[PackageFindings] = []
        self._started = False

    def packages(self) -> Iterator[PackageFindings]:
        """Every package as it is analysed, in output order (test variants filtered as `build_and_analyze` says)."""
        assert not self._started, "a build is read once"
        self._started = True
        expected = None
        if self.progress is not None:
            with contextlib.suppress(GoCommandError):
                expected = len(self.go.list_packages(self.patterns, self.root, tests=self.tests))
            self.progress(0, expected, None)
        sources = SourceLocator(self.root)
        build = RunningBuild.start(self.command)
        done = 0
        try:
            for package in self._analysed(build, sources):
                output = package.output
                self._errors.extend((output.path, e) for e in output.errors)
                self._other_lines.extend(u.text for u in output.unrecognized)
                self._summaries.append(_summary(package))
                if self.progress is not None and output.path is not None:
                    done += 1
                    self.progress(done, expected, output.path)
                if self.tests:
                    self._held.append(package)  # they wait: a test variant replaces its package
                else:
                    self.named_files.update(e.position.file for e in output.events)
                    yield package
        finally:
            build.stop()
        if build.returncode != 0:
            raise BuildFailedError(self.command, build.returncode or 0, self._errors, self._other_lines)
        for package in self._filtered(self._held):
            self.named_files.update(e.position.file for e in package.output.events)
            yield package

    _held: list[PackageFindings]

    def _analysed(self, build: RunningBuild, sources: SourceLocator) -> Iterator[PackageFindings]:
        # Imported once Go is building: Python loads the reader (Lark, the grammar's matchers) while
        # the compiler runs, instead of before it (issue 11: start-up costs). The output waits in the pipe.
        from escapelint.read.assembler import BuildReader
        from escapelint.read.classifier import LineClassifier

        self._held = []
        leaks = LeakSummaries()  # other packages' leaks, followed into (escapelint.analyze.leaks)
        if self.cache is None:
            reader = BuildReader()
            try:
                for output in reader.packages(build.lines()):
                    leaks.add_output(output)
                    yield analyze(output, sources, leaks)
            finally:
                self.stats.add(reader.stats)
            return
        cache = self.cache
        context = context_for(sources, "newline")
        recording = RecordingSourceLocator(sources.root, cache.dependencies)
        classifier = LineClassifier()
        for digest, spool in pipe_blocks(build.raw_chunks(), classifier, cache.tmp):
            with spool:
                # The block's leak explanations join the table before it is analysed, as the file scan
                # of the one-process and worker readers puts them (escapelint.read.leak_scan).
                for path, text in _scan_spool(spool):
                    leaks.add_text(path, text)
                spool.seek(0)
                result = read_block(
                    lambda spool=spool: spooled_lines(spool), digest, self.stats.lines,
                    cache=cache, context=context, sources=recording, classifier=classifier,
                    fragments=None, want_findings=True, leaks=leaks,
                )  # fmt: skip
            self.stats.add(result.stats)
            yield from result.findings or ()

    def _filtered(self, packages: list[PackageFindings]) -> list[PackageFindings]:
        if not self.tests:
            return packages
        # A package with tests is compiled twice, alone and in its test variant "pkg [pkg.test]",
        # which holds every site of the former: keep the test variant only.
        tested = {p.output.path for p in packages if p.output.test_variant}
        return [
            p for p in packages
            if (p.output.test_variant or p.output.path not in tested) and not _is_test_main(p)
        ]  # fmt: skip

    def result(self, packages: list[PackageFindings]) -> BuildResult:
        return BuildResult(self.command, self.go_version, packages, self.stats)

    def summary(self) -> BuildResult:
        """The build as the terminal summary and the warnings need it, without the explanations."""
        kept = self._summaries
        if self.tests:
            kept = self._filtered(kept)
        return BuildResult(self.command, self.go_version, kept, self.stats)


def _summary(package: PackageFindings) -> PackageFindings:
    """The package's heap findings, events without their explanations, and its unrecognized lines."""
    output = package.output
    findings = tuple(
        replace(f, event=replace(f.event, explanations=())) for f in package.findings if f.category is not None
    )
    slim = replace(
        output, events=tuple(f.event for f in findings), remarks=(), unclaimed=(), errors=output.errors
    )
    return PackageFindings(slim, findings, package.source_files)


def _is_test_main(package: PackageFindings) -> bool:
    """The `pkg.test` package `go test` generates to run the tests (`_testmain.go`, in its build
    directory): none of its sites is the module's code."""
    output = package.output
    if output.path is None or not output.path.endswith(".test") or output.test_variant:
        return False
    files = {e.position.file for e in output.events} | {r.position.file for r in output.remarks if r.position}
    return all(Path(f).name == "_testmain.go" or f.startswith("<") for f in files)



#: A top-level declaration with type parameters, as gofmt writes it: `func Name[`, `type Name[`
#: (`type A [3]int`, an array type, has a space before its bracket).
_GENERIC_DECLARATION = re.compile(r"^(?:func|type) (\w+)\[", re.MULTILINE)


@dataclass(frozen=True)
class GenericDeclaration:
    file: Path
    line: int
    name: str


def generic_declarations(go: GoToolchain, patterns: list[str], root: Path) -> list[GenericDeclaration]:
    """The generic functions and types declared in the non-test files of the packages `patterns` build.

    A generic function's body is analysed only where it is instantiated (the compiler's escape
    analysis runs on instantiated shapes), so a module of nothing else builds without one escape
    diagnostic: what `audit` says when it finds no heap escape at all. GoCommandError if `go list` fails.
    """
    found = []
    for path in go.go_files(patterns, root):
        text = read_go_file(path)
        for match in _GENERIC_DECLARATION.finditer(text or ""):
            found.append(GenericDeclaration(path, text.count("\n", 0, match.start()) + 1, match.group(1)))
    return found


def _scan_spool(spool) -> Iterator[tuple[str, bytes]]:
    """The leak explanations of a spooled block: a small one from memory, one the spool has already
    put on disk from the file, a piece at a time (escapelint.read.leak_scan), so the block is never
    held whole."""
    size = spool.seek(0, io.SEEK_END)
    spool.seek(0)
    if size <= SPOOL_IN_MEMORY:
        return scan_leak_text(spool.read())
    spool.flush()  # what is read through its descriptor is what is on disk
    return scan_leak_handle(open(spool.fileno(), "rb", buffering=0, closefd=False))
