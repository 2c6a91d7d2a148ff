"""Shared test helpers: where the recorded compiler output lives and how to read it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
RECORDED = FIXTURES / "recorded"
GOLDEN = Path(__file__).resolve().parent / "golden"

sys.path.insert(0, str(ROOT))  # for scripts.toolchains and friends

#: In CI a missing toolchain is a failure, not a skip (set by .ci/run).
REQUIRE_TOOLCHAINS = os.environ.get("ESCAPELINT_REQUIRE_TOOLCHAINS") == "1"


def recorded_files(pattern: str = "*.txt") -> list[Path]:
    return sorted(RECORDED.glob(f"go*/{pattern}"))


def fixture_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def read_lines(path: Path) -> list[str]:
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        return handle.readlines()


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
