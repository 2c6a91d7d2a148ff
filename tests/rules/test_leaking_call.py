"""Rule `leaking-call` on real recorded explanation chains: which sites it claims, why, and by which step."""

from __future__ import annotations

import pytest

from escapelint.rules import leaking_call

from .conftest import deciding_step, evidence_at

#: (Go version, site, expression or None, the claim's reason or None when the rule leaves the
#: site, the deciding step as (expr, reason, position) or None)
CASES = [
    (
        "1.19",
        "./misc.go:19",
        None,
        "passed to `s.Sink`, an interface method or a function value, whose code the compiler cannot see: "
        "`s.Sink(&x)` (call parameter) at ./misc.go:20:8",
        ("s.Sink(&x)", "call parameter", "./misc.go:20:8"),
    ),
    (
        "1.27.3",
        "./misc.go:19",
        None,
        "passed to `s.Sink`, an interface method or a function value, whose code the compiler cannot see: "
        "`s.Sink(&x)` (call parameter) at ./misc.go:20:8",
        ("s.Sink(&x)", "call parameter", "./misc.go:20:8"),
    ),
    ("1.27.3", "./misc.go:8", None, None, None),
]


@pytest.mark.parametrize("version,site,expr,reason,step", CASES)
def test_claim(version, site, expr, reason, step):
    claim = leaking_call.claim(evidence_at(version, site, expr))
    assert (claim is not None) == (reason is not None)
    if claim is not None:
        assert claim.reason == reason
        assert deciding_step(claim) == step
