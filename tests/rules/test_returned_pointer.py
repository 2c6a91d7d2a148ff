"""Rule `returned-pointer` on real recorded explanation chains: which sites it claims, and which it leaves."""

from __future__ import annotations

import pytest

from escapelint.rules import returned_pointer

from .conftest import evidence_at

CASES = [
    ('1.19', './returned.go:13', None, True),
    ('1.27.3', './returned.go:18', None, True),
    ('1.22.10', './returned.go:22', None, True),
    ('1.25.5', './returned.go:26', None, True),
    ('1.19', './returned.go:31', None, True),
    ('1.27.3', './returned.go:31', None, True),
    ('1.24.11', './returned.go:37', None, True),
    ('1.27.3', './returned.go:47', None, True),
    ('1.27.3', './globals.go:11', None, False),
    ('1.19', './misc.go:8', None, False),
]


@pytest.mark.parametrize("version,site,expr,claims", CASES)
def test_claim(version, site, expr, claims):
    claim = returned_pointer.claim(evidence_at(version, site, expr))
    assert (claim is not None) == claims
    if claim is not None:
        assert claim.reason
