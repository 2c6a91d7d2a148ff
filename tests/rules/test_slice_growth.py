"""Rule `slice-growth` on real recorded explanation chains: which sites it claims, and which it leaves."""

from __future__ import annotations

import pytest

from escapelint.rules import slice_growth

from .conftest import evidence_at

CASES = [
    ('1.25.5', './sizes.go:6', None, True),
    ('1.27.3', './sizes.go:6', None, True),
    ('1.27.3', './sizes.go:4', None, False),
]


@pytest.mark.parametrize("version,site,expr,claims", CASES)
def test_claim(version, site, expr, claims):
    claim = slice_growth.claim(evidence_at(version, site, expr))
    assert (claim is not None) == claims
    if claim is not None:
        assert claim.reason
