"""Rule `non-constant-size` on real recorded explanation chains: which sites it claims, and which it leaves."""

from __future__ import annotations

import pytest

from escapelint.rules import non_constant_size

from .conftest import evidence_at

CASES = [
    ('1.19', './sizes.go:39', None, True),
    ('1.24.11', './sizes.go:39', None, True),
    ('1.27.3', './sizes.go:34', None, False),
]


@pytest.mark.parametrize("version,site,expr,claims", CASES)
def test_claim(version, site, expr, claims):
    claim = non_constant_size.claim(evidence_at(version, site, expr))
    assert (claim is not None) == claims
    if claim is not None:
        assert claim.reason
