"""Fuzzing the reader with mutations of recorded real compiler output (issue 15).

A fixed (derandomized) and bounded run of the campaign in tests/fuzz_strategies.py, which documents
the mutations and the properties; `python scripts/fuzz_reader.py --examples N` runs it longer and
with fresh seeds. An input it finds that breaks a property belongs below as a regression case.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from escapelint.workflows import parallel

from . import fuzz_strategies as fuzz

CI = settings.get_profile("ci")


@settings(CI)
@given(fuzz.build_outputs())
def test_reading_never_fails_and_counts_every_line(data):
    fuzz.check_accounting(data)


@settings(CI, max_examples=60)
@given(fuzz.build_outputs())
def test_stdin_gives_the_report_the_file_gives(data):
    fuzz.check_stdin_same_as_file(data)


@pytest.mark.skipif(not parallel.can_fork(), reason="parallel reading needs fork()")
@settings(CI, max_examples=40)
@given(fuzz.multi_package_outputs())
def test_two_jobs_give_the_report_one_job_gives(data):
    fuzz.check_jobs_agree(data)


@settings(CI, max_examples=25)
@given(fuzz.multi_package_outputs())
def test_every_report_format_is_written(data):
    fuzz.check_every_format(data)


def test_the_strategies_start_from_recorded_output():
    """The campaign's material is the recorded fixtures, and they hold packages to cut at."""
    inputs = fuzz.recorded_inputs()
    assert len(inputs) >= 20 and sum(map(len, inputs)) > 5000
    assert len(fuzz.recorded_packages()) > 20
    assert all(package[0].startswith(b"# ") for package in fuzz.recorded_packages())


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\r", id="lone-cr"),
        pytest.param(b"a\x0bb\x1cc\x85d\xe2\x80\xa8e\n", id="splitlines-only-separators"),
        pytest.param(b"# example.com/x\r\n./x.go:1:2: \xff escapes to heap\x00\r\r\n", id="crlf-nul-undecodable"),
    ],
)
def test_hand_picked_edges(data):
    fuzz.check_accounting(data)
    fuzz.check_stdin_same_as_file(data)


# --- what the campaign found ---------------------------------------------------------------------

#: Found by `scripts/fuzz_reader.py --examples 600 stdin` (shrunk by hypothesis): a NUL before a
#: recorded summary line, so that the printed file name starts with "\x00".
NUL_IN_FILE_NAME = (
    b"ok/ok.go:5:6: can inline Escape with cost 8 as: func() *int { x := 1; return &x }\n"
    b"ok/ok.go:6:2: x escapes to heap:\n"
    b"ok/ok.go:6:2:   flow: ~r0 = &x:\n"
    b"ok/ok.go:6:2:     from &x (address-of) at ok/ok.go:7:9\n"
    b"ok/ok.go:6:2:     from return &x (return) at ok/ok.go:7:2\n"
    b"\x00ok/ok.go:6:2: moved to heap: x\n"
)


def test_a_nul_in_a_file_name_is_read_and_counted():
    fuzz.check_accounting(NUL_IN_FILE_NAME)  # the reader itself is fine


@pytest.mark.parametrize(
    "data", [NUL_IN_FILE_NAME, b"ok/o\x00k.go:6:2: moved to heap: x\n"], ids=["as-found", "minimal"]
)
def test_a_nul_in_a_file_name_is_no_crash_of_the_report(data):
    """Found by the fuzz test: a NUL in a printed name (possible in a //line directive) ended in
    ValueError('embedded null byte'). SourceLocator.path() now names no file for it."""
    fuzz.check_stdin_same_as_file(data)


def test_a_nul_in_a_file_name_is_no_crash_of_the_pages():
    fuzz.check_every_format(b"# example.com/x\n" + NUL_IN_FILE_NAME)
