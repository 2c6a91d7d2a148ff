"""Shared test helpers: where the recorded compiler output lives, how to read it and analyse it."""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # escapelint itself is imported where it is used, as the helpers below do
    from escapelint.analyze.findings import Finding, PackageFindings
    from escapelint.analyze.source import SourceLocator
    from escapelint.events import BuildStats
    from escapelint.workflows.audit import BuildResult

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
RECORDED = FIXTURES / "recorded"
GOLDEN = Path(__file__).resolve().parent / "golden"
MODULES = FIXTURES / "modules"
#: The OASIS SARIF 2.1.0 schema, kept with the tests (tests/schemas/README.md says where it comes from).
SARIF_SCHEMA = Path(__file__).resolve().parent / "schemas" / "sarif-schema-2.1.0.json"

sys.path.insert(0, str(ROOT))  # for scripts.toolchains and friends

# Tests never use the user's result cache (escapelint.workflows.cache): one of the run's own, under
# the temporary directory, inherited by every escapelint the tests start. Removed at the end of the
# run (pytest_sessionfinish), so that CI, which runs as root, accumulates nothing.
_TEST_CACHE = tempfile.mkdtemp(prefix="escapelint-test-cache-")
os.environ["ESCAPELINT_CACHE"] = _TEST_CACHE

#: In CI a missing toolchain is a failure, not a skip (set by .ci/run).
REQUIRE_TOOLCHAINS = os.environ.get("ESCAPELINT_REQUIRE_TOOLCHAINS") == "1"


def recorded_files(pattern: str = "*.txt") -> list[Path]:
    return sorted(RECORDED.glob(f"go*/{pattern}"))


def fixture_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def read_lines(path: Path) -> list[str]:
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        return handle.readlines()


def module_of(recording: Path) -> Path:
    """fixtures/modules/<module> for fixtures/recorded/go<v>/<module>.m2.txt."""
    return MODULES / recording.name.split(".")[0]


@dataclass(frozen=True)
class AnalysedRecording:
    """One recorded build read and analysed as `escapelint report` does it, with its module's sources.

    Shared between tests (cached): treat it as read-only. `build_result()` makes a fresh BuildResult.
    """

    path: Path
    go_version: str  # "go1.27.3", the recording's directory
    module: Path  # fixtures/modules/<module>, the root its relative paths are under
    sources: SourceLocator  # of `module`
    packages: tuple[PackageFindings, ...]  # in input order
    stats: BuildStats  # of the whole input

    def build_result(self) -> BuildResult:
        """A BuildResult (escapelint.workflows.audit) as if the build had just been run."""
        from escapelint.workflows.audit import BuildResult

        return BuildResult(command=None, go_version=self.go_version, packages=list(self.packages), stats=self.stats)

    def findings(self) -> list[Finding]:
        return [finding for package in self.packages for finding in package.findings]


def recording_path(version: str, module: str, level: str = "m2") -> Path:
    """fixtures/recorded/go<version>/<module>.<level>.txt; `version` with or without its "go"."""
    version = version if version.startswith("go") else f"go{version}"
    return RECORDED / version / f"{module}.{level}.txt"


def analysed(version: str, module: str, level: str = "m2") -> AnalysedRecording:
    """The recorded build of fixtures/modules/<module> by Go <version>, read and analysed once per run."""
    return analysed_file(recording_path(version, module, level))


def analysed_file(path: Path) -> AnalysedRecording:
    """A recorded file (fixtures/recorded/go<v>/<module>.<level>.txt) read and analysed, once per run."""
    return _analysed(Path(path).resolve())


@functools.lru_cache(maxsize=None)
def _analysed(path: Path) -> AnalysedRecording:
    from escapelint.analyze.findings import analyze
    from escapelint.analyze.leaks import LeakSummaries
    from escapelint.analyze.source import SourceLocator
    from escapelint.read.assembler import read_build_output

    module = module_of(path)
    sources = SourceLocator(module)
    outputs, stats = read_build_output(read_lines(path))
    leaks = LeakSummaries()
    packages = tuple(analyze(output, sources, leaks) for output in outputs if leaks.add_output(output) is not None)
    return AnalysedRecording(path, path.parent.name, module, sources, packages, stats)


@pytest.fixture(scope="session")
def sarif_validator():
    """A jsonschema validator for SARIF 2.1.0, from the copy of the schema under tests/schemas/."""
    import jsonschema

    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)


def recorded_message_bodies() -> list[str]:
    """Every distinct message body (the text after the position prefix) in the recorded fixtures."""
    from escapelint.read.classifier import LineClassifier

    classifier = LineClassifier()
    return sorted({classifier.body(line.rstrip("\r\n")) for path in recorded_files() for line in read_lines(path)})


def toolchain_or_skip(version: str):
    from scripts.toolchains import find, goroot_for

    toolchain = find(version)
    if toolchain is None:
        message = f"Go {version} not installed at {goroot_for(version)} (python scripts/toolchains.py install)"
        if REQUIRE_TOOLCHAINS:
            pytest.fail(message)
        pytest.skip(message)
    return toolchain


def pytest_addoption(parser):
    parser.addoption(
        "--regen-golden",
        action="store_true",
        help="rewrite tests/golden/ from the current output instead of comparing with it",
    )


def pytest_sessionfinish(session, exitstatus):
    """Fail the run if any test replaced /dev/null (the Go compiler removes a failed compile's -o file)."""
    import stat

    if not stat.S_ISCHR(os.stat(os.devnull).st_mode):
        print(f"\nescapelint tests: {os.devnull} is no longer a character device", file=sys.stderr)
        session.exitstatus = 1
    shutil.rmtree(_TEST_CACHE, ignore_errors=True)
