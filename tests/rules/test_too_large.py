"""Rule `too-large` on real recorded explanation chains: which sites it claims, why, and by which step."""

from __future__ import annotations

import pytest

from escapelint.rules import too_large

from .conftest import deciding_step, evidence_at

#: (Go version, site, expression or None, the claim's reason or None when the rule leaves the
#: site, the deciding step as (expr, reason, position) or None)
CASES = [
    (
        "1.19",
        "./sizes.go:20",
        None,
        "too large for the stack: `huge` (too large for stack) at ./sizes.go:20:6",
        ("huge", "too large for stack", "./sizes.go:20:6"),
    ),
    (
        "1.27.3",
        "./sizes.go:34",
        None,
        "too large for the stack: `make([]byte, 131072)` (too large for stack) at ./sizes.go:34:13",
        ("make([]byte, 131072)", "too large for stack", "./sizes.go:34:13"),
    ),
    (
        "1.24.11",
        "./sizes.go:28",
        None,
        "too large for the stack: `big` (too large for stack) at ./sizes.go:28:6",
        ("big", "too large for stack", "./sizes.go:28:6"),
    ),
    ("1.27.3", "./returned.go:13", None, None, None),
]


@pytest.mark.parametrize("version,site,expr,reason,step", CASES)
def test_claim(version, site, expr, reason, step):
    claim = too_large.claim(evidence_at(version, site, expr))
    assert (claim is not None) == (reason is not None)
    if claim is not None:
        assert claim.reason == reason
        assert deciding_step(claim) == step
