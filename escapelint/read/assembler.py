"""Assemble classified lines into per-package events, streaming.

The compiler prints, per function batch, the `-m=2` explanations first (a header line, then flow and
step lines carrying the header's position) and the summary lines ("moved to heap: x", "leaking param:
p", ...) afterwards, possibly after other explanations. An explanation therefore belongs to the summary
line with the same position and subject, not to whatever line came last: closed explanations wait in a
table keyed by position until their summary claims them. Explanations no summary claims by the end of
the package (the compiler suppresses summaries for wrappers and go/defer closures) are kept apart.

`go build` prints each package's output as one block under a "# import/path" line, so one package is
held in memory at a time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace

from escapelint.events import (
    UNKNOWN_POSITION,
    BuildStats,
    CompilerError,
    EscapeEvent,
    EventKind,
    Explanation,
    Flow,
    LeakKind,
    LineRole,
    PackageOutput,
    Position,
    Remark,
    UnrecognizedLine,
)
from escapelint.gc_pause import paused
from escapelint.read.classifier import UNRECOGNIZED, LineClassifier
from escapelint.read.messages import (
    ErrorContinuation,
    ErrorMessage,
    EscapeHeader,
    FlowLine,
    LeakHeader,
    PackageHeader,
    RemarkMessage,
    Summary,
    ToolMessage,
    TruncatedExplanation,
)

_STEP_KEYWORD = "    from "
_FLOW_KEYWORD = "  flow: "
_NEVER = "\n"  # a prefix no line starts with: a line's only newline is its last character


class _OpenExplanation:
    """An explanation still reading its flow lines.

    A flow's step lines are kept as text until the flow ends: the same flow, steps and all, recurs
    across the explanations of a package (go/types prints 904 000 flows, 62 000 distinct), so the
    package builder makes each distinct flow once and shares it.
    """

    __slots__ = (
        "position", "header", "flows", "flow", "flow_line", "flow_lines", "truncated", "first_line", "count",
        "step_prefix", "flow_prefix", "body_start",
    )  # fmt: skip

    def __init__(self, position: Position, header: EscapeHeader | LeakHeader, line: int, prefix: str) -> None:
        # The explanation's flow and step lines repeat the header's position prefix to the letter.
        self.step_prefix = prefix + _STEP_KEYWORD
        self.flow_prefix = prefix + _FLOW_KEYWORD
        self.body_start = len(prefix)
        self.position = position
        self.header = header
        self.flows: list[Flow] = []
        self.flow: FlowLine | None = None  # the current flow line, parsed
        self.flow_line = 0
        # The current flow line and its step lines as read, after the prefix and with their line ends.
        self.flow_lines: list[str] | None = None
        self.truncated = False
        self.first_line = line
        self.count = 1  # lines of this explanation read so far, the header included

    def freeze(self) -> Explanation:
        header = self.header
        if isinstance(header, EscapeHeader):
            subject, sink, derefs = header.subject, None, None
        else:
            subject, sink, derefs = header.param, header.sink, header.derefs
        # Positional, like EscapeEvent below: keyword arguments to a class cost a dict per call, and
        # the standard library has hundreds of thousands of these.
        return Explanation(
            self.position,
            subject,
            header.function,
            sink,
            derefs,
            tuple(self.flows),
            self.truncated,
            self.first_line,
            self.count,
        )


class _PackageBuilder:
    """One package's output as it is read: its events, remarks, errors and explanations, and their counts.

    The reader hands it every line that is not a flow or step line of the open explanation, one method
    per kind of line (`summary`, `remark`, `error`, ...); `finish` makes the PackageOutput.
    """

    def __init__(
        self, header: PackageHeader | None, line: int | None, classifier: LineClassifier, stats: BuildStats
    ) -> None:
        self.classifier = classifier
        self.step_of = classifier.step
        self.stats = stats
        self.roles = stats.roles
        self.bad_steps = 0
        self.header = header
        self.header_line = line
        self.path = None if header is None else header.path
        self.events: list[EscapeEvent] = []
        self.remarks: list[Remark] = []
        self.errors: list[list] = []  # [position, text, line], open for continuation lines
        self.unrecognized: list[UnrecognizedLine] = []
        # Closed explanations waiting for their summary line, by position.
        self.pending: dict[Position, list[Explanation]] = {}
        self.explanation_lines = 0
        self.open: _OpenExplanation | None = None
        self.flows: dict[str, Flow] = {}  # distinct flows of this package, by their text

    # --- the lines that are not flow or step lines of the open explanation, one method per kind

    def explanation_header(
        self, position: Position | None, message: EscapeHeader | LeakHeader, text: str, line: int
    ) -> None:
        """Open an explanation; its flow and step lines follow with the same position prefix."""
        prefix = self.classifier.last_prefix if position is not None else _NEVER
        self.open = _OpenExplanation(position or UNKNOWN_POSITION, message, line, prefix)

    def summary(self, position: Position | None, message: Summary, text: str, line: int) -> None:
        """One event, with the explanations of its site read so far."""
        where = position or UNKNOWN_POSITION
        explanations = self.claim(where, message)
        function = None
        for explanation in explanations:
            if explanation.function is not None:
                function = explanation.function
                break
        self.events.append(
            EscapeEvent(
                message.kind,
                self.path,
                where,
                message.expr,
                function,
                explanations,
                message.leak,
                line,
                message.detail,
            )
        )
        self.stats.events[message.kind] += 1
        self.roles[LineRole.EVENT] += 1

    def remark(self, position: Position | None, message: RemarkMessage, text: str, line: int) -> None:
        self.remarks.append(Remark(message.kind, position, message.function, message.subject, message.detail, line))
        self.stats.remarks[message.kind] += 1
        self.roles[LineRole.REMARK] += 1

    def error(self, position: Position | None, message: ErrorMessage | ToolMessage, text: str, line: int) -> None:
        self.errors.append([position, message.text, line])
        self.roles[LineRole.ERROR] += 1

    def error_continuation(self, position: Position | None, message: ErrorContinuation, text: str, line: int) -> None:
        """A detail line of the error before it; without one, like any other line (`other`)."""
        if not self.errors:
            self.other(position, message, text, line)
            return
        self.errors[-1][1] += "\n" + message.text
        self.roles[LineRole.ERROR] += 1

    def blank(self, position: Position | None, message: None, text: str, line: int) -> None:
        self.roles[LineRole.BLANK] += 1

    def other(self, position: Position | None, message: object, text: str, line: int) -> None:
        """A line of no kind above: an unrecognized line, or one more type-checker error."""
        if position is not None and self.errors:
            # The package failed to type-check, so escape analysis never ran on it: any other
            # located line is one more error from the type checker's open-ended catalogue.
            self.errors.append([position, self.classifier.body(text), line])
            self.roles[LineRole.ERROR] += 1
        else:
            self.unrecognized.append(UnrecognizedLine(line, text))
            self.roles[LineRole.UNRECOGNIZED] += 1

    # --- explanations

    def close_flow(self, open_: _OpenExplanation) -> None:
        """End the open explanation's current flow: share an identical flow or build a new one."""
        lines = open_.flow_lines
        if lines is None:
            return
        open_.flow_lines = None
        open_.count += len(lines)
        key = "".join(lines)
        flow = self.flows.get(key)
        if flow is None:
            steps = []
            for offset, raw in enumerate(lines[1:], start=1):
                body = raw.rstrip("\r\n")
                step = self.step_of(body)
                if step is UNRECOGNIZED:
                    # Not a step after all: report the line itself, keep the rest of the flow.
                    open_.count -= 1
                    self.bad_steps += 1
                    self.unrecognized.append(UnrecognizedLine(open_.flow_line + offset, self.prefix_of(open_) + body))
                else:
                    steps.append(step)
            message = open_.flow
            flow = Flow(message.sink, message.source, message.derefs, tuple(steps))
            if len(steps) == len(lines) - 1:
                self.flows[key] = flow
        open_.flows.append(flow)

    @staticmethod
    def prefix_of(open_: _OpenExplanation) -> str:
        return open_.step_prefix[: open_.body_start]

    def close_explanation(self) -> None:
        open_ = self.open
        if open_ is not None:
            self.open = None
            self.close_flow(open_)
            self.explanation_lines += open_.count
            self.pending.setdefault(open_.position, []).append(open_.freeze())

    def claim(self, position: Position, summary: Summary) -> tuple[Explanation, ...]:
        """Take the waiting explanations this summary line sums up.

        A heap site is explained once (escape/solve.go marks its location as escaping when it prints
        the "escapes to heap:" header), so a heap summary takes one explanation: inlining can put
        several identical sites at one position (errors.New inlined twice into one call), each with
        its own summary and its own explanation. A parameter takes every explanation of its leak.
        """
        waiting = self.pending.get(position)
        if not waiting:
            return ()
        if summary.kind is EventKind.LEAK:
            mine = [e for e in waiting if _explains(e, summary)]
            rest = [e for e in waiting if not _explains(e, summary)] if mine else waiting
        else:
            index = next((i for i, e in enumerate(waiting) if _explains(e, summary)), None)
            mine = [] if index is None else [waiting[index]]
            rest = waiting if index is None else waiting[:index] + waiting[index + 1 :]
        if mine:
            if rest:
                self.pending[position] = rest
            else:
                del self.pending[position]
        return tuple(mine)

    def finish(self) -> PackageOutput | None:
        """The package as read, its lines counted in; None for lines before any header that say nothing."""
        self.close_explanation()
        roles = self.roles
        if self.bad_steps:
            roles[LineRole.UNRECOGNIZED] += self.bad_steps
        self.unrecognized.sort(key=lambda u: u.line)
        unclaimed = self._attach_late_explanations()
        unclaimed_lines = sum(e.line_count for e in unclaimed)
        roles[LineRole.UNCLAIMED] += unclaimed_lines
        roles[LineRole.EXPLANATION] += self.explanation_lines - unclaimed_lines
        self.stats.packages += self.header is not None
        output = PackageOutput(
            path=self.path,
            test_variant=None if self.header is None else self.header.test_variant,
            header_line=self.header_line,
            events=tuple(self.events),
            remarks=tuple(self.remarks),
            errors=tuple(CompilerError(p, t, n) for p, t, n in self.errors),
            unclaimed=unclaimed,
            unrecognized=tuple(self.unrecognized),
        )
        if output.path is None and _is_empty(output):
            return None
        return output

    def _attach_late_explanations(self) -> tuple[Explanation, ...]:
        """Give each event the explanations of its own site that came after its summary line.

        The compiler prints a header per leak destination, but sums a parameter up once: a leak to a
        result that a leak to the heap dominates is explained and never summarized (Go 1.19 prints tens of
        thousands of these in std). Wrappers re-analysed later re-explain the same parameter too. Such an
        explanation has the position and subject of an event already read, so it belongs to that event.
        What matches no event (generic instantiations, go/defer closures) stays unclaimed.
        """
        leftover = [e for waiting in self.pending.values() for e in waiting]
        if not leftover:
            return ()
        by_site: dict[tuple[Position, str, bool], list[int]] = {}
        heap_by_position: dict[Position, list[int]] = {}
        for index, event in enumerate(self.events):
            if event.kind is not EventKind.NOESCAPE:
                by_site.setdefault((event.position, event.expr, event.kind is EventKind.LEAK), []).append(index)
            if event.kind is EventKind.ESCAPE:
                heap_by_position.setdefault(event.position, []).append(index)
        late: dict[int, list[Explanation]] = {}
        unclaimed = []
        for explanation in leftover:
            leak = explanation.sink is not None
            indexes = by_site.get((explanation.position, explanation.subject, leak))
            if indexes is None and not leak:
                # Go 1.25+ folds constants in the summary but not in the header: the header
                # "make([]byte, size) escapes to heap in (*S).Reset:" of an inlined `make([]byte, size)`
                # is summed up as "make([]byte, 32768) escapes to heap".
                indexes = [
                    i
                    for i in heap_by_position.get(explanation.position, ())
                    if not self.events[i].explanations and _folded(explanation.subject, self.events[i].expr)
                ] or None
            if indexes is None:
                unclaimed.append(explanation)
                continue
            # A heap site has one explanation: an identical site without one takes it first.
            index = indexes[0]
            if not leak:
                index = next((i for i in indexes if not self.events[i].explanations and i not in late), index)
            late.setdefault(index, []).append(explanation)
        for index, extra in late.items():
            event = self.events[index]
            function = event.function or next((e.function for e in extra if e.function), None)
            self.events[index] = replace(event, explanations=event.explanations + tuple(extra), function=function)
        return tuple(unclaimed)


_CALL = re.compile(r"^([\w.]+)\((.*)\)$")
_NUMBER = re.compile(r"^-?(?:\d+(?:\.\d*)?(?:e[+-]?\d+)?|0x[0-9a-f]+)$", re.IGNORECASE)


def _folded(header: str, summary: str) -> bool:
    """Whether `summary` is the call `header` with some arguments folded to numeric constants."""
    call, folded = _CALL.match(header), _CALL.match(summary)
    if call is None or folded is None or call.group(1) != folded.group(1) or header == summary:
        return False
    arguments, constants = _arguments(call.group(2)), _arguments(folded.group(2))
    if len(arguments) != len(constants):
        return False
    return all(a == c or _NUMBER.match(c) is not None for a, c in zip(arguments, constants))


def _arguments(text: str) -> list[str]:
    """The top-level comma-separated parts of an argument list."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index].strip())
            start = index + 1
    parts.append(text[start:].strip())
    return parts


def _explains(explanation: Explanation, summary: Summary) -> bool:
    """Whether an explanation block is one of the reasons for this summary line."""
    kind = summary.kind
    if kind is EventKind.LEAK:
        if explanation.sink is None or explanation.subject != summary.expr:
            return False
        if summary.leak.kind is LeakKind.RESULT:
            return explanation.sink == summary.leak.result
        return explanation.sink == "{heap}"
    if explanation.sink is not None:
        return False
    if kind is EventKind.ESCAPE and summary.expr == "append":
        # Go 1.25+ sums up an append site as "append escapes to heap"; its header names the call.
        return explanation.subject.startswith("append(")
    return explanation.subject == summary.expr


class BuildReader:
    """Reads `go build -gcflags=-m...` output line by line and yields one PackageOutput per package."""

    def __init__(self, classifier: LineClassifier | None = None) -> None:
        self.stats = BuildStats()
        # A classifier only memoizes, so readers of parts of one input may share one (parallel.py).
        self._classifier = classifier or LineClassifier()

    def packages(self, lines: Iterable[str], first_line: int = 0) -> Iterator[PackageOutput]:
        """The packages of `lines`, which follow `first_line` earlier lines of the same input.

        Every package header starts afresh (positions, prefixes, flows), so a run of lines that begins
        at a header reads the same as it does within the whole input (parallel.py relies on this).
        """
        # The cyclic garbage collector waits while a package is read (escapelint.gc_pause says why), and
        # runs as the caller had it while the caller holds the package.
        reading = self._read(lines, first_line)
        pause = paused()  # one for all the packages: nothing is allocated between them
        try:
            while True:
                with pause:
                    output = next(reading, None)
                if output is None:
                    return
                yield output
        finally:
            reading.close()

    def _read(self, lines: Iterable[str], first_line: int) -> Iterator[PackageOutput]:
        """The reading loop: flow and step lines inline (nine lines in ten), every other line by its kind."""
        classifier = self._classifier
        classify, message_of = classifier.classify, classifier.message
        by_kind = _LINE_HANDLERS.get
        other = _PackageBuilder.other
        pkg = self._start_package(None, None)
        shared_flow = pkg.flows.get
        # Flow line bodies (after the prefix, with their line end) -> FlowLine or UNRECOGNIZED, per package.
        flow_line_of: dict[str, object] = {}
        line_no = first_line
        # The open explanation's prefixes and current flow, kept in locals for the fast path below.
        open_: _OpenExplanation | None = None
        step_prefix = flow_prefix = _NEVER
        cut = 0
        flow_lines: list[str] | None = None
        for raw in lines:
            line_no += 1

            # Fast path: the flow and step lines of the open explanation (nine lines in ten of -m=2
            # output) carry its header's prefix, so one startswith both places and classifies them.
            if raw.startswith(step_prefix):
                if flow_lines is not None:
                    flow_lines.append(raw[cut:])
                    continue
            elif raw.startswith(flow_prefix):
                body = raw[cut:]
                flow = flow_line_of.get(body)
                if flow is None:
                    flow = message_of(body.rstrip("\r\n"))
                    flow = flow_line_of[body] = flow if type(flow) is FlowLine else UNRECOGNIZED
                if flow is not UNRECOGNIZED:
                    if flow_lines is not None:
                        # The flow before this one ends: most are shared with earlier explanations.
                        shared = shared_flow("".join(flow_lines))
                        if shared is None:
                            pkg.close_flow(open_)
                        else:
                            open_.count += len(flow_lines)
                            open_.flows.append(shared)
                    flow_lines = open_.flow_lines = [body]
                    open_.flow, open_.flow_line = flow, line_no
                    continue

            # Slow path: any other line, handled by the package builder's method for its kind.
            text = raw.rstrip("\r\n")
            position, message = classify(text)
            kind = type(message)
            if kind is TruncatedExplanation and open_ is not None and position == open_.position:
                open_.truncated = True
                open_.count += 1
                continue
            pkg.close_explanation()
            if kind is PackageHeader:
                output = pkg.finish()
                if output is not None:
                    yield output
                pkg = self._start_package(message, line_no)
                shared_flow = pkg.flows.get
                flow_line_of = {}
            else:
                by_kind(kind, other)(pkg, position, message, text, line_no)

            open_ = pkg.open
            if open_ is None:
                step_prefix = flow_prefix = _NEVER
                flow_lines = None
            else:
                step_prefix, flow_prefix, cut = open_.step_prefix, open_.flow_prefix, open_.body_start
                flow_lines = open_.flow_lines
        self.stats.lines += line_no - first_line
        output = pkg.finish()
        if output is not None:
            yield output

    def _start_package(self, header: PackageHeader | None, line: int | None) -> _PackageBuilder:
        """A builder for the package that starts at `header` (None: the lines before any header)."""
        self._classifier.start_package()
        if header is not None:
            self.stats.roles[LineRole.HEADER] += 1
        return _PackageBuilder(header, line, self._classifier, self.stats)


#: The package builder's method for each kind of line outside the reader's fast path; any other kind
#: (unrecognized, or a flow, step or truncation line outside the explanation of its position: reported,
#: never attached to whatever explanation happens to be open) goes to `_PackageBuilder.other`.
_LINE_HANDLERS: dict[type, Callable[..., None]] = {
    EscapeHeader: _PackageBuilder.explanation_header,
    LeakHeader: _PackageBuilder.explanation_header,
    Summary: _PackageBuilder.summary,
    RemarkMessage: _PackageBuilder.remark,
    ErrorMessage: _PackageBuilder.error,
    ToolMessage: _PackageBuilder.error,
    ErrorContinuation: _PackageBuilder.error_continuation,
    type(None): _PackageBuilder.blank,
}


def _is_empty(output: PackageOutput) -> bool:
    return not (output.events or output.remarks or output.errors or output.unclaimed or output.unrecognized)


def read_build_output(lines: Iterable[str]) -> tuple[list[PackageOutput], BuildStats]:
    """Read a whole build's output at once (tests, small inputs); see BuildReader for streaming."""
    reader = BuildReader()
    packages = list(reader.packages(lines))
    return packages, reader.stats
