"""Positions whose path holds colons: a file named "a:b.go", a //line directive's name with a colon.

Both are legal Go, and the compiler prints them as they are ("./a:b.go:6:9: ..."). A position is what
precedes a line's first ": " (the whole rest of a step line after " at "), read from the right.
"""

from __future__ import annotations

import subprocess

import pytest

from escapelint.events import EventKind, FlowStep, Position
from escapelint.read.assembler import read_build_output
from escapelint.read.classifier import UNRECOGNIZED, LineClassifier
from escapelint.read.messages import MessageSyntaxError, parse_message, parse_position

from .conftest import toolchain_or_skip


@pytest.mark.parametrize(
    "text,expected",
    [
        ("./a:b.go:6:9", Position("./a:b.go", 6, 9)),
        ("./a:b.go:6", Position("./a:b.go", 6, None)),
        # //line directives: "//line gen:dir/x.go:40:3" keeps the column, "//line gen:dir/x.go:40" drops it.
        ("gen:dir/x.go:41:2", Position("gen:dir/x.go", 41, 2)),
        ("./gen:dir/x.go:41", Position("./gen:dir/x.go", 41, None)),
        ("a::b.go:1:2", Position("a::b.go", 1, 2)),
        ("C:\\src\\a:b.go:3", Position("C:\\src\\a:b.go", 3, None)),
        # A path ending in ":digits" without a column cannot be told from a path with a line and column.
        ("x:12:3", Position("x", 12, 3)),
        # "²" is a digit to str.isdigit() but not to the grammar's \d (nor to int()): it is part of the path.
        ("a:²:3", Position("a:²", 3, None)),
    ],
)
def test_positions_are_read_from_the_right(text, expected):
    assert parse_position(text) == expected


@pytest.mark.parametrize(
    "line,position,body",
    [
        # Synthetic: the shapes of real lines (see test_colon_in_file_names_with_a_real_toolchain) with
        # paths a checkout could hold.
        ("./a:b.go:6:9: &T{...} escapes to heap", Position("./a:b.go", 6, 9), "&T{...} escapes to heap"),
        ("./gen:dir/x.go:41: moved to heap: t", Position("./gen:dir/x.go", 41, None), "moved to heap: t"),
        ("C:\\a:b.go:6:9: moved to heap: t", Position("C:\\a:b.go", 6, 9), "moved to heap: t"),
        ("x:1:2:3:4: moved to heap: t", Position("x:1:2", 3, 4), "moved to heap: t"),
        # The position ends at the line's first ": "; the message may hold ":N: " itself.
        ("./a.go:3:4: cannot inline f: x:1: y", Position("./a.go", 3, 4), "cannot inline f: x:1: y"),
    ],
)
def test_prefix_split_takes_everything_before_the_first_colon_space(line, position, body):
    classifier = LineClassifier()
    got, _ = classifier.classify(line)
    assert got == position
    assert classifier.body(line) == body


@pytest.mark.parametrize(
    "line",
    [
        # Synthetic: `go` tool lines with a colon and digits before their first ": " stay bare.
        "go: finding module for package example.com/x",
        "go build example.com/x: dial tcp 127.0.0.1:443: connect: connection refused",
    ],
)
def test_tool_lines_with_host_ports_keep_no_position(line):
    position, _ = LineClassifier().classify(line)
    assert position is None


def test_step_position_may_hold_colons():
    # Synthetic, from the real step "    from &t (address-of) at ./gen:dir/x.go:42:9".
    _, step = LineClassifier().classify("./gen:dir/x.go:41:2:     from &t (address-of) at ./gen:dir/x.go:42:9")
    assert step == FlowStep("&t", "address-of", Position("./gen:dir/x.go", 42, 9))


_COLON_FILE = """package colon

type T struct{ n int }

func New(n int) *T {
\treturn &T{n: n}
}

func Keep(p *int) *int {
\treturn p
}
"""

_LINE_DIRECTIVES = """package colon

//line gen:dir/x.go:40:3
func WithColumn() *T {
\tt := T{n: 1}
\treturn &t
}

//line gen:dir/y.go:70
func WithoutColumn() *T {
\tu := T{n: 2}
\treturn &u
}
"""


@pytest.mark.toolchain
@pytest.mark.parametrize("version", ["1.19", "1.27.3"])
def test_colon_in_file_names_with_a_real_toolchain(version, tmp_path):
    """A real build of a package with a file "a:b.go" and //line names with colons: every verdict kept."""
    toolchain = toolchain_or_skip(version)
    (tmp_path / "go.mod").write_text("module colon\n\ngo 1.19\n")
    (tmp_path / "a:b.go").write_text(_COLON_FILE)
    (tmp_path / "lines.go").write_text(_LINE_DIRECTIVES)
    # A library package: `go build` writes no binary, only to its own cache.
    proc = subprocess.run(
        [str(toolchain.go), "build", "-gcflags=-m=2", "./..."],
        cwd=tmp_path,
        env=toolchain.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=True,
    )
    lines = proc.stdout.decode().splitlines(keepends=True)
    packages, stats = read_build_output(lines)
    assert [u for p in packages for u in p.unrecognized] == []
    assert stats.balanced()
    events = {(e.kind, e.expr): e for p in packages for e in p.events}
    # Go >= 1.22 prefixes a //line name that is not absolute with the package directory, as for a file.
    here = "./" if "./gen:dir/" in proc.stdout.decode() else ""
    assert events[EventKind.ESCAPE, "&T{...}"].position == Position("./a:b.go", 6, 9)
    assert events[EventKind.LEAK, "p"].position == Position("./a:b.go", 9, 11)
    assert events[EventKind.MOVED, "t"].position == Position(f"{here}gen:dir/x.go", 41, 2)
    assert events[EventKind.MOVED, "u"].position == Position(f"{here}gen:dir/y.go", 71, None)
    (step,) = [s for e in events.values() if e.expr == "p" for x in e.explanations for f in x.flows for s in f.steps]
    assert step.at == Position("./a:b.go", 10, 2)


@pytest.mark.parametrize(
    "body",
    [
        # Synthetic, from real step shapes: paths holding ") at " and colons, where the text after the
        # last ") at " is, or is not, a position. The classifier must read them as the grammar does.
        "    from s.mu (address-of) at kv/store.go:of) at kv/store.go:24:6",
        "    from x (r) at a) at b.go:1:2",
        "    from x (r) at a) at :1",
        "    from x (r) at a.go:1:2",
        "    from x (r) at a: b.go:1:2",
        "    from x (r) at a) at b: c.go:1:2",
        "    from x (r) at :1",
    ],
)
def test_step_split_agrees_with_the_grammar(body):
    try:
        parsed = parse_message(body)
    except MessageSyntaxError:
        expected = UNRECOGNIZED
    else:
        start = len("    from ") + len(parsed.expr) + len(" (") + len(parsed.reason) + len(") at ")
        expected = FlowStep(parsed.expr, parsed.reason, parse_position(body[start:]))
    classifier = LineClassifier()
    assert classifier.step(body) == expected
    assert classifier.step(body) == expected  # and from its caches
