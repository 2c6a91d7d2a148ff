"""The event model: what one build's `-m` output says, as plain frozen data.

Everything downstream (rules, reports, JSON) works on these classes; no Lark object ever leaves the
parser. Data flows one way: text -> grammar (escapelint.read.messages, .classifier) -> events
(escapelint.read.assembler) -> ...
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import Enum


@dataclass(frozen=True, slots=True)
class Position:
    """A source position as the compiler prints it. `column` is None for "path:line" positions."""

    file: str
    line: int
    column: int | None

    def __str__(self) -> str:
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"


#: The compiler's "<unknown line number>" position.
UNKNOWN_POSITION = Position("<unknown line number>", 0, None)


class EventKind(str, Enum):
    """What a summary line says happened to a value."""

    ESCAPE = "escape"  # "X escapes to heap": a heap allocation at an expression
    MOVED = "moved"  # "moved to heap: x": a variable allocated on the heap
    NOESCAPE = "noescape"  # "X does not escape"
    LEAK = "leak"  # "leaking param: p ..." : a parameter fact that callers pay for


@dataclass(frozen=True, slots=True)
class FlowStep:
    """One "from EXPR (REASON) at POS" line: why a value moved one edge along the flow."""

    expr: str
    reason: str
    at: Position


@dataclass(frozen=True, slots=True)
class Flow:
    """One "flow: SINK = SRC:" edge of an explanation with the steps that justify it.

    `derefs` is -1 when the source's address flows ("&x"), otherwise the number of dereferences ("*p").
    """

    sink: str
    source: str
    derefs: int
    steps: tuple[FlowStep, ...]


@dataclass(frozen=True, slots=True)
class Explanation:
    """The `-m=2` explanation block: a header line and the flows that follow it at the same position.

    For an escaping value the header is "X escapes to heap[ in F]:"; for a parameter it is
    "parameter p leaks to SINK [for F] with derefs=N:" and `sink`/`derefs` are set.
    """

    position: Position
    subject: str
    function: str | None
    sink: str | None
    derefs: int | None
    flows: tuple[Flow, ...]
    truncated: bool
    first_line: int
    line_count: int


class LeakKind(str, Enum):
    """Where a leaking parameter leaks to, as its summary line says."""

    HEAP = "heap"  # "leaking param: p"
    CONTENT = "content"  # "leaking param content: p"
    RESULT = "result"  # "leaking param: p to result ~r0 level=0"


@dataclass(frozen=True, slots=True)
class LeakDetail:
    """The rest of a "leaking param" summary: its kind, and for a leak to a result its name and level."""

    kind: LeakKind
    result: str | None = None
    level: int | None = None


@dataclass(frozen=True, slots=True)
class EscapeEvent:
    """One allocation site or parameter fact: the summary line plus the explanations that led to it."""

    kind: EventKind
    package: str | None
    position: Position
    expr: str
    function: str | None
    explanations: tuple[Explanation, ...]
    leak: LeakDetail | None
    line: int  # input line number of the summary line (1-based)
    detail: str | None = None  # e.g. "mutate, or call" for "does not escape, mutate, or call"


@dataclass(frozen=True, slots=True)
class Remark:
    """Any other recognized diagnostic: inliner decisions, closure captures, devirtualization, ...

    `kind` names the grammar rule ("can_inline", "capture", ...); `function` is the function the remark
    is about or made in, `subject` its object (callee, captured variable, ...), `detail` the rest.
    """

    kind: str
    position: Position | None
    function: str | None
    subject: str | None
    detail: str | None
    line: int


@dataclass(frozen=True, slots=True)
class CompilerError:
    """A build failure message: a compiler error or a `go` command error, with its continuation lines."""

    position: Position | None
    message: str
    line: int


@dataclass(frozen=True, slots=True)
class UnrecognizedLine:
    """An input line the grammar does not know, kept with its line number (1-based) and text."""

    line: int
    text: str


@dataclass(frozen=True, slots=True)
class PackageOutput:
    """Everything one `# import/path` block of the build output says, in input order per list.

    `unclaimed` holds explanation blocks that no summary line claimed: the compiler prints them for
    generic shape instantiations, wrappers and go/defer closures, whose summaries it suppresses
    (escape/escape.go). They are kept, and counted, rather than attached to a neighbour by guesswork.
    """

    path: str | None  # None for lines before any "# pkg" header
    test_variant: str | None  # "pkg.test" in "# pkg [pkg.test]"
    header_line: int | None
    events: tuple[EscapeEvent, ...]
    remarks: tuple[Remark, ...]
    errors: tuple[CompilerError, ...]
    unclaimed: tuple[Explanation, ...]
    unrecognized: tuple[UnrecognizedLine, ...]


class LineRole(str, Enum):
    """What each input line was counted as; every line gets exactly one role."""

    EVENT = "event"  # a summary line of an event
    EXPLANATION = "explanation"  # header, flow, step or warning line attached to an event
    UNCLAIMED = "unclaimed_explanation"  # explanation line no summary claimed (see PackageOutput.unclaimed)
    REMARK = "remark"
    HEADER = "header"  # "# import/path"
    ERROR = "error"
    BLANK = "blank"
    UNRECOGNIZED = "unrecognized"


@dataclass
class BuildStats:
    """Line accounting for one input: every line has exactly one role."""

    lines: int = 0
    roles: Counter = field(default_factory=Counter)
    events: Counter = field(default_factory=Counter)
    remarks: Counter = field(default_factory=Counter)
    packages: int = 0

    def balanced(self) -> bool:
        return sum(self.roles.values()) == self.lines

    def add(self, other: BuildStats) -> None:
        """Count in the accounting of another part of the same input (escapelint.workflows.parallel reads in parts)."""
        self.lines += other.lines
        self.roles.update(other.roles)
        self.events.update(other.events)
        self.remarks.update(other.remarks)
        self.packages += other.packages
