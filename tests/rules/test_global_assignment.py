"""Rule `global-assignment` on real recorded explanation chains: which sites it claims, and which it leaves."""

from __future__ import annotations

import pytest

from escapelint.rules import global_assignment

from .conftest import evidence_at

CASES = [
    ('1.19', './globals.go:11', None, True),
    ('1.27.3', './globals.go:16', None, True),
    ('1.22.10', './globals.go:20', None, True),
    ('1.25.5', './globals.go:24', None, True),
    ('1.27.3', './globals.go:6', None, True),
    ('1.27.3', './misc.go:12', None, False),
    ('1.19', './returned.go:13', None, False),
]


@pytest.mark.parametrize("version,site,expr,claims", CASES)
def test_claim(version, site, expr, claims):
    claim = global_assignment.claim(evidence_at(version, site, expr))
    assert (claim is not None) == claims
    if claim is not None:
        assert claim.reason
