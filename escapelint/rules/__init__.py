"""The rule registry: one module per category, asked in precedence order.

Each rule module has an `ID`, a `TITLE`, a one-line `FIX` hint, a docstring in ruff's shape (*What it
does*, *Why is this bad?*, *Example*, *Use instead*, *Known problems*) that the reports and
`escapelint explain ID` render, and `claim(evidence) -> Claim | None`. The engine, not the rules, stamps
the category on the verdict; an event no rule claims is `unclassified`, with the reason.

Precedence (the first rule that claims an event decides): the allocation's *mechanism* first —
closure-capture, interface-boxing, slice-growth, too-large, non-constant-size, uintptr-escape —
because changing where the value goes does not remove those allocations; then its *destination* —
returned-pointer, global-assignment, indirect-store, channel-send, held-by-heap-object, leaking-call.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from types import ModuleType

from escapelint.analyze.evidence import CalleeLeak, Evidence
from escapelint.events import FlowStep
from escapelint.rules import (
    channel_send,
    closure_capture,
    global_assignment,
    held_by_heap_object,
    indirect_store,
    interface_boxing,
    leaking_call,
    non_constant_size,
    returned_pointer,
    slice_growth,
    too_large,
    uintptr_escape,
    unclassified,
)
from escapelint.rules.base import Claim, where

__all__ = ["Claim", "Rule", "Verdict", "RULES", "PRECEDENCE", "UnknownRuleError", "get_rule", "classify"]

#: The order in which rules are asked; the module docstring above says why.
_MODULES_IN_PRECEDENCE: tuple[ModuleType, ...] = (
    closure_capture,
    interface_boxing,
    slice_growth,
    too_large,
    non_constant_size,
    uintptr_escape,
    returned_pointer,
    global_assignment,
    indirect_store,
    channel_send,
    held_by_heap_object,
    leaking_call,
)

HEADLINE = ("returned-pointer", "global-assignment", "interface-boxing", "closure-capture", "slice-growth")


@dataclass(frozen=True)
class Rule:
    """One category: a rule module's ID, title, fix hint and documentation, and its `claim`."""

    id: str
    title: str
    fix: str
    doc: str  # the module docstring: the category's documentation
    headline: bool
    module: ModuleType

    def claim(self, evidence: Evidence) -> Claim | None:
        return self.module.claim(evidence)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The engine's decision for one heap event."""

    category: str
    reason: str
    step: FlowStep | None  # the explanation step that decided, when one did
    #: The callees the value was followed into, outermost first (their leak explanations decided).
    followed: tuple[CalleeLeak, ...] = ()


class UnknownRuleError(KeyError):
    """A category id that is not in the registry (`get_rule`, e.g. for `escapelint explain ID`)."""

    def __init__(self, rule_id: str) -> None:
        super().__init__(rule_id)
        self.rule_id = rule_id

    def __str__(self) -> str:
        return f"unknown rule {self.rule_id!r}; known: {', '.join(RULES)}"


def _rule(module: ModuleType) -> Rule:
    return Rule(
        id=module.ID,
        title=module.TITLE,
        fix=module.FIX,
        doc=inspect.cleandoc(module.__doc__ or ""),
        headline=module.ID in HEADLINE,
        module=module,
    )


PRECEDENCE: tuple[Rule, ...] = tuple(_rule(m) for m in _MODULES_IN_PRECEDENCE)
UNCLASSIFIED = _rule(unclassified)
#: Every category by id, in precedence order, `unclassified` last.
RULES: dict[str, Rule] = {rule.id: rule for rule in (*PRECEDENCE, UNCLASSIFIED)}


def get_rule(rule_id: str) -> Rule:
    try:
        return RULES[rule_id]
    except KeyError:
        raise UnknownRuleError(rule_id) from None


def classify(evidence: Evidence) -> Verdict:
    """The category of one `escape`/`moved` event: the first rule in precedence order that claims it.

    A value passed to a callee of the package whose parameter's leak is explained is followed into
    that callee (`Evidence.callee`): where the callee sends it decides, by the destination rules.
    """
    for rule in PRECEDENCE:
        claim = rule.claim(evidence)
        if claim is not None:
            if rule.module is leaking_call:
                followed = _follow(evidence)
                if followed is not None:
                    return followed
            return Verdict(rule.id, claim.reason, claim.step)
    return Verdict(UNCLASSIFIED.id, unclassified.why(evidence), evidence.destination)


#: The rules that say where a value goes, asked of a callee's leak explanation in precedence order.
_DESTINATION_RULES: tuple[Rule, ...] = tuple(
    rule for rule in PRECEDENCE if rule.module in (global_assignment, indirect_store, channel_send, held_by_heap_object)
)


def _follow(evidence: Evidence) -> Verdict | None:
    """The verdict of the callee's leak explanation, through any callees it passes the value on to."""
    callee = evidence.callee
    if callee is None or callee.evidence is None:
        return None
    inner = callee.evidence
    via = f"passed to `{callee.callee}` ({where(callee.step)}), whose parameter `{callee.parameter}`"
    for rule in _DESTINATION_RULES:
        claim = rule.claim(inner)
        if claim is not None:
            return Verdict(rule.id, f"{via} is {claim.reason}", claim.step, (callee,))
    deeper = _follow(inner)
    if deeper is not None:
        return Verdict(deeper.category, f"{via} is {deeper.reason}", deeper.step, (callee, *deeper.followed))
    # The callee passes it on to a callee that cannot be followed in turn: say which, with both chains.
    passed_on = leaking_call.claim(inner)
    if passed_on is not None:
        return Verdict(leaking_call.ID, f"{via} is {passed_on.reason}", passed_on.step, (callee,))
    return None
