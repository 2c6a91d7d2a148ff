"""Compiler outputs escapelint once misread, recorded from fixtures/modules/leaks/misread on every toolchain.

Found by holding the reader against the compiler's own JSON log (escapelint issue 10, sections 4 and 5):
a flow whose sink holds " = " inside a string literal, identical summaries at one position, and a
constant Go 1.25+ folds in the summary but not in its explanation's header.
"""

from __future__ import annotations

import pytest

from escapelint.events import EventKind, Position
from escapelint.read.assembler import read_build_output
from scripts.toolchains import VERSIONS

from .conftest import RECORDED, read_lines

MISREAD = "misread/misread.go"


def _package(version: str):
    packages, stats = read_build_output(read_lines(RECORDED / f"go{version}" / "leaks.m2.txt"))
    assert stats.balanced()
    return next(p for p in packages if p.path and p.path.endswith("/misread"))


def _heap_events(package, line: int):
    return [
        e for e in package.events
        if e.position.file == MISREAD and e.position.line == line and e.kind in (EventKind.ESCAPE, EventKind.MOVED)
    ]  # fmt: skip


@pytest.mark.parametrize("version", VERSIONS)
def test_a_string_literal_holding_an_equals_sign_stays_in_the_sink(version):
    """panic("internal error: x = -1 for " + strconv.Itoa(n)): before Go 1.25 the arrow is " = " too."""
    package = _package(version)
    sinks = {
        flow.sink
        for event in _heap_events(package, 11)
        for explanation in event.explanations
        for flow in explanation.flows
    }
    concatenation = next(e.expr for e in _heap_events(package, 11))
    assert concatenation.startswith('"internal error: x = -1 for " + ~')
    assert sinks == {"{heap}", f"{{storage for {concatenation}}}"}


@pytest.mark.parametrize("version", VERSIONS)
def test_identical_summaries_at_one_position_take_one_explanation_each(version):
    """check, inlined into Check, calls errors.New twice: two `&errors.errorString{...}` at 27:9."""
    package = _package(version)
    events = _heap_events(package, 27)
    assert [e.expr for e in events] == ["&errors.errorString{...}"] * 2
    assert [len(e.explanations) for e in events] == [1, 1]
    assert events[0].explanations[0] is not events[1].explanations[0]
    assert not [u for u in package.unclaimed if u.position == events[0].position and u.sink is None]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_constant_folded_in_the_summary_only_is_paired(version):
    """init(32768) inlined into Reset: Go 1.25+ prints `make([]byte, size) escapes to heap in (*S).Reset:`
    and sums it up as `make([]byte, 32768) escapes to heap`; before, both say `size`."""
    package = _package(version)
    (event,) = _heap_events(package, 38)
    folded = version >= "1.25"
    assert event.expr == ("make([]byte, 32768)" if folded else "make([]byte, size)")
    assert {e.subject for e in event.explanations} == {"make([]byte, size)"}
    assert not [u for u in package.unclaimed if u.position == Position(MISREAD, 38, 8)]


def test_folded_pairing_needs_the_same_call_with_constants_where_the_header_has_expressions():
    from escapelint.read.assembler import _folded

    assert _folded("make([]byte, size)", "make([]byte, 32768)")
    assert _folded("make([]T, n, n*2)", "make([]T, 4, 8)")
    assert not _folded("make([]byte, size)", "make([]byte, size)")  # not folded: paired by equality
    assert not _folded("make([]byte, size)", "make([]int, 32768)")
    assert not _folded("make([]byte, size)", "new([]byte)")
    assert not _folded("make([]byte, size)", "make([]byte, other)")
    assert not _folded("make([]byte, a, b)", "make([]byte, 3)")


@pytest.mark.parametrize("version", VERSIONS)
def test_inlined_from_names_the_callee_whose_body_holds_the_site(version):
    """27:9 inlines (*W).check and, inside it, errors.New twice: `&errors.errorString{...}` names the
    package errors. At 11:52 (Go 1.19 puts the box there) strconv.Itoa is inlined, but the escaping
    `"…" + ~R0` is the caller's expression over its result."""
    from .conftest import analysed

    findings = [f for f in analysed(version, "leaks").findings() if f.event.position.file == MISREAD]
    at = {}
    for finding in findings:
        if finding.category is not None:
            at.setdefault(finding.event.position.line, set()).add(finding.inlined_from)
    assert at[27] == {"errors.New"}
    assert at[11] == {None}
    assert at[38] == {"(*S).init"}
