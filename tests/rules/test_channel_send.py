"""Rule `channel-send` on real recorded explanation chains: which sites it claims, and which it leaves."""

from __future__ import annotations

import pytest

from escapelint.rules import channel_send

from .conftest import evidence_at

CASES = [
    ('1.19', './misc.go:8', None, True),
    ('1.27.3', './misc.go:8', None, True),
    ('1.27.3', './misc.go:12', None, False),
]


@pytest.mark.parametrize("version,site,expr,claims", CASES)
def test_claim(version, site, expr, claims):
    claim = channel_send.claim(evidence_at(version, site, expr))
    assert (claim is not None) == claims
    if claim is not None:
        assert claim.reason
