"""Rule `held-by-heap-object` on real recorded chains: a string held by an escaping interface box or error."""

from __future__ import annotations

import pytest

from escapelint.analyze.findings import PackageEvidence
from escapelint.analyze.source import SourceLocator
from escapelint.read.assembler import read_build_output
from escapelint.rules import held_by_heap_object

from ..conftest import FIXTURES, RECORDED, read_lines
from .conftest import evidence_at

CASES = [
    ("1.27.3", "./returned.go:13", None, False),
    ("1.27.3", "./iface.go:11", None, False),
]


@pytest.mark.parametrize("version,site,expr,claims", CASES)
def test_claim(version, site, expr, claims):
    assert (held_by_heap_object.claim(evidence_at(version, site, expr)) is not None) == claims


def test_claims_values_stored_in_escaping_objects():
    """The example module (Go 1.27.3) stores values in allocations that escape."""
    packages, _ = read_build_output(read_lines(RECORDED / "go1.27.3" / "example.m2.txt"))
    claimed = []
    for package in packages:
        context = PackageEvidence(package, SourceLocator(FIXTURES / "modules" / "example"))
        for index, event in enumerate(package.events):
            if event.kind.value in ("escape", "moved"):
                claim = held_by_heap_object.claim(context.evidence(index)[0])
                if claim is not None:
                    claimed.append((event.expr, claim.reason))
    assert claimed, "the example module stores values in escaping objects"
    assert all("stored in `" in reason for _, reason in claimed)
