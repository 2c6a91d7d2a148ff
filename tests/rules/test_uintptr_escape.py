"""Rule `uintptr-escape` on real recorded explanation chains: which sites it claims, and which it leaves."""

from __future__ import annotations

import pytest

from escapelint.rules import uintptr_escape

from .conftest import evidence_at

CASES = [
    ('1.19', './unsafe.go:10', None, True),
    ('1.27.3', './unsafe.go:10', None, True),
    ('1.27.3', './returned.go:13', None, False),
]


@pytest.mark.parametrize("version,site,expr,claims", CASES)
def test_claim(version, site, expr, claims):
    claim = uintptr_escape.claim(evidence_at(version, site, expr))
    assert (claim is not None) == claims
    if claim is not None:
        assert claim.reason
