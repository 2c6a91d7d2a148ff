"""Against real Go toolchains (slow; run in CI): the compiler's own escape tests, and genuine fixtures."""

from __future__ import annotations

import os
import re
import stat

import pytest

from escapelint.events import EventKind
from escapelint.read.assembler import read_build_output
from scripts import compile_go_tests, record_fixtures
from scripts.toolchains import VERSIONS

from .conftest import toolchain_or_skip

pytestmark = pytest.mark.toolchain

_ERROR_COMMENT = re.compile(r"// ERROR (.*)$")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"|`([^`]*)`')


def _expectations(source):
    """(line, pattern) for each pattern in the test's `// ERROR "..." "..."` comments."""
    for number, text in enumerate(source.read_text(errors="replace").splitlines(), start=1):
        match = _ERROR_COMMENT.search(text)
        if match:
            for quoted in _QUOTED.finditer(match.group(1)):
                yield number, quoted.group(1) if quoted.group(1) is not None else quoted.group(2)


@pytest.mark.parametrize("version", VERSIONS)
def test_go_escape_test_suite_parses_completely(version):
    """Go's test/escape*.go (from Debian's golang-1.19-go) compiled with -m=2: every line understood."""
    toolchain = toolchain_or_skip(version)
    if not compile_go_tests.TESTS_DIR.is_dir():
        pytest.skip(f"{compile_go_tests.TESTS_DIR} missing (apt-get install golang-1.19-go)")
    results = compile_go_tests.compile_all(toolchain)
    assert len(results) >= 20
    for result in results:
        lines = result.output.decode("utf-8", "replace").splitlines(keepends=True)
        packages, stats = read_build_output(lines)
        unrecognized = [u for p in packages for u in p.unrecognized]
        assert unrecognized == [], f"{result.file.name}: {unrecognized[:5]}"
        assert stats.balanced()
        assert stats.lines == len(lines)
    # The compiler removes its -o file when a compile fails (1.23+ fail on one of these tests): as
    # root, an `-o /dev/null` removed the device itself and broke every process on the machine.
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode), f"{os.devnull} is no longer a character device"


def test_go119_escape_tests_expectations_become_events():
    """Where Go 1.19's own tests expect "moved to heap: x" or "leaking param: p" at a line, so do we."""
    toolchain = toolchain_or_skip("1.19")
    checked = 0
    for result in compile_go_tests.compile_all(toolchain):
        lines = result.output.decode("utf-8", "replace").splitlines(keepends=True)
        packages, _ = read_build_output(lines)
        events = {(e.kind, e.position.line, e.expr) for p in packages for e in p.events}
        for line, pattern in _expectations(result.file):
            moved = re.fullmatch(r"moved to heap: (\w+)\$?", pattern)
            leak = re.fullmatch(r"leaking param: (\w+)\$?", pattern)
            if moved:
                assert (EventKind.MOVED, line, moved.group(1)) in events, (result.file.name, line, pattern)
                checked += 1
            elif leak:
                assert (EventKind.LEAK, line, leak.group(1)) in events, (result.file.name, line, pattern)
                checked += 1
    assert checked > 100


@pytest.mark.parametrize("version", VERSIONS)
def test_fixtures_are_genuine_recordings(version):
    """Re-recording the fixture modules with the real toolchain gives the stored bytes."""
    toolchain = toolchain_or_skip(version)
    assert record_fixtures.check([toolchain], record_fixtures.modules()) == 0
