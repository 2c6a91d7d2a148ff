"""Rule `returned-pointer` on real recorded explanation chains: which sites it claims, why, and by which step."""

from __future__ import annotations

import pytest

from escapelint.rules import returned_pointer

from .conftest import deciding_step, evidence_at

#: (Go version, site, expression or None, the claim's reason or None when the rule leaves the
#: site, the deciding step as (expr, reason, position) or None)
CASES = [
    (
        "1.19",
        "./returned.go:13",
        None,
        "it reaches result `~r0` of its function",
        ("return &x", "return", "./returned.go:14:2"),
    ),
    (
        "1.27.3",
        "./returned.go:18",
        None,
        "it reaches result `~r0` of its function",
        ("return &T{...}", "return", "./returned.go:18:2"),
    ),
    (
        "1.22.10",
        "./returned.go:22",
        None,
        "it reaches result `~r0` of its function",
        ("return new(T)", "return", "./returned.go:22:2"),
    ),
    (
        "1.25.5",
        "./returned.go:26",
        None,
        "it reaches result `~r0` of its function",
        ("return a[:]", "return", "./returned.go:27:2"),
    ),
    (
        "1.19",
        "./returned.go:31",
        None,
        "it reaches the named result `p` of ReturnNamedResult",
        ("p = &v", "assign", "./returned.go:32:4"),
    ),
    (
        "1.27.3",
        "./returned.go:31",
        None,
        "it reaches the named result `p` of ReturnNamedResult",
        ("p = &v", "assign", "./returned.go:32:4"),
    ),
    (
        "1.24.11",
        "./returned.go:37",
        None,
        "it reaches result `~r0` of its function",
        ("return Holder{...}", "return", "./returned.go:38:2"),
    ),
    (
        "1.27.3",
        "./returned.go:47",
        None,
        "it reaches result `~r0` of its function",
        ("return ~r0", "return", "./returned.go:47:2"),
    ),
    ("1.27.3", "./globals.go:11", None, None, None),
    ("1.19", "./misc.go:8", None, None, None),
]


@pytest.mark.parametrize("version,site,expr,reason,step", CASES)
def test_claim(version, site, expr, reason, step):
    claim = returned_pointer.claim(evidence_at(version, site, expr))
    assert (claim is not None) == (reason is not None)
    if claim is not None:
        assert claim.reason == reason
        assert deciding_step(claim) == step
