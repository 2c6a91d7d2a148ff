"""Building a module and analysing it as the build streams: what `audit`, `baseline`, `check` and `diff` share.

`build_and_analyze` runs the real Go toolchain (gobuild.py) and puts its output through the reader
(escapelint.read) and the rule engine (escapelint.analyze.findings), a package at a time. What each
workflow then decides lives beside this: the gate in gate.py, the comparison of two revisions in
diff.py; the CLI (escapelint.cli) only parses options and prints.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from escapelint.analyze.findings import Finding, PackageFindings, analyze
from escapelint.analyze.source import SourceLocator
from escapelint.events import BuildStats, CompilerError
from escapelint.read.assembler import BuildReader
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
) -> BuildResult:
    """Build `patterns` in module `root` with -m=2 and analyze every package as its output arrives."""
    go_version = go.version(root)
    command = BuildCommand.for_packages(go, patterns, root, tests=tests, go_version=go_version)
    expected = None
    if progress is not None:
        with contextlib.suppress(GoCommandError):
            expected = len(go.list_packages(patterns, root, tests=tests))
        progress(0, expected, None)
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
        other_lines = [u.text for p in packages for u in p.output.unrecognized]
        raise BuildFailedError(command, build.returncode or 0, errors, other_lines)
    if tests:
        # A package with tests is compiled twice, alone and in its test variant "pkg [pkg.test]",
        # which holds every site of the former: keep the test variant only.
        tested = {p.output.path for p in packages if p.output.test_variant}
        packages = [
            p for p in packages
            if (p.output.test_variant or p.output.path not in tested) and not _is_test_main(p)
        ]  # fmt: skip
    return BuildResult(command, go_version, packages, reader.stats)


def _is_test_main(package: PackageFindings) -> bool:
    """The `pkg.test` package `go test` generates to run the tests (`_testmain.go`, in its build
    directory): none of its sites is the module's code."""
    output = package.output
    if output.path is None or not output.path.endswith(".test") or output.test_variant:
        return False
    files = {e.position.file for e in output.events} | {r.position.file for r in output.remarks if r.position}
    return all(Path(f).name == "_testmain.go" or f.startswith("<") for f in files)

