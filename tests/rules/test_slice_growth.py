"""Rule `slice-growth` on real recorded explanation chains: which sites it claims, why, and by which step."""

from __future__ import annotations

import pytest

from escapelint.rules import slice_growth

from .conftest import deciding_step, evidence_at

#: (Go version, site, expression or None, the claim's reason or None when the rule leaves the
#: site, the deciding step as (expr, reason, position) or None)
CASES = [
    (
        "1.25.5",
        "./sizes.go:6",
        None,
        "the backing array `append` allocates when it grows the slice escapes",
        ("return s", "return", "./sizes.go:8:2"),
    ),
    (
        "1.27.3",
        "./sizes.go:6",
        None,
        "the backing array `append` allocates when it grows the slice escapes",
        ("return s", "return", "./sizes.go:8:2"),
    ),
    ("1.27.3", "./sizes.go:4", None, None, None),
]


@pytest.mark.parametrize("version,site,expr,reason,step", CASES)
def test_claim(version, site, expr, reason, step):
    claim = slice_growth.claim(evidence_at(version, site, expr))
    assert (claim is not None) == (reason is not None)
    if claim is not None:
        assert claim.reason == reason
        assert deciding_step(claim) == step
