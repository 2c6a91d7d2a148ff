"""Rule `indirect-store` on real recorded explanation chains: which sites it claims, why, and by which step."""

from __future__ import annotations

import pytest

from escapelint.rules import indirect_store

from .conftest import deciding_step, evidence_at

#: (Go version, site, expression or None, the claim's reason or None when the rule leaves the
#: site, the deciding step as (expr, reason, position) or None)
CASES = [
    (
        "1.19",
        "./misc.go:12",
        None,
        "stored through pointer `*pp`: `*pp = &x` (assign) at ./misc.go:13:6",
        ("*pp = &x", "assign", "./misc.go:13:6"),
    ),
    (
        "1.27.3",
        "./misc.go:12",
        None,
        "stored through pointer `*pp`: `*pp = &x` (assign) at ./misc.go:13:6",
        ("*pp = &x", "assign", "./misc.go:13:6"),
    ),
    ("1.27.3", "./globals.go:20", None, None, None),
]


@pytest.mark.parametrize("version,site,expr,reason,step", CASES)
def test_claim(version, site, expr, reason, step):
    claim = indirect_store.claim(evidence_at(version, site, expr))
    assert (claim is not None) == (reason is not None)
    if claim is not None:
        assert claim.reason == reason
        assert deciding_step(claim) == step
