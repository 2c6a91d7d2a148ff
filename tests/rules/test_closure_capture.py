"""Rule `closure-capture` on real recorded explanation chains: which sites it claims, why, and by which step."""

from __future__ import annotations

import pytest

from escapelint.rules import closure_capture

from .conftest import deciding_step, evidence_at

#: (Go version, site, expression or None, the claim's reason or None when the rule leaves the
#: site, the deciding step as (expr, reason, position) or None)
CASES = [
    (
        "1.19",
        "./closures.go:6",
        None,
        "`n` is captured by reference by a closure that escapes: `n` (captured by a closure) at ./closures.go:8:3",
        ("n", "captured by a closure", "./closures.go:8:3"),
    ),
    (
        "1.27.3",
        "./closures.go:7",
        None,
        "the func literal outlives its function, so the closure is allocated on the heap",
        None,
    ),
    (
        "1.22.10",
        "./closures.go:14",
        None,
        "the func literal outlives its function, so the closure is allocated on the heap",
        None,
    ),
    (
        "1.25.5",
        "./closures.go:19",
        None,
        "the func literal outlives its function, so the closure is allocated on the heap",
        None,
    ),
    (
        "1.27.3",
        "./misc.go:44",
        None,
        "`t.Value` is a method value: a closure over its receiver that escapes",
        None,
    ),
    ("1.27.3", "./returned.go:13", None, None, None),
]


@pytest.mark.parametrize("version,site,expr,reason,step", CASES)
def test_claim(version, site, expr, reason, step):
    claim = closure_capture.claim(evidence_at(version, site, expr))
    assert (claim is not None) == (reason is not None)
    if claim is not None:
        assert claim.reason == reason
        assert deciding_step(claim) == step
