"""Rule `interface-boxing` on real recorded explanation chains: which sites it claims, why, and by which step."""

from __future__ import annotations

import pytest

from escapelint.rules import interface_boxing

from .conftest import deciding_step, evidence_at

#: (Go version, site, expression or None, the claim's reason or None when the rule leaves the
#: site, the deciding step as (expr, reason, position) or None)
CASES = [
    (
        "1.19",
        "./iface.go:11",
        None,
        "`v` cannot allocate by itself: the heap object is its interface box",
        None,
    ),
    (
        "1.27.3",
        "./iface.go:15",
        None,
        "`v` cannot allocate by itself: the heap object is its interface box",
        None,
    ),
    (
        "1.22.10",
        "./iface.go:33",
        None,
        "`codeError{...}` cannot allocate by itself: the heap object is its interface box",
        None,
    ),
    ("1.27.3", "./returned.go:18", None, None, None),
    ("1.27.3", "./misc.go:8", None, None, None),
]


@pytest.mark.parametrize("version,site,expr,reason,step", CASES)
def test_claim(version, site, expr, reason, step):
    claim = interface_boxing.claim(evidence_at(version, site, expr))
    assert (claim is not None) == (reason is not None)
    if claim is not None:
        assert claim.reason == reason
        assert deciding_step(claim) == step
