"""Rule `too-large` on real recorded explanation chains: which sites it claims, and which it leaves."""

from __future__ import annotations

import pytest

from escapelint.rules import too_large

from .conftest import evidence_at

CASES = [
    ('1.19', './sizes.go:20', None, True),
    ('1.27.3', './sizes.go:34', None, True),
    ('1.24.11', './sizes.go:28', None, True),
    ('1.27.3', './returned.go:13', None, False),
]


@pytest.mark.parametrize("version,site,expr,claims", CASES)
def test_claim(version, site, expr, claims):
    claim = too_large.claim(evidence_at(version, site, expr))
    assert (claim is not None) == claims
    if claim is not None:
        assert claim.reason
