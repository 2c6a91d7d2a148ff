"""The facts a rule may look at for one heap event, read off the compiler's own output.

`Evidence` gathers, for an `escape` or `moved` event: what kind of expression allocated (from the way
the compiler prints IR nodes), the explanation's chain (every flow step in order, its root sink, the
last step that moved the value toward that root), the printed names parsed once (what the root is —
the heap, a result, another allocation's storage —, the left-hand side of a deciding assignment, the
name a selector selects), and a handle on the package's Go source for the few questions only the
source answers. Rules read these facts; they never parse text themselves.
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


class RootKind(str, Enum):
    """What the sink at the end of an explanation's chain is, as the compiler prints it."""

    HEAP = "heap"  # "{heap}": the heap itself (a global, memory behind a pointer, an unknown callee, ...)
    RESULT = "result"  # "~r0", "~R0", "pkg.~r1": an unnamed result of the function
    STORAGE = "storage"  # "{storage for X}": the memory of another allocation X
    VARIABLE = "variable"  # any other name: a variable (perhaps a named result) or "{temp}", ".autotmp_N"


class TargetForm(str, Enum):
    """What the left-hand side of an assignment is, as far as its printed form tells."""

    POINTER = "pointer"  # "*pp": the memory a pointer points to
    INSIDE_POINTER = "inside-pointer"  # "(*p)[i]", "(*p).f": part of the memory a pointer points to
    NAMED = "named"  # "g", "m[k]", "p.f": a name, or memory reached from it (only the source tells which)


@dataclass(frozen=True, slots=True)
class Assignment:
    """The left-hand side of an "X = Y (assign)" step, e.g. `sinkMap[k]` with base name `sinkMap`."""

    target: str  # "sinkMap[k]", "*pp", "r.doc"
    base: str  # the name it starts from: "sinkMap", "pp", "r"
    form: TargetForm


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """The facts a rule may look at for one `escape` or `moved` event, parsed once by `gather`."""

    event: EscapeEvent
    form: ExprForm
    explanation: Explanation | None  # the first explanation: how the site came to escape
    steps: tuple[FlowStep, ...]  # every step of that explanation, in order
    root: str | None  # the sink of its last flow: "{heap}", "~r0", a result or outer variable
    root_kind: RootKind | None  # what `root` is; None without a root
    holder: str | None  # X of a "{storage for X}" root: the allocation that holds this one
    destination: FlowStep | None  # the last step whose reason is a destination
    assignment: Assignment | None  # the left-hand side when `destination` is an assignment
    selected_name: str | None  # `Value` of a selector `t.Value` (ExprForm.SELECTOR)
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


#: Step reasons of an assignment, whose left-hand side `Evidence.assignment` holds.
ASSIGNMENT_REASONS = frozenset({"assign", "assign-pair"})


def gather(
    event: EscapeEvent,
    *,
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
    form = expr_form(event)
    root_kind = None if root is None else root_kind_of(root)
    return Evidence(
        event=event,
        form=form,
        explanation=explanation,
        steps=steps,
        root=root,
        root_kind=root_kind,
        holder=root[len(_STORAGE_PREFIX) : -1] if root_kind is RootKind.STORAGE else None,
        destination=destination,
        assignment=(
            assignment_of(destination)
            if destination is not None and destination.reason in ASSIGNMENT_REASONS
            else None
        ),
        selected_name=event.expr.rsplit(".", 1)[1] if form is ExprForm.SELECTOR else None,
        sources=sources,
        boxed_here=boxed_here,
        explained_input=explained_input,
        heap_variables=heap_variables,
    )


_STORAGE_PREFIX = "{storage for "
_RESULT = re.compile(r"^(?:[\w.]+\.)?~[rR]\d+$")


def root_kind_of(root: str) -> RootKind:
    """What the sink `root` of a chain is: the heap, an unnamed result, another allocation, or a name."""
    if root == "{heap}":
        return RootKind.HEAP
    if root.startswith(_STORAGE_PREFIX) and root.endswith("}"):
        return RootKind.STORAGE
    if _RESULT.match(root):
        return RootKind.RESULT
    return RootKind.VARIABLE


_ASSIGN_TARGET = re.compile(r"^\(*\**\(*([A-Za-z_]\w*)")


_ASSIGNMENT = re.compile(r"^(.*?) (?::|\+|-|\*|/|%|&|\||\^|<<|>>|&\^)?= ")


def assignment_of(step: FlowStep) -> Assignment | None:
    """The left-hand side of an "X = Y (assign)" step, e.g. `sinkMap[k]` with base `sinkMap`.

    Also for `X := Y` and operator assignments such as `r.doc += s`.
    """
    assignment = _ASSIGNMENT.match(step.expr)
    if assignment is None:
        return None
    target = assignment.group(1).strip()
    match = _ASSIGN_TARGET.match(target)
    if match is None:
        return None
    if target.startswith("*"):
        form = TargetForm.POINTER
    elif target.startswith("(*"):
        form = TargetForm.INSIDE_POINTER
    else:
        form = TargetForm.NAMED
    return Assignment(target, match.group(1), form)
