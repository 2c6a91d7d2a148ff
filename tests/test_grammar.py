"""The grammar on real recorded lines: each message kind parses to the structure it states."""

from __future__ import annotations

import logging

import pytest
from lark import Lark

from escapelint.events import EventKind, FlowStep, LeakKind, Position
from escapelint.read.classifier import UNRECOGNIZED, LineClassifier
from escapelint.read.messages import (
    EscapeHeader,
    FlowLine,
    LeakHeader,
    PackageHeader,
    RemarkMessage,
    Summary,
    build_parser,
    grammar_text,
    parse_position,
)

from .conftest import RECORDED, read_lines


def _lines(version: str, name: str = "categories.m2.txt") -> list[str]:
    return [line.rstrip("\r\n") for line in read_lines(RECORDED / f"go{version}" / name)]


def _first(lines: list[str], needle: str) -> str:
    return next(line for line in lines if needle in line)


@pytest.mark.slow  # Lark's debug analyses of the whole grammar take a minute on a slow machine
def test_grammar_has_no_conflicts_or_collisions(caplog):
    """No LALR conflicts and no terminals Lark's analysis finds colliding.

    Lark's strict mode cannot be used: it rejects any two free-text terminals even when their
    lookaheads make them exclusive. Debug mode runs the same analyses and logs what it finds.
    """
    with caplog.at_level(logging.DEBUG, logger="lark"):
        Lark(grammar_text(), parser="lalr", lexer="contextual", start=["message", "tool_line"], debug=True)
    problems = [r.getMessage() for r in caplog.records if "onflict" in r.getMessage() or "ollision" in r.getMessage()]
    assert problems == []


def test_lookaheads_stay_short_for_the_collision_check():
    """The slow collision check above unrolls every terminal as far as the longest fixed-word lookahead
    of any terminal: keep that under 32 characters, so the check stays a matter of seconds."""
    import interegular

    longest = {}
    for terminal in build_parser().terminals:
        try:
            pattern = interegular.parse_pattern(terminal.pattern.to_regexp())
        except interegular.patterns.Unsupported:
            continue  # an anchored or back-looking terminal: interegular skips it
        longest[terminal.name] = pattern.prefix_postfix[1]
    assert {name: n for name, n in longest.items() if n >= 32} == {}


@pytest.mark.parametrize("version,arrow", [("1.19", "="), ("1.24.11", "="), ("1.25.5", "←"), ("1.27.3", "←")])
def test_flow_line_both_dialects(version, arrow):
    line = _first(_lines(version), f"flow: ~r0 {arrow} &")
    position, message = LineClassifier().classify(line)
    assert isinstance(message, FlowLine)
    assert message.sink == "~r0" and message.derefs == -1
    assert position.line > 0 and position.column > 0


@pytest.mark.parametrize("version,has_function", [("1.22.10", False), ("1.27.3", True)])
def test_escape_header_with_and_without_function(version, has_function):
    line = _first(_lines(version), "escapes to heap" + (" in " if has_function else ":"))
    _, message = LineClassifier().classify(line)
    assert isinstance(message, EscapeHeader)
    assert (message.function is not None) == has_function


@pytest.mark.parametrize("version", ["1.19", "1.27.3"])
def test_leak_header(version):
    line = _first(_lines(version), "parameter ")
    _, message = LineClassifier().classify(line)
    assert isinstance(message, LeakHeader)
    assert message.sink in line and message.param in line and message.derefs >= 0


def test_step_line_keeps_its_own_position():
    lines = _lines("1.27.3")
    line = _first(lines, "(address-of) at ")
    _, step = LineClassifier().classify(line)
    assert isinstance(step, FlowStep)
    assert step.reason == "address-of"
    assert line.endswith(f" at {step.at}")


@pytest.mark.parametrize(
    "needle,kind,leak",
    [
        ("moved to heap: ", EventKind.MOVED, None),
        (": leaking param content: ", EventKind.LEAK, LeakKind.CONTENT),
        (" to result ", EventKind.LEAK, LeakKind.RESULT),
        (" does not escape", EventKind.NOESCAPE, None),
    ],
)
def test_summary_lines(needle, kind, leak):
    line = _first(_lines("1.27.3"), needle)
    _, message = LineClassifier().classify(line)
    assert isinstance(message, Summary)
    assert message.kind is kind
    assert (message.leak.kind if message.leak else None) is leak


def test_append_summary_go125():
    line = _first(_lines("1.25.5"), ": append escapes to heap")
    _, message = LineClassifier().classify(line)
    assert message == Summary(EventKind.ESCAPE, "append")


@pytest.mark.parametrize(
    "needle,kind",
    [
        ("can inline ", "can_inline"),
        ("inlining call to ", "inline_call"),
        ("capturing by value", "capture"),
        ("capturing by ref", "capture"),
    ],
)
def test_remarks(needle, kind):
    line = _first(_lines("1.27.3"), needle)
    _, message = LineClassifier().classify(line)
    assert isinstance(message, RemarkMessage) and message.kind == kind


def test_cannot_inline_reason():
    line = _first(_lines("1.22.10", "example.m2.txt") + _lines("1.22.10"), "cannot inline ")
    _, message = LineClassifier().classify(line)
    assert message.kind == "cannot_inline" and message.function and message.detail


def test_package_headers():
    classifier = LineClassifier()
    for line in _lines("1.27.3"):
        if line.startswith("# "):
            assert classifier.classify(line) == (None, PackageHeader(line[2:], None))


@pytest.mark.parametrize(
    "text,expected",
    [
        ("./a.go:10:2", Position("./a.go", 10, 2)),
        ("<autogenerated>:1", Position("<autogenerated>", 1, None)),
        ("C:\\src\\my dir\\x.go:3:4", Position("C:\\src\\my dir\\x.go", 3, 4)),
        ("C:\\x.go:3", Position("C:\\x.go", 3, None)),
        ("<unknown line number>", Position("<unknown line number>", 0, None)),
    ],
)
def test_positions(text, expected):
    """Position syntax (hand-written: Windows paths and spaces are not producible on this machine)."""
    assert build_parser().get_terminal("POSITION").pattern.to_regexp()
    assert parse_position(text) == expected


@pytest.mark.parametrize(
    "line",
    [
        # Hand-made malformed input (deliberately not compiler output).
        "./a.go:10:2: x flies to heap",
        "./a.go:10:2:     from x (spill) at nowhere",
        "./a.go:10:2:   flow: {heap} ~ x:",
        "garbage without any position",
    ],
)
def test_malformed_lines_are_unrecognized(line):
    _, message = LineClassifier().classify(line)
    assert message is UNRECOGNIZED


@pytest.mark.parametrize("version", ["1.19", "1.24.11", "1.25.5", "1.27.3"])
def test_flow_sink_holding_the_arrow_in_a_string_literal(version):
    """`{storage for "internal error: x = -1 for " + ~r0} = &{storage for …}:` (fixtures/modules/leaks):
    the arrow is the first " = " outside string literals (Go 1.25+: the first " ← ")."""
    lines = read_lines(RECORDED / f"go{version}" / "leaks.m2.txt")
    line = _first(lines, 'flow: {storage for "internal error: x = -1 for "')
    _, message = LineClassifier().classify(line.rstrip("\n"))
    assert isinstance(message, FlowLine)
    assert message.sink == message.source
    assert message.sink.startswith('{storage for "internal error: x = -1 for " + ~') and message.sink.endswith("}")
    assert message.derefs == -1


def test_escapedebug_convert_lines():
    """-d=escapedebug=1 (Go 1.25+): every static path of walk/convert.go dataWord, as recorded."""
    lines = _lines("1.27.3", "conversions.m2d.txt")
    classify = LineClassifier().classify
    details = {}
    for line in lines:
        if "convert: " in line:
            _, message = classify(line)
            assert isinstance(message, RemarkMessage) and message.kind == "interface_conversion", line
            details.setdefault(message.detail, message.subject)
    assert details == {
        "read-only global": ".stmp_1",  # .stmp_0 is statics.go's table
        "zero-sized": ".stmp_27",
        "single-byte": ".stmp_17",
        "zero value": "(pair)(runtime.zeroVal@0)",
    }
    # One is printed without a position: the zero value has none (dataWord says so).
    bare = _first(lines, "convert: using global for single-byte interface value: (byteBox)")
    assert classify(bare) == (None, RemarkMessage("interface_conversion", subject="(byteBox)(runtime.zeroVal@0)", detail="single-byte"))


@pytest.mark.parametrize("version", ["1.22.10", "1.27.3"])
def test_loopvar_and_bounds_check_lines(version):
    lines = _lines(version, "loopvars.m2debug.txt")
    classify = LineClassifier().classify
    _, heap = classify(_first(lines, "loop variable i "))
    _, stack = classify(_first(lines, "loop variable x "))
    assert heap == RemarkMessage("loop_variable", subject="i", detail="heap-allocated")
    assert stack == RemarkMessage("loop_variable", subject="x", detail="stack-allocated")
    checks = [classify(line)[1] for line in lines if ": Found Is" in line]
    assert sorted(m.detail for m in checks) == ["IsInBounds", "IsInBounds", "IsSliceInBounds"]
    assert all(m.kind == "bounds_check" for m in checks)


def test_a_heap_loop_variable_is_linked_to_its_moved_site():
    from .conftest import analysed

    (moved,) = [f for f in analysed("1.27.3", "loopvars", "m2debug").findings() if f.event.kind is EventKind.MOVED]
    assert moved.event.expr == "i" and moved.allocates
    assert moved.reason.endswith("; a per-iteration loop variable: one allocation per iteration (-d=loopvar=2)")
