"""Rule `channel-send` on real recorded explanation chains: which sites it claims, why, and by which step."""

from __future__ import annotations

import pytest

from escapelint.rules import channel_send

from .conftest import deciding_step, evidence_at

#: (Go version, site, expression or None, the claim's reason or None when the rule leaves the
#: site, the deciding step as (expr, reason, position) or None)
CASES = [
    (
        "1.19",
        "./misc.go:8",
        None,
        "sent on a channel: `ch <- (&T{...})` (send) at ./misc.go:8:5",
        ("ch <- (&T{...})", "send", "./misc.go:8:5"),
    ),
    (
        "1.27.3",
        "./misc.go:8",
        None,
        "sent on a channel: `ch <- (&T{...})` (send) at ./misc.go:8:5",
        ("ch <- (&T{...})", "send", "./misc.go:8:5"),
    ),
    ("1.27.3", "./misc.go:12", None, None, None),
]


@pytest.mark.parametrize("version,site,expr,reason,step", CASES)
def test_claim(version, site, expr, reason, step):
    claim = channel_send.claim(evidence_at(version, site, expr))
    assert (claim is not None) == (reason is not None)
    if claim is not None:
        assert claim.reason == reason
        assert deciding_step(claim) == step
