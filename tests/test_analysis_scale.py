"""The analysis of one package is linear in its events, whatever their shape.

The inputs are synthetic (built here from the shape of a real `moved to heap: x` line, as recorded in
fixtures/recorded/), since no real package has 100,000 of them; the source is not on disk, the case
that took 495 s for 100,000 lines when every event copied its function's set of heap variables.
"""

from __future__ import annotations

import signal
import time

import pytest

from escapelint.analyze.findings import analyze
from escapelint.read.assembler import read_build_output


def _moved_lines(count: int) -> list[str]:
    lines = ["# example.com/scale\n"]
    lines += [f"./gone.go:{n + 1}:2: moved to heap: v{n}\n" for n in range(count)]
    return lines


def _analysis_seconds(count: int) -> float:
    (package,), _ = read_build_output(_moved_lines(count))
    started = time.perf_counter()
    findings = analyze(package)
    seconds = time.perf_counter() - started
    assert len(findings.findings) == count
    return seconds


@pytest.fixture
def alarm():
    """Fail in seconds instead of hanging CI if the analysis is quadratic again."""

    def expired(signum, frame):
        raise TimeoutError("the analysis of one package took over 60 s: quadratic again?")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_many_moved_variables_in_one_function_analyse_in_linear_time(alarm):
    small = min(_analysis_seconds(5_000) for _ in range(2))
    large = min(_analysis_seconds(40_000) for _ in range(2))
    # 8 times the events: about 8 times the time when linear, 64 times when quadratic.
    assert large < 24 * small + 0.5, (small, large)
