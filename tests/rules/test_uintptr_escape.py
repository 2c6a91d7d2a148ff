"""Rule `uintptr-escape` on real recorded explanation chains: which sites it claims, why, and by which step."""

from __future__ import annotations

import pytest

from escapelint.rules import uintptr_escape

from .conftest import deciding_step, evidence_at

#: (Go version, site, expression or None, the claim's reason or None when the rule leaves the
#: site, the deciding step as (expr, reason, position) or None)
CASES = [
    (
        "1.19",
        "./unsafe.go:10",
        None,
        "its address is passed as a uintptr to a //go:uintptrescapes call: `uintptr(.autotmp_2)` (//go:uintptrescapes) at ./unsafe.go:11:24",
        ("uintptr(.autotmp_2)", "//go:uintptrescapes", "./unsafe.go:11:24"),
    ),
    (
        "1.27.3",
        "./unsafe.go:10",
        None,
        "its address is passed as a uintptr to a //go:uintptrescapes call: `uintptr(.autotmp_2)` (//go:uintptrescapes) at ./unsafe.go:11:39",
        ("uintptr(.autotmp_2)", "//go:uintptrescapes", "./unsafe.go:11:39"),
    ),
    ("1.27.3", "./returned.go:13", None, None, None),
]


@pytest.mark.parametrize("version,site,expr,reason,step", CASES)
def test_claim(version, site, expr, reason, step):
    claim = uintptr_escape.claim(evidence_at(version, site, expr))
    assert (claim is not None) == (reason is not None)
    if claim is not None:
        assert claim.reason == reason
        assert deciding_step(claim) == step
