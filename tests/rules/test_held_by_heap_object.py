"""Rule `held-by-heap-object` on real recorded chains: a value held by another allocation that escapes."""

from __future__ import annotations

import pytest

from escapelint.analyze.evidence import gather
from escapelint.analyze.findings import PackageEvidence
from escapelint.analyze.source import LazySource, SourceLocator
from escapelint.events import (
    EscapeEvent,
    EventKind,
    Explanation,
    Flow,
    FlowStep,
    Position,
)
from escapelint.read.assembler import read_build_output
from escapelint.rules import held_by_heap_object

from ..conftest import FIXTURES, RECORDED, read_lines
from .conftest import deciding_step, evidence_at

CASES = [
    ("1.27.3", "./returned.go:13", None, False),
    ("1.27.3", "./iface.go:11", None, False),
    ("1.27.3", "./closures.go:6", None, True),  # n: held by the func literal (closure-capture decides first)
]


@pytest.mark.parametrize("version,site,expr,claims", CASES)
def test_claim(version, site, expr, claims):
    assert (held_by_heap_object.claim(evidence_at(version, site, expr)) is not None) == claims


def test_a_value_captured_by_an_escaping_closure_is_held_by_it():
    claim = held_by_heap_object.claim(evidence_at("1.27.3", "./closures.go:6"))
    assert claim.reason == "stored in `func literal`, which escapes"
    assert deciding_step(claim) == ("n", "captured by a closure", "./closures.go:8:3")


def test_claims_values_stored_in_escaping_objects():
    """The example module (Go 1.27.3) stores maps in structs that escape."""
    packages, _ = read_build_output(read_lines(RECORDED / "go1.27.3" / "example.m2.txt"))
    claimed = []
    for package in packages:
        context = PackageEvidence(package, SourceLocator(FIXTURES / "modules" / "example"))
        for index, event in enumerate(package.events):
            if event.kind.value in ("escape", "moved"):
                claim = held_by_heap_object.claim(context.evidence(index)[0])
                if claim is not None:
                    claimed.append((str(event.position), event.expr, claim.reason, deciding_step(claim)))
    assert claimed, "the example module stores values in escaping objects"
    assert all("stored in `" in reason for _, _, reason, _ in claimed)
    assert claimed == [
        ("kv/store.go:17:26", "make(map[string][]byte)", "stored in `&Store{...}`, which escapes", None),
        ("cmd/kvdemo/main.go:13:17", "make(map[string][]byte)", "stored in `&kv.Store{...}`, which escapes", None),
    ]


def test_a_value_stored_in_a_variable_its_function_moves_to_the_heap():
    at = Position("./a.go", 5, 6)
    store = FlowStep("buf = &x", "assign", at)
    explanation = Explanation(
        position=at,
        subject="x",
        function="F",
        sink=None,
        derefs=None,
        flows=(Flow("buf", "x", -1, (store,)),),
        truncated=False,
        first_line=1,
        line_count=3,
    )
    event = EscapeEvent(EventKind.MOVED, "a", at, "x", "F", (explanation,), None, 4)
    evidence = gather(
        event,
        sources=LazySource(lambda: None),
        boxed_here=False,
        explained_input=True,
        heap_variables=frozenset({"buf"}),
    )
    claim = held_by_heap_object.claim(evidence)
    assert claim.reason == "stored in `buf`, a variable that is itself moved to the heap"
    assert deciding_step(claim) == ("buf = &x", "assign", "./a.go:5:6")
