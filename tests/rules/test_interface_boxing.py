"""Rule `interface-boxing` on real recorded explanation chains: which sites it claims, and which it leaves."""

from __future__ import annotations

import pytest

from escapelint.rules import interface_boxing

from .conftest import evidence_at

CASES = [
    ('1.19', './iface.go:11', None, True),
    ('1.27.3', './iface.go:15', None, True),
    ('1.22.10', './iface.go:33', None, True),
    ('1.27.3', './returned.go:18', None, False),
    ('1.27.3', './misc.go:8', None, False),
]


@pytest.mark.parametrize("version,site,expr,claims", CASES)
def test_claim(version, site, expr, claims):
    claim = interface_boxing.claim(evidence_at(version, site, expr))
    assert (claim is not None) == claims
    if claim is not None:
        assert claim.reason
