"""The gates on cost: `fail-on-bytes` for `check`, `max-new-bytes` for `diff`, with a heap profile.

A new heap escape that the profile saw allocate little is not worth failing a commit for when the
project says so (`fail-on-bytes = N`: only new sites of at least N bytes fail `check`); a pull request
may add escapes as long as they allocate at most `max-new-bytes` in total. Both need a profile of
the code being checked (`--profile`); without one every new site counts, and a warning says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from escapelint.analyze.cost import CostAttribution
from escapelint.analyze.findings import Finding
from escapelint.report.warnings import InputWarning
from escapelint.workflows.gate import CheckOutcome


@dataclass(frozen=True)
class CostVerdict:
    """`check`'s outcome once `fail-on-bytes` is applied, and the new sites it let pass (with their bytes)."""

    outcome: CheckOutcome
    below: list[tuple[Finding, int]]


def apply_fail_on_bytes(outcome: CheckOutcome, costs: CostAttribution, threshold: int) -> CostVerdict:
    """Keep as new only the sites the profile saw allocate at least `threshold` bytes."""
    failing, below = [], []
    for finding in outcome.new:
        cost = costs.of(finding)
        spent = cost.figures.bytes if cost is not None else 0
        if spent >= threshold:
            failing.append(finding)
        else:
            below.append((finding, spent))
    return CostVerdict(replace(outcome, new=failing, known=outcome.known + len(below)), below)


def new_bytes(added: list[Finding], costs: CostAttribution) -> int:
    """What the added sites allocated in the profile, together."""
    return sum(c.figures.bytes for f in added if (c := costs.of(f)) is not None)


def missing_profile_warning(key: str, command: str) -> InputWarning:
    return InputWarning(
        "cost-gate-without-profile",
        f"{key} is configured but `{command}` was given no --profile: every new heap escape counts",
    )
