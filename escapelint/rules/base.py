"""What a rule returns, and small helpers rules share."""

from __future__ import annotations

from dataclasses import dataclass

from escapelint.events import FlowStep


@dataclass(frozen=True, slots=True)
class Claim:
    """A rule's "this event is mine": the reason in one sentence, and the step that showed it."""

    reason: str
    step: FlowStep | None = None


def where(step: FlowStep) -> str:
    """`expr` (reason) at pos, as the compiler put it."""
    return f"`{step.expr}` ({step.reason}) at {step.at}"
