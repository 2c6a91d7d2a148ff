"""write_json_report as a library: it leaves the garbage collector as it found it."""

from __future__ import annotations

import gc
import io
import json

import pytest

from escapelint.analyze.findings import analyze
from escapelint.read.assembler import BuildReader
from escapelint.report.json import write_json_report

from .conftest import RECORDED, read_lines

EXAMPLE = RECORDED / "go1.27.3" / "categories.m2.txt"


def analysed(reader):
    return (analyze(output) for output in reader.packages(read_lines(EXAMPLE)))


def test_the_collector_is_on_again_after_the_report():
    reader = BuildReader()
    out = io.StringIO()
    write_json_report(analysed(reader), reader.stats, out, "example")
    assert json.loads(out.getvalue())["stats"]["balanced"]
    assert gc.isenabled()


def test_a_collector_the_caller_disabled_stays_disabled():
    reader = BuildReader()
    gc.disable()
    try:
        write_json_report(analysed(reader), reader.stats, io.StringIO(), "example")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_failing_write_leaves_the_collector_on():
    class Full(io.StringIO):
        def write(self, text):
            raise OSError("no space left on device")

    reader = BuildReader()
    with pytest.raises(OSError):
        write_json_report(analysed(reader), reader.stats, Full(), "example")
    assert gc.isenabled()
