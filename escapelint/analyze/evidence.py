"""The facts a rule may look at for one heap event, read off the compiler's own output.

`Evidence` gathers, for an `escape` or `moved` event: what kind of expression allocated (from the way
the compiler prints IR nodes), the explanation's chain (every flow step in order, its root sink, the
last step that moved the value toward that root), and a handle on the package's Go source for the
few questions only the source answers. Rules read these facts; they never parse text themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from escapelint.analyze.source import FunctionSpan, LazySource, PackageSource
from escapelint.events import EscapeEvent, EventKind, Explanation, FlowStep


class ExprForm(str, Enum):
    """What an escaping expression is, as far as its printed form tells."""

    FUNC_LITERAL = "func-literal"  # "func literal"
    APPEND = "append"  # "append": Go 1.25+'s summary of an append site's growth
    MAKE = "make"  # "make([]byte, n)"
    NEW = "new"  # "new(T)"
    ADDRESS_OF_LITERAL = "address-of-literal"  # "&T{...}"
    SLICE_LITERAL = "slice-literal"  # "[]T{...}"
    MAP_LITERAL = "map-literal"  # "map[K]V{...}"
    VARIADIC = "variadic"  # "... argument": the slice behind a variadic call
    CONVERSION = "conversion"  # "[]byte(s)", "string(b)", "[]rune(s)": copies into new memory
    CONCATENATION = "concatenation"  # `"a" + b`: a new string
    SELECTOR = "selector"  # "t.Value": a method value, or a boxed field
    VALUE = "value"  # anything else: a name, a call result, a constant, a value composite literal
    VARIABLE = "variable"  # a variable moved to heap


_CONVERSION = re.compile(r"^(?:\[\]byte|\[\]rune|string|\[\]uint8|\[\]int32|\((?:\[\]byte|\[\]rune|string)\))\(")
_SELECTOR = re.compile(r"^[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+$")


def expr_form(event: EscapeEvent) -> ExprForm:
    if event.kind is EventKind.MOVED:
        return ExprForm.VARIABLE
    expr = event.expr
    if expr == "func literal":
        return ExprForm.FUNC_LITERAL
    # Go 1.25+ sums up an append site's new backing array as "append escapes to heap". An escaping
    # "append(s, x)" is something else: the slice header boxed into an interface (m.Store(k, append(…))).
    if expr == "append":
        return ExprForm.APPEND
    if expr.startswith("make("):
        return ExprForm.MAKE
    if expr.startswith("new("):
        return ExprForm.NEW
    if expr.startswith("&") and expr.endswith("}"):
        return ExprForm.ADDRESS_OF_LITERAL
    if expr == "... argument":
        return ExprForm.VARIADIC
    # A slice or map literal allocates its storage; an array or struct literal is a plain value.
    if expr.endswith("}") and expr.startswith("[]"):
        return ExprForm.SLICE_LITERAL
    if expr.endswith("}") and expr.startswith("map["):
        return ExprForm.MAP_LITERAL
    if _CONVERSION.match(expr) and expr.endswith(")"):
        return ExprForm.CONVERSION
    if _top_level_plus(expr):
        return ExprForm.CONCATENATION
    if _SELECTOR.match(expr):
        return ExprForm.SELECTOR
    return ExprForm.VALUE


def _top_level_plus(expr: str) -> bool:
    """Whether `expr` is a sum at its top level (outside brackets and string literals)."""
    depth = 0
    quote = None
    escaped = False
    for index, char in enumerate(expr):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = None
            continue
        if char in "\"`'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "+" and depth == 0 and expr[index - 1 : index + 2] == " + ":
            return True
    return False


#: Step reasons that move a value to where it ends up, as opposed to carrying it along a path.
DESTINATION_REASONS = frozenset(
    {
        "return",
        "assign",
        "assign-pair",
        "call parameter",
        "send",
        "key of map put",
        "captured by a closure",
        "too large for stack",
        "non-constant size",
        "//go:uintptrescapes",
        "map literal key",
        "map literal value",
    }
)


@dataclass(frozen=True)
class Evidence:
    event: EscapeEvent
    form: ExprForm
    explanation: Explanation | None  # the first explanation: how the site came to escape
    steps: tuple[FlowStep, ...]  # every step of that explanation, in order
    root: str | None  # the sink of its last flow: "{heap}", "~r0", a result or outer variable
    destination: FlowStep | None  # the last step whose reason is a destination
    function: str | None
    sources: LazySource  # the package's source, read only if a rule asks
    boxed_here: bool  # an interface box is made at this site (another explanation stores into it)
    explained_input: bool  # the package's output has -m=2 explanations at all
    heap_variables: frozenset[str]  # variables its function moves to the heap

    @property
    def source(self) -> PackageSource | None:
        return self.sources.get()

    @property
    def function_span(self) -> FunctionSpan | None:
        """The declaration of the function holding the site, when the source is available."""
        source = self.source
        at = self.event.position
        if source is None or not source.covers(at.file):
            return None
        return source.function_at(at.file, at.line)

    def step_with(self, reason: str) -> FlowStep | None:
        """The first step of the explanation with this reason, if any."""
        return next((step for step in self.steps if step.reason == reason), None)


def gather(
    event: EscapeEvent,
    function: str | None,
    sources: LazySource,
    boxed_here: bool,
    explained_input: bool,
    heap_variables: frozenset[str] = frozenset(),
    explanation: Explanation | None = None,
) -> Evidence:
    """The evidence for `event`; `explanation` overrides the event's own first explanation."""
    if explanation is None and event.explanations:
        explanation = event.explanations[0]
    steps: tuple[FlowStep, ...] = ()
    root = None
    destination = None
    if explanation is not None and explanation.flows:
        steps = tuple(step for flow in explanation.flows for step in flow.steps)
        root = explanation.flows[-1].sink
        for step in reversed(steps):
            if step.reason in DESTINATION_REASONS:
                destination = step
                break
    return Evidence(
        event,
        expr_form(event),
        explanation,
        steps,
        root,
        destination,
        function,
        sources,
        boxed_here,
        explained_input,
        heap_variables,
    )


_ASSIGN_TARGET = re.compile(r"^\(*\**\(*([A-Za-z_]\w*)")


_ASSIGNMENT = re.compile(r"^(.*?) (?::|\+|-|\*|/|%|&|\||\^|<<|>>|&\^)?= ")


def assignment_target(step: FlowStep) -> tuple[str, str] | None:
    """(left-hand side, its base name) of an "X = Y (assign)" step, e.g. ("sinkMap[k]", "sinkMap").

    Also for `X := Y` and operator assignments such as `r.doc += s`.
    """
    assignment = _ASSIGNMENT.match(step.expr)
    if assignment is None:
        return None
    lhs = assignment.group(1).strip()
    match = _ASSIGN_TARGET.match(lhs)
    if match is None:
        return None
    return lhs, match.group(1)
