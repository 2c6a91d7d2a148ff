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
_SHAPE_PREFIX = "go.shape."
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
    # A slice or map literal allocates its storage; an array or struct literal is a plain value. In
    # a generic body the literal's type may be a shape: "go.shape.[]string{}" is `S{}` for S ~[]E.
    literal = expr[len(_SHAPE_PREFIX) :] if expr.startswith(_SHAPE_PREFIX) else expr
    if literal.endswith("}") and literal.startswith("[]"):
        return ExprForm.SLICE_LITERAL
    if literal.endswith("}") and literal.startswith("map["):
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
    # "(*int)(pkg..stmp_0@0)": package data the compiler laid out for a package-level composite literal
    # (staticinit.StaticName, a PEXTERN name; "@0" is the byte offset written), printed as a conversion.
    STATIC = "static"


@dataclass(frozen=True, slots=True)
class Assignment:
    """The left-hand side of an "X = Y (assign)" step, e.g. `sinkMap[k]` with base name `sinkMap`."""

    target: str  # "sinkMap[k]", "*pp", "r.doc"
    base: str  # the name it starts from: "sinkMap", "pp", "r"
    form: TargetForm


class CalleeKind(str, Enum):
    """What the callee of a "(call parameter)" step is, as far as the output and the source tell."""

    FOLLOWED = "followed"  # a function of this package whose parameter's leak is explained
    APPEND = "append"  # the builtin: its arguments go to the slice's backing array
    PANIC = "panic"  # the builtin: its argument always escapes
    DYNAMIC = "dynamic"  # an interface method or a function value: no callee is known
    OTHER_PACKAGE = "other-package"  # a function of another package
    UNEXPLAINED = "unexplained"  # a function whose parameter's leak the output does not explain


@dataclass(frozen=True, slots=True)
class Call:
    """The call of a "(call parameter)" step: `keep(&x)` -> callee "keep", arguments ("&x",).

    Method calls on concrete types are printed as method expressions, the receiver first:
    `Keeper.Keep(k, &x)`, `(*T).M(t, v)`.
    """

    callee: str
    arguments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CalleeLeak:
    """Where a call argument goes inside its callee: the callee's own leak explanation, when there is one.

    `evidence` is the callee's leak explanation read as evidence (its chain, root, deciding step), for
    the destination rules to judge; None unless `kind` is FOLLOWED. `appendee` is the slice `append`
    appends to (APPEND).
    """

    kind: CalleeKind
    step: FlowStep  # the caller's "(call parameter)" step
    callee: str  # "keep", "Keeper.Keep", "s.Sink", "append"
    parameter: str | None = None
    evidence: Evidence | None = None
    appendee: str | None = None
    package: str | None = None  # the import path of the callee's package (FOLLOWED)


def parse_call(expr: str) -> Call | None:
    """The callee and arguments of a printed call `F(a, b)`, `pkg.F(a)`, `(*T).M(t, a)`; None otherwise."""
    if not expr.endswith(")"):
        return None
    depth = 0
    open_at = None
    quoted = False
    for index, char in enumerate(expr):
        if char == '"':
            quoted = not quoted
        if quoted:
            continue
        if char in "([{":
            if depth == 0 and char == "(" and index > 0 and expr[index - 1] not in "(*":
                open_at = index
                break
            depth += 1
        elif char in ")]}":
            depth -= 1
    if open_at is None or _closing_paren(expr, open_at) != len(expr) - 1:
        return None
    callee = expr[:open_at]
    if not _CALLEE.match(callee):
        return None
    inner = expr[open_at + 1 : -1].strip()
    return Call(callee, tuple(_split_arguments(inner)) if inner else ())


# "f", "pkg.F", "T.M", "(*T).M", "(*pkg.T).M", ".autotmp_3.String" (a method called on a temporary),
# and Go 1.19's quoted import paths in inlined code: "\"sync/atomic\".AddInt32".
_CALLEE = re.compile(
    r'^(?:\(\*?[A-Za-z_][\w.]*(?:\[[^\]]*\])?\)|"[^"\s]+"|\.?[A-Za-z_][\w]*(?:\[[^\]]*\])?)(?:\.[A-Za-z_]\w*(?:\[[^\]]*\])?)*$'
)


def _closing_paren(expr: str, index: int) -> int:
    depth = 0
    quote = None
    for position in range(index, len(expr)):
        char = expr[position]
        if quote:
            if char == "\\":
                continue
            if char == quote:
                quote = None
            continue
        if char in "\"`":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return position
    return -1


def _split_arguments(text: str) -> list[str]:
    parts, depth, start, quote = [], 0, 0, None
    for index, char in enumerate(text):
        if quote:
            if char == quote and text[index - 1] != "\\":
                quote = None
            continue
        if char in "\"`":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index].strip())
            start = index + 1
    parts.append(text[start:].strip())
    return parts


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
    #: The qualifiers of inlined code's names (see `gather`).
    package_names: frozenset[str] = frozenset()
    #: Where the value goes inside the callee, when `destination` is a "(call parameter)" step.
    callee: CalleeLeak | None = None

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

    @property
    def selector_kind(self) -> str | None:
        """For a selector `x.Name`: "field" or "method", decided by the type of `x` when the source
        declares it (a parameter or receiver of the site's function, its struct type in this package
        or in one it imports); else by the package's declarations when only one kind has that name;
        None when nothing tells."""
        if self.form is not ExprForm.SELECTOR:
            return None
        name = self.selected_name
        source = self.source
        if source is None:
            return None
        variable = self.event.expr.rsplit(".", 1)[0]
        span = self.function_span
        if span is not None and variable in span.parameters:
            written = span.parameter_types[span.parameters.index(variable)]
            members = None if written is None else source.members_of(self.event.position.file, written.lstrip("*"))
            if members is not None:
                fields, methods = members
                if name in methods:
                    return "method"
                if name in fields:
                    return "field"
        if source.has_field(name) and not source.has_method(name):
            return "field"
        if source.has_method(name) and not source.has_field(name):
            return "method"
        return None

    @property
    def appended_to(self) -> Assignment | None:
        """The slice the value is appended to, when `destination` is the builtin `append`'s call
        (`append(gList, &x)`): every value append stores flows to the heap (escape/call.go)."""
        callee = self.callee
        if callee is None or callee.kind is not CalleeKind.APPEND or callee.appendee is None:
            return None
        return assignment_of(FlowStep(f"{callee.appendee} = {callee.step.expr}", "assign", callee.step.at), self.package_names)

    def globals_at(self, file: str) -> set[str] | None:
        """The package-level variables a step in `file` may name; None when the source cannot tell.

        Generated code (`<autogenerated>:1`: the wrapper of a promoted method, with the method inlined)
        has no file of its own: its names are the package's.
        """
        source = self.source
        if source is None:
            return None
        if file == GENERATED_FILE:
            return source.globals_of_any() if source.files else None
        if not source.covers(file):
            return None
        return source.globals_of(file)

    def step_with(self, reason: str) -> FlowStep | None:
        """The first step of the explanation with this reason, if any."""
        return next((step for step in self.steps if step.reason == reason), None)


#: The file name of compiler-generated code in positions ("<autogenerated>:1").
GENERATED_FILE = "<autogenerated>"

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
    package_names: frozenset[str] = frozenset(),
) -> Evidence:
    """The evidence for `event`; `explanation` overrides the event's own first explanation.

    `package_names` are the names of the packages whose functions the package's output says were
    inlined ("inlining call to bufio.(*Reader).reset"): the qualifiers of inlined code's names.
    """
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
            assignment_of(destination, package_names)
            if destination is not None and destination.reason in ASSIGNMENT_REASONS
            else None
        ),
        selected_name=event.expr.rsplit(".", 1)[1] if form is ExprForm.SELECTOR else None,
        sources=sources,
        boxed_here=boxed_here,
        explained_input=explained_input,
        heap_variables=heap_variables,
        package_names=package_names,
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


#: "(*int)(example.com/m..stmp_0@0)", "(T)(.stmp_3@8)": the whole target is a static temporary.
_STATIC_TARGET = re.compile(r"^\(.+\)\(((?:[\w.-]+/)*[\w.-]*\.stmp_\d+)@\d+\)$")


_QUALIFIED_BASE = re.compile(r"([A-Za-z_]\w*\.[A-Za-z_]\w*)")


_ASSIGNMENT = re.compile(r"^(.*?) (?::|\+|-|\*|/|%|&|\||\^|<<|>>|&\^)?= ")


def assignment_of(step: FlowStep, package_names: frozenset[str] = frozenset()) -> Assignment | None:
    """The left-hand side of an "X = Y (assign)" step, e.g. `sinkMap[k]` with base `sinkMap`.

    Also for `X := Y` and operator assignments such as `r.doc += s`. The compiler qualifies the names
    of code inlined from another package with that package's name (`bufio.b.buf = make(...)` is the
    field `buf` of the inlined `(*bufio.Reader).reset`'s receiver `b`): when the first name is one of
    `package_names`, the base is the qualified name (`bufio.b`), never the package.
    """
    assignment = _ASSIGNMENT.match(step.expr)
    if assignment is None:
        return None
    target = assignment.group(1).strip()
    static = _STATIC_TARGET.match(target)
    if static is not None:
        return Assignment(target, static.group(1), TargetForm.STATIC)
    match = _ASSIGN_TARGET.match(target)
    if match is None:
        return None
    if match.group(1) in package_names:
        qualified = _QUALIFIED_BASE.match(target, match.start(1))
        if qualified is not None:
            match = qualified
    if target.startswith("*"):
        form = TargetForm.POINTER
    elif target.startswith("(*"):
        form = TargetForm.INSIDE_POINTER
    else:
        form = TargetForm.NAMED
    return Assignment(target, match.group(1), form)
