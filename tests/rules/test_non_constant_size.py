"""Rule `non-constant-size` on real recorded explanation chains: which sites it claims, why, and by which step."""

from __future__ import annotations

import pytest

from escapelint.rules import non_constant_size

from .conftest import deciding_step, evidence_at

#: (Go version, site, expression or None, the claim's reason or None when the rule leaves the
#: site, the deciding step as (expr, reason, position) or None)
CASES = [
    (
        "1.19",
        "./sizes.go:39",
        None,
        "its size is only known at run time: `make([]byte, n)` (non-constant size) at ./sizes.go:39:13",
        ("make([]byte, n)", "non-constant size", "./sizes.go:39:13"),
    ),
    (
        "1.24.11",
        "./sizes.go:39",
        None,
        "its size is only known at run time: `make([]byte, n)` (non-constant size) at ./sizes.go:39:13",
        ("make([]byte, n)", "non-constant size", "./sizes.go:39:13"),
    ),
    ("1.27.3", "./sizes.go:34", None, None, None),
]


@pytest.mark.parametrize("version,site,expr,reason,step", CASES)
def test_claim(version, site, expr, reason, step):
    claim = non_constant_size.claim(evidence_at(version, site, expr))
    assert (claim is not None) == (reason is not None)
    if claim is not None:
        assert claim.reason == reason
        assert deciding_step(claim) == step
