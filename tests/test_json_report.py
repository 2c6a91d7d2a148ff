"""write_json_report as a library: it leaves the garbage collector as it found it."""

from __future__ import annotations

import gc
import io
import json

import pytest

from escapelint.report.json import write_json_report

from .conftest import analysed


def test_the_collector_is_on_again_after_the_report():
    build = analysed("1.27.3", "categories")
    out = io.StringIO()
    write_json_report(iter(build.packages), build.stats, out, "example")
    assert json.loads(out.getvalue())["stats"]["balanced"]
    assert gc.isenabled()


def test_a_collector_the_caller_disabled_stays_disabled():
    build = analysed("1.27.3", "categories")
    gc.disable()
    try:
        write_json_report(iter(build.packages), build.stats, io.StringIO(), "example")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_failing_write_leaves_the_collector_on():
    class Full(io.StringIO):
        def write(self, text):
            raise OSError("no space left on device")

    build = analysed("1.27.3", "categories")
    with pytest.raises(OSError):
        write_json_report(iter(build.packages), build.stats, Full(), "example")
    assert gc.isenabled()
