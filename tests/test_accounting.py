"""Every recorded fixture: every line counted once, nothing unrecognized, one event per summary line."""

from __future__ import annotations

import re

import pytest

from escapelint.events import EventKind, LineRole
from escapelint.read.assembler import read_build_output

from .conftest import RECORDED, fixture_id, read_lines, recorded_files

# Independent of the grammar on purpose: the plainest reading of what a summary line is.
_PREFIX = re.compile(r"^(?:(?:[A-Za-z]:[\\/])?[^\n:]+:\d+(?::\d+)?|<unknown line number>): ")


def _bodies(lines):
    for line in lines:
        text = line.rstrip("\r\n")
        match = _PREFIX.match(text)
        yield text[match.end() :] if match else text


@pytest.mark.parametrize("path", recorded_files(), ids=fixture_id)
def test_every_line_is_accounted_for(path):
    lines = read_lines(path)
    packages, stats = read_build_output(lines)
    assert stats.lines == len(lines)
    assert sum(stats.roles.values()) == len(lines)
    assert stats.roles[LineRole.UNRECOGNIZED] == 0, [u for p in packages for u in p.unrecognized]


@pytest.mark.parametrize("path", recorded_files(), ids=fixture_id)
def test_one_event_per_summary_line(path):
    lines = read_lines(path)
    bodies = list(_bodies(lines))
    summaries = sum(
        1 for b in bodies if not b.startswith(" ") and (b.endswith(" escapes to heap") or b.startswith("moved to heap: "))
    )
    leaks = sum(1 for b in bodies if b.startswith("leaking param"))
    _, stats = read_build_output(lines)
    assert stats.events[EventKind.ESCAPE] + stats.events[EventKind.MOVED] == summaries
    assert stats.events[EventKind.LEAK] == leaks


@pytest.mark.parametrize("path", recorded_files("*.m2.txt"), ids=fixture_id)
def test_explanations_belong_to_their_own_site(path):
    """Each explanation attached to an event has the event's position and subject."""
    packages, _ = read_build_output(read_lines(path))
    for package in packages:
        for event in package.events:
            for explanation in event.explanations:
                assert explanation.position == event.position
                if event.kind is EventKind.ESCAPE and event.expr == "append":
                    assert explanation.subject.startswith("append(")
                elif explanation.subject != event.expr:
                    # Go 1.25+ folds an inlined constant in the summary only (fixtures/modules/leaks/misread)
                    assert (explanation.subject, event.expr) == ("make([]byte, size)", "make([]byte, 32768)")
                    assert path.parent.name >= "go1.25"


def test_malformed_step_inside_a_flow_is_reported_and_the_flow_kept():
    """A real explanation with one step line corrupted by hand (deliberately malformed input)."""
    lines = read_lines(RECORDED / "go1.27.3" / "categories.m2.txt")
    index = next(i for i, line in enumerate(lines) if "    from " in line and " at " in line)
    cut = lines[index].rindex(" at ")
    lines[index] = lines[index][:cut] + " at nowhere\n"
    packages, stats = read_build_output(lines)
    unrecognized = [u for p in packages for u in p.unrecognized]
    assert [(u.line, u.text) for u in unrecognized] == [(index + 1, lines[index].rstrip("\n"))]
    assert stats.roles[LineRole.UNRECOGNIZED] == 1
    assert stats.balanced()
