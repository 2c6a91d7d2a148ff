"""The shared analysed recordings (conftest.analysed) are what the streaming pipeline gives, once per run."""

from __future__ import annotations

import pytest

from escapelint.analyze.findings import analyze
from escapelint.analyze.leaks import LeakSummaries
from escapelint.read.assembler import BuildReader

from .conftest import (
    MODULES,
    RECORDED,
    analysed,
    analysed_file,
    fixture_id,
    read_lines,
    recorded_files,
)


@pytest.mark.parametrize("path", recorded_files(), ids=fixture_id)
def test_the_cached_analysis_equals_the_streamed_one(path):
    build = analysed_file(path)
    reader = BuildReader()
    leaks = LeakSummaries()  # as escapelint.workflows.report fills it
    streamed = []
    for output in reader.packages(read_lines(path)):
        leaks.add_output(output)
        streamed.append(analyze(output, build.sources, leaks))
    assert list(build.packages) == streamed
    assert build.stats == reader.stats
    assert build.module == MODULES / path.name.split(".")[0] and build.go_version == path.parent.name


def test_each_recording_is_analysed_once():
    path = RECORDED / "go1.27.3" / "example.m2.txt"
    assert analysed("1.27.3", "example") is analysed("go1.27.3", "example") is analysed_file(path)
    assert analysed("1.27.3", "categories", "m1") is analysed_file(RECORDED / "go1.27.3" / "categories.m1.txt")


def test_build_result_is_fresh_each_time():
    build = analysed("1.27.3", "example")
    first, second = build.build_result(), build.build_result()
    assert first.packages == second.packages and first.packages is not second.packages
    assert first.go_version == "go1.27.3" and first.command is None
    assert list(first.heap_findings()) == [f for f in build.findings() if f.category is not None]
