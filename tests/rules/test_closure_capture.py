"""Rule `closure-capture` on real recorded explanation chains: which sites it claims, and which it leaves."""

from __future__ import annotations

import pytest

from escapelint.rules import closure_capture

from .conftest import evidence_at

CASES = [
    ('1.19', './closures.go:6', None, True),
    ('1.27.3', './closures.go:7', None, True),
    ('1.22.10', './closures.go:14', None, True),
    ('1.25.5', './closures.go:19', None, True),
    ('1.27.3', './misc.go:44', None, True),
    ('1.27.3', './returned.go:13', None, False),
]


@pytest.mark.parametrize("version,site,expr,claims", CASES)
def test_claim(version, site, expr, claims):
    claim = closure_capture.claim(evidence_at(version, site, expr))
    assert (claim is not None) == claims
    if claim is not None:
        assert claim.reason
